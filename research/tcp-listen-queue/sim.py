#!/usr/bin/env python3
"""Discrete-event models of a TCP listener with a worker pool (c workers, constant or
given service times), accept queue capacity backlog+1, open-loop clients that send a
request right after connect().

model "simple"   (eagain today): a SYN that finds the accept queue full is dropped and
                 retransmitted at nominal 1,2,3,4,5,7,11,19,35,67 s after the first
                 SYN; otherwise the connection is queued at once.  Refused if not
                 queued by connect_timeout.
model "grid"     simple + the kernel timer wheel: every retransmission fires on the
                 jiffy grid (HZ, level granularity 1/8/64/512 jiffies), so
                 retransmitted SYNs of different clients coincide.
model "extended" grid + the SYN-RECV (request sock / syncookie) stage:
  R1 a SYN is answered (SYN-ACK) whenever the accept queue is not full at the moment
     the SYN is processed (sk_acceptq_is_full, tcp_conn_request);
  R2 SYNs processed in the same softirq batch (same timer-wheel expiry) are all checked
     before any of their ACKs is; the ACKs then fill the room in order; an ACK that
     finds the queue full is ignored (tcp_check_req listen_overflow, acked=1): the
     client is connected, the server keeps it in SYN-RECV ("hidden");
  R3 at most `backlog` request socks exist (inet_csk_reqsk_queue_is_full); beyond
     that, with syncookies=1 the SYN-ACK carries a cookie and no state is kept
     (with syncookies=0 the SYN is dropped: TCPReqQFullDrop);
  R4 a hidden connection completes (enters the accept queue) when one of its client
     segments arrives while the queue has room: the client's data retransmissions
     (tail loss probe TLP after ~0.208 s, then RTO, 2 RTO, 4 RTO ... after the TLP)
     and, for request socks only, the client's ACK to each SYN-ACK retransmission
     (1, 2, 4, 8, 16 s timer, 5 retries, then the request is dropped at ~63 s);
  R5 a connection completed by a bare ACK has no request yet: the worker that
     accepts it waits for the client's next data retransmission.

Outcome per connection: refused (not connected within connect_timeout), served
(reply within timeout of the intended time), timed_out.
"""
import heapq, math, random
from collections import deque

SYN_RTO = [1, 1, 1, 1, 1, 2, 4, 8, 16, 32]  # tcp_syn_linear_timeouts=4, tcp_syn_retries=6
SYN_GIVE_UP = 131.0


class P:
    def __init__(self, **kw):
        self.workers = 1
        self.service = 0.1          # float or callable(i) -> seconds
        self.backlog = 2
        self.connect_timeout = 3.0
        self.timeout = 10.0
        self.model = "extended"
        self.hz = 250
        self.phase = 0.0            # jiffy grid phase in [0,1)
        self.syncookies = 1
        self.abort_on_overflow = 0
        self.tlp = 0.208            # first data retransmission (tail loss probe) after connect
        self.rto = 0.208            # client data RTO after the TLP (doubles each time)
        self.synack_retries = 5
        self.metrics = 0            # 1: model the tcp_metrics RTT cache of 127.0.0.1 (R6)
        self.client_sends = 1       # 0: server speaks first, the client sends nothing
        self.seed = 1
        self.__dict__.update(kw)


def wheel_fire(j_now, delta_j):
    """Jiffy at which a timer armed at jiffy j_now with delta_j fires (kernel/time/timer.c
    calc_wheel_index / calc_index: rounded up to the level granularity)."""
    e = j_now + delta_j
    if delta_j < 63:
        g = 1
    elif delta_j < 504:
        g = 8
    elif delta_j < 4032:
        g = 64
    else:
        g = 512
    return (e // g + 1) * g


class Sim:
    def __init__(self, arrivals, p):
        self.p = p
        self.arr = arrivals
        self.rng = random.Random(p.seed)
        self.ev = []
        self.seq = 0
        n = len(arrivals)
        self.state = ["new"] * n       # new, syn_sent, queued, hidden, accepted, done
        self.kind = [None] * n         # reqsk / cookie for hidden
        self.t_conn = [None] * n
        self.outcome = [None] * n
        self.syns = [0] * n
        self.synack_n = [0] * n
        self.data_k = [0] * n
        self.data_at = [None] * n      # when the request reaches the server socket
        self.next_data = [None] * n
        self.qlen = 0                  # request socks
        self.A = deque()               # accept queue
        self.cap = p.backlog + 1
        self.rto_list = None
        self.conn_rto = [None] * n
        self.synack_at = [None] * n    # last SYN-ACK sent (for the server's RTT sample)
        self.srv_rtt = [0.0] * n       # server child's srtt
        self.crtt = 0.0                # tcp_metrics cached RTT (seconds)
        self.crtt_log = []
        self.batches = {}
        self.entries = []   # (t, how) each entry into the accept queue
        self.accepts = []   # t of each accept()
        self._batch_n = 1
        self.idle = p.workers
        self.stats = {"hidden": 0, "hidden_reqsk": 0, "hidden_cookie": 0, "via_data": 0, "via_synack": 0,
                      "listen_overflows": 0, "reqq_full_drop": 0, "syn_batches_multi": 0, "rst": 0,
                      "stall_s": 0.0, "stalls": 0, "stalls_gt2s": 0}
        for i, t in enumerate(arrivals):
            self.push(t, "arrive", i)

    # --- time helpers
    def jiffy(self, t):
        return math.floor(t * self.p.hz + self.p.phase)

    def tjiffy(self, j):
        return (j - self.p.phase) / self.p.hz

    def timer(self, now, delay):
        if self.p.model == "simple":
            return now + delay
        dj = max(1, round(delay * self.p.hz))
        return self.tjiffy(wheel_fire(self.jiffy(now), dj))

    def push(self, t, what, i):
        self.seq += 1
        heapq.heappush(self.ev, (t, self.seq, what, i))

    def service(self, i):
        s = self.p.service
        return s(i) if callable(s) else s

    # --- client side
    def arrive(self, now, i):
        self.state[i] = "syn_sent"
        self.push(self.arr[i] + self.p.connect_timeout, "ctimeout", i)
        self.push(self.arr[i] + self.p.timeout, "timeout", i)
        self.syn_batch(now, [i])

    def next_syn(self, now, i):
        k = self.syns[i]                      # SYNs sent so far (>= 1)
        if k > len(SYN_RTO):
            return
        if self.p.model == "simple":
            t = self.arr[i] + sum(SYN_RTO[:k])
        else:
            t = self.timer(now, SYN_RTO[k - 1])
        if t - self.arr[i] < min(self.p.connect_timeout, SYN_GIVE_UP):
            self.push(t, "syn", i)

    # --- a batch of segments processed in one softirq run
    def syn_batch(self, now, syns, datas=(), acks=()):
        p = self.p
        second = []
        self._batch_n = len(syns)
        first = [("syn", i) for i in syns] + [("data", i) for i in datas]
        if len(first) > 1:
            self.rng.shuffle(first)
        for what, i in first:
            if what == "data":
                if len(self.A) < self.cap:
                    self.complete(now, i, with_data=True, via="via_data")
                else:
                    self.stats["listen_overflows"] += 1
                    self.sched_data(now, i)
                continue
            self.syns[i] += 1
            if self.state[i] != "syn_sent":
                continue
            if len(self.A) >= self.cap:
                self.stats["listen_overflows"] += 1
                self.next_syn(now, i)
                continue
            if p.model in ("simple", "grid"):
                self.t_conn[i] = now
                self.enqueue(now, i, now)
                continue
            # R3: request sock or cookie
            if self.qlen > p.backlog:   # inet_csk_reqsk_queue_is_full: qlen > backlog (6.18; ">=" before early 2025)
                if not p.syncookies:
                    self.stats["reqq_full_drop"] += 1
                    self.next_syn(now, i)
                    continue
                self.kind[i] = "cookie"
            else:
                self.kind[i] = "reqsk"
                self.qlen += 1
            second.append(("synack", i))
        if len(syns) > 1:
            self.stats["syn_batches_multi"] += 1
            adm = sum(1 for w, j in second if w == "synack")
            key = f"{len(syns)},{adm}"
            self.batches[key] = self.batches.get(key, 0) + 1
        second += [("ack", i) for i in acks]
        for what, i in second:
            if what == "synack":
                # client receives SYN-ACK: connected; its ACK reaches the server
                self.t_conn[i] = now
                self.synack_at[i] = now
                self.conn_rto[i] = self.client_rto()
                if len(self.A) < self.cap:
                    self.complete(now, i, with_data=True, via=None)
                else:
                    self.stats["listen_overflows"] += 1
                    if p.abort_on_overflow:
                        self.stats["rst"] += 1
                        if self.kind[i] == "reqsk":
                            self.qlen -= 1
                        self.state[i] = "done"
                        self.finish(now, i, "reset")
                        continue
                    self.state[i] = "hidden"
                    self.stats["hidden"] += 1
                    self.stats["hidden_" + self.kind[i]] += 1
                    # the request written just after connect() is dropped too
                    self.data_k[i] = 0
                    if p.client_sends:
                        self.sched_data(now, i, first=True)
                    if self.kind[i] == "reqsk":
                        self.synack_n[i] = 0
                        self.push(self.timer(now, 1.0), "synack_rtx", i)
            else:  # bare ACK answering a SYN-ACK retransmission
                if self.state[i] == "hidden" and len(self.A) < self.cap:
                    self.complete(now, i, with_data=False, via="via_synack")
                elif self.state[i] == "hidden":
                    self.stats["listen_overflows"] += 1
        self.dispatch(now)

    def sched_data(self, now, i, first=False):
        p = self.p
        k = self.data_k[i]
        rto = self.rto_list[i] if self.rto_list is not None else (self.conn_rto[i] or p.rto)
        if k == 0:
            t = self.timer(now, p.tlp)
        else:
            # after the TLP the RTO timer runs from the TLP: rto, then doubling
            t = self.timer(now, min(120.0, rto * 2 ** (k - 1)))
        self.data_k[i] = k + 1
        self.next_data[i] = t
        self.push(t, "data_rtx", i)

    def complete(self, now, i, with_data, via):
        # R6: the child's first RTT sample: now - SYN-ACK send time (tcp_synack_rtt_meas /
        # timestamps); after one more tiny sample (the reply's ACK) srtt = 7/8 of it.
        if self.synack_at[i] is not None:
            self.srv_rtt[i] = 0.875 * (now - self.synack_at[i])
        if self.kind[i] == "reqsk" and self.state[i] in ("hidden", "syn_sent"):
            self.qlen -= 1
        if via:
            self.stats[via] += 1
        self.state[i] = "queued"
        self.data_at[i] = now if (with_data or not self.p.client_sends) else self.next_data[i]
        how = {"via_data": "hidden_data", "via_synack": "hidden_ack"}.get(via)
        self.enqueue(now, i, self.data_at[i], how)

    def enqueue(self, now, i, data_at, how=None):
        if how is None:
            how = "first_syn" if self.syns[i] <= 1 else f"retx_syn_{self._batch_n}of"
        self.entries.append((now, how))
        self.state[i] = "queued"
        self.data_at[i] = data_at
        self.A.append(i)

    def dispatch(self, now):
        while self.idle > 0 and self.A:
            i = self.A.popleft()
            self.accepts.append(now)
            self.idle -= 1
            self.state[i] = "accepted"
            start = max(now, self.data_at[i] if self.data_at[i] is not None else now)
            if start > now:
                self.stats["stall_s"] = self.stats.get("stall_s", 0.0) + (start - now)
                self.stats["stalls"] = self.stats.get("stalls", 0) + 1
                if start - now > 2.0:
                    self.stats["stalls_gt2s"] = self.stats.get("stalls_gt2s", 0) + 1
            self.push(start + self.service(i), "done", i)

    def client_close(self, now, i):
        """R5c: the client gives up on a hidden connection and closes it: its FIN.
        Client sent nothing: the FIN has seq ISN+1, so it completes a request sock or a
        cookie (if there is room), and it is retransmitted like data.  Client sent its
        request: the FIN (seq ISN+1+len) is in the request sock's window and completes
        it without the request; for a cookie it fails the check and gets a RST."""
        if not self.p.client_sends:
            self.data_k[i] = 0
            self.next_data[i] = now
            self.push(now, "data_rtx", i)
            return
        if self.kind[i] == "cookie":
            self.state[i] = "done"
            return
        if len(self.A) < self.cap:
            self.complete(now, i, with_data=False, via="via_synack")
            self.dispatch(now)

    def client_rto(self):
        """R6: tcp_init_metrics: RTO = rtt + max(2 rtt, 200 ms) from the cached rtt,
        else 200 ms + 4 ms (measured 204 ms)."""
        if self.p.metrics and self.crtt > 0.001:
            return self.crtt + max(2 * self.crtt, 0.2)
        return self.p.rto

    def metrics_close(self, srtt):
        """R6: tcp_update_metrics: a larger srtt replaces the cache, a smaller one
        moves it down by 1/8 of the difference."""
        if srtt >= self.crtt:
            self.crtt = srtt
        else:
            self.crtt -= (self.crtt - srtt) / 8

    def finish(self, now, i, outcome):
        if self.outcome[i] is None:
            self.outcome[i] = outcome

    def run(self):
        while self.ev:
            t, _, what, i = heapq.heappop(self.ev)
            if what in ("syn", "data_rtx", "synack_rtx"):
                # gather the whole batch at this instant
                syns, datas, acks = [], [], []
                items = [(what, i)]
                while self.ev and self.ev[0][0] == t and self.ev[0][2] in ("syn", "data_rtx", "synack_rtx"):
                    _, _, w2, i2 = heapq.heappop(self.ev)
                    items.append((w2, i2))
                for w2, i2 in items:
                    if w2 == "syn":
                        if self.state[i2] == "syn_sent" and self.outcome[i2] is None:
                            syns.append(i2)
                    elif w2 == "data_rtx":
                        if self.state[i2] == "hidden":
                            datas.append(i2)
                        # an accepted conn completed by a bare ACK gets its data now (data_at)
                    else:
                        if self.state[i2] == "hidden" and self.kind[i2] == "reqsk":
                            self.synack_n[i2] += 1
                            self.synack_at[i2] = t
                            acks.append(i2)
                            if self.synack_n[i2] < self.p.synack_retries:
                                self.push(self.timer(t, 2.0 ** self.synack_n[i2]), "synack_rtx", i2)
                            else:
                                # request expires after the last timeout
                                self.push(self.timer(t, 2.0 ** self.synack_n[i2]), "reqsk_expire", i2)
                self.syn_batch(t, syns, datas, acks)
            elif what == "reqsk_expire":
                if self.state[i] == "hidden":
                    self.qlen -= 1
                    self.state[i] = "done"
                    self.finish(t, i, "timed_out")
            elif what == "arrive":
                self.arrive(t, i)
            elif what == "ctimeout":
                if self.t_conn[i] is None and self.outcome[i] is None:
                    self.state[i] = "done"
                    self.finish(t, i, "refused")
            elif what == "timeout":
                if self.outcome[i] is None:
                    self.finish(t, i, "timed_out")
                if self.state[i] == "hidden":
                    self.client_close(t, i)
            elif what == "done":
                self.finish(t, i, "served")
                if self.p.metrics:
                    self.metrics_close(self.srv_rtt[i])   # server socket
                    self.metrics_close(0.0)               # client socket
                self.idle += 1
                self.dispatch(t)
        return self

    def summary(self):
        n = len(self.arr)
        o = [x or "unfinished" for x in self.outcome]
        res = {k: o.count(k) for k in ("refused", "served", "timed_out", "reset", "unfinished")}
        res["n"] = n
        res["refused_share"] = res["refused"] / n if n else 0.0
        res.update(self.stats)
        return res


def simulate(arrivals, **kw):
    return Sim(sorted(arrivals), P(**kw)).run().summary()


def simulate_avg(arrivals, reps=20, **kw):
    """Average over jiffy-grid phases and tie orders."""
    out = None
    for r in range(reps):
        s = simulate(arrivals, phase=(r + 0.5) / reps, seed=r + 1, **kw)
        if out is None:
            out = {k: 0.0 for k in s}
        for k in s:
            out[k] += s[k] / reps
    return out


if __name__ == "__main__":
    import argparse, json
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t, arr = 0.0, []
    while True:
        t += rng.expovariate(a.rate)
        if t > a.duration:
            break
        arr.append(t)
    for m in ("simple", "grid", "extended"):
        print(m, json.dumps(simulate_avg(arr, model=m)))


def slot_takers(s):
    """For each accept(), how the next connection entered the accept queue."""
    import bisect
    from collections import Counter
    ts = [e[0] for e in s.entries]
    c = Counter()
    for a in s.accepts:
        k = bisect.bisect_right(ts, a)
        if k < len(ts):
            c[s.entries[k][1]] += 1
    return dict(sorted(c.items()))
