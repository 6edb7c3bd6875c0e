"""The client's probes for the cluster in a box, run in the client's network namespace.

Every 50 ms: an HTTP GET to the API VIP (HAProxy's frontend), each in a thread of its own so
a slow probe never delays the next. Every 250 ms: an `A` query for `api.<zone>` to every
node's DNS server (none when the list is empty). One JSON object per line on stdout, `t` in
Unix milliseconds; runs until killed.

usage: probe.py VIP PORT ZONE [DNS_SERVER[,DNS_SERVER...]]
"""

import json
import random
import socket
import struct
import sys
import threading
import time

VIP, PORT, ZONE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SERVERS = [s for s in (sys.argv[4] if len(sys.argv) > 4 else "").split(",") if s]
LOCK = threading.Lock()


def emit(record):
    with LOCK:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def http_probe(t):
    start = time.time()
    data = b""
    try:
        with socket.create_connection((VIP, PORT), timeout=0.5) as s:
            s.settimeout(0.5)
            s.sendall(b"GET / HTTP/1.0\r\nHost: api\r\n\r\n")
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        ok = data.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
        detail = data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip() if ok else repr(data[:40])
    except OSError as e:
        ok, detail = False, type(e).__name__
    emit({"t": t, "kind": "http", "ok": ok, "ms": round((time.time() - start) * 1000, 1), "detail": detail})


def query(name):
    qid = random.randint(0, 65535)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        packet += bytes([len(label)]) + label.encode()
    return qid, packet + b"\x00" + struct.pack(">HH", 1, 1)


def skip_name(msg, i):
    while True:
        n = msg[i]
        if n & 0xC0 == 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += n + 1


def first_a(msg, qid):
    if len(msg) < 12:
        return None
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid or flags & 0x000F != 0:
        return None
    i = 12
    for _ in range(qd):
        i = skip_name(msg, i) + 4
    for _ in range(an):
        i = skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[i : i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            return socket.inet_ntoa(msg[i : i + 4])
        i += rdlen
    return None


def dns_probe(t):
    name = "api." + ZONE
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pending = {}
    for server in SERVERS:
        qid, packet = query(name)
        pending[server] = qid
        try:
            sock.sendto(packet, (server, 53))
        except OSError as e:
            emit({"t": t, "kind": "dns", "node": server, "ok": False, "detail": type(e).__name__})
            del pending[server]
    deadline = time.time() + 0.3
    while pending and time.time() < deadline:
        sock.settimeout(max(0.001, deadline - time.time()))
        try:
            msg, (server, _) = sock.recvfrom(4096)
        except OSError:
            break
        if server in pending:
            answer = first_a(msg, pending.pop(server))
            emit({"t": t, "kind": "dns", "node": server, "ok": answer == VIP, "detail": str(answer)})
    for server in pending:
        emit({"t": t, "kind": "dns", "node": server, "ok": False, "detail": "timeout"})
    sock.close()


def main():
    tick = 0
    next_at = time.time()
    while True:
        t = int(time.time() * 1000)
        threading.Thread(target=http_probe, args=(t,), daemon=True).start()
        if SERVERS and tick % 5 == 0:
            threading.Thread(target=dns_probe, args=(t,), daemon=True).start()
        tick += 1
        next_at += 0.05
        time.sleep(max(0.0, next_at - time.time()))


main()
