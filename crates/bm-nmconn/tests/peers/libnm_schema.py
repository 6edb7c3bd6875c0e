#!/usr/bin/python3
"""libnm 1.42's property names per setting, and its bond options, as JSON."""
import json

import gi

gi.require_version("NM", "1.0")
from gi.repository import NM  # noqa: E402

classes = [NM.SettingConnection, NM.SettingWired, NM.SettingBondPort, NM.SettingVlan, NM.SettingBridge,
           NM.SettingBridgePort, NM.SettingIP4Config, NM.SettingIP6Config, NM.SettingProxy, NM.SettingInfiniband,
           NM.SettingMatch]
out = {"settings": {}, "bond_options": NM.SettingBond.new().get_valid_options()}
for cls in classes:
    s = cls()
    out["settings"][s.get_name()] = [p.name for p in s.list_properties() if p.name != "name"]
json.dump(out, __import__("sys").stdout)
