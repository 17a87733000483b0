#!/usr/bin/env python3
"""The M/M/c/K blocking queue of models/mmck.toml in Ciw: one node with c servers and
a queue capacity of K - c; Ciw rejects an arrival that finds the node full and writes
a "rejection" record for it.

    python3 benches/peers/mmck_ciw.py --duration 5655.6 --replications 20

prints one JSON object (see mmck_common.report). The time counted is Ciw's
simulate_until_max_time only; reading the records afterwards is not timed.
"""

import time

import ciw

from mmck_common import parser, report


def replication(rate, mu, c, k, duration, warmup, seed):
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=rate)],
        service_distributions=[ciw.dists.Exponential(rate=mu)],
        number_of_servers=[c],
        queue_capacities=[k - c],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    start = time.perf_counter()
    sim.simulate_until_max_time(duration)
    seconds = time.perf_counter() - start
    # Every arrival has a record by now: served ones a "service" record, refused ones a
    # "rejection" record, and those still queued or in service an incomplete one.
    arrivals = refused = 0
    for rec in sim.get_all_records(only=["service", "rejection"], include_incomplete=True):
        if rec.arrival_date >= warmup:
            arrivals += 1
            if rec.record_type == "rejection":
                refused += 1
    return arrivals, refused, seconds


def main():
    args = parser("Ciw").parse_args()
    arrivals = refused = 0
    per_rep = []
    seconds = 0.0
    for r in range(args.replications):
        a, x, s = replication(args.rate, args.mu, args.servers, args.capacity,
                              args.duration, args.warmup, args.seed * 1_000_003 + r)
        seconds += s
        arrivals += a
        refused += x
        per_rep.append(x / a)
    report("Ciw", ciw.__version__, args, arrivals, refused, seconds, per_rep)


if __name__ == "__main__":
    main()
