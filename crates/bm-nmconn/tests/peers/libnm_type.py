#!/usr/bin/python3
"""For each keyfile text (JSON list on stdin), what libnm 1.42 makes of the connection type:
{"type": T} when the profile normalises (T as NetworkManager names the setting), else
{"error": the first verification error}. Needs python3-gi and gir1.2-nm-1.0."""
import json
import sys

import gi

gi.require_version("NM", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, NM  # noqa: E402

out = []
for text in json.load(sys.stdin):
    kf = GLib.KeyFile.new()
    kf.load_from_bytes(GLib.Bytes.new(text.encode()), GLib.KeyFileFlags.NONE)
    con = NM.keyfile_read(kf, "/tmp", NM.KeyfileHandlerFlags.NONE, None, None)
    try:
        con.normalize(None)
        out.append({"type": con.get_connection_type()})
    except GLib.Error as e:
        out.append({"error": e.message})
json.dump(out, sys.stdout)
