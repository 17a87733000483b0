#!/usr/bin/env python3
"""eagain against SimPy and Ciw on the same M/M/c/K blocking model, on this machine.

The model is models/mmck.toml: lambda = 9, mu = 1, c = 10, K = 20 (10 processes and a
listen queue of 10). Every tool runs single-threaded (eagain with RAYON_NUM_THREADS=1),
with the same replication length and warm-up; eagain runs ten times as many
replications as the peers, since it is that much faster. For each tool the script
prints the arrivals simulated (after the warm-up), the seconds the simulation took
(not counting interpreter start-up or imports), arrivals per second, eagain's speed
divided by that tool's, and the tool's refusal estimate against the exact M/M/c/K
value. An estimate more than 4 standard errors from the exact value means the tool
simulates another queue: with 10^6 arrivals that catches an off-by-one in c or K.

    python3 benches/peers/compare.py            # 10^6 arrivals per peer, 10^7 for eagain
    python3 benches/peers/compare.py --quick    # 4 x 10^5 and 4 x 10^6: about 15 s
    python3 benches/peers/compare.py --quick --check   # exit 1 if an estimate is off

Needs `pip install -r benches/peers/requirements.txt` and a built eagain
(`cargo build --release`, or EAGAIN_BIN=/path/to/eagain).
"""

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from mmck_common import C, K, LAMBDA, MU, WARMUP, mmck_refusal  # noqa: E402

TOLERANCE_SE = 4.0


def find_eagain() -> str:
    env = os.environ.get("EAGAIN_BIN")
    if env:
        if os.access(env, os.X_OK):
            return env
        sys.exit(f"compare.py: EAGAIN_BIN={env} is not an executable file; build eagain with "
                 f"`cargo build --release` in {REPO}, or unset EAGAIN_BIN")
    built = REPO / "target" / "release" / "eagain"
    if built.exists():
        return str(built)
    on_path = shutil.which("eagain")
    if on_path:
        return on_path
    sys.exit(f"compare.py: the eagain binary was not found at {built} nor on PATH; build it with "
             f"`cargo build --release` in {REPO}, or set EAGAIN_BIN")


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with df degrees of freedom (Cornish-Fisher
    expansion, Abramowitz and Stegun 26.7.5; within 1e-4 for df >= 5)."""
    z = 1.959963984540054
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def run_eagain(eagain: str, duration: float, replications: int, extra_sets: list[str]) -> dict:
    cmd = [eagain, "simulate", str(REPO / "models" / "mmck.toml"),
           "--set", f"load.duration={duration}", "--set", f"sim.warmup={WARMUP}",
           "--set", f"load.rate={LAMBDA}", "--set", f"pool.process_limit={C}",
           *[a for s in extra_sets for a in ("--set", s)],
           "--replications", str(replications), "--seed", "1", "--format", "json"]
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if out.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}")
    d = json.loads(out.stdout)
    version = subprocess.run([eagain, "--version"], capture_output=True, text=True).stdout.split()[-1]
    p = d["refusal_probability"]
    se = (p["ci_high"] - p["mean"]) / t_quantile_975(replications - 1)
    return {
        "tool": "eagain", "version": version, "replications": replications,
        "arrivals": d["offered"], "refused": d["refused"], "seconds": d["wall_s"],
        "refusal_probability": p["mean"], "standard_error": se,
        "queue_capacity": d["effective"]["queue_capacity"],
    }


def run_peer(script: str, duration: float, replications: int, capacity: int) -> dict:
    cmd = [sys.executable, str(HERE / script), "--duration", str(duration),
           "--replications", str(replications), "--warmup", str(WARMUP),
           "--rate", str(LAMBDA), "--mu", str(MU), "--servers", str(C), "--capacity", str(capacity)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}"
                 "\n(install the peers with: python3 -m pip install -r benches/peers/requirements.txt)")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="4 x 10^5 arrivals per peer and 4 x 10^6 for eagain (about 15 s, for CI)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if any tool's estimate is more than 4 standard errors from the exact value")
    ap.add_argument("--peer-arrivals", type=float, help="arrivals per peer (default 1e6, --quick 4e5)")
    ap.add_argument("--eagain-factor", type=int, default=10,
                    help="eagain simulates this many times the peers' arrivals (default 10)")
    ap.add_argument("--replications", type=int, default=20, help="peer replications (default 20)")
    ap.add_argument("--peer-capacity", type=int, default=K,
                    help="K given to the peers (default 20); another value shows that the check catches a wrong model")
    ap.add_argument("--eagain-set", action="append", default=[], metavar="PATH=VALUE",
                    help="an extra --set for eagain (e.g. listener.backlog=10 to see the check catch a wrong model)")
    ap.add_argument("--only", choices=["eagain", "simpy", "ciw"], action="append",
                    help="run only these tools (repeatable)")
    args = ap.parse_args()

    peer_arrivals = args.peer_arrivals or (4e5 if args.quick else 1e6)
    reps = args.replications
    # Same replication length for every tool: the warm-up plus the peers' share of arrivals.
    duration = round(WARMUP + peer_arrivals / reps / LAMBDA, 1)
    tools = args.only or ["eagain", "simpy", "ciw"]
    eagain = find_eagain() if "eagain" in tools else None

    exact = mmck_refusal(LAMBDA, MU, C, K)
    exact_line = f"exact M/M/{C}/{K} refusal probability at lambda={LAMBDA:g}, mu={MU:g}: {exact:.6f}"
    if eagain:
        out = subprocess.run([eagain, "analytic", "mmck", "--rate", str(LAMBDA), "--mu", str(MU),
                              "--servers", str(C), "--capacity", str(K)], capture_output=True, text=True)
        first = out.stdout.splitlines()[0] if out.returncode == 0 and out.stdout else ""
        if first.startswith("refusal_probability="):
            analytic = float(first.split("=", 1)[1])
            if abs(analytic - exact) > 1e-12:
                sys.exit(f"compare.py: eagain analytic mmck says {analytic}, the closed form {exact}")
            exact_line += " (closed form; eagain analytic mmck agrees)"

    print(machine())
    print(exact_line)
    print(f"each replication: {duration:g} s of arrivals, the first {WARMUP:g} s left out; "
          f"peers {reps} replications, eagain {reps * args.eagain_factor}; one thread each")
    sys.stdout.flush()

    results = []
    for tool in tools:
        t0 = time.perf_counter()
        if tool == "eagain":
            r = run_eagain(eagain, duration, reps * args.eagain_factor, args.eagain_set)
        elif tool == "simpy":
            r = run_peer("mmck_simpy.py", duration, reps, args.peer_capacity)
        else:
            r = run_peer("mmck_ciw.py", duration, reps, args.peer_capacity)
        r["elapsed"] = time.perf_counter() - t0
        results.append(r)

    eagain_speed = next((r["arrivals"] / r["seconds"] for r in results if r["tool"] == "eagain"), None)
    header = ["tool", "version", "arrivals", "seconds", "arrivals/s", "eagain ÷ tool",
              "refusal estimate ± SE", "exact", "z", "within 4 SE"]
    rows = []
    failed = []
    for r in results:
        speed = r["arrivals"] / r["seconds"]
        ratio = f"{eagain_speed / speed:.1f}" if eagain_speed else "-"
        z = abs(r["refusal_probability"] - exact) / r["standard_error"]
        ok = z <= TOLERANCE_SE
        if not ok:
            failed.append(r["tool"])
        rows.append([r["tool"], r["version"], f"{r['arrivals']:,}", f"{r['seconds']:.2f}",
                     f"{speed:.2e}", ratio,
                     f"{r['refusal_probability']:.5f} ± {r['standard_error']:.5f}",
                     f"{exact:.5f}", f"{z:.2f}", "yes" if ok else "NO"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    print()
    if failed:
        print(f"estimate more than {TOLERANCE_SE:g} standard errors from the exact value: {', '.join(failed)}")
    if args.check:
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
