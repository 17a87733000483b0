#!/usr/bin/env python3
"""Classifies every connection of a results/<name>/ run from its capture:
  never    : no SYN-ACK (every SYN dropped; refused by the client)
  direct   : SYN-ACK, and the server ACKed the request within 20 ms of the client's
             first data segment (the handshake completed at once)
  hidden   : SYN-ACK, client connected, but the server did not take the ACK/request
             (B3): completed later by a data retransmission or a SYN-ACK-retransmit ACK
Also: SYN batches (retransmitted SYNs within 1 ms of each other) and how many of a
batch's SYNs got a SYN-ACK.  usage: classify.py results/NAME [--json]"""
import json, os, sys
from collections import Counter
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timeline import load_pcap_txt, describe, records_with_packets


def classify(d):
    res = Counter()
    hidden_out = Counter()
    via = Counter()
    wait = []
    synacks_per_batch = Counter()
    events = []
    for rec, ps in records_with_packets(d):
        port = (rec["port"], rec["i"])
        lab = describe(ps)
        sa = [t for t, dr, l, _ in lab if l == "SYNACK"]
        syns = [t for t, dr, l, _ in lab if l == "SYN"]
        for t in syns[1:]:
            events.append((t, port, bool(sa) and abs(sa[0] - t) < 0.002))
        if not sa:
            res["never"] += 1
            continue
        data = [t for t, dr, l, _ in lab if l == "DATA" and dr == "C>S"]
        sacks = [t for t, dr, l, _ in lab if l == "ACK" and dr == "S>C" and data and t >= data[0]]
        if data and sacks and sacks[0] - data[0] < 0.02 and len(data) == 1:
            res["direct"] += 1
            continue
        res["hidden"] += 1
        o = rec.get("outcome")
        hidden_out[o] += 1
        if data and sacks:
            wait.append(sacks[0] - sa[0])
        if len(sa) > 1:
            via["got_synack_rtx"] += 1
    events.sort()
    batches = []
    cur = []
    for e in events:
        if cur and e[0] - cur[-1][0] > 0.001:
            batches.append(cur)
            cur = []
        cur.append(e)
    if cur:
        batches.append(cur)
    sizes = Counter(len(b) for b in batches)
    admitted = Counter((len(b), sum(x[2] for x in b)) for b in batches if len(b) > 1)
    wait.sort()
    return {"classes": dict(res), "hidden_outcomes": dict(hidden_out), "hidden_with_synack_rtx": via["got_synack_rtx"],
            "hidden_wait_to_data_ack_s": {"n": len(wait), "median": wait[len(wait) // 2] if wait else None,
                                          "max": wait[-1] if wait else None},
            "retx_syn_batch_sizes": dict(sorted(sizes.items())),
            "multi_batches_(size,synacked)": {f"{k[0]},{k[1]}": v for k, v in sorted(admitted.items())}}


if __name__ == "__main__":
    r = classify(sys.argv[1])
    print(json.dumps(r, indent=None if "--json" in sys.argv else 1))
