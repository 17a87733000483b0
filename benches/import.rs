//! `eagain import nginx-log` speed and memory, through the binary as a user runs it: a
//! generated access log of 100,000 and of 1,000,000 lines (the qtiming format of
//! docs/semantics.md, log-nginx-format; 8 FIFO workers, a queue of 65, a peak that
//! overflows it), imported with --workers 8; the wall time, and the peak resident memory
//! of the import process (from wait4), in total and per request.
//!
//! Run with `cargo bench --bench import`.

use rand::{Rng, SeedableRng};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

const FORMAT: &str = "msec=$msec rt=$request_time ct=$connection_time rid=$request_id \
    cr=$connection_requests addr=$remote_addr \"$request\" $status $body_bytes_sent \
    ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" \
    uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"";

/// Writes `n` lines of a FIFO pool's log (8 workers, 65 waiting places, work
/// exponential with mean 0.1 s, Poisson arrivals at 60 a second with every tenth
/// minute at 100) to `path`, in the order of their ends.
fn generate(path: &std::path::Path, n: usize) {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(1);
    let mut free = [0.0f64; 8];
    let mut waiting = std::collections::VecDeque::new();
    let mut t = 1_795_953_600.0;
    let mut lines: Vec<(i64, String)> = Vec::with_capacity(n);
    let ms = |x: f64| (x * 1000.0).floor() as i64;
    let secs = |n: i64| format!("{}.{:03}", n / 1000, n % 1000);
    for i in 0..n {
        let minute = ((t - 1_795_953_600.0) / 60.0) as u64;
        let rate = if minute % 10 == 9 { 100.0 } else { 60.0 };
        t += -(1.0 - rng.random::<f64>()).ln() / rate;
        while waiting.front().is_some_and(|&s| s <= t) {
            waiting.pop_front();
        }
        let head = |end: i64, took: i64| {
            format!(
                "msec={} rt={} ct={} rid={:032x} cr=1 addr=10.0.0.1 \"GET /app?i={i} HTTP/1.1\"",
                secs(end),
                secs(took),
                secs(took),
                i
            )
        };
        if waiting.len() >= 65 {
            let end = ms(t);
            let line = head(end, 0)
                + " 502 157 ua=\"unix:/run/app.sock\" us=\"502\" uct=\"-\" uht=\"-\" urt=\"0.000\"";
            lines.push((end, line));
            continue;
        }
        let w = (0..8).min_by(|&a, &b| free[a].total_cmp(&free[b])).unwrap();
        let start = t.max(free[w]);
        let end = start + 0.001 - (1.0 - rng.random::<f64>()).ln() * 0.1;
        free[w] = end;
        if start > t {
            waiting.push_back(start);
        }
        let took = secs(ms(end) - ms(t));
        let line = head(ms(end), ms(end) - ms(t))
            + &format!(
                " 200 512 ua=\"unix:/run/app.sock\" us=\"200\" uct=\"0.000\" uht=\"{took}\" urt=\"{took}\""
            );
        lines.push((ms(end), line));
    }
    lines.sort_by_key(|(end, _)| *end);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for (_, line) in lines {
        writeln!(f, "{line}").unwrap();
    }
}

/// Runs eagain with `args`; returns the wall time in seconds and the peak resident
/// memory of its process in MiB. Linux keeps a process's peak across exec, so a child
/// starts from its parent's peak at the fork: the logs are generated in a process of
/// their own, and this one stays small.
#[allow(
    clippy::zombie_processes,
    reason = "wait4 reaps the child, for its rusage"
)]
fn measured(args: &[&str]) -> (f64, f64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_eagain"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("eagain starts");
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(pid, child.id() as i32, "wait4 reaps the import");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "eagain {args:?} failed"
    );
    (secs, usage.ru_maxrss as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path, n] = &args[..] {
        if flag == "--generate" {
            generate(std::path::Path::new(path), n.parse().unwrap());
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("eagain-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut peaks = Vec::new();
    for n in [100_000, 1_000_000] {
        let log = dir.join(format!("access-{n}.log"));
        let generated = Command::new(std::env::current_exe().unwrap())
            .args(["--generate", log.to_str().unwrap(), &n.to_string()])
            .status()
            .unwrap();
        assert!(generated.success(), "the log of {n} lines is written");
        let bytes = std::fs::metadata(&log).unwrap().len();
        let out = dir.join(format!("out-{n}"));
        let args = [
            "import",
            "nginx-log",
            log.to_str().unwrap(),
            "--log-format",
            FORMAT,
            "--workers",
            "8",
            "--out",
            out.to_str().unwrap(),
        ];
        let (secs, rss) = (0..2)
            .map(|_| measured(&args))
            .fold((f64::INFINITY, 0.0), |(s, r), (s2, r2)| {
                (s.min(s2), f64::max(r, r2))
            });
        println!(
            "import nginx-log, {n} lines ({:.0} MiB): {secs:.2} s ({:.2} µs a line), \
             peak RSS {rss:.1} MiB ({:.0} bytes a request)",
            bytes as f64 / (1 << 20) as f64,
            secs * 1e6 / n as f64,
            rss * (1 << 20) as f64 / n as f64
        );
        peaks.push((n as f64, rss));
    }
    let ((n0, r0), (n1, r1)) = (peaks[0], peaks[1]);
    println!(
        "memory per added request (the trace and the per-request arrays): {:.0} bytes",
        (r1 - r0) * (1 << 20) as f64 / (n1 - n0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
