//! What the PHP-FPM and Apache importers share: the numbers both servers'
//! configurations hold (whole numbers, checked with the line), the summary line of a
//! spare-server model, and the parts of such a model that no configuration can know (the
//! load, the work, the start-up time), written as the doveconf importer writes them: the
//! shipped model's values, each line marked to measure and --set.

use super::common::{bad_line, Setting};
use super::text::{clean, float, snippet, Out};
use crate::error::BadInput;
use crate::model::{ListenerKind, MasterMode, Model};

/// The first line `eagain import php-fpm|apache` prints: `FILE: WHAT: process_limit 5,
/// ...`, the model's pool, listener and master.
pub(super) fn summary(file: &str, what: &str, model: &Model) -> String {
    let m = model.front();
    let p = &m.pool;
    let mut summary = format!(
        "{file}: {what}: process_limit {}, service_count {}",
        p.process_limit, p.service_count
    );
    if p.threads > 1 {
        summary.push_str(&format!(
            ", {} threads and connections a process",
            p.threads
        ));
    }
    if let (Some(min), Some(max)) = (p.min_spare, p.max_spare) {
        let start = crate::model::start_servers(p, m.master.mode);
        summary.push_str(&format!(
            ", start_servers {start}, min_spare {min}, max_spare {max}"
        ));
    }
    if m.master.mode == MasterMode::PhpFpmOndemand {
        summary.push_str(&format!(", idle_kill {} s", p.idle_kill));
    }
    summary.push_str(&format!(
        ", {} listener with backlog {}, master {}",
        match m.listener.kind {
            ListenerKind::Unix => "unix",
            ListenerKind::Tcp => "tcp",
        },
        m.listener.backlog,
        m.master.mode
    ));
    summary
}

/// A whole number of at most u32::MAX, or a refusal naming the line, the setting and
/// what it must be.
pub(super) fn uint(file: &str, s: &Setting, sep: &str, allowed: &str) -> Result<u32, BadInput> {
    let v = s.value.trim();
    let wrong = |what: &str| {
        bad_line(
            file,
            s.line,
            format!(
                "`{}{sep}{}`: {} must be {what}.",
                clean(&s.key),
                snippet(&s.value),
                clean(&s.key)
            ),
        )
    };
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(wrong(allowed));
    }
    match v.parse::<u64>() {
        Ok(n) if n <= u64::from(u32::MAX) => Ok(n as u32),
        _ => Err(wrong(&format!("{allowed} (at most 4294967295)"))),
    }
}

/// `arrival`: independent clients; `measure` marks a value the configuration cannot know.
pub(super) fn write_arrival(o: &mut Out, measure: &str) {
    o.field(
        "arrival = \"poisson\"",
        &format!("independent clients; {measure}"),
    );
}

/// The clients' connect timeout; `whose` says whose it is.
pub(super) fn write_connect_timeout(o: &mut Out, seconds: f64, whose: &str, measure: &str) {
    o.field(
        &format!("connect_timeout = {}", float(seconds)),
        &format!("{whose}; {measure}"),
    );
}

/// `somaxconn` and, for TCP, the SYN schedule: the kernel's, not the server's.
pub(super) fn write_kernel(o: &mut Out, tcp: bool, measure: &str) {
    o.field(
        "somaxconn = 4096",
        &format!(
            "net.core.somaxconn: 4096 since Linux 5.4, 128 before (eagain semantics: \
             somaxconn-default); {measure}"
        ),
    );
    if tcp {
        o.field(
            "syn_schedule = \"linux-6.5\"",
            &format!(
                "SYN retransmissions of Linux >= 6.5 (eagain semantics: tcp-syn-retries); \
                 {measure}"
            ),
        );
    }
}

/// `startup`: fork to a child that accepts.
pub(super) fn write_startup(o: &mut Out, seconds: f64, measure: &str) {
    o.field(
        &format!(
            "startup = {{ dist = \"constant\", value = {} }}",
            float(seconds)
        ),
        &format!("fork to accept (a guess); {measure}"),
    );
}

/// [work]: one request's time in a child.
pub(super) fn write_work(o: &mut Out, mean: f64, what: &str, measure: &str) {
    o.raw("[work]");
    o.field(
        &format!(
            "blocking = {{ dist = \"lognormal\", mean = {}, sd = {} }}",
            float(mean),
            float(mean)
        ),
        &format!("{what} (a guess); {measure}"),
    );
}

/// After [work]: the CPU and memory a configuration cannot know (SPEC section 13),
/// left commented out with the command that measures each: `cpu_how` for a request's
/// CPU seconds, `rss` for the name ps knows the children by. Commented, the model
/// means what it meant without them (no CPU contention, no memory check).
pub(super) fn write_cpu_guess(o: &mut Out, cpu_how: &str, rss: &str) {
    o.wrap(
        "#",
        "#",
        &format!(
            "CPU and memory are not in the configuration (docs/cpu.md): measure them, then \
             uncomment the cpu line and give the host. work.cpu is a request's CPU seconds, \
             spent before its blocking time (which then is its time off the CPU): {cpu_how}. \
             pool.process_memory_mib is one child's resident memory: the mean of \
             `ps -o rss= -C {rss}` (KiB) / 1024, then --set pool.process_memory_mib=N. \
             [host] cpus is `nproc`, or a container's quota in cores (cgroup v2 cpu.max, \
             v1 cpu.cfs_quota_us / cpu.cfs_period_us), and memory_mib its memory \
             (`free -m`, memory.max): --set host.cpus=N --set host.memory_mib=N."
        ),
    );
    o.field(
        "# cpu = { dist = \"lognormal\", mean = 0.05, sd = 0.05 }",
        "a guess to measure: CPU seconds a request",
    );
}

/// [sim]: a fixed seed; the pool starts as the server starts, so no warm-up.
pub(super) fn write_sim(o: &mut Out) {
    o.raw("[sim]");
    o.raw("seed = 1");
    o.raw("replications = 10");
    o.field(
        "warmup = 0.0",
        "the pool starts as the server starts: its start-up children",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(value: &str) -> Setting {
        Setting {
            line: 7,
            sections: vec!["[www]".into()],
            key: "pm.max_children".into(),
            value: value.into(),
        }
    }

    #[test]
    fn whole_numbers_are_read_and_others_refused_with_the_line() {
        assert_eq!(
            uint("f.conf", &setting("12"), " = ", "a number").unwrap(),
            12
        );
        let e = uint("f.conf", &setting("many"), " = ", "a whole number").unwrap_err();
        assert_eq!(
            e.0,
            "f.conf line 7: `pm.max_children = many`: pm.max_children must be a whole number."
        );
        let e = uint("f.conf", &setting("99999999999"), " = ", "a number").unwrap_err();
        assert!(e.0.contains("at most 4294967295"), "{}", e.0);
        assert!(uint("f.conf", &setting("-1"), " = ", "a number").is_err());
    }
}
