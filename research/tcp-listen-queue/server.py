#!/usr/bin/env python3
"""Small TCP server for the listen-queue study. Stops by itself.

Modes
  pool      c worker threads, each: blocking accept(), read the request line, sleep
            the service time, write "OK\n", close.  (A prefork pool in miniature.)
  schedule  nothing is accepted before --accept-start; then one accept() every
            --accept-interval seconds; each accepted connection is read, answered
            and closed at once.

Every accepted connection is logged as one JSON line to --log:
  {"port": client port, "accept": t, "req": t request line complete, "reply": t}
Times are CLOCK_REALTIME seconds (same clock as tcpdump -tt).
"""
import argparse, json, os, random, socket, sys, threading, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--backlog", type=int, default=2)
    ap.add_argument("--mode", choices=["pool", "schedule"], default="pool")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--service", type=float, default=0.1, help="seconds of blocking work")
    ap.add_argument("--service-dist", choices=["const", "exp"], default="const")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--accept-start", type=float, default=0.0)
    ap.add_argument("--accept-interval", type=float, default=1.0)
    ap.add_argument("--lifetime", type=float, default=30.0, help="server exits after this")
    ap.add_argument("--log", default="-")
    ap.add_argument("--ready", default=None, help="file written once listening")
    ap.add_argument("--greet", action="store_true",
                    help="server speaks first: write OK at once after accept, read nothing")
    a = ap.parse_args()

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(a.backlog)
    ls.settimeout(0.2)
    t0 = time.time()
    end = t0 + a.lifetime
    out = sys.stdout if a.log == "-" else open(a.log, "w", buffering=1)
    lock = threading.Lock()
    rng = random.Random(a.seed)

    def service():
        with lock:
            if a.service_dist == "const":
                return a.service
            return rng.expovariate(1.0 / a.service)

    def handle(c, port, t_acc, work):
        c.settimeout(max(0.1, end - time.time()))
        buf = b""
        t_req = None
        try:
            while not a.greet and b"\n" not in buf:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
            t_req = time.time()
            if work > 0:
                time.sleep(work)
            c.sendall(b"OK\n")
        except OSError:
            pass
        t_rep = time.time()
        c.close()
        rec = {"port": port, "accept": t_acc, "req": t_req, "reply": t_rep, "work": work,
               "req_bytes": len(buf)}
        with lock:
            out.write(json.dumps(rec) + "\n")

    if a.ready:
        with open(a.ready, "w") as f:
            f.write(f"{t0}\n")

    if a.mode == "pool":
        def worker():
            while time.time() < end:
                try:
                    c, addr = ls.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                t_acc = time.time()
                handle(c, addr[1], t_acc, service())
        ths = [threading.Thread(target=worker, daemon=True) for _ in range(a.workers)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(timeout=max(0.0, end - time.time()) + 2)
    else:
        nxt = t0 + a.accept_start
        while time.time() < end:
            now = time.time()
            if now < nxt:
                time.sleep(min(nxt - now, end - now))
                continue
            ls.settimeout(min(0.2, max(0.01, end - time.time())))
            try:
                c, addr = ls.accept()
            except socket.timeout:
                continue
            t_acc = time.time()
            handle(c, addr[1], t_acc, 0.0)
            nxt = t_acc + a.accept_interval
    ls.close()


if __name__ == "__main__":
    main()
