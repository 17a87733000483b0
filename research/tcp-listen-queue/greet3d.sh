#!/bin/bash
# Experiment 3d, server-speaks-first variant (like IMAP/SMTP): the client sends nothing,
# the worker writes OK 0.1 s after accept().  1 worker, backlog 2, Poisson, connect
# timeout 3 s, timeout 10 s, 20 s of arrivals.
# usage: greet3d.sh PREFIX "RATES" "SEEDS" [extra run.py args]
P=${1:-gr}; RATES=${2:-"10 15 20 30"}; SEEDS=${3:-"1 2 3"}; shift 3
cd "$(dirname "$0")"
for r in $RATES; do for s in $SEEDS; do
  python3 run.py ${P}_r${r}_s${s} --tcpdump "$@" \
    --server "--backlog 2 --mode pool --workers 1 --service 0.1 --lifetime 45 --greet" \
    --client "--arrival poisson --rate $r --duration 20 --seed $s --connect-timeout 3 --timeout 10 --no-send" | tail -1 | cut -c1-120
done; done
