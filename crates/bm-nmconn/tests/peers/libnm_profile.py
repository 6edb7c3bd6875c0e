#!/usr/bin/python3
"""For each keyfile text (JSON list on stdin), what libnm 1.42 loads: the connection, wired,
bond, vlan, bridge and ipv4/ipv6 values as typed properties, whether the profile verifies after
normalization, and the keyfile warnings. Needs python3-gi and gir1.2-nm-1.0."""
import json
import sys

import gi

gi.require_version("NM", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, NM  # noqa: E402


def ip_values(s):
    if s is None:
        return None
    routes = []
    for i in range(s.get_num_routes()):
        r = s.get_route(i)
        table = r.get_attribute("table")
        routes.append([r.get_dest(), r.get_prefix(), r.get_next_hop(), r.get_metric(),
                       table.get_uint32() if table is not None else None,
                       sorted(r.get_attribute_names())])
    out = {
        "method": s.get_method(),
        "addresses": [[a.get_address(), a.get_prefix()] for a in (s.get_address(i) for i in range(s.get_num_addresses()))],
        "gateway": s.get_gateway(),
        "routes": routes,
        "dns": [s.get_dns(i) for i in range(s.get_num_dns())],
        "dns_search": [s.get_dns_search(i) for i in range(s.get_num_dns_searches())],
        "dns_priority": s.get_dns_priority(),
        "ignore_auto_dns": s.get_ignore_auto_dns(),
        "never_default": s.get_never_default(),
        "ignore_auto_routes": s.get_ignore_auto_routes(),
    }
    out["dhcp_timeout"] = s.get_dhcp_timeout()
    out["dhcp_iaid"] = s.get_dhcp_iaid()
    if isinstance(s, NM.SettingIP6Config):
        out["addr_gen_mode"] = int(s.get_addr_gen_mode())
        out["dhcp_duid"] = s.get_dhcp_duid()
        out["ra_timeout"] = s.get_ra_timeout()
    else:
        out["dhcp_client_id"] = s.get_dhcp_client_id()
    return out


def load(text):
    warns = []

    def handler(keyfile, connection, htype, hdata, user_data):
        if htype == NM.KeyfileHandlerType.WARN:
            grp, key, _, _ = hdata.get_context()
            warns.append([grp or "", key or "", hdata.warn_get()[0]])
        return False

    kf = GLib.KeyFile.new()
    try:
        kf.load_from_bytes(GLib.Bytes.new(text.encode()), GLib.KeyFileFlags.NONE)
        con = NM.keyfile_read(kf, "/tmp", NM.KeyfileHandlerFlags.NONE, handler, None)
    except GLib.Error as e:
        return {"ok": False, "error": e.message, "warnings": warns}
    out = {"ok": True, "error": None, "warnings": warns}
    try:
        con.normalize()
        con.verify()
    except GLib.Error as e:
        out["ok"] = False
        out["error"] = e.message
    c = con.get_setting_connection()
    out.update({
        "id": c.get_id(), "uuid": c.get_uuid(), "type": c.get_connection_type(),
        "interface_name": c.get_interface_name(), "master": c.get_master(), "slave_type": c.get_slave_type(),
        "autoconnect_slaves": int(c.get_autoconnect_slaves()),
        "settings": sorted(s.get_name() for s in con.get_settings()),
    })
    w = con.get_setting_wired()
    out["mtu"] = w.get_mtu() if w else None
    out["cloned_mac"] = w.get_cloned_mac_address() if w else None
    b = con.get_setting_bond()
    out["bond"] = {b.get_option(i)[1]: b.get_option(i)[2] for i in range(b.get_num_options())} if b else None
    v = con.get_setting_vlan()
    out["vlan"] = {"id": v.get_id(), "parent": v.get_parent(), "flags": int(v.get_flags())} if v else None
    br = con.get_setting_bridge()
    out["bridge"] = {"stp": br.get_stp()} if br else None
    out["ipv4"] = ip_values(con.get_setting_ip4_config())
    out["ipv6"] = ip_values(con.get_setting_ip6_config())
    return out


json.dump([load(t) for t in json.load(sys.stdin)], sys.stdout)
