//! `eagain analytic`: the exact queueing results the simulator is tested against,
//! printed as `name=value` lines.

use super::args::AnalyticArgs;
use super::print;
use crate::analytic;
use crate::error::BadInput;
use anyhow::Result;

/// The most servers or places a formula is computed for: it sums over each.
const MAX_SIZE: u32 = 10_000_000;

pub fn run(args: AnalyticArgs) -> Result<()> {
    let positive = |name: &str, x: f64| -> Result<(), BadInput> {
        if x.is_finite() && x > 0.0 {
            Ok(())
        } else {
            Err(BadInput(format!("--{name} {x}: must be a number above 0")))
        }
    };
    let at_least_one = |name: &str, x: u32| -> Result<(), BadInput> {
        if x == 0 {
            Err(BadInput(format!("--{name} 0: must be at least 1")))
        } else if x > MAX_SIZE {
            Err(BadInput(format!(
                "--{name} {x}: at most {MAX_SIZE} (the formulas sum over every state)"
            )))
        } else {
            Ok(())
        }
    };
    let text = match args {
        AnalyticArgs::ErlangB { servers, load } => {
            at_least_one("servers", servers)?;
            positive("load", load)?;
            format!("erlang_b={}\n", analytic::erlang_b(servers, load))
        }
        AnalyticArgs::ErlangC { servers, load, mu } => {
            at_least_one("servers", servers)?;
            positive("load", load)?;
            let mut t = format!("erlang_c={}\n", analytic::erlang_c(servers, load));
            if let Some(mu) = mu {
                positive("mu", mu)?;
                t += &format!(
                    "mean_wait_s={}\n",
                    analytic::erlang_c_mean_wait(servers, load * mu, mu)
                );
            }
            t
        }
        AnalyticArgs::Mmck {
            rate,
            mu,
            servers,
            capacity,
        } => {
            positive("rate", rate)?;
            positive("mu", mu)?;
            at_least_one("servers", servers)?;
            at_least_one("capacity", capacity)?;
            if capacity < servers {
                crate::bad_input!(
                    "--capacity {capacity}: K counts the connections being served too, so it \
                     must be at least --servers ({servers})"
                );
            }
            let r = analytic::mmck(rate, mu, servers, capacity);
            format!(
                "refusal_probability={}\nthroughput_per_s={}\nmean_in_system={}\n\
                 mean_in_queue={}\nmean_busy={}\nmean_time_in_system_s={}\nmean_wait_s={}\n",
                r.refusal_probability,
                r.throughput,
                r.mean_in_system,
                r.mean_in_queue,
                r.mean_busy,
                r.mean_time_in_system,
                r.mean_wait
            )
        }
        AnalyticArgs::Md1k {
            rate,
            service,
            capacity,
        } => {
            positive("rate", rate)?;
            positive("service", service)?;
            at_least_one("capacity", capacity)?;
            format!(
                "refusal_probability={}\n",
                analytic::md1k(rate, service, capacity)
            )
        }
    };
    print(&text)
}
