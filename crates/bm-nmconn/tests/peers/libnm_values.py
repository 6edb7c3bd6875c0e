#!/usr/bin/python3
"""What libnm 1.42 (NetworkManager's own keyfile reader, through python3-gi) loads for
ethernet.mtu, vlan.id, connection.autoconnect and ethernet.mac-address written as given, and
whether it warned. Reads a JSON list of {"prop": ..., "value": ...} on stdin; prints a JSON list
of {"value": loaded or null, "warned": bool}. Needs gir1.2-nm-1.0."""
import json
import sys

import gi

gi.require_version("NM", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, NM  # noqa: E402

BASE = {
    "mtu": ("[connection]\nid=t\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f60\ntype=ethernet\n[ethernet]\nmtu={v}\n", "ethernet"),
    "vlan": ("[connection]\nid=t\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f61\ntype=vlan\n[vlan]\nparent=eth0\nid={v}\n", "vlan"),
    "autoconnect": ("[connection]\nid=t\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f62\ntype=ethernet\nautoconnect={v}\n[ethernet]\n", "connection"),
    "mac": ("[connection]\nid=t\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f63\ntype=ethernet\n[ethernet]\nmac-address={v}\n", "ethernet"),
}


def load(prop, value):
    text, _ = BASE[prop]
    text = text.format(v=value)
    kf = GLib.KeyFile.new()
    kf.load_from_bytes(GLib.Bytes.new(text.encode()), GLib.KeyFileFlags.NONE)
    warned = []

    def handler(keyfile, connection, htype, hdata, user_data):
        if htype == NM.KeyfileHandlerType.WARN:
            warned.append(hdata.warn_get()[0])
        return False

    con = NM.keyfile_read(kf, "/tmp", NM.KeyfileHandlerFlags.NONE, handler, None)
    if prop == "mtu":
        v = con.get_setting_wired().get_mtu()
    elif prop == "vlan":
        v = con.get_setting_vlan().get_id()
    elif prop == "autoconnect":
        v = con.get_setting_connection().get_autoconnect()
    else:
        v = con.get_setting_wired().get_mac_address()
    return {"value": v, "warned": bool(warned)}


json.dump([load(c["prop"], c["value"]) for c in json.load(sys.stdin)], sys.stdout)
