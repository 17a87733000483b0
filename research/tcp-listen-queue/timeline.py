#!/usr/bin/env python3
"""Per-connection timeline of a results/<name>/ directory: client log, server log and
the tcpdump packets of that client port, times relative to the connection's first SYN
(or its intended send time without a capture).

usage: timeline.py results/NAME [--max N] [--only-odd]
  --only-odd : only connections whose capture shows anything beyond SYN,SYN-ACK,ACK,
               data, ACK, reply, FIN exchange (retransmissions, dup SYN-ACKs...)
"""
import json, os, re, sys
from collections import defaultdict

LINE = re.compile(r"^(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): Flags \[([^\]]*)\], (.*)$")


def load_pcap_txt(d, port=None):
    """{client port: packets} of the capture.  A client port can be reused within a
    run, so a port's packets are split into connections at each new SYN sequence
    number; the result maps a port to the packets of its LAST connection, and
    load_conns() gives all of them."""
    return {p: cs[-1] for p, cs in load_conns(d, port).items()}


def server_port(d):
    """The listener's port: the destination of the first SYN in the capture."""
    p = os.path.join(d, "dump.txt")
    if os.path.exists(p):
        for line in open(p):
            m = LINE.match(line.strip())
            if m and m.group(4) == "S":
                return int(m.group(3))
    return 5000


def load_conns(d, port=None):
    """{client port: [packets of connection 1, of connection 2, ...]} in time order."""
    pk = defaultdict(list)
    cur_isn = {}
    p = os.path.join(d, "dump.txt")
    if not os.path.exists(p):
        return pk
    if port is None:
        port = server_port(d)
    for line in open(p):
        m = LINE.match(line.strip())
        if not m:
            continue
        t, sp, dp, fl, rest = float(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)
        ln = re.search(r"length (\d+)", rest)
        ln = int(ln.group(1)) if ln else 0
        if dp == port:
            cport, dirn = sp, "C>S"
        elif sp == port:
            cport, dirn = dp, "S>C"
        else:
            continue
        if dirn == "C>S" and fl == "S":
            isn = re.search(r"seq (\d+)", rest).group(1)
            if cur_isn.get(cport) != isn:
                cur_isn[cport] = isn
                pk[cport].append([])
        if not pk[cport]:
            pk[cport].append([])
        pk[cport][-1].append((t, dirn, fl, ln))
    return pk


def records_with_packets(d, port=None):
    """[(client record, packets)] matching each client.jsonl record to its connection
    (same port, in time order)."""
    conns = load_conns(d, port)
    cl = [json.loads(l) for l in open(os.path.join(d, "client.jsonl"))]
    by_port = defaultdict(list)
    for r in cl:
        by_port[r["port"]].append(r)
    out = []
    for p, rs in by_port.items():
        rs.sort(key=lambda r: r["sent"])
        cs = conns.get(p, [])
        for k, r in enumerate(rs):
            out.append((r, cs[k] if k < len(cs) else []))
    out.sort(key=lambda x: x[0]["i"])
    return out


def describe(pkts):
    """Label each packet: SYN, SYNACK, ACK, DATA, FIN..."""
    out = []
    for t, dirn, fl, ln in pkts:
        if "S" in fl and "." in fl:
            lab = "SYNACK"
        elif "S" in fl:
            lab = "SYN"
        elif "R" in fl:
            lab = "RST"
        elif "F" in fl:
            lab = "FIN"
        elif ln > 0:
            lab = "DATA"
        else:
            lab = "ACK"
        out.append((t, dirn, lab, ln))
    return out


def main():
    d = sys.argv[1]
    mx = 10 ** 9
    if "--max" in sys.argv:
        mx = int(sys.argv[sys.argv.index("--max") + 1])
    odd_only = "--only-odd" in sys.argv
    cl = [json.loads(l) for l in open(os.path.join(d, "client.jsonl"))]
    cl.sort(key=lambda r: r["i"])
    sv = defaultdict(list)
    if os.path.exists(os.path.join(d, "server.jsonl")):
        for l in open(os.path.join(d, "server.jsonl")):
            r = json.loads(l)
            sv[r["port"]].append(r)
    shown = 0
    for r, raw in records_with_packets(d):
        if False:
            pass
        ps = describe(raw)
        t0 = ps[0][0] if ps else r["sent"]
        labs = [f"{dirn}:{lab}" for _, dirn, lab, _ in ps]
        normal = ["C>S:SYN", "S>C:SYNACK", "C>S:ACK", "C>S:DATA", "S>C:ACK"]
        odd = labs[:5] != normal or labs.count("C>S:SYN") > 1
        if odd_only and not odd:
            continue
        shown += 1
        if shown > mx:
            break
        rel = lambda x: "-" if x is None else f"{x - t0:7.3f}"
        s = next((x for x in sorted(sv.get(r["port"], []), key=lambda x: x["accept"])
                  if x["accept"] >= r["sent"] - 0.01), {})
        print(f"#{r['i']:4d} port {r['port']} {r['outcome']:9s} sent {rel(r['sent'])} conn {rel(r.get('t_conn'))}"
              f" accept {rel(s.get('accept'))} req {rel(s.get('req'))} reply {rel(r.get('t_reply'))}"
              f" info_conn={r.get('info_conn')}")
        if ps:
            print("      " + "  ".join(f"{t - t0:.3f}{dirn[0]}{'>' }{lab}" + (f"({ln})" if lab == 'DATA' else '')
                                    for t, dirn, lab, ln in ps))


if __name__ == "__main__":
    main()
