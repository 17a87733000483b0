#!/usr/bin/env python3
"""Exact accept-queue reconstruction from an --ftrace run: +1 at each child socket's
SYN_RECV -> ESTABLISHED (sport 5000; the child enters the accept queue in the same
softirq), -1 at each accept() (server.jsonl).  Then, for every SYN seen in the capture
(first and retransmitted), the queue length just before it and whether it got a
SYN-ACK; and for every client ACK/data segment of a hidden connection, likewise.
usage: qrecon.py results/NAME"""
import bisect, json, os, re, sys
from collections import Counter
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timeline import load_conns, describe

SET = re.compile(r"\s(\d+\.\d+): inet_sock_set_state: .*sport=(\d+) dport=(\d+) .*oldstate=(\w+) newstate=(\w+)")
SYNACK = re.compile(r"\s(\d+\.\d+): tcp_retransmit_synack: .*sport=(\d+) dport=(\d+)")


def load_trace(d, port=5000):
    ent, rtx = [], []
    for line in open(os.path.join(d, "ftrace.txt")):
        m = SET.search(line)
        if m:
            t, sp, dp, old, new = float(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)
            if sp == port and old == "TCP_SYN_RECV" and new == "TCP_ESTABLISHED":
                ent.append((t, dp))
            continue
        m = SYNACK.search(line)
        if m:
            rtx.append((float(m.group(1)), int(m.group(3))))
    return ent, rtx


def queue(d):
    ent, _ = load_trace(d)
    acc = sorted(json.loads(l)["accept"] for l in open(os.path.join(d, "server.jsonl")))
    ev = sorted([(t, 1) for t, _ in ent] + [(a, -1) for a in acc])
    ts, q, L = [], [], 0
    for t, x in ev:
        L += x
        ts.append(t)
        q.append(L)
    return ts, q, ent, acc


def main():
    d = sys.argv[1]
    ts, q, ent, acc = queue(d)

    def qb(t):
        k = bisect.bisect_left(ts, t - 20e-6)
        return q[k - 1] if k > 0 else 0
    print("queue length range", min(q), max(q), "entries", len(ent), "accepts", len(acc))
    syn_tab = Counter()
    for p, cs in load_conns(d).items():
        for ps in cs:
            lab = describe(ps)
            sa = [t for t, dr, l, _ in lab if l == "SYNACK"]
            syns = [t for t, dr, l, _ in lab if l == "SYN"]
            for k, t in enumerate(syns):
                got = any(abs(x - t) < 0.003 for x in sa)
                syn_tab[("first" if k == 0 else "retx", qb(t), got)] += 1
    print("SYNs by (first/retx, accept-queue length before, got SYN-ACK):")
    for k in sorted(syn_tab):
        print("  ", k, syn_tab[k])


if __name__ == "__main__":
    main()


def hidden(d, port=5000):
    """Per connection (client port, client-connected time): the delay until the server
    child entered the accept queue (None if it never did)."""
    cli = []
    srv = {}
    for line in open(os.path.join(d, "ftrace.txt")):
        m = SET.search(line)
        if not m:
            continue
        t, sp, dp, old, new = float(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)
        if dp == port and old == "TCP_SYN_SENT" and new == "TCP_ESTABLISHED":
            cli.append((t, sp))
        elif sp == port and old == "TCP_SYN_RECV" and new == "TCP_ESTABLISHED":
            srv.setdefault(dp, []).append(t)
    out = []
    for t, p in cli:
        cands = [x for x in srv.get(p, []) if x >= t - 1e-6]
        out.append((p, t, (min(cands) - t) if cands else None))
    return out


if __name__ == "__main__" and "--hidden" in sys.argv:
    h = hidden(sys.argv[1])
    delays = sorted(x[2] for x in h if x[2] is not None)
    print("connected clients", len(h), "never entered", sum(1 for x in h if x[2] is None),
          "entered after >5 ms (hidden)", sum(1 for x in delays if x > 0.005),
          "hidden delay quartiles", [round(delays[int(len(delays) * f)], 3) for f in (0.5, 0.9, 0.99)] if delays else None)
