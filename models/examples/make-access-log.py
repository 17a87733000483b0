#!/usr/bin/env python3
"""Writes peak-access.log beside this script: a synthetic nginx access log of ten
minutes of traffic to ONE gunicorn pool over a unix socket, with a peak that overflows
the pool's listen queue, so that the log has real 502s. Python 3 standard library only;
the same file every run (a fixed seed).

The log is written with the log_format recommended in docs/semantics.md
(log-nginx-format):

    log_format qtiming 'msec=$msec rt=$request_time ct=$connection_time rid=$request_id '
                       'cr=$connection_requests addr=$remote_addr "$request" $status $body_bytes_sent '
                       'ua="$upstream_addr" us="$upstream_status" uct="$upstream_connect_time" '
                       'uht="$upstream_header_time" urt="$upstream_response_time"';

so it is imported with that string (its quoted parts joined):

    eagain import nginx-log models/examples/peak-access.log --workers 4 --out output/peak \
      --log-format 'msec=$msec rt=$request_time ct=$connection_time rid=$request_id cr=$connection_requests addr=$remote_addr "$request" $status $body_bytes_sent ua="$upstream_addr" us="$upstream_status" uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time"'

What the script simulates (and the import does not know): 4 sync workers taking one
request at a time from one FIFO listen queue, backlog 16 under somaxconn 4096, so the
queue holds min(16, 4096) + 1 = 17 waiting connections (semantics: unix-capacity);
a connection that finds it full is refused and nginx answers 502 at once with
urt="0.000" (semantics: log-nginx-eagain-502). Work is lognormal with mean 0.2 s and
sd 0.1 s (a capacity of about 20 requests per second). Arrivals are Poisson at 5 per
second, rising linearly to 28 per second from 4:00 to 5:00, held until 5:30, falling
back to 5 by 6:30. The times are written as nginx writes them: $msec is the end of the
request truncated to the millisecond, $request_time and $upstream_response_time are
differences of millisecond stamps (semantics: log-nginx-msec, log-nginx-request-time,
log-nginx-upstream-timers).
"""

import heapq
import math
import os
import random
from collections import deque

SEED = 20261129
START = 1795953600.0  # 2026-11-29 12:00:00 UTC
SECONDS = 600.0
WORKERS = 4
BACKLOG = 16
SOMAXCONN = 4096
QUEUE = min(BACKLOG, SOMAXCONN) + 1
WORK_MEAN, WORK_SD = 0.2, 0.1
SOCKET = "unix:/run/gunicorn.sock"


def rate(t):
    """Requests per second at t seconds from the start."""
    low, high = 5.0, 28.0
    if 240.0 <= t < 300.0:
        return low + (high - low) * (t - 240.0) / 60.0
    if 300.0 <= t < 330.0:
        return high
    if 330.0 <= t < 390.0:
        return high - (high - low) * (t - 330.0) / 60.0
    return low


def arrivals(rng):
    """A non-homogeneous Poisson process by thinning (Lewis and Shedler)."""
    top = 28.0
    t = 0.0
    while True:
        t += rng.expovariate(top)
        if t >= SECONDS:
            return
        if rng.random() * top < rate(t):
            yield START + t


def work(rng):
    sigma2 = math.log(1.0 + (WORK_SD / WORK_MEAN) ** 2)
    return rng.lognormvariate(math.log(WORK_MEAN) - sigma2 / 2.0, math.sqrt(sigma2))


def ms(t):
    """nginx's cached millisecond clock: truncated."""
    return math.floor(t * 1000.0)


def secs(n_ms):
    return "%d.%03d" % (n_ms // 1000, n_ms % 1000)


def simulate(rng):
    """(log time, fields) of every request, served FIFO by WORKERS workers."""
    free = [0.0] * WORKERS  # when each worker is next free
    waiting = deque()  # start times of accepted connections not yet started
    out = []
    for k, a in enumerate(arrivals(rng)):
        while waiting and waiting[0] <= a:
            waiting.popleft()
        req = {
            "i": k,
            "arrival": a,
            "rid": "%032x" % rng.getrandbits(128),
            "addr": "10.0.%d.%d" % (rng.randrange(256), rng.randrange(1, 255)),
        }
        if len(waiting) >= QUEUE:
            # EAGAIN: the 502 is written in the same loop pass.
            req.update(status=502, end=a + 0.0001)
        else:
            start = max(a, heapq.heappop(free))
            done = start + work(rng)
            heapq.heappush(free, done)
            if start > a:
                waiting.append(start)
            # The reply reaches nginx 0.2 ms after the worker is done; nginx has
            # written it to the client 0.3 ms later.
            req.update(status=200, upstream_end=done + 0.0002, end=done + 0.0005)
        out.append(req)
    return out


def line(r, rng):
    rt = ms(r["end"]) - ms(r["arrival"])
    head = 'msec=%s rt=%s ct=%s rid=%s cr=1 addr=%s "GET /app?i=%d HTTP/1.1"' % (
        secs(ms(r["end"])), secs(rt), secs(rt), r["rid"], r["addr"], r["i"])
    if r["status"] == 502:
        tail = '502 157 ua="%s" us="502" uct="-" uht="-" urt="0.000"' % SOCKET
    else:
        urt = secs(ms(r["upstream_end"]) - ms(r["arrival"]))
        tail = '200 %d ua="%s" us="200" uct="0.000" uht="%s" urt="%s"' % (
            rng.randrange(400, 4000), SOCKET, urt, urt)
    return head + " " + tail


def main():
    rng = random.Random(SEED)
    requests = simulate(rng)
    requests.sort(key=lambda r: r["end"])  # nginx writes a line when a request ends
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peak-access.log")
    with open(path, "w") as f:
        for r in requests:
            f.write(line(r, rng) + "\n")
    refused = sum(1 for r in requests if r["status"] == 502)
    print("%s: %d requests, %d refused (502), a share of %.4f"
          % (os.path.relpath(path), len(requests), refused, refused / len(requests)))


if __name__ == "__main__":
    main()
