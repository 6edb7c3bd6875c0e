#!/usr/bin/python3
"""Reads a JSON list of keyfile texts on stdin and prints, per text, what GLib's GKeyFile (the
parser NetworkManager uses) makes of it: loaded or the error; groups; per key the raw value,
get_string and get_string_list (or their errors). Also escapes strings as GLib's writer does.
Needs python3-gi (Debian's, with GLib 2.74)."""
import json
import sys

import gi

gi.require_version("GLib", "2.0")
from gi.repository import GLib  # noqa: E402


def read(text):
    k = GLib.KeyFile()
    data = text.encode()
    try:
        k.load_from_bytes(GLib.Bytes.new(data), GLib.KeyFileFlags.NONE)
    except GLib.Error as e:
        return {"ok": False, "error": e.message}
    groups = {}
    for g in k.get_groups()[0]:
        keys = {}
        for key in k.get_keys(g)[0]:
            entry = {"raw": k.get_value(g, key)}
            try:
                entry["string"] = k.get_string(g, key)
            except GLib.Error:
                entry["string"] = None
            try:
                entry["list"] = list(k.get_string_list(g, key))
            except GLib.Error:
                entry["list"] = None
            keys[key] = entry
        groups[g] = keys
    return {"ok": True, "groups": groups, "order": list(k.get_groups()[0])}


def escape(value, as_list):
    k = GLib.KeyFile()
    if as_list:
        k.set_string_list("g", "k", value)
    else:
        k.set_string("g", "k", value)
    data = k.to_data()[0]
    line = [l for l in data.split("\n") if l.startswith("k=")][0]
    return line[2:]


req = json.load(sys.stdin)
out = {
    "docs": [read(t) for t in req["docs"]],
    "escapes": [escape(s, False) for s in req["strings"]],
    "list_escapes": [escape(l, True) for l in req["lists"]],
}
json.dump(out, sys.stdout)
