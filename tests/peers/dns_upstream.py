#!/usr/bin/env python3
"""A misbehaving DNS upstream for the forwarder's tests: python3 dns_upstream.py ADDR PORT LOG

Over UDP and TCP on ADDR:PORT it answers by the query's first label:
  silent... / names under flood.  -> no answer at all
  big...                           -> ~2,900 bytes of TXT, TC clear, whatever the client's size
  other...                         -> an answer for another question (evil.example. A), same ID
  anything else                    -> A 198.51.100.7
Every query's message ID is appended to LOG (one per line), so a test can check that the
forwarder does not pass its clients' IDs on. Standard library only.
"""

import socket
import struct
import sys
import threading


def question(msg):
    """(name labels lowercased, end offset of the question) of a query."""
    at, labels = 12, []
    while msg[at] != 0:
        n = msg[at]
        labels.append(msg[at + 1 : at + 1 + n].decode("ascii", "replace").lower())
        at += 1 + n
    return labels, at + 5


def rr_a(addr):
    return b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)


def rr_txt(text):
    data = bytes([len(text)]) + text
    return b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(data)) + data


def answer(msg):
    """The reply to `msg`, or None to stay silent."""
    if len(msg) < 17 or msg[2] & 0x80:
        return None
    labels, qend = question(msg)
    first = labels[0] if labels else ""
    if first.startswith("silent") or "flood" in labels:
        return None
    rid, flags = msg[:2], struct.pack("!H", 0x8080 | (msg[2] & 0x01) << 8)
    q = msg[12:qend]
    if first.startswith("big"):
        records = [rr_txt(b"%02d" % i + b"x" * 90) for i in range(30)]
        return rid + flags + struct.pack("!HHHH", 1, len(records), 0, 0) + q + b"".join(records)
    if first.startswith("other"):
        evil = b"\x04evil\x07example\x00" + struct.pack("!HH", 1, 1)
        return rid + flags + struct.pack("!HHHH", 1, 1, 0, 0) + evil + rr_a("203.0.113.66")
    return rid + flags + struct.pack("!HHHH", 1, 1, 0, 0) + q + rr_a("198.51.100.7")


def main():
    addr, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "a", buffering=1)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    lock = threading.Lock()

    def seen(msg):
        with lock:
            log.write("%d\n" % struct.unpack("!H", msg[:2])[0])

    def tcp():
        srv = socket.socket(family, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(16)
        while True:
            conn, _ = srv.accept()
            conn.settimeout(2)
            try:
                n = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))[0]
                msg = conn.recv(n, socket.MSG_WAITALL)
                seen(msg)
                reply = answer(msg)
                if reply:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except (OSError, struct.error):
                pass
            conn.close()

    threading.Thread(target=tcp, daemon=True).start()
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.bind((addr, port))
    print("ready", flush=True)
    while True:
        msg, client = udp.recvfrom(65535)
        if len(msg) >= 2:
            seen(msg)
        reply = answer(msg)
        if reply:
            udp.sendto(reply, client)


if __name__ == "__main__":
    main()
