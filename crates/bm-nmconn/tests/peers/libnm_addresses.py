#!/usr/bin/python3
"""For each keyfile text (JSON list on stdin), what libnm 1.42 loads into ipv4/ipv6 addresses
gateway, DNS and routes, and the warnings it emits for address keys. Needs gir1.2-nm-1.0."""
import json
import sys

import gi

gi.require_version("NM", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, NM  # noqa: E402


def load(text):
    kf = GLib.KeyFile.new()
    kf.load_from_bytes(GLib.Bytes.new(text.encode()), GLib.KeyFileFlags.NONE)
    warns = []

    def handler(keyfile, connection, htype, hdata, user_data):
        if htype == NM.KeyfileHandlerType.WARN:
            grp, key, _, _ = hdata.get_context()
            warns.append([grp or "", key or "", hdata.warn_get()[0]])
        return False

    con = NM.keyfile_read(kf, "/tmp", NM.KeyfileHandlerFlags.NONE, handler, None)
    out = {"warnings": warns}
    for fam, s in (("ipv4", con.get_setting_ip4_config()), ("ipv6", con.get_setting_ip6_config())):
        if s is None:
            out[fam] = None
            continue
        out[fam] = {
            "addresses": [[a.get_address(), a.get_prefix()] for a in (s.get_address(i) for i in range(s.get_num_addresses()))],
            "gateway": s.get_gateway(),
            "dns": [s.get_dns(i) for i in range(s.get_num_dns())],
            "routes": [[r.get_dest(), r.get_prefix(), r.get_next_hop(), r.get_metric()] for r in (s.get_route(i) for i in range(s.get_num_routes()))],
        }
    return out


json.dump([load(t) for t in json.load(sys.stdin)], sys.stdout)
