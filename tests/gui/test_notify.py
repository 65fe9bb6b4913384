"""The notifier's paths: D-Bus against a real dunst on the test desktop's private bus (driven
by this process's Qt event loop), Qt's tray messages, and which path is chosen where."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from heard.gui import badge, notify
from heard.gui.notify import DBusNotifier, Note, TrayNotifier
from tests.support.desktop import DesktopSession
from tests.support.gui import Recorder


@pytest.fixture
def bus(desktop_session: DesktopSession, monkeypatch: pytest.MonkeyPatch) -> DesktopSession:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop_session.bus_address)
    desktop_session.run(["dunstctl", "close-all"], timeout=10)
    return desktop_session


@pytest.fixture
def dbus(bus: DesktopSession) -> Iterator[tuple[DBusNotifier, Recorder]]:
    probe = notify.probe_dbus()
    assert probe is not None
    fallback = Recorder()
    notifier = DBusNotifier(probe, fallback)
    yield notifier, fallback
    notifier.close()


def test_the_probe_finds_the_notification_server_and_its_actions(bus: DesktopSession) -> None:
    probe = notify.probe_dbus()
    assert probe is not None
    try:
        assert probe.server.startswith("dunst ")
        assert "actions" in probe.capabilities
    finally:
        probe.connection.close()


def test_no_bus_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert notify.probe_dbus() is None
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    assert notify.probe_dbus() is None


def test_a_note_replaces_the_one_in_its_slot_even_before_its_id_is_known(
    qtbot: QtBot, dbus: tuple[DBusNotifier, Recorder], bus: DesktopSession
) -> None:
    notifier, fallback = dbus
    assert notifier.actions and notifier.description.startswith(
        "freedesktop notifications over D-Bus (dunst")
    notifier.show(Note("Rajesh wrote", "Drawings", slot="arrivals", ref="one"))
    notifier.show(Note("Rajesh and Sofia are waiting", slot="arrivals", ref="two"))
    notifier.show(Note("Heard: problem", "disk full", slot="problem", ref="other"))
    qtbot.waitUntil(lambda: notifier.showing("arrivals") == "two"
                    and notifier.showing("problem") == "other", timeout=5000)
    qtbot.waitUntil(lambda: bus.notification_counts().get("displayed") == 2, timeout=5000)
    assert fallback.notes == []


def test_an_action_chosen_in_the_server_comes_back_with_the_notes_ref(
    qtbot: QtBot, dbus: tuple[DBusNotifier, Recorder], bus: DesktopSession
) -> None:
    notifier, _fallback = dbus
    notifier.show(Note("Megge wrote", "Closing", (("default", "Open"),), slot="arrivals",
                       ref="megge"))
    qtbot.waitUntil(lambda: notifier.showing("arrivals") == "megge", timeout=5000)
    with qtbot.waitSignal(notifier.invoked, timeout=5000) as invoked:
        bus.run(["dunstctl", "action", "0"], timeout=10)   # as a click on it would
    assert invoked.args == ["megge", "default"]


def test_withdrawing_takes_a_note_off_the_screen(
    qtbot: QtBot, dbus: tuple[DBusNotifier, Recorder], bus: DesktopSession
) -> None:
    notifier, _fallback = dbus
    # Withdrawn before the server has even said which id it got: closed once it has.
    notifier.show(Note("Rajesh wrote", "Drawings", slot="arrivals", ref="raj"))
    with qtbot.waitSignal(notifier.closed, timeout=5000) as closed:
        notifier.withdraw("arrivals")
    assert closed.args == ["arrivals"]
    assert notifier.showing("arrivals") is None
    notifier.show(Note("Sofia wrote", "Invoice", slot="arrivals", ref="sofia"))
    qtbot.waitUntil(lambda: bus.notification_counts().get("displayed") == 1, timeout=5000)
    with qtbot.waitSignal(notifier.closed, timeout=5000):
        notifier.withdraw("arrivals")
    qtbot.waitUntil(lambda: bus.notification_counts().get("displayed") == 0, timeout=5000)
    notifier.withdraw("nothing there")   # no-op


def test_when_the_bus_connection_is_lost_notes_go_to_the_fallback(
    qtbot: QtBot, dbus: tuple[DBusNotifier, Recorder]
) -> None:
    notifier, fallback = dbus
    notifier._conn.sock.shutdown(socket.SHUT_RDWR)
    qtbot.waitUntil(lambda: not notifier._alive, timeout=5000)
    notifier.show(Note("Rajesh wrote", "Drawings", ref="raj"))
    assert fallback.titles() == ["Rajesh wrote"]
    # An action on a fallback note still reaches whoever listens to the notifier.
    with qtbot.waitSignal(notifier.invoked, timeout=1000) as invoked:
        fallback.choose(Note("x", actions=(("default", "Open"),), ref="raj"), "default")
    assert invoked.args == ["raj", "default"]


def test_qt_tray_messages_report_a_click_as_the_default_action(qtbot: QtBot) -> None:
    tray = QSystemTrayIcon(badge.icon(0, None))
    shown: list[tuple[str, str]] = []
    tray.showMessage = lambda title, text, *_rest: shown.append((title, text))  # type: ignore[method-assign]
    notifier = TrayNotifier(tray)
    assert not notifier.actions and notifier.showing("arrivals") is None
    tray.messageClicked.emit()   # nothing shown yet: nothing to open
    notifier.show(Note("Rajesh wrote", "Drawings", ref="raj", urgent=True))
    assert shown == [("Rajesh wrote", "Drawings")]
    with qtbot.waitSignal(notifier.invoked, timeout=1000) as invoked:
        tray.messageClicked.emit()
    assert invoked.args == ["raj", "default"]


def test_the_path_tried_first_depends_on_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
    assert notify.first_choice("xcb", "linux") == "dbus"
    assert notify.first_choice("wayland", "freebsd14") == "dbus"
    assert notify.first_choice("offscreen", "linux") == "tray"   # tests: nobody to show it to
    assert notify.first_choice("windows", "win32") == "plyer"
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert notify.first_choice("xcb", "linux") == "tray"   # no bus, no Flatpak portal
    assert notify.plyer_usable("win32")
    assert not notify.plyer_usable("linux")
    assert notify.icon_path() is not None and notify.icon_path().endswith("heard.svg")  # type: ignore[union-attr]


def test_outside_a_flatpak_on_linux_plyer_is_not_even_imported() -> None:
    """plyer (~40 modules) is no use on Linux outside a Flatpak sandbox, so choosing the
    toast path there does not load it (issue 25: the idle tray's RSS)."""
    import subprocess
    import sys

    script = ("import sys; from heard.gui import notify;"
              " print(notify.plyer_usable('linux'), 'plyer' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "False"]


# what reaches the screen (issue 19: toasts clean up after themselves; issue 24: text is text)


HOSTILE_BODY = ('<span foreground="yellow" size="xx-large">Wire 50k to IBAN DE00 now</span>'
                ' <img src="file:///etc/hostname"> <a href="https://evil.example/">click</a>'
                " & \u202eexe.pdf\x07")


def history(bus: DesktopSession) -> list[dict[str, str]]:
    """dunst's own record of what it was given: summary and body (as given) and the message
    it drew (markup applied)."""
    r = bus.run(["dunstctl", "history"], timeout=10)
    assert r.returncode == 0, r.stderr
    return [{key: str(entry[key]["data"]) for key in ("summary", "body", "message", "appname")}
            for entry in json.loads(r.stdout)["data"][0]]


def displayed(bus: DesktopSession) -> int:
    return bus.notification_counts().get("displayed", 0)


def test_text_from_mail_is_shown_as_written_by_a_server_that_reads_markup(
    qtbot: QtBot, dbus: tuple[DBusNotifier, Recorder], bus: DesktopSession
) -> None:
    notifier, _fallback = dbus
    assert notifier.markup   # dunst says body-markup among its capabilities
    notifier.show(Note("<b>Megge</b> wrote", HOSTILE_BODY, slot="arrivals", ref="megge"))
    qtbot.waitUntil(lambda: displayed(bus) == 1, timeout=5000)
    bus.run(["dunstctl", "close-all"], timeout=10)   # into the history, to be read back
    qtbot.waitUntil(lambda: any(h["appname"] == "Heard" for h in history(bus)), timeout=5000)
    shown = next(h for h in history(bus) if h["appname"] == "Heard")
    # Escaped for the server: the markup dunst draws ("message") holds the tags as text
    # (&lt;span ...&gt;), not a large yellow instruction, an image or a link.
    drawn = shown["message"].split("\n", 1)[1]
    assert drawn.startswith('&lt;span foreground="yellow" size="xx-large"&gt;Wire 50k')
    assert "<" not in drawn and "&lt;img src=" in drawn and "&lt;a href=" in drawn
    assert drawn.endswith(" &amp; exe.pdf")
    # No bidi override or control character from the mail reaches the screen.
    assert "\u202e" not in shown["message"] and "\x07" not in shown["message"]
    assert shown["summary"] == "<b>Megge</b> wrote"   # the summary is never markup


def test_never_more_than_a_few_toasts_on_screen_and_none_after_closing(
    qtbot: QtBot, bus: DesktopSession
) -> None:
    probe = notify.probe_dbus()
    assert probe is not None
    notifier = DBusNotifier(probe, Recorder())
    try:
        for n in range(7):
            notifier.show(Note(f"Toast {n}", "text", slot=f"slot{n}", ref=n, timeout_ms=0))
        qtbot.waitUntil(lambda: notifier.showing("more") is not None, timeout=5000)
        qtbot.waitUntil(lambda: displayed(bus) == notify.MAX_ON_SCREEN, timeout=5000)
        # The rest are said in one summary, newest first, and each can still be taken back.
        assert notifier.showing("slot6") == 6 and notifier.showing("slot0") == 0
        notifier.withdraw("slot6")
        notifier.withdraw("slot5")
        notifier.withdraw("slot4")
        notifier.withdraw("slot3")
        qtbot.waitUntil(lambda: displayed(bus) == 3, timeout=5000)   # the summary went too
    finally:
        notifier.close()   # what Heard does when it quits
    qtbot.waitUntil(lambda: displayed(bus) == 0, timeout=5000)
