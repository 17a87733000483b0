//! The operating-system calls the harness needs and the standard library does not
//! offer: signal flags, the parent-death signal, process groups, namespaces, the
//! loopback interface, a monotonic clock in seconds, `ppoll` with a signal mask, pipes,
//! epoll and timerfd, descriptors passed to a child, user ids, and the machine's
//! limits on processes. This is the one file of the harness that calls `libc` and the
//! one with `unsafe`; every function is a thin, checked wrapper, and a descriptor it
//! makes is returned as an `OwnedFd` (closed when dropped).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// The last stop signal received (SIGINT, SIGTERM or SIGHUP), 0 before any.
static STOP: AtomicI32 = AtomicI32::new(0);
/// How many SIGCHLD arrived (the master reaps when this changes).
static CHILDREN: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGCHLD {
        CHILDREN.fetch_add(1, Ordering::SeqCst);
    } else {
        STOP.store(sig, Ordering::SeqCst);
    }
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP (and SIGCHLD when `children`) into flags, without
/// SA_RESTART so that a blocked call returns EINTR; SIGPIPE is ignored (a peer that
/// closed is seen as an error on write).
pub fn catch_signals(children: bool) {
    let mut sigs = vec![libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    if children {
        sigs.push(libc::SIGCHLD);
    }
    // SAFETY: installing a handler that only touches atomics is async-signal-safe.
    unsafe {
        for sig in sigs {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Puts the default actions back (a forked child must not keep its master's handlers)
/// and unblocks every signal.
pub fn default_signals() {
    // SAFETY: plain signal-disposition calls.
    unsafe {
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGCHLD,
            libc::SIGPIPE,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
    STOP.store(0, Ordering::SeqCst);
}

/// The stop signal received so far, if any.
pub fn stop_signal() -> Option<i32> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signals an event loop blocks outside its wait, so that they arrive only
/// inside `ppoll`/`epoll_pwait` (no race between checking a flag and sleeping).
pub fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset manipulation on local values.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGCHLD] {
            libc::sigaddset(&mut set, sig);
        }
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        old
    }
}

/// Seconds on CLOCK_MONOTONIC.
pub fn mono() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

pub fn timespec(seconds: f64) -> libc::timespec {
    let s = seconds.max(0.0);
    libc::timespec {
        tv_sec: s.trunc() as libc::time_t,
        tv_nsec: ((s.fract() * 1e9) as libc::c_long).min(999_999_999),
    }
}

/// Sleeps `seconds` even through signals (they are recorded as flags).
pub fn sleep(seconds: f64) {
    let end = mono() + seconds;
    loop {
        let left = end - mono();
        if left <= 0.0 {
            return;
        }
        let ts = timespec(left);
        // SAFETY: valid timespec pointer.
        unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
    }
}

/// `ppoll` over `fds` for at most `timeout` seconds (None: no limit), with the
/// signal mask `mask` while waiting. EINTR counts as a normal wake-up.
pub fn ppoll(
    fds: &mut [libc::pollfd],
    timeout: Option<f64>,
    mask: &libc::sigset_t,
) -> io::Result<usize> {
    let ts = timeout.map(timespec);
    let tp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
    // SAFETY: fds is a valid slice, tp null or valid, mask valid.
    let r = unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, tp, mask) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(r as usize)
}

/// Asks the kernel to send `sig` to this process when its parent thread exits; exits
/// at once if the parent is already gone (it died between fork and this call).
pub fn die_with_parent(sig: i32, parent: i32) {
    // SAFETY: prctl and getppid are async-signal-safe syscalls.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
}

/// Makes `cmd`'s child die with `sig` when this process dies. The parent's pid is
/// read in the child (a child in a new PID namespace sees its parent as pid 0).
pub fn die_with_me(cmd: &mut Command, sig: i32) {
    // SAFETY: the closure calls only async-signal-safe syscalls.
    unsafe {
        cmd.pre_exec(move || {
            die_with_parent(sig, libc::getppid());
            Ok(())
        });
    }
}

/// Makes `cmd`'s child enter new network and PID namespaces (root only).
pub fn new_namespaces(cmd: &mut Command) {
    // SAFETY: unshare is a plain syscall, async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            check(libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWPID))?;
            Ok(())
        });
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Sends `sig` to a process (ESRCH, already gone, is fine).
pub fn kill(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: plain syscall.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Sends `sig` to every process of group `pgid` (ESRCH, already gone, is fine).
pub fn kill_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: plain syscall.
        unsafe { libc::killpg(pgid, sig) };
    }
}

/// Reaps one exited child without waiting: (pid, raw status).
pub fn reap_any() -> Option<(i32, i32)> {
    let mut status = 0;
    // SAFETY: status is a valid out pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    (pid > 0).then_some((pid, status))
}

/// Brings the loopback interface of the current network namespace up (a new
/// namespace starts with it down), as `ip link set lo up` does.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket() has no preconditions; a descriptor it returns is ours to own.
    let sock = unsafe {
        OwnedFd::from_raw_fd(check(libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
        ))?)
    };
    // SAFETY: ioctls on the socket above, with a zeroed ifreq naming "lo".
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req))?;
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req))?;
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard limit (a load generator holds a
/// socket per connection in flight).
pub fn raise_open_files() {
    // SAFETY: rlimit calls on a local struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// Runs this process at a higher priority when allowed (root) and with no timer slack,
/// so that timing noise from other work on the machine stays small; a failure is
/// ignored. Forked children inherit both.
pub fn prefer_cpu() {
    // SAFETY: setpriority and prctl on this process.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, -10);
        // Timers fire when asked, not up to 50 us later (the default slack).
        libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0);
    }
}

/// Runs this thread in the real-time class (SCHED_FIFO, a low priority) when allowed
/// (root): it runs as soon as it wakes, ahead of every ordinary process. Only for a
/// process that mostly waits (the kernel's real-time throttling keeps 5 % of each
/// second for the others anyway); a failure is ignored.
pub fn prefer_realtime() {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sched_setscheduler on this thread with a valid parameter.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
    }
}

pub fn getppid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getppid() }
}

pub fn getpid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

/// fork(2). Call only from a single-threaded process.
pub fn fork() -> io::Result<i32> {
    // SAFETY: the callers are single-threaded processes started by exec.
    check(unsafe { libc::fork() })
}

/// A pipe whose ends are close-on-exec: (read end, non-blocking; write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    set_nonblocking(r.as_fd())?;
    Ok((r, w))
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on an open descriptor (borrowed for the call).
    unsafe {
        let fl = check(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
        check(libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETFL,
            fl | libc::O_NONBLOCK,
        ))?;
    }
    Ok(())
}

/// write(2) of a whole small buffer (<= PIPE_BUF, so atomic on a pipe).
pub fn write_all(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the rest of buf; fd is open.
        let r = unsafe {
            libc::write(
                fd.as_raw_fd(),
                buf[done..].as_ptr().cast(),
                buf.len() - done,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        done += r as usize;
    }
    Ok(())
}

/// read(2) into `buf`: Ok(0) at end of file, WouldBlock when nothing is there.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe buf; fd is open.
    let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// An epoll instance; every descriptor it watches carries a `u64` token.
pub struct Epoll(OwnedFd);

/// The most ready descriptors one `Epoll::wait` reports.
const EPOLL_BATCH: usize = 256;

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 has no preconditions; the descriptor is ours.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: fd was just opened and nothing else owns it.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Watches `fd` for `events` (EPOLLIN, ...), or changes what it is watched for.
    pub fn watch(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: a valid epoll descriptor and event; the kernel checks fd.
        unsafe {
            if libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) < 0 {
                check(libc::epoll_ctl(
                    self.0.as_raw_fd(),
                    libc::EPOLL_CTL_MOD,
                    fd,
                    &mut ev,
                ))?;
            }
        }
        Ok(())
    }

    /// Waits at most `timeout_ms` and puts the (events, token) pairs that are ready
    /// into `ready` (none after EINTR); `ready`'s buffer is reused, nothing allocated.
    pub fn wait(&self, ready: &mut Vec<(u32, u64)>, timeout_ms: i32) -> io::Result<()> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EPOLL_BATCH];
        // SAFETY: events is a valid buffer of its length.
        let n = unsafe {
            libc::epoll_wait(
                self.0.as_raw_fd(),
                events.as_mut_ptr(),
                EPOLL_BATCH as i32,
                timeout_ms,
            )
        };
        ready.clear();
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(())
            } else {
                Err(e)
            };
        }
        ready.extend(events[..n as usize].iter().map(|e| (e.events, e.u64)));
        Ok(())
    }
}

/// A non-blocking timerfd on CLOCK_MONOTONIC, armed at absolute times.
pub struct TimerFd(OwnedFd);

impl TimerFd {
    pub fn new() -> io::Result<TimerFd> {
        // SAFETY: timerfd_create has no preconditions; the descriptor is ours.
        let fd = check(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })?;
        // SAFETY: fd was just opened and nothing else owns it.
        Ok(TimerFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Fires once at `at` seconds on CLOCK_MONOTONIC (at once if that is past).
    pub fn arm_at(&self, at: f64) {
        let abs = timespec(at);
        let spec = libc::itimerspec {
            it_interval: timespec(0.0),
            // An all-zero it_value would disarm the timer.
            it_value: if abs.tv_sec == 0 && abs.tv_nsec == 0 {
                timespec(1e-9)
            } else {
                abs
            },
        };
        // SAFETY: a valid timerfd and itimerspec.
        unsafe {
            libc::timerfd_settime(
                self.0.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
    }

    /// Reads the expiry count, so that the descriptor is not readable until it fires
    /// again.
    pub fn drain(&self) {
        let mut buf = [0u8; 8];
        let _ = read(self.0.as_fd(), &mut buf);
    }
}

/// An empty signal set (a mask that blocks nothing).
pub fn no_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the local set.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        s
    }
}

/// Ends this process at once with `code`, running no destructors and flushing no
/// buffers (a forked child must not run its parent's clean-up).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// Waits for any child to exit; false when there is none.
pub fn wait_any() -> bool {
    // SAFETY: waitpid with a null status pointer is a plain syscall.
    unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) >= 0 }
}

/// The user and group ids of the user `name`, if there is one.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam with a valid C string; the single-threaded callers copy the
    // fields at once, before another call could overwrite libc's static entry.
    unsafe {
        let pw = libc::getpwnam(c.as_ptr());
        (!pw.is_null()).then(|| ((*pw).pw_uid, (*pw).pw_gid))
    }
}

/// Lets `cmd`'s program inherit descriptor `fd` (which must stay open until the
/// spawn) under the same number: close-on-exec is cleared in the child only. The
/// number is not moved, so that it cannot land on a descriptor the spawn itself uses.
pub fn keep_fd(cmd: &mut Command, fd: RawFd) {
    // SAFETY: the closure calls only async-signal-safe syscalls (fcntl).
    unsafe {
        cmd.pre_exec(move || {
            let flags = check(libc::fcntl(fd, libc::F_GETFD))?;
            check(libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC))?;
            Ok(())
        });
    }
}

/// Takes ownership of descriptor `fd` that this process inherited from its parent
/// (`keep_fd`), after checking that it is open.
pub fn inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only asks whether fd is open.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: fd is open, and the parent passed it to this process alone to own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The soft RLIMIT_NPROC of this user (None: unlimited).
pub fn process_rlimit() -> Option<u64> {
    // SAFETY: getrlimit fills a local struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(libc::RLIMIT_NPROC, &mut r) == 0 && r.rlim_cur != libc::RLIM_INFINITY)
            .then_some(r.rlim_cur)
    }
}

/// MemAvailable from /proc/meminfo, in MiB.
pub fn available_memory_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// kernel.pid_max: how many process ids the machine has.
pub fn pid_max() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// How many processes `/proc` shows whose parent is `pid`.
pub fn children_of(pid: i32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            // The fields after the command's closing parenthesis: state, ppid, ...
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|t| {
                t.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(pid)
            })
        })
        .count() as u64
}

/// The machine's net.core.somaxconn in this network namespace.
pub fn somaxconn() -> io::Result<u32> {
    let t = std::fs::read_to_string("/proc/sys/net/core/somaxconn")?;
    t.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, t.trim().to_string()))
}

pub fn set_somaxconn(n: u32) -> io::Result<()> {
    std::fs::write("/proc/sys/net/core/somaxconn", format!("{n}\n"))
}

/// CPU seconds this thread has used (CLOCK_THREAD_CPUTIME_ID): what a worker's busy
/// loop measures, so that time it spends waiting for a CPU (shared, or throttled by a
/// cgroup quota) is not counted as work done.
pub fn thread_cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Burns `seconds` of this thread's CPU time in a busy loop (a connection's
/// `work.cpu`, SPEC 13); its wall time is longer when the CPUs are shared.
pub fn burn_cpu(seconds: f64) {
    if seconds <= 0.0 {
        return;
    }
    let end = thread_cpu_time() + seconds;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while thread_cpu_time() < end {
        // Some arithmetic between the clock reads, kept by black_box.
        for _ in 0..64 {
            x = x.rotate_left(5) ^ x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        }
        std::hint::black_box(x);
    }
}

/// Makes `cmd`'s child join the cgroup whose process list is the file `procs`
/// (`cgroup.procs`) before it runs its program, so that every process it forks is in
/// it from its start. Writing "0" moves the writer, whatever PID namespace it is in.
pub fn join_cgroup(cmd: &mut Command, procs: &std::path::Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(procs.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: the closure calls only async-signal-safe syscalls (open, write, close)
    // on a path built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
            let r = libc::write(fd, b"0\n".as_ptr().cast(), 2);
            let e = io::Error::last_os_error();
            libc::close(fd);
            if r < 0 {
                return Err(e);
            }
            Ok(())
        });
    }
    Ok(())
}
