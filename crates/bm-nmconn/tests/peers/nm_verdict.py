#!/usr/bin/python3
"""For each keyfile text (JSON list on stdin): whether GLib loads it, the warnings libnm 1.42's
keyfile reader emits (group, key, message), and the error of libnm's verification/normalisation
(null when the profile is accepted). Needs python3-gi and gir1.2-nm-1.0."""
import json
import sys

import gi

gi.require_version("NM", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, NM  # noqa: E402


def verdict(text):
    kf = GLib.KeyFile.new()
    try:
        kf.load_from_bytes(GLib.Bytes.new(text.encode()), GLib.KeyFileFlags.NONE)
    except GLib.Error as e:
        return {"load_error": e.message, "warnings": [], "verify_error": None}
    warns = []

    def handler(keyfile, connection, htype, hdata, user_data):
        if htype == NM.KeyfileHandlerType.WARN:
            grp, key, _, _ = hdata.get_context()
            msg, sev = hdata.warn_get()
            # INFO-level notes (a trailing ';' in an address) are not warnings.
            if int(sev) >= int(NM.KeyfileWarnSeverity.WARN):
                warns.append([grp or "", key or "", msg])
        return False

    try:
        con = NM.keyfile_read(kf, "/tmp", NM.KeyfileHandlerFlags.NONE, handler, None)
    except GLib.Error as e:
        return {"load_error": None, "warnings": warns, "verify_error": e.message}
    try:
        con.normalize(None)
        err = None
    except GLib.Error as e:
        err = e.message
    return {"load_error": None, "warnings": warns, "verify_error": err}


json.dump([verdict(t) for t in json.load(sys.stdin)], sys.stdout)
