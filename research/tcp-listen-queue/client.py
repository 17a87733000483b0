#!/usr/bin/env python3
"""Open-loop TCP client for the listen-queue study. Stops by itself.

Each connection: non-blocking connect() at its scheduled time; on EPOLLOUT with
SO_ERROR == 0 it is "connected" and sends the request line at once ("GET\n" unless
--no-send); then it waits for the reply "OK\n".
  refused   : not connected within --connect-timeout (or connect error)
  timed_out : connected but no reply within --timeout (counted from the send time)
  served    : reply came
  dropped   : closed without a reply
One JSON line per connection to --log.  Times are CLOCK_REALTIME seconds.
"""
import argparse, errno, heapq, json, random, select, socket, struct, sys, time

TCP_INFO = 11


def tcp_info(s):
    """(state, retransmits, rto_us, backoff, total_retrans) from struct tcp_info."""
    try:
        b = s.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
    except OSError:
        return None
    state, ca_state, retransmits, probes, backoff = struct.unpack_from("BBBBB", b, 0)
    rto, ato, snd_mss, rcv_mss = struct.unpack_from("IIII", b, 8)
    total_retrans = struct.unpack_from("I", b, 100)[0]
    return {"state": state, "retransmits": retransmits, "backoff": backoff, "rto_us": rto,
            "total_retrans": total_retrans}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--arrival", choices=["poisson", "const", "burst"], default="poisson")
    ap.add_argument("--n", type=int, default=0, help="number of connections (0: rate*duration)")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--connect-timeout", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--no-send", action="store_true")
    ap.add_argument("--start-delay", type=float, default=0.2)
    ap.add_argument("--log", default="-")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    sched = []
    t = 0.0
    if a.arrival == "burst":
        sched = [0.0] * a.n
    else:
        while True:
            t = t + rng.expovariate(a.rate) if a.arrival == "poisson" else t + 1.0 / a.rate
            if (a.n and len(sched) >= a.n) or (not a.n and t > a.duration):
                break
            sched.append(t)
    out = sys.stdout if a.log == "-" else open(a.log, "w", buffering=1)
    ep = select.epoll()
    base = time.time() + a.start_delay
    conns = {}   # fd -> rec
    timers = []  # (when, seq, kind, idx)
    recs = []
    seq = 0
    nxt = 0
    openn = 0
    hard_end = base + (sched[-1] if sched else 0) + max(a.timeout, a.connect_timeout) + 5

    def finish(r, outcome):
        nonlocal openn
        if r["outcome"]:
            return
        r["outcome"] = outcome
        r["t_end"] = time.time()
        s = r.pop("sock", None)
        if s is not None:
            try:
                ep.unregister(s.fileno())
            except OSError:
                pass
            conns.pop(s.fileno(), None)
            s.close()
        openn -= 1
        out.write(json.dumps(r) + "\n")

    while (nxt < len(sched) or openn > 0) and time.time() < hard_end:
        now = time.time()
        while nxt < len(sched) and base + sched[nxt] <= now:
            i = nxt
            nxt += 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            r = {"i": i, "intended": base + sched[i], "sent": time.time(), "port": None,
                 "t_conn": None, "t_reply": None, "outcome": None, "sock": s}
            recs.append(r)
            openn += 1
            try:
                s.connect(("127.0.0.1", a.port))
            except BlockingIOError:
                pass
            except OSError as e:
                r["err"] = e.errno
                finish(r, "refused")
                continue
            r["port"] = s.getsockname()[1]
            conns[s.fileno()] = r
            ep.register(s.fileno(), select.EPOLLOUT)
            heapq.heappush(timers, (r["sent"] + a.connect_timeout, seq, "ct", i)); seq += 1
            heapq.heappush(timers, (r["intended"] + a.timeout, seq, "to", i)); seq += 1
        while timers and timers[0][0] <= now:
            _, _, kind, i = heapq.heappop(timers)
            r = recs[i]
            if r["outcome"]:
                continue
            if kind == "ct" and r["t_conn"] is None:
                r["info_at_ct"] = tcp_info(r["sock"])
                finish(r, "refused")
            elif kind == "to":
                r["info_at_to"] = tcp_info(r["sock"])
                finish(r, "timed_out")
        wait = hard_end - now
        if nxt < len(sched):
            wait = min(wait, base + sched[nxt] - now)
        if timers:
            wait = min(wait, timers[0][0] - now)
        for fd, ev in ep.poll(max(0.0, wait)):
            r = conns.get(fd)
            if r is None or r["outcome"]:
                continue
            s = r["sock"]
            if r["t_conn"] is None:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    r["err"] = err
                    finish(r, "refused")
                    continue
                r["t_conn"] = time.time()
                r["info_conn"] = tcp_info(s)
                if not a.no_send:
                    s.send(b"GET\n")
                    r["t_send"] = time.time()
                ep.modify(fd, select.EPOLLIN)
                continue
            try:
                d = s.recv(4096)
            except OSError as e:
                r["err"] = e.errno
                finish(r, "dropped")
                continue
            if d.startswith(b"OK"):
                r["t_reply"] = time.time()
                r["info_reply"] = tcp_info(s)
                finish(r, "served")
            else:
                finish(r, "dropped")
    for r in recs:
        if not r["outcome"]:
            finish(r, "unfinished")


if __name__ == "__main__":
    main()
