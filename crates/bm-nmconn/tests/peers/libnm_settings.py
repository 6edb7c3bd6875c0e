#!/usr/bin/python3
"""For each keyfile text (JSON list on stdin), the values libnm 1.42's keyfile reader loads
(before normalisation) for the settings and properties bm_nmconn::profile models, or
{"error": ...} when the file does not load. Needs python3-gi and gir1.2-nm-1.0."""
import json
import sys

import gi

gi.require_version("NM", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, NM  # noqa: E402

PROPS = {
    "connection": ["id", "uuid", "type", "interface-name", "autoconnect", "autoconnect-priority",
                   "autoconnect-retries", "master", "slave-type", "zone", "stable-id", "multi-connect", "mdns",
                   "llmnr", "dns-over-tls"],
    "802-3-ethernet": ["mtu", "mac-address", "cloned-mac-address", "speed", "duplex", "auto-negotiate",
                       "wake-on-lan", "port"],
    "vlan": ["id", "parent", "flags", "protocol"],
    "bridge": ["stp", "priority", "forward-delay", "hello-time", "max-age", "ageing-time", "multicast-snooping",
               "vlan-filtering", "vlan-default-pvid", "mac-address", "group-forward-mask", "multicast-hash-max"],
    "bridge-port": ["priority", "path-cost", "hairpin-mode"],
    "infiniband": ["mtu", "transport-mode", "p-key", "parent"],
    "ipv4": ["method", "gateway", "dns-search", "dns-options", "dns-priority", "may-fail", "never-default",
             "ignore-auto-dns", "ignore-auto-routes", "route-metric", "route-table", "dhcp-hostname", "dhcp-timeout",
             "dhcp-iaid", "dhcp-client-id"],
    "ipv6": ["method", "gateway", "dns-search", "dns-options", "dns-priority", "may-fail", "never-default",
             "ignore-auto-dns", "ignore-auto-routes", "route-metric", "route-table", "dhcp-hostname", "dhcp-timeout",
             "dhcp-iaid", "dhcp-duid", "ra-timeout", "addr-gen-mode", "token"],
    "proxy": ["method", "pac-url"],
    "match": ["interface-name", "driver", "path", "kernel-command-line"],
}


def plain(v):
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return int(v)  # enums and flags


def route(r):
    """A route: destination, prefix, next hop, metric, the attributes' names, and the table."""
    table = r.get_attribute("table")
    return [r.get_dest(), r.get_prefix(), r.get_next_hop(), r.get_metric(), sorted(r.get_attribute_names()),
            table.get_uint32() if table is not None else None]


def dump(text):
    kf = GLib.KeyFile.new()
    try:
        kf.load_from_bytes(GLib.Bytes.new(text.encode()), GLib.KeyFileFlags.NONE)
        con = NM.keyfile_read(kf, "/tmp", NM.KeyfileHandlerFlags.NONE, None, None)
    except GLib.Error as e:
        return {"error": e.message}
    out = {}
    for s in con.get_settings():
        name = s.get_name()
        d = {}
        for p in PROPS.get(name, []):
            d[p] = plain(s.get_property(p))
        if name in ("ipv4", "ipv6"):
            d["addresses"] = [[a.get_address(), a.get_prefix()] for a in (s.get_address(i) for i in range(s.get_num_addresses()))]
            d["routes"] = [route(s.get_route(i)) for i in range(s.get_num_routes())]
            d["dns"] = [s.get_dns(i) for i in range(s.get_num_dns())]
        if name == "bond":
            opts = {}
            for i in range(s.get_num_options()):
                ok, k, v = s.get_option(i)
                if ok:
                    opts[k] = v
            d["options"] = opts
        if name == "user":
            d["data"] = {k: s.get_data(k) for k in s.get_keys()}
        if name == "ethtool":
            # The boolean options (features and pause) as libnm holds them, and the integers.
            names = [n for n in s.option_get_all_names() if n.startswith(("feature-", "pause-"))]
            d["booleans"] = {n: s.option_get_boolean(n)[1] for n in names if s.option_get_boolean(n)[0]}
            ints = [n for n in s.option_get_all_names() if not n.startswith(("feature-", "pause-"))]
            d["integers"] = {n: s.option_get_uint32(n)[1] for n in ints if s.option_get_uint32(n)[0]}
        if name in PROPS or name in ("bond", "user", "ethtool"):
            out[name] = d
    return out


json.dump([dump(t) for t in json.load(sys.stdin)], sys.stdout)
