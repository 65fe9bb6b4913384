"""A stand-in org.kde.StatusNotifierWatcher: what KDE Plasma, GNOME's AppIndicator extension,
XFCE and waybar provide, reduced to what a test needs to see an app's tray item.

    python sni_watcher.py SECONDS OUT_DIR      (run on the session bus under test)

It owns org.kde.StatusNotifierWatcher and answers IsStatusNotifierHostRegistered = true (Qt
then takes the tray as available), waits for RegisterStatusNotifierItem, then reads the item
back the way a tray host does: its properties (Id, Title, Status, ToolTip, Menu, IconPixmap)
and the com.canonical.dbusmenu layout behind Menu. It writes OUT_DIR/item.json (properties,
menu labels, icon sizes) and OUT_DIR/icon-<W>x<H>.argb (the largest pixmap, ARGB32 in network
byte order, as the protocol sends it), and exits 0; 1 if no item registered in time.
Only jeepney (pure Python) is needed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_method_call, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

WATCHER = "org.kde.StatusNotifierWatcher"
_PROPERTIES = {"IsStatusNotifierHostRegistered": ("b", True), "ProtocolVersion": ("i", 0),
               "RegisteredStatusNotifierItems": ("as", [])}


def serve(conn: DBusConnection, until: float, items: list[tuple[str, str]],
          stop_at_item: bool) -> None:
    """Answer calls to the watcher until `until` (or the first registration)."""
    while time.monotonic() < until and not (stop_at_item and items):
        try:
            msg = conn.receive(timeout=0.2)
        except TimeoutError:
            continue
        header = msg.header
        if header.message_type != MessageType.method_call:
            continue
        member = header.fields.get(HeaderFields.member)
        interface = header.fields.get(HeaderFields.interface)
        sender = str(header.fields.get(HeaderFields.sender))
        if member == "RegisterStatusNotifierItem":
            items.append((sender, str(msg.body[0])))
            conn.send(new_method_return(msg))
        elif member == "Get" and interface == "org.freedesktop.DBus.Properties":
            conn.send(new_method_return(msg, "v", (_PROPERTIES.get(msg.body[1], ("b", False)),)))
        elif member == "GetAll" and interface == "org.freedesktop.DBus.Properties":
            conn.send(new_method_return(msg, "a{sv}", (_PROPERTIES,)))
        else:
            conn.send(new_method_return(msg))


def _labels(node: Any) -> list[str]:
    """Menu labels in a dbusmenu layout (id, {props}, [children as variants])."""
    _id, props, children = node
    found = []
    if "label" in props:
        found.append(str(props["label"][1]))
    for child in children:
        found += _labels(child[1])
    return found


def read_item(conn: DBusConnection, sender: str, path: str) -> dict[str, Any]:
    if not path.startswith("/"):         # some register their bus name instead of a path
        sender, path = path, "/StatusNotifierItem"
    props_addr = DBusAddress(path, bus_name=sender, interface="org.freedesktop.DBus.Properties")
    reply = conn.send_and_get_reply(new_method_call(
        props_addr, "GetAll", "s", ("org.kde.StatusNotifierItem",)), timeout=5)
    props = reply.body[0]
    item: dict[str, Any] = {"sender": sender, "path": path}
    for key in ("Id", "Title", "Status", "Category", "IconName", "Menu", "ItemIsMenu"):
        if key in props:
            item[key] = props[key][1]
    if "ToolTip" in props:
        _icon_name, _pixmaps, title, text = props["ToolTip"][1]
        item["ToolTip"] = {"title": title, "text": text}
    pixmaps = props.get("IconPixmap", ("a(iiay)", []))[1]
    item["IconPixmap"] = [[w, h] for w, h, _data in pixmaps]
    if pixmaps:
        w, h, data = max(pixmaps, key=lambda p: p[0] * p[1])
        item["largest"] = {"width": w, "height": h, "argb": bytes(data)}
    menu_path = item.get("Menu")
    if menu_path:
        menu = DBusAddress(str(menu_path), bus_name=sender, interface="com.canonical.dbusmenu")
        layout = conn.send_and_get_reply(new_method_call(
            menu, "GetLayout", "iias", (0, -1, [])), timeout=5)
        item["menu"] = _labels(layout.body[1])
    return item


def main(argv: list[str]) -> int:
    seconds, out = float(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    conn = open_dbus_connection("SESSION")
    reply = conn.send_and_get_reply(message_bus.RequestName(WATCHER, 4), timeout=5)
    if reply.body[0] != 1:
        print(f"watcher: could not own {WATCHER} ({reply.body[0]})", file=sys.stderr)
        return 2
    (out / "ready").write_text("watching\n")
    deadline = time.monotonic() + seconds
    items: list[tuple[str, str]] = []
    serve(conn, deadline, items, stop_at_item=True)
    if not items:
        print("watcher: no StatusNotifierItem registered", file=sys.stderr)
        return 1
    time.sleep(0.5)   # let the item set its tooltip and menu after registering
    item = read_item(conn, *items[0])
    largest = item.pop("largest", None)
    if largest:
        name = f"icon-{largest['width']}x{largest['height']}.argb"
        (out / name).write_bytes(largest["argb"])
        item["largest_file"] = name
    (out / "item.json").write_text(json.dumps(item, indent=2, default=str) + "\n")
    print(f"watcher: {items[0][0]} registered {items[0][1]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
