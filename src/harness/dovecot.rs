//! The `dovecot` target: Debian's Dovecot (2.3.19 here) started in the foreground
//! (`dovecot -F -c CONF`) from a configuration generated into the run's folder: its
//! own base_dir (sockets), state_dir, log files, a passwd-file of test users and their
//! maildirs, IMAP only, plaintext LOGIN without TLS, imap-login listening on a
//! loopback port.
//!
//! What the model maps to (reference C):
//! - `service imap`: process_limit, client_limit, service_count, process_min_avail and
//!   idle_kill from `pool.*`. Dovecot computes the listen backlog of its unix listener
//!   `login/imap` itself (process_limit x client_limit, at least 4, C1), so the model's
//!   `listener.backlog` must say the same (it is checked, not derived: the simulator
//!   and the real server must see one model). `listener.somaxconn` caps it through the
//!   run's network namespace, as for the other targets.
//! - `master.mode` must be "on-demand" (2.3 forks on demand, C3) and
//!   `master.drop_timeout` 10 s (SERVICE_DROP_TIMEOUT_MSECS, C5).
//! - The clients of the modelled queue are imap-login processes: after LOGIN each one
//!   connects to `login/imap` non-blocking and retries EAGAIN for 0.5 s with pauses of
//!   10 to 100 ms (C10), so the model must have `load.on_refused = "retry"` with those
//!   numbers. imap-login itself gets a process_limit of [`LOGIN_PROCESS_LIMIT`] and
//!   [`LOGIN_MIN_AVAIL`] preforked processes, so the login side (one process per
//!   connection, service_count 1) is never the bottleneck being measured.
//! - `work.blocking` is the IMAP session: the load generator logs in, keeps the session
//!   open that long (the imap process, client_limit 1, is blocked by it), then logs out.

use super::spec::RunSpec;
use crate::error::BadInput;
use crate::model::{ListenerKind, MasterMode, Model, OnRefused};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Test users `u0` .. `u{USERS-1}`, all with [`PASSWORD`].
pub const USERS: usize = 50;
pub const PASSWORD: &str = "password";
/// imap-login's process_limit (Dovecot's default is 100): far above the logins in
/// flight of any run the harness allows at its rates (each lives about 10 ms, or
/// 0.5 s while it retries a full queue).
pub const LOGIN_PROCESS_LIMIT: u32 = 1000;
/// imap-login processes kept ready, so that a greeting does not wait for a fork.
pub const LOGIN_MIN_AVAIL: u32 = 4;
/// The most imap processes the harness starts.
pub const MAX_PROCESS_LIMIT: u32 = 1000;

/// The configuration's file name in the run's folder, and the log files.
pub const CONF: &str = "dovecot.conf";
pub const LOG: &str = "dovecot.log";
pub const INFO_LOG: &str = "dovecot-info.log";

/// Log lines counted after each run: (column name, what the line contains).
pub const LOG_LINES: [(&str, &str); 3] = [
    // imap-login gave up connecting to login/imap after its 0.5 s of retries (C10).
    (
        "log_connect_eagain",
        "net_connect_unix(imap) failed: Resource temporarily unavailable",
    ),
    // The master found no free slot at process_limit (C5), at most once a second;
    // "process_limit (N)", or "client_limit/service_count (1)" when process_limit = 1.
    (
        "log_limit_reached",
        "reached, client connections are being dropped",
    ),
    // imap-login handed a logged-in client to an imap process.
    ("log_logins", "imap-login: Info: Login: "),
];

/// The installed dovecot, or a message naming the Debian package.
pub fn program() -> Result<PathBuf, BadInput> {
    super::nginx::find_program("dovecot").ok_or_else(|| {
        BadInput(
            "the dovecot target needs Dovecot installed: apt-get install -y dovecot-imapd".into(),
        )
    })
}

/// What Debian's Dovecot 2.3 cannot run as the model says, naming the field.
pub fn check_expressible(m: &Model) -> Result<(), String> {
    if m.master.mode != MasterMode::OnDemand {
        let mode = serde_json::to_value(m.master.mode).unwrap_or_default();
        return Err(format!(
            "`master.mode` = {mode}: Dovecot 2.3 forks its imap processes on demand \
             (reference C3); use \"on-demand\" with the dovecot target"
        ));
    }
    if let Some(raw) = &m.master.dovecot_version {
        let v = crate::dovecot::Version::parse(raw);
        if !v.is_some_and(|v| v.at_least(2, 2, 26) && !v.at_least(2, 4, 2)) {
            return Err(format!(
                "`master.dovecot_version` = \"{raw}\": the installed Dovecot is 2.3, which \
                 behaves as 2.2.26 to 2.4.1 (no backlog cap, on-demand forks); leave it out \
                 or give a version in that range"
            ));
        }
    }
    if m.listener.kind != ListenerKind::Unix {
        return Err(
            "`listener.kind` = \"tcp\": imap-login reaches imap over the unix listener \
             login/imap; use \"unix\" with the dovecot target"
                .into(),
        );
    }
    let p = &m.pool;
    if p.process_limit > MAX_PROCESS_LIMIT {
        return Err(format!(
            "`pool.process_limit` = {}: the harness starts at most {MAX_PROCESS_LIMIT} real \
             imap processes",
            p.process_limit
        ));
    }
    if p.client_limit != 1 {
        return Err(format!(
            "`pool.client_limit` = {}: an imap process with more than one client does not \
             serialise their sessions as the model's processes do (Dovecot says client_limit \
             must be 1 for imap); use 1 with the dovecot target",
            p.client_limit
        ));
    }
    let backlog = crate::dovecot::backlog(p.process_limit, p.client_limit);
    if m.listener.backlog != backlog {
        return Err(format!(
            "`listener.backlog` = {}: Dovecot passes process_limit x client_limit (at least 4) \
             = {backlog} to listen() (reference C1); --set listener.backlog={backlog}",
            m.listener.backlog
        ));
    }
    if p.process_min_avail > p.process_limit {
        return Err(format!(
            "`pool.process_min_avail` = {} is above pool.process_limit = {}",
            p.process_min_avail, p.process_limit
        ));
    }
    if p.idle_kill.fract() != 0.0 || p.idle_kill >= 4_294_967_295.0 {
        return Err(format!(
            "`pool.idle_kill` = {}: Dovecot's idle_kill is whole seconds; give an integer \
             (0: never)",
            p.idle_kill
        ));
    }
    if m.master.drop_timeout != Some(crate::dovecot::DROP_TIMEOUT_S) {
        return Err(format!(
            "`master.drop_timeout` = {}: Dovecot's master drops connections after 10 s at \
             process_limit (SERVICE_DROP_TIMEOUT_MSECS, reference C5); set 10",
            m.master
                .drop_timeout
                .map_or("none".to_string(), |d| d.to_string())
        ));
    }
    let load = &m.load;
    if load.on_refused != OnRefused::Retry {
        return Err(
            "`load.on_refused` = \"fail\": the clients of login/imap are imap-login processes, \
             which retry EAGAIN (reference C10); use \"retry\" with the dovecot target"
                .into(),
        );
    }
    if load.retry_for != crate::dovecot::LOGIN_RETRY_S {
        return Err(format!(
            "`load.retry_for` = {}: imap-login retries for 0.5 s (SOCKET_CONNECT_RETRY_MSECS); \
             set 0.5",
            load.retry_for
        ));
    }
    let expected = crate::dist::DistSpec::Uniform {
        low: 0.01,
        high: 0.1,
    };
    if load.retry_pause != expected {
        let pause = serde_json::to_value(&load.retry_pause).unwrap_or_default();
        return Err(format!(
            "`load.retry_pause` = {pause}: imap-login pauses i_rand_minmax(1,10) x 10 ms; \
             set {{ dist = \"uniform\", low = 0.01, high = 0.1 }}"
        ));
    }
    if m.work.hold.mean() != 0.0 {
        return Err(
            "`work.hold`: an IMAP session keeps its imap process (client_limit 1) for its \
             whole length; put the session in work.blocking and leave hold at constant 0"
                .into(),
        );
    }
    Ok(())
}

/// The mail user: `nobody`, else `dovecot` (an existing unprivileged user).
pub fn mail_user() -> Result<(String, u32, u32), BadInput> {
    for name in ["nobody", "dovecot"] {
        if let Some((uid, gid)) = super::sys::user_ids(name) {
            if uid != 0 {
                return Ok((name.to_string(), uid, gid));
            }
        }
    }
    Err(BadInput(
        "the dovecot target needs an unprivileged user `nobody` or `dovecot` for the test \
         mailboxes"
            .into(),
    ))
}

/// The first folder on `dir`'s path that another user cannot enter (Dovecot's auth
/// and imap processes run as unprivileged users and must reach the run's files).
pub fn closed_ancestor(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut p = PathBuf::new();
    for c in dir.components() {
        p.push(c);
        if let Ok(m) = std::fs::metadata(&p) {
            if m.permissions().mode() & 0o001 == 0 {
                return Some(p);
            }
        }
    }
    None
}

/// The passwd-file of the test users, their mail under `dir/mail`.
pub fn users_file(dir: &Path, uid: u32, gid: u32) -> String {
    (0..USERS)
        .map(|i| {
            format!(
                "u{i}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}::\n",
                dir.join("mail").join(format!("u{i}")).display()
            )
        })
        .collect()
}

/// dovecot.conf for one run.
pub fn conf(spec: &RunSpec, port: u16, uid: u32) -> String {
    let p = &spec.model.pool;
    let d = |x: &str| spec.dir.join(x).display().to_string();
    // 0 in the model is "never"; Dovecot's way to say it is 2^32 - 1 (C12).
    let idle_kill = if p.idle_kill == 0.0 {
        4_294_967_295u64
    } else {
        p.idle_kill as u64
    };
    format!(
        "# Generated by eagain harness for one run; removed with its folder.\n\
         base_dir = {base}\n\
         state_dir = {state}\n\
         instance_name = {instance}\n\
         log_path = {log}\n\
         info_log_path = {info}\n\
         debug_log_path = {info}\n\
         ssl = no\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = plain\n\
         protocols = imap\n\
         listen = 127.0.0.1\n\
         first_valid_uid = {uid}\n\
         last_valid_uid = {uid}\n\
         mail_location = maildir:{mail}/%u\n\
         passdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
         userdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
         protocol imap {{\n  mail_max_userip_connections = 100000\n}}\n\
         service imap-login {{\n\
         \x20 inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
         \x20 inet_listener imaps {{\n    port = 0\n  }}\n\
         \x20 process_limit = {login_limit}\n\
         \x20 process_min_avail = {login_avail}\n\
         }}\n\
         service imap {{\n\
         \x20 process_limit = {pl}\n\
         \x20 client_limit = {cl}\n\
         \x20 service_count = {sc}\n\
         \x20 process_min_avail = {pma}\n\
         \x20 idle_kill = {idle_kill}s\n\
         }}\n",
        base = d("b"),
        state = d("state"),
        // The harness's folder name (eagain-harness-PID-...): Dovecot puts it in its
        // process titles, so that its processes can be told apart from any other.
        instance = spec
            .base
            .file_name()
            .map_or("eagain".into(), |n| n.to_string_lossy().to_string()),
        log = d(LOG),
        info = d(INFO_LOG),
        mail = d("mail"),
        users = d("users"),
        login_limit = LOGIN_PROCESS_LIMIT,
        login_avail = LOGIN_MIN_AVAIL,
        pl = p.process_limit,
        cl = p.client_limit,
        sc = p.service_count,
        pma = p.process_min_avail,
    )
}

/// Where the logs ended when the load started (after the readiness probe's login).
const LOG_START: &str = "log-start";

fn log_sizes(dir: &Path) -> [u64; 2] {
    [LOG, INFO_LOG].map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
}

/// Remembers where the logs end now: only later lines are counted.
pub fn mark_log_start(dir: &Path) {
    let [a, b] = log_sizes(dir);
    let _ = std::fs::write(dir.join(LOG_START), format!("{a} {b}"));
}

/// Counts the lines of [`LOG_LINES`] in the run's Dovecot logs written after
/// [`mark_log_start`].
pub fn count_log_lines(dir: &Path) -> BTreeMap<String, u64> {
    let start: Vec<usize> = std::fs::read_to_string(dir.join(LOG_START))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let mut text = String::new();
    for (k, f) in [LOG, INFO_LOG].iter().enumerate() {
        let all = std::fs::read(dir.join(f)).unwrap_or_default();
        let from = start.get(k).copied().unwrap_or(0).min(all.len());
        text += &String::from_utf8_lossy(&all[from..]);
        text.push('\n');
    }
    LOG_LINES
        .iter()
        .map(|(name, needle)| {
            (
                name.to_string(),
                text.lines().filter(|l| l.contains(needle)).count() as u64,
            )
        })
        .collect()
}
