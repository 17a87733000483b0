#!/usr/bin/env python3
"""Measured refusal of experiment-3d runs against the three models of sim.py, fed
with the very arrival times the client used (common random numbers).

usage: compare.py PREFIX [--rto-from-log] [--sim-arg k=v ...] [--md out.md]
  groups results/PREFIX_r<rate>_s<seed>/ by rate; prints per run and per rate.
  --rto-from-log : the extended model takes each client's data RTO from its measured
                   tcp_info (rto at connect), instead of the fixed P.rto.
"""
import glob, json, os, re, sys
from collections import defaultdict
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sim
from classify import classify


def load(d):
    cl = [json.loads(l) for l in open(os.path.join(d, "client.jsonl"))]
    cl.sort(key=lambda r: r["i"])
    t0 = cl[0]["intended"] - 1.0 if cl else 0
    arr = [r["sent"] - t0 for r in cl]
    return cl, arr


def main():
    prefix = sys.argv[1]
    args = sys.argv[2:]
    kw = {}
    for i, x in enumerate(args):
        if x == "--sim-arg":
            k, v = args[i + 1].split("=")
            kw[k] = float(v) if "." in v else int(v)
    md = args[args.index("--md") + 1] if "--md" in args else None
    runs = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", prefix + "_r*_s*")))
    by_rate = defaultdict(list)
    lines = []
    for d in runs:
        m = re.search(r"_r([\d.]+)_s(\d+)$", d)
        if not m or not os.path.exists(os.path.join(d, "client.jsonl")):
            continue
        rate, seed = float(m.group(1)), int(m.group(2))
        cl, arr = load(d)
        n = len(cl)
        meas = sum(r["outcome"] == "refused" for r in cl) / n
        meas_to = sum(r["outcome"] == "timed_out" for r in cl) / n
        ext_kw = dict(kw)
        if "--rto-from-log" in args:
            rtos = [max(0.2, ((r.get("info_conn") or {}).get("rto_us") or 204000) / 1e6) for r in cl]
            # the P.rto is per connection here: patch sched_data through a callable
            ext_kw["rto_list"] = rtos
        res = {}
        for model in ("simple", "grid", "extended"):
            mk = dict(ext_kw) if model == "extended" else {k: v for k, v in kw.items()}
            rto_list = mk.pop("rto_list", None)
            if rto_list is not None:
                res[model] = avg_with_rtos(arr, rto_list, model=model, service=0.1005, **mk)
            else:
                res[model] = sim.simulate_avg(arr, reps=10, model=model, service=0.1005, **mk)
        try:
            c = classify(d)["classes"]
        except Exception:
            c = {}
        row = {"rate": rate, "seed": seed, "n": n, "measured": meas, "measured_timed_out": meas_to,
               "simple": res["simple"]["refused_share"], "grid": res["grid"]["refused_share"],
               "extended": res["extended"]["refused_share"],
               "ext_timed_out": res["extended"]["timed_out"] / n,
               "hidden_meas": c.get("hidden", 0), "hidden_ext": res["extended"]["hidden"]}
        by_rate[rate].append(row)
        lines.append(row)
        print(f"r={rate:5.1f} s={seed} n={n:4d} measured={meas:.3f} simple={row['simple']:.3f} "
              f"grid={row['grid']:.3f} extended={row['extended']:.3f}  hidden meas={row['hidden_meas']} "
              f"ext={row['hidden_ext']:.1f}  timed_out meas={meas_to:.3f} ext={row['ext_timed_out']:.3f}")
    out = ["| rate /s | runs | arrivals | measured refused | simple model | extended model | simple - measured | extended - measured | hidden conns measured | hidden conns extended | timed out measured | timed out extended |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    worst_s = worst_e = 0
    for rate in sorted(by_rate):
        rs = by_rate[rate]
        N = sum(r["n"] for r in rs)
        w = lambda k: sum(r[k] * r["n"] for r in rs) / N
        ms, ss, es = w("measured"), w("simple"), w("extended")
        worst_s = max(worst_s, abs(ss - ms))
        worst_e = max(worst_e, abs(es - ms))
        out.append(f"| {rate:g} | {len(rs)} | {N} | {ms:.3f} | {ss:.3f} | {es:.3f} | {ss - ms:+.3f} | {es - ms:+.3f} | "
                   f"{sum(r['hidden_meas'] for r in rs)} | {sum(r['hidden_ext'] for r in rs):.0f} | "
                   f"{w('measured_timed_out'):.3f} | {w('ext_timed_out'):.3f} |")
    out.append(f"\nmax |simple - measured| = {worst_s:.3f}; max |extended - measured| = {worst_e:.3f}")
    print("\n".join(out))
    if md:
        open(md, "w").write("\n".join(out) + "\n")
    json.dump(lines, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", prefix + "_compare.json"), "w"), indent=1)


def avg_with_rtos(arr, rtos, reps=10, **kw):
    out = None
    for r in range(reps):
        p = sim.P(phase=(r + 0.5) / reps, seed=r + 1, **kw)
        order = sorted(range(len(arr)), key=lambda i: arr[i])
        s = sim.Sim([arr[i] for i in order], p)
        s.rto_list = [rtos[i] for i in order]
        s.run()
        res = s.summary()
        if out is None:
            out = {k: 0.0 for k in res}
        for k in res:
            out[k] += res[k] / reps
    return out


if __name__ == "__main__":
    main()
