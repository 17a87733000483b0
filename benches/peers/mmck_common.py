"""What the peer scripts share: the M/M/c/K case, the exact answer, and statistics.

The case is the one `models/mmck.toml` describes: Poisson arrivals at rate LAMBDA,
exponential blocking times with rate MU, C processes and K connections in all
(C being served, K - C waiting in the listen queue). A connection that finds K in
the system is refused.

Every tool runs the same replications: each starts empty, simulates `duration`
seconds of arrivals and counts only the arrivals after `warmup` seconds (the model's
`sim.warmup`). A replication's estimate is refused / arrivals over that window; the
tool's estimate is the mean over replications and its standard error is the sample
standard deviation over sqrt(replications), as eagain reports it.
"""

import argparse
import json
import math
import statistics

LAMBDA = 9.0
MU = 1.0
C = 10
K = 20
WARMUP = 100.0


def mmck_refusal(lam: float, mu: float, c: int, k: int) -> float:
    """p_K of M/M/c/K (docs/oracles.md#mmck): p_n proportional to a^n/n! for n <= c
    and to a^n / (c! c^(n-c)) above, normalised over 0..K. Computed with running
    terms so that no factorial overflows."""
    a = lam / mu
    term = 1.0
    total = 1.0
    for n in range(1, k + 1):
        term *= a / min(n, c)
        total += term
    return term / total


def summarise(per_rep: list[float]) -> tuple[float, float]:
    """Mean and standard error of the per-replication estimates."""
    mean = statistics.fmean(per_rep)
    se = statistics.stdev(per_rep) / math.sqrt(len(per_rep)) if len(per_rep) > 1 else math.nan
    return mean, se


def parser(tool: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=f"M/M/c/K blocking queue in {tool}; prints one JSON object.")
    p.add_argument("--rate", type=float, default=LAMBDA, help="arrival rate lambda (default 9)")
    p.add_argument("--mu", type=float, default=MU, help="service rate mu (default 1)")
    p.add_argument("--servers", type=int, default=C, help="c (default 10)")
    p.add_argument("--capacity", type=int, default=K, help="K, in service plus waiting (default 20)")
    p.add_argument("--duration", type=float, default=5000.0, help="seconds of arrivals per replication")
    p.add_argument("--warmup", type=float, default=WARMUP, help="seconds left out at the start")
    p.add_argument("--replications", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    return p


def report(tool: str, version: str, args, arrivals: int, refused: int, seconds: float, per_rep: list[float]) -> None:
    mean, se = summarise(per_rep)
    print(json.dumps({
        "tool": tool,
        "version": version,
        "replications": args.replications,
        "duration": args.duration,
        "warmup": args.warmup,
        "arrivals": arrivals,
        "refused": refused,
        "seconds": seconds,
        "refusal_probability": mean,
        "standard_error": se,
        "exact": mmck_refusal(args.rate, args.mu, args.servers, args.capacity),
    }))
