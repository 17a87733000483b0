//! `eagain harness` and `eagain validate`: a real server measured on this machine, and
//! beside the simulator's prediction; the harness's progress notes go to stderr.

use super::args::HarnessArgs;
use super::{load_scenario, note, print};
use crate::harness::{self, Request};
use anyhow::Result;

fn request(args: HarnessArgs) -> Result<Request> {
    Ok(Request {
        scenario: load_scenario(&args.model)?,
        target: args.target,
        vary: args.vary,
        out: args.out,
        runs: args.runs,
        max_lag_ms: args.max_lag_ms,
        port: args.port,
        socket: args.socket,
        no_namespace: args.no_namespace,
        max_processes: args.max_processes,
        max_total_s: args.max_total_s,
    })
}

pub fn measure(args: HarnessArgs) -> Result<()> {
    print(&harness::measure(request(args)?, &note)?)
}

pub fn validate(args: HarnessArgs) -> Result<()> {
    print(&harness::validate(request(args)?, &note)?)
}
