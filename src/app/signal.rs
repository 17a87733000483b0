//! SIGTERM as a flag: Slurm and Kubernetes stop a task (preemption, a time limit, a
//! drained node) with SIGTERM and about 30 s of grace before SIGKILL. A sweep catches
//! it, stops starting points, saves its progress and exits 75, so that the task run
//! again with `--resume` completes it. A second SIGTERM ends the process at once (the
//! handler is reset after the first). This is the only `unsafe` outside
//! `harness/sys.rs`: one `sigaction` call, here so that the library below `app` never
//! knows about signals and only sees the flag.

use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once SIGTERM has arrived.
static TERMINATED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    // An atomic store is async-signal-safe: no lock, no allocation.
    TERMINATED.store(true, Ordering::SeqCst);
}

/// Catches SIGTERM from now on; returns the flag it sets.
pub fn catch_sigterm() -> Result<&'static AtomicBool> {
    // SAFETY: `action` is fully initialised (zeroed, then its handler, flags and an
    // empty mask set) before `sigaction` reads it; the handler only stores to a static
    // atomic, which is async-signal-safe; a null old-action pointer is allowed.
    // SA_RESETHAND makes a second SIGTERM take its default action; SA_RESTART restarts
    // the system calls the signal interrupts (a write to the progress file).
    let rc = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut())
    };
    if rc != 0 {
        anyhow::bail!("cannot catch SIGTERM: {}", std::io::Error::last_os_error());
    }
    Ok(&TERMINATED)
}
