#!/usr/bin/python3
"""Differential peer for tests/differential.rs: Python's `ipaddress` module.

Reads one address per line on stdin (the line is used verbatim: no stripping, so leading
whitespace reaches the parser) and prints one JSON object per line on stdout, in input order.
The first output line is a header naming the peer and its version.

Run it with the Debian interpreter, /usr/bin/python3 (3.11.2 with the CVE-2024-4032 backport),
never a pyenv `python3` from PATH.
"""

import ipaddress
import json
import sys


def opt_str(value):
    return None if value is None else str(value)


def describe(text):
    try:
        a = ipaddress.ip_address(text)
    except ValueError as e:
        return {"input": text, "ok": False, "error": str(e)}
    out = {
        "input": text,
        "ok": True,
        "str": str(a),
        "compressed": a.compressed,
        "version": a.version,
        "is_private": a.is_private,
        "is_global": a.is_global,
        "is_loopback": a.is_loopback,
        "is_link_local": a.is_link_local,
        "is_multicast": a.is_multicast,
        "is_unspecified": a.is_unspecified,
        "is_reserved": a.is_reserved,
        # IPv6-only attributes; null for IPv4.
        "is_site_local": None,
        "ipv4_mapped": None,
        "sixtofour": None,
        "teredo_server": None,
        "teredo_client": None,
        "scope_id": None,
    }
    if a.version == 6:
        out["is_site_local"] = a.is_site_local
        out["ipv4_mapped"] = opt_str(a.ipv4_mapped)
        out["sixtofour"] = opt_str(a.sixtofour)
        if a.teredo is not None:
            out["teredo_server"] = str(a.teredo[0])
            out["teredo_client"] = str(a.teredo[1])
        out["scope_id"] = a.scope_id
    return out


def main():
    stdin = open(sys.stdin.fileno(), "r", encoding="utf-8", errors="surrogateescape", newline="\n")
    out = sys.stdout
    out.write(json.dumps({"peer": "python", "version": "%d.%d.%d" % sys.version_info[:3]}) + "\n")
    for line in stdin:
        text = line[:-1] if line.endswith("\n") else line
        out.write(json.dumps(describe(text)) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
