#!/bin/bash
# Experiment 3d: 1 worker, 0.1 s constant work, backlog 2, Poisson arrivals,
# connect timeout 3 s, load timeout 10 s, 20 s of arrivals, 3 seeds per rate.
# usage: grid3d.sh PREFIX "RATES" "SEEDS" [extra run.py args, e.g. --sysctl ...]
P=${1:-g3d}; RATES=${2:-"5 8 10 12 15 20 30 40"}; SEEDS=${3:-"1 2 3"}; shift 3
cd "$(dirname "$0")"
for r in $RATES; do for s in $SEEDS; do
  python3 run.py ${P}_r${r}_s${s} --tcpdump "$@" \
    --server "--backlog 2 --mode pool --workers 1 --service 0.1 --lifetime 45" \
    --client "--arrival poisson --rate $r --duration 20 --seed $s --connect-timeout 3 --timeout 10" | tail -1 | cut -c1-120
done; done
