#!/usr/bin/env python3
"""The M/M/c/K blocking queue of models/mmck.toml in SimPy, written the way SimPy's
documentation writes a queue: a source process, one process per customer, and a
Resource with c places. An arrival that finds K customers in the system (c being
served plus K - c waiting) is refused.

    python3 benches/peers/mmck_simpy.py --duration 5655.6 --replications 20

prints one JSON object (see mmck_common.report). The time counted is the simulation
only, not the interpreter's start or the imports.
"""

import random
import time

import simpy

from mmck_common import parser, report


def replication(rate, mu, c, k, duration, warmup, seed):
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    counts = [0, 0]  # arrivals after the warm-up, refused among them

    def customer():
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(mu))

    def source():
        while True:
            yield env.timeout(rng.expovariate(rate))
            counted = env.now >= warmup
            if counted:
                counts[0] += 1
            if server.count + len(server.queue) >= k:
                if counted:
                    counts[1] += 1
            else:
                env.process(customer())

    env.process(source())
    env.run(until=duration)
    return counts


def main():
    args = parser("SimPy").parse_args()
    arrivals = refused = 0
    per_rep = []
    seconds = 0.0
    for r in range(args.replications):
        start = time.perf_counter()
        a, x = replication(args.rate, args.mu, args.servers, args.capacity,
                           args.duration, args.warmup, args.seed * 1_000_003 + r)
        seconds += time.perf_counter() - start
        arrivals += a
        refused += x
        per_rep.append(x / a)
    report("SimPy", simpy.__version__, args, arrivals, refused, seconds, per_rep)


if __name__ == "__main__":
    main()
