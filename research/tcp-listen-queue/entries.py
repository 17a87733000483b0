#!/usr/bin/env python3
"""Exact entries into the accept queue of an --ftrace run, by what brought them in:
first_syn / retx_syn (a retransmitted SYN; with the size of its timer batch) /
hidden_synack_ack (a hidden request sock, by the client's ACK to a SYN-ACK
retransmission) / hidden_data (a hidden connection, by a data retransmission) /
fin_after_giveup (the client's FIN after it gave up) / other.
usage: entries.py results/NAME"""
import bisect, json, os, sys
from collections import Counter
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qrecon
from timeline import load_conns, describe


def classify_entries(d):
    ts, q, ent, acc = qrecon.queue(d)
    conns = load_conns(d)
    retx = sorted(t for cs in conns.values() for ps in cs for t in
                  [x[0] for x in describe(ps) if x[2] == "SYN"][1:])
    out = Counter()
    for t, p in ent:
        cands = [ps for ps in conns.get(p, []) if ps and ps[0][0] <= t + 1e-4]
        if not cands:
            out["other"] += 1
            continue
        lab = describe(cands[-1])
        near = [(abs(x[0] - t), x) for x in lab if abs(x[0] - t) < 0.003 and x[1] == "C>S"]
        syns = [x[0] for x in lab if x[2] == "SYN"]
        synacks = [x[0] for x in lab if x[2] == "SYNACK"]
        if syns and abs(syns[-1] - t) < 0.003 and synacks and abs(synacks[0] - t) < 0.003:
            if len(syns) == 1:
                out["first_syn"] += 1
            else:
                k = bisect.bisect_right(retx, syns[-1] + 0.001) - bisect.bisect_left(retx, syns[-1] - 0.001)
                out[f"retx_syn_batch{k}"] += 1
            continue
        kinds = {x[1][2] for x in near}
        if "FIN" in kinds:
            out["fin_after_giveup"] += 1
        elif "DATA" in kinds:
            out["hidden_data"] += 1
        elif any(abs(s - t) < 0.003 for s in synacks[1:]):
            out["hidden_synack_ack"] += 1
        else:
            out["other"] += 1
    return out


if __name__ == "__main__":
    print(json.dumps(dict(sorted(classify_entries(sys.argv[1]).items()))))
