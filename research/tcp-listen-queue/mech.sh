#!/bin/bash
# Mechanism experiments (burst of 8 clients at t=0 so that their SYN retransmissions
# share timer-wheel slots; listen(2); the server accepts nothing before 2.5 s, then one
# connection every 1.5 s).  Namespace tcpst2, port 5001.
cd "$(dirname "$0")"
S="--backlog 2 --mode schedule --accept-start 2.5 --accept-interval 1.5 --lifetime 25"
C="--arrival burst --n 8 --connect-timeout 22 --timeout 23"
run() { python3 run.py "$@" --ns tcpst2 --port 5001 --tcpdump | cut -c1-400; }
# M1: default sysctls (syncookies=1, abort_on_overflow=0), client sends its request at once
run m1_default --server "$S" --client "$C"
# M2: syncookies=0: request socks limited to the backlog, extra SYNs dropped (TCPReqQFullDrop)
run m2_nocookies --sysctl net.ipv4.tcp_syncookies=0 --server "$S" --client "$C"
# M3: tcp_abort_on_overflow=1: the ACK that finds the accept queue full gets a RST
run m3_abort --sysctl net.ipv4.tcp_abort_on_overflow=1 --server "$S" --client "$C"
# M4: server speaks first, client sends nothing: cookie connections never complete,
#     request socks complete only through the ACKs to SYN-ACK retransmissions
run m4_greet --server "$S --greet" --client "$C --no-send"
# M5: as M4 with syncookies=0
run m5_greet_nocookies --sysctl net.ipv4.tcp_syncookies=0 --server "$S --greet" --client "$C --no-send"
