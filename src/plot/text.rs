//! The words above a chart of simulated or measured runs: the model's name and what
//! the command changed in it (the varied paths, the `--set` overrides), so that a
//! chart of 1, 2 and 4 workers is never titled by a model named "1 sync worker"; and
//! the parameters held fixed: the service's, or in a chain each service's, with the
//! load it carries (a chain's first service may carry a fraction of what the next one
//! does: imap-login 0.036 Erlangs, imap 720).

use super::style::fmt_number;
use super::ChartText;
use crate::model::Model;

impl ChartText {
    /// `varied`: the paths of the grid's axes; `set`: the `--set PATH=VALUE`s as given;
    /// `backlog_derived`: the backlog was not given and follows process_limit x
    /// client_limit (a Dovecot model).
    pub fn of_runs(
        model: &Model,
        varied: &[String],
        set: &[String],
        backlog_derived: bool,
    ) -> ChartText {
        let mut title = model.name.clone();
        if !varied.is_empty() {
            title += &format!(", varying {}", varied.join(" and "));
        }
        let mut subtitle = String::new();
        if !set.is_empty() {
            subtitle += &format!("--set {}; ", set.join(", "));
        }
        subtitle += &fixed_parameters(model, varied, backlog_derived);
        let front = if model.is_chain() {
            model.front().name.clone()
        } else {
            String::new()
        };
        ChartText {
            title,
            subtitle,
            front,
        }
    }
}

/// The fixed parameters of a model for a chart's subtitle, leaving out the varied ones:
/// those of its one service, or a few of each service of a chain.
fn fixed_parameters(m: &Model, varied: &[String], backlog_derived: bool) -> String {
    if m.is_chain() {
        return chain_parameters(m, varied);
    }
    let s = m.front();
    let varies = |path: &str| varied.iter().any(|a| a.starts_with(path));
    let derived = backlog_derived && (varies("pool.process_limit") || varies("pool.client_limit"));
    let backlog = if derived {
        "backlog=process_limit x client_limit".to_string()
    } else {
        format!("backlog={}", s.listener.backlog)
    };
    let items = [
        (
            "pool.process_limit",
            format!("process_limit={}", s.pool.process_limit),
        ),
        (
            "pool.client_limit",
            format!("client_limit={}", s.pool.client_limit),
        ),
        (
            "pool.service_count",
            format!("service_count={}", s.pool.service_count),
        ),
        (
            "pool.process_min_avail",
            format!("process_min_avail={}", s.pool.process_min_avail),
        ),
        ("listener.backlog", backlog),
        (
            "listener.somaxconn",
            format!("somaxconn={}", s.listener.somaxconn),
        ),
        (
            "listener.kind",
            format!("{:?}", s.listener.kind).to_lowercase(),
        ),
        ("master.mode", s.master.mode.to_string()),
        (
            "work.blocking",
            format!("blocking mean {} s", fmt_number(s.work.blocking.mean(), 4)),
        ),
        (
            "load.rate",
            format!("rate={}/s", fmt_number(m.load.rate, 4)),
        ),
    ];
    items
        .iter()
        .filter(|(path, _)| !varies(path))
        .map(|(_, s)| s.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A chain's services, each with its limits and the load it carries (the clients' rate
/// x its mean blocking; its blocking time when the rate varies), then the rate, short
/// enough for one line: "imap-login: process_limit=100, client_limit=1000, 0.036
/// Erlangs; imap: process_limit=1024, 720 Erlangs; rate=12/s".
fn chain_parameters(m: &Model, varied: &[String]) -> String {
    let varies = |path: &str| varied.iter().any(|a| a.starts_with(path));
    let rate_varies = varies("load.rate");
    let mut parts: Vec<String> = m
        .services
        .iter()
        .map(|s| {
            let mut items = Vec::new();
            if !varies(&s.path("pool.process_limit")) {
                items.push(format!("process_limit={}", s.pool.process_limit));
            }
            if !varies(&s.path("pool.client_limit")) && s.pool.client_limit != 1 {
                items.push(format!("client_limit={}", s.pool.client_limit));
            }
            let blocking = s.work.blocking.mean();
            if !varies(&s.path("work.blocking")) {
                items.push(if rate_varies {
                    format!("blocking {} s", fmt_number(blocking, 3))
                } else {
                    format!("{} Erlangs", fmt_number(m.load.rate * blocking, 3))
                });
            }
            format!("{}: {}", s.name, items.join(", "))
        })
        .collect();
    if !rate_varies {
        parts.push(format!("rate={}/s", fmt_number(m.load.rate, 4)));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"
name = "nginx + gunicorn (1 sync worker)"
[load]
rate = 0.4
duration = 100
[listener]
backlog = 2048
somaxconn = 128
[pool]
process_limit = 1
[work]
blocking = { dist = "constant", value = 2 }
"#;

    #[test]
    fn a_title_says_what_was_varied_and_set_and_the_subtitle_leaves_varied_paths_out() {
        let m = crate::model::load_str(MODEL, "m.toml", std::path::Path::new("."), &[]).unwrap();
        let t = ChartText::of_runs(
            &m,
            &["load.rate".into(), "pool.process_limit".into()],
            &["listener.somaxconn=1024".into()],
            false,
        );
        assert_eq!(
            t.title,
            "nginx + gunicorn (1 sync worker), varying load.rate and pool.process_limit"
        );
        assert!(
            t.subtitle.starts_with("--set listener.somaxconn=1024; "),
            "{}",
            t.subtitle
        );
        assert!(!t.subtitle.contains("process_limit="), "{}", t.subtitle);
        assert!(!t.subtitle.contains("rate="), "{}", t.subtitle);
        assert!(t.subtitle.contains("backlog=2048"), "{}", t.subtitle);
    }

    #[test]
    fn a_chains_subtitle_gives_every_service_and_the_load_it_carries() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/dovecot-login-imap.toml");
        let m = crate::model::load(&path, &[]).unwrap().model;
        let t = ChartText::of_runs(&m, &[], &[], false);
        assert!(
            t.subtitle.contains("imap-login: process_limit=100")
                && t.subtitle.contains("0.036 Erlangs")
                && t.subtitle.contains("imap: process_limit=1024")
                && t.subtitle.contains("720 Erlangs"),
            "{}",
            t.subtitle
        );
        let t = ChartText::of_runs(&m, &["services.imap.pool.process_limit".into()], &[], false);
        assert!(!t.subtitle.contains("process_limit=1024"), "{}", t.subtitle);
        assert!(t.subtitle.contains("process_limit=100,"), "{}", t.subtitle);
    }
}
