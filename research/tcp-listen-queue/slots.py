#!/usr/bin/env python3
"""Who takes the accept-queue place freed by each accept(): for every accept() in
server.jsonl, the first connection that enters the accept queue after it (from the
capture), by how it entered:
  first_syn     its first SYN got in
  retx_syn_kof  a retransmitted SYN, in a timer batch of k retransmitted SYNs
  hidden_data   a hidden (SYN-RECV, client connected) connection, by a data retransmission
  hidden_ack    a hidden connection, by its ACK to a SYN-ACK retransmission
and the delay from the accept to that entry.  usage: slots.py results/NAME"""
import json, os, sys
from collections import Counter
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timeline import load_pcap_txt, describe, load_conns


def entries(d):
    allc = [(p, ps) for p, cs in load_conns(d).items() for ps in cs]
    retx = []
    ent = []
    for port, ps in allc:
        lab = describe(ps)
        syns = [t for t, dr, l, _ in lab if l == "SYN"]
        retx += syns[1:]
    retx.sort()

    def batch(t):
        import bisect
        lo = bisect.bisect_left(retx, t - 0.001)
        hi = bisect.bisect_right(retx, t + 0.001)
        return hi - lo

    for port, ps in allc:
        lab = describe(ps)
        sa = [t for t, dr, l, _ in lab if l == "SYNACK"]
        if not sa:
            continue
        syns = [t for t, dr, l, _ in lab if l == "SYN"]
        data = [t for t, dr, l, _ in lab if l == "DATA" and dr == "C>S"]
        sack = [t for t, dr, l, _ in lab if l == "ACK" and dr == "S>C" and data and t >= data[0]]
        if data and sack and sack[0] - data[0] < 0.02 and len(data) == 1:
            # direct
            k = len(syns)
            if k == 1:
                ent.append((sa[0], "first_syn"))
            else:
                ent.append((sa[0], f"retx_syn_{batch(syns[-1])}of"))
            continue
        if not sack:
            continue
        # hidden: last client segment before the server's data ACK
        before = [(t, l) for t, dr, l, _ in lab if dr == "C>S" and t <= sack[0] + 1e-6 and t > sa[0]]
        ignored_data = [t for t in data if t < sack[0] - 1e-6]
        cand = [(t, l) for t, l in before if not ignored_data or t > ignored_data[-1] - 1e-6]
        # completion: the first candidate after the last ignored data segment
        if cand and cand[0][1] == "ACK" and cand[0][0] < sack[0] - 0.005:
            ent.append((cand[0][0], "hidden_ack"))
        else:
            ent.append((sack[0] if not data else max([t for t in data if t <= sack[0] + 1e-6]), "hidden_data"))
    ent.sort()
    return ent


def main():
    d = sys.argv[1]
    ent = entries(d)
    acc = sorted(json.loads(l)["accept"] for l in open(os.path.join(d, "server.jsonl")))
    import bisect
    taken = Counter()
    delays = []
    ts = [e[0] for e in ent]
    for a in acc:
        i = bisect.bisect_right(ts, a)
        if i < len(ent):
            taken[ent[i][1]] += 1
            delays.append(ent[i][0] - a)
    print(json.dumps({"accepts": len(acc), "entries": dict(Counter(e[1] for e in ent)),
                      "slot_taken_by": dict(sorted(taken.items()))}, indent=1))


if __name__ == "__main__":
    main()
