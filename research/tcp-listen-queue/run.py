#!/usr/bin/env python3
"""Runs one experiment in a fresh network namespace and stores everything under
results/<name>/:
  sysctl.txt      the namespace's sysctls used (and uname -r)
  nstat_before/after.txt, nstat_diff.json   TcpExt/Tcp counters (namespace-local)
  ss.jsonl        ss samples every --ss-every s: listener Recv-Q/Send-Q, syn-recv count,
                  client-side states
  server.jsonl    server.py log;  client.jsonl  client.py log
  dump.pcap, dump.txt  tcpdump of lo (with --tcpdump)
The namespace is deleted at the end.  Every child is bounded in time.

usage: run.py NAME [--sysctl k=v ...] [--tcpdump] --server "ARGS" --client "ARGS"
"""
import argparse, json, os, shlex, signal, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ["net.ipv4.tcp_syncookies", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_abort_on_overflow",
        "net.ipv4.tcp_syn_linear_timeouts", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syn_retries",
        "net.core.somaxconn", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack", "net.ipv4.tcp_rto_min_us",
        "net.ipv4.tcp_fastopen", "net.ipv4.tcp_retries2"]


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, text=True, capture_output=True, **kw).stdout


def nstat(ns):
    txt = sh(f"ip netns exec {ns} nstat -asz")
    d = {}
    for line in txt.splitlines():
        p = line.split()
        if len(p) >= 2 and p[1].isdigit():
            d[p[0]] = int(p[1])
    return txt, d


TR = "/sys/kernel/tracing"
TR_EVENTS = {
    "sock/inet_sock_set_state": "sport == {p} || dport == {p}",
    "tcp/tcp_retransmit_synack": "sport == {p}",
    "skb/kfree_skb": "reason == 40",
}


def wr(path, val):
    with open(os.path.join(TR, path), "w") as f:
        f.write(val)


def ftrace_start(port):
    if not os.path.exists(os.path.join(TR, "trace")):
        subprocess.run(["mount", "-t", "tracefs", "nodev", TR], check=True)
    wr("tracing_on", "0")
    wr("trace_clock", "tai")
    wr("buffer_size_kb", "8192")
    for ev, flt in TR_EVENTS.items():
        wr(f"events/{ev}/filter", flt.format(p=port))
        wr(f"events/{ev}/enable", "1")
    wr("trace", "")
    wr("tracing_on", "1")


def ftrace_stop(dest):
    wr("tracing_on", "0")
    with open(os.path.join(TR, "trace")) as f, open(dest, "w") as g:
        g.write(f.read())
    for ev in TR_EVENTS:
        wr(f"events/{ev}/enable", "0")
        wr(f"events/{ev}/filter", "0")
    wr("trace", "")
    wr("trace_clock", "local")
    wr("buffer_size_kb", "1408")
    wr("tracing_on", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--ns", default="tcpst")
    ap.add_argument("--sysctl", action="append", default=[])
    ap.add_argument("--tcpdump", action="store_true")
    ap.add_argument("--server", default="")
    ap.add_argument("--client", default="")
    ap.add_argument("--ss-every", type=float, default=0.05)
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--keep-ns", action="store_true")
    ap.add_argument("--ftrace", action="store_true",
                    help="record kernel tracepoints (child socket state changes, SYN-ACK "
                         "retransmits, listen-overflow drops) to ftrace.txt (trace_clock tai)")
    a = ap.parse_args()

    out = os.path.join(HERE, "results", a.name)
    os.makedirs(out, exist_ok=True)
    ns = a.ns
    subprocess.run(f"ip netns del {ns}", shell=True, capture_output=True)
    sh(f"ip netns add {ns}")
    procs = []
    try:
        sh(f"ip -n {ns} link set lo up")
        for kv in a.sysctl:
            sh(f"ip netns exec {ns} sysctl -w {kv}")
        with open(os.path.join(out, "sysctl.txt"), "w") as f:
            f.write("uname -r: " + sh("uname -r"))
            for k in KEYS:
                f.write(sh(f"ip netns exec {ns} sysctl {k}"))
        before_txt, before = nstat(ns)
        open(os.path.join(out, "nstat_before.txt"), "w").write(before_txt)
        if a.tcpdump:
            td = subprocess.Popen(
                shlex.split(f"ip netns exec {ns} timeout 600 tcpdump -i lo -nn -s 128 -U "
                            f"-w {out}/dump.pcap tcp port {a.port}"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(td)
            time.sleep(1.0)
        if a.ftrace:
            ftrace_start(a.port)
        ready = os.path.join(out, "server.ready")
        if os.path.exists(ready):
            os.remove(ready)
        srv = subprocess.Popen(
            ["ip", "netns", "exec", ns, "timeout", "900", sys.executable, os.path.join(HERE, "server.py"),
             "--port", str(a.port), "--log", os.path.join(out, "server.jsonl"), "--ready", ready]
            + shlex.split(a.server))
        procs.append(srv)
        for _ in range(100):
            if os.path.exists(ready):
                break
            time.sleep(0.05)
        stop = threading.Event()

        def sampler():
            with open(os.path.join(out, "ss.jsonl"), "w") as f:
                while not stop.is_set():
                    t = time.time()
                    r = subprocess.run(f"ip netns exec {ns} ss -tanH", shell=True, text=True,
                                       capture_output=True).stdout
                    rec = {"t": t, "states": {}, "listen": None, "synrecv": 0}
                    for line in r.splitlines():
                        p = line.split()
                        if len(p) < 5:
                            continue
                        st, rq, sq, loc, peer = p[:5]
                        if st == "LISTEN" and loc.endswith(f":{a.port}"):
                            rec["listen"] = [int(rq), int(sq)]
                        elif loc.endswith(f":{a.port}"):
                            rec["states"]["srv_" + st] = rec["states"].get("srv_" + st, 0) + 1
                        elif peer.endswith(f":{a.port}"):
                            rec["states"]["cli_" + st] = rec["states"].get("cli_" + st, 0) + 1
                    f.write(json.dumps(rec) + "\n")
                    stop.wait(a.ss_every)
        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        cli = subprocess.run(
            ["ip", "netns", "exec", ns, "timeout", "900", sys.executable, os.path.join(HERE, "client.py"),
             "--port", str(a.port), "--log", os.path.join(out, "client.jsonl")] + shlex.split(a.client))
        time.sleep(0.3)
        stop.set()
        th.join(5)
        if a.ftrace:
            ftrace_stop(os.path.join(out, "ftrace.txt"))
        after_txt, after = nstat(ns)
        open(os.path.join(out, "nstat_after.txt"), "w").write(after_txt)
        diff = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        json.dump(diff, open(os.path.join(out, "nstat_diff.json"), "w"), indent=1, sort_keys=True)
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT if p is procs[0] and a.tcpdump else signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        if not a.keep_ns:
            subprocess.run(f"ip netns del {ns}", shell=True, capture_output=True)
    if a.tcpdump and os.path.exists(f"{out}/dump.pcap"):
        sh(f"tcpdump -r {out}/dump.pcap -nn -tt -S > {out}/dump.txt 2>/dev/null || true")
    # summary
    cl = [json.loads(l) for l in open(os.path.join(out, "client.jsonl"))]
    from collections import Counter
    c = Counter(r["outcome"] for r in cl)
    keys = ["TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies",
            "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed", "TcpExtTCPSynRetrans",
            "TcpExtTCPTimeouts", "TcpRetransSegs", "TcpExtEmbryonicRsts", "TcpAttemptFails",
            "TcpExtTCPACKSkippedSynRecv", "TcpExtTCPChallengeACK", "TcpExtTCPSYNChallenge", "TcpPassiveOpens",
            "TcpActiveOpens", "TcpEstabResets", "TcpOutRsts"]
    summ = {"n": len(cl), "outcomes": dict(c), "refused_share": c["refused"] / max(1, len(cl)),
            "nstat": {k: diff.get(k, 0) for k in keys}}
    json.dump(summ, open(os.path.join(out, "summary.json"), "w"), indent=1)
    print(json.dumps(summ))


if __name__ == "__main__":
    main()
