//! gunicorn's arbiter (`master.mode = "prefork"`): the whole pool is forked before it
//! serves, and a worker that exits (max_requests) is replaced.

use super::super::station::Station;
use super::super::{Ev, Shared};

/// t = 0: gunicorn spawns all its workers before it serves.
pub(super) fn start(st: &mut Station, sh: &mut Shared) {
    for _ in 0..st.process_limit {
        st.new_process(sh, 0.0, true);
    }
}

/// A worker exited: it is replaced after a random 0 to 100 ms gap in spawn_workers
/// (semantics: gunicorn-respawn), plus its boot.
pub(super) fn respawn(st: &mut Station, sh: &mut Shared, now: f64) {
    let delay = st.spec.respawn_delay.sample(&mut sh.rng.master);
    sh.q.schedule(now + delay, Ev::Respawn(st.index));
}
