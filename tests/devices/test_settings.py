"""Standards, templates and the designated device, agreed by every device on the server
(heard.devices.settings; IMAP METADATA on `shared_dovecot`, a settings message in `Heard` on
`plain_dovecot`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytestqt.qtbot import QtBot

from heard.config import ConfigFile
from heard.config.templates import load_templates
from heard.devices.settings import REPLACED_FILE, local_values
from heard.devices.wire import folder as fb
from heard.domain.clients import Channel
from heard.domain.standards import Standard
from heard.engine import Engine
from tests.support.devices import connection, join
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import imap_profile

if TYPE_CHECKING:
    from heard.gui.settings_window import SettingsWindow

pytestmark = pytest.mark.usefixtures("real_keyring")

TEMPLATE = ('[on-site]\nsubject = "Re: {subject}"\nbody = """Dear {client.name},\n'
            'I am with a client until {busy_until}; I will call you at {reply_by}.\n"""\n')


class Devices:
    def __init__(self, root: Path, me: MailUser) -> None:
        self.root = root
        self.me = me
        self.engines: dict[str, Engine] = {}

    def open(self, instance: str) -> Engine:
        profile = imap_profile(self.root / instance, self.me)
        ConfigFile(profile.config).set("sharing", "instance", instance)
        engine = self.engines[instance] = Engine.open(profile)
        return engine

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()


@pytest.fixture
def devices(tmp_path: Path, shared_dovecot: Dovecot) -> Iterator[Devices]:
    found = Devices(tmp_path, shared_dovecot.add_user())
    yield found
    found.close()


def _std(engine: Engine, tier: str) -> Standard:
    return engine.settings.standards.for_contact(tier, Channel.EMAIL)


def _agreed(devices: Devices) -> tuple[Engine, Engine]:
    """The desk and the laptop, agreed on version 1 of the shared settings."""
    desk, lap = devices.open("desk"), devices.open("lap")
    desk.share_settings()
    lap.share_settings()
    return desk, lap


def _save(window: SettingsWindow, engine: Engine) -> None:
    """Save in the window, then what the tray runs on a worker."""

    assert window.save()
    engine.settings_saved(window.opened_version)


def _edit(engine: Engine, changes: list[tuple[str, str, object]], templates: str = "",
          ) -> None:
    ConfigFile(engine.profile.config).set_many(changes)
    if templates:
        engine.profile.templates.write_text(templates, encoding="utf-8")
    engine.reload_settings()


def test_the_first_device_publishes_and_a_joining_one_takes_them_keeping_its_own(
        devices: Devices) -> None:
    desk = devices.open("desk")
    _edit(desk, [("standards.vip", "ack_within", "10m"),
                 ("standards.vip", "answer_within", "2h"),
                 ("sharing", "designated_instance", "desk")], TEMPLATE)
    published = desk.share_settings()
    assert (published.action, published.version, published.where) == \
        ("published", 1, "metadata")
    assert published.written_by == "desk" and not published.error

    lap = devices.open("lap")
    _edit(lap, [("standards.default", "ack_within", "45m")])
    taken = lap.share_settings()
    assert taken.action == "applied" and taken.version == 1
    assert "took the shared settings of 'desk'" in taken.conflict
    assert _std(lap, "vip").ack_within == timedelta(minutes=10)
    assert _std(lap, "default").ack_within == timedelta(minutes=30)
    assert lap.settings.sharing.designated_instance == "desk"
    assert "on-site" in lap.templates          # the engine took up the new templates too
    assert lap.settings.instance == "lap"      # the device's own name is never shared
    # What the laptop had is kept, not lost.
    (kept,) = json.loads((lap.profile.root / REPLACED_FILE).read_text())
    assert kept["settings"]["standards"]["default"]["ack_within"] == "45m"

    again = lap.share_settings()   # nothing moved: nothing written, no new version
    assert (again.action, again.version) == ("none", 1)


def test_a_change_saved_on_one_device_reaches_the_other(devices: Devices) -> None:
    desk, lap = _agreed(devices)
    _edit(lap, [("standards.default", "ack_within", "20m"),
                ("sharing", "autopilot_instance", "lap")])
    pushed = lap.share_settings(publish=True)
    assert (pushed.action, pushed.version, pushed.written_by) == ("published", 2, "lap")
    assert not pushed.conflict

    events: list[str] = []
    desk.subscribe(lambda event: events.append(event.kind))
    # Which device acts changes: shown, and nothing applies before the user's yes.
    held = desk.share_settings()
    assert (held.action, held.version) == ("pending", 1)
    assert "+[sharing] autopilot_instance = 'lap'" in held.pending
    assert desk.settings.sharing.autopilot_instance == ""
    assert _std(desk, "default").ack_within == timedelta(minutes=30)
    assert any("changed your templates or which device acts" in p
               for p in desk.status().problems)
    assert desk.share_settings().action == "pending"      # asked again, not forgotten
    taken = desk.share_settings(accept=True)
    assert (taken.action, taken.version, taken.conflict, taken.pending) == (
        "applied", 2, "", "")
    assert _std(desk, "default").ack_within == timedelta(minutes=20)
    assert desk.settings.sharing.autopilot_instance == "lap"
    assert "changed" in events
    # heard.toml still reads as the user wrote it: comments and other sections survive.
    text = desk.profile.config.read_text()
    assert "[user]" in text and 'instance = "desk"' in text


def test_an_edit_of_heard_toml_is_published_at_the_next_sync(devices: Devices) -> None:
    desk, lap = _agreed(devices)
    _edit(desk, [("standards.default", "answer_within", "4h")])
    assert desk.share_settings().action == "published"
    assert lap.share_settings().action == "applied"
    assert _std(lap, "default").answer_within == timedelta(hours=4)


def test_when_both_changed_the_later_wins_and_the_other_is_kept_and_reported(
        devices: Devices) -> None:
    desk, lap = _agreed(devices)
    _edit(lap, [("standards.default", "ack_within", "25m")])     # earlier, not published
    past = time.time() - 60
    for path in (lap.profile.config,):
        os.utime(path, (past, past))
    _edit(desk, [("standards.default", "ack_within", "15m")])
    desk.share_settings(publish=True)

    result = lap.share_settings()
    assert result.action == "applied"
    assert "'desk' changed the shared settings" in result.conflict
    assert _std(lap, "default").ack_within == timedelta(minutes=15)
    (kept,) = json.loads((lap.profile.root / REPLACED_FILE).read_text())
    assert kept["settings"]["standards"]["default"]["ack_within"] == "25m"
    # The conflict stays visible (heard sharing --json) until the settings move again.
    out = subprocess.run([sys.executable, "-m", "heard", "sharing", "--json", "--profile",
                          str(lap.profile.root)], capture_output=True, text=True, check=True)
    shown = json.loads(out.stdout)
    assert shown["instance"] == "lap"
    assert shown["shared_settings"]["conflict"] == result.conflict
    assert shown["shared_settings"]["written_by"] == "desk"
    assert shown["accounts"][0]["mode"] == "full"


def test_a_save_over_a_newer_version_wins_and_says_whose_change_it_replaced(
        devices: Devices) -> None:
    desk, lap = _agreed(devices)
    _edit(desk, [("standards.default", "ack_within", "15m")])
    desk.share_settings(publish=True)                       # version 2, lap has not seen it
    _edit(lap, [("standards.default", "ack_within", "5m")])
    saved = lap.share_settings(publish=True)                # the user pressed Save here
    assert (saved.action, saved.version) == ("published", 3)
    assert "changed by 'desk'" in saved.conflict and "replaced theirs" in saved.conflict
    assert desk.share_settings().action == "applied"
    assert _std(desk, "default").ack_within == timedelta(minutes=5)
    (kept,) = json.loads((lap.profile.root / REPLACED_FILE).read_text())
    assert kept["written_by"] == "desk" and kept["version"] == 2


def test_shared_settings_this_device_cannot_use_are_reported_and_not_applied(
        devices: Devices, conns: list) -> None:
    lap = devices.open("lap")
    lap.share_settings()
    conn = connection(devices.me, conns)
    bad = {"standards": {"default": {"ack_within": "soon"}}, "templates": {},
           "sharing": {"designated_instance": "", "autopilot_instance": ""}}
    fb.write_settings(conn, bad, 1, "odd", datetime.now(UTC), None)
    before = lap.profile.config.read_text()
    result = lap.share_settings()
    assert result.action == "kept"
    assert "cannot be used here" in result.error and "ack_within" in result.error
    assert lap.profile.config.read_text() == before
    assert "cannot be used here" in lap.share_settings().error   # still said, next time too
    assert _std(lap, "default").ack_within == timedelta(minutes=30)


def test_without_metadata_the_settings_live_in_one_message_in_the_heard_folder(
        tmp_path: Path, plain_dovecot: Dovecot) -> None:
    group = Devices(tmp_path, plain_dovecot.add_user())
    try:
        desk, lap = group.open("desk"), group.open("lap")
        assert desk.share_settings().where == "message"
        join(lap, desk)
        lap.share_settings()
        for minutes in (12, 14):
            _edit(desk, [("standards.default", "ack_within", f"{minutes}m")])
            desk.share_settings(publish=True)
        assert lap.share_settings().version == 3
        assert _std(lap, "default").ack_within == timedelta(minutes=14)
        client = group.me.client()
        try:
            client.select_folder(fb.HEARD_FOLDER, readonly=True)
            # Older versions were removed (beside: the key's marker).
            assert len(client.search(["UNDELETED", "HEADER", "X-Heard-Settings", ""])) == 1
        finally:
            client.logout()
    finally:
        group.close()


def test_an_unreachable_server_changes_nothing_and_says_why(
        tmp_path: Path, shared_dovecot: Dovecot) -> None:
    from tests.support.dovecot import free_port

    group = Devices(tmp_path, shared_dovecot.add_user())
    try:
        lap = group.open("lap")
        file = lap.profile.config
        text = file.read_text().replace(f"port = {shared_dovecot.imap_port}",
                                        f"port = {free_port()}")
        file.write_text(text)
        lap.reload_settings()
        result = lap.share_settings()
        assert result.error.startswith("work: ") and result.version == 0
        assert not (lap.profile.root / REPLACED_FILE).exists()
    finally:
        group.close()


def test_the_settings_window_shows_the_conflict_and_its_save_reaches_the_other_device(
        devices: Devices, qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    desk, lap = devices.open("desk"), devices.open("lap")
    _edit(lap, [("standards.default", "ack_within", "45m")])
    desk.share_settings()
    lap.share_settings()                      # lap's own 45m went aside: a conflict
    window = window_for(qtbot, lap)
    assert "version 1, written by 'desk'" in window.shared_state.text()
    assert "Conflict: this device took the shared settings" in window.shared_state.text()
    assert window.instance.text() == "lap"
    qtbot.waitUntil(lambda: window.devices_mode.text().startswith("work: full:"),
                    timeout=10000)                # asked off the GUI thread
    assert window.devices_mode.styleSheet() == ""   # no fallback to point out

    window.designated_instance.setText("Desk")
    _save(window, lap)
    assert lap.shared_settings.status().version == 2
    assert desk.share_settings().action == "pending"      # which device acts: asked first
    assert desk.share_settings(accept=True).action == "applied"
    assert desk.settings.sharing.designated_instance == "desk"


def test_push_makes_this_devices_settings_the_shared_ones(devices: Devices) -> None:
    desk, lap = devices.open("desk"), devices.open("lap")
    _edit(desk, [("standards.default", "ack_within", "50m")])
    desk.share_settings()
    lap.share_settings()                      # took desk's 50m ...
    _edit(lap, [("standards.default", "ack_within", "30m")])
    run = subprocess.run([sys.executable, "-m", "heard", "sharing", "push", "--profile",
                          str(lap.profile.root)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "version 2, written by 'lap'" in run.stdout
    assert desk.share_settings().action == "applied"
    assert _std(desk, "default").ack_within == \
        timedelta(minutes=30)


def test_a_broken_heard_toml_is_never_shared_as_no_standards(devices: Devices) -> None:
    desk, lap = devices.open("desk"), devices.open("lap")
    _edit(desk, [("standards.vip", "ack_within", "10m"),
                 ("sharing", "designated_instance", "desk")])
    desk.share_settings()
    lap.share_settings()
    text = desk.profile.config.read_text()
    desk.profile.config.write_text(text + "\n[standards.vip\n")   # a typo while editing
    result = desk.share_settings()
    assert "cannot be shared until fixed" in result.error and result.version == 1
    desk.sync()                                                   # the sync goes on
    assert lap.share_settings().action == "none"
    assert lap.settings.sharing.designated_instance == "desk"
    assert _std(lap, "vip").ack_within == timedelta(minutes=10)


def test_what_another_device_wrote_that_cannot_be_used_never_stops_a_sync(
        devices: Devices, conns: list) -> None:
    lap = devices.open("lap")
    lap.share_settings()
    conn = connection(devices.me, conns)
    odd = {"standards": {"default": {"ack_within": None}}, "templates": {"x": [1]},
           "sharing": {"designated_instance": "", "autopilot_instance": ""}}
    fb.write_settings(conn, odd, 1, "odd", datetime.now(UTC), None)
    lap.sync()                                  # the periodic sync runs it: no exception
    result = lap.share_settings()
    assert "cannot be used here" in result.error
    assert _std(lap, "default").ack_within == timedelta(minutes=30)


def test_template_files_with_extra_keys_and_explicit_defaults_share_without_conflict(
        devices: Devices) -> None:
    desk, lap = devices.open("desk"), devices.open("lap")
    _edit(desk, [], TEMPLATE.replace('subject = "Re: {subject}"',
                                     'subject = "Re: {subject}"\npromise = "next_free"\n'
                                     "updated = 2024-05-01"))
    assert desk.share_settings().action == "published"
    joined = lap.share_settings()
    assert joined.action == "applied"
    assert "on-site" in lap.templates
    assert lap.share_settings().action == "none"
    assert desk.share_settings().action == "none"                 # no ping-pong


def test_the_same_change_on_both_devices_is_no_conflict(devices: Devices) -> None:
    desk, lap = _agreed(devices)
    for engine in (desk, lap):
        _edit(engine, [("standards.default", "ack_within", "20m")])
    assert desk.share_settings().version == 2
    same = lap.share_settings()
    assert (same.action, same.version, same.conflict) == ("none", 2, "")
    assert not (lap.profile.root / REPLACED_FILE).exists()


def test_push_keeps_the_version_it_replaces(devices: Devices) -> None:
    desk, lap = _agreed(devices)
    _edit(desk, [("standards.default", "ack_within", "40m")])
    desk.share_settings()                       # version 2: lap has not seen it
    pushed = lap.share_settings(push=True)
    assert pushed.version == 3
    (kept,) = json.loads((lap.profile.root / REPLACED_FILE).read_text())
    assert (kept["version"], kept["written_by"]) == (2, "desk")
    assert kept["settings"]["standards"]["default"]["ack_within"] == "40m"


def test_a_settings_window_left_open_does_not_undo_another_devices_change(
        devices: Devices, qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    desk, lap = _agreed(devices)
    window = window_for(qtbot, lap)             # shows version 1 (ack within 30m)
    _edit(desk, [("standards.default", "ack_within", "12m")])
    desk.share_settings()                       # version 2 ...
    assert lap.share_settings().action == "applied"   # ... taken up while the window is open
    window.warn_promise.setText("20m")          # the user changes something else
    _save(window, lap)
    assert _std(lap, "default").ack_within == timedelta(minutes=12)
    assert desk.share_settings().action == "none"
    assert _std(desk, "default").ack_within == timedelta(minutes=12)
    assert lap.settings.notifications.warn_before_promise == timedelta(minutes=20)


def test_a_shared_change_saved_in_a_window_opened_on_an_older_version_is_reported(
        devices: Devices, qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    desk, lap = _agreed(devices)
    window = window_for(qtbot, lap)
    _edit(desk, [("sharing", "designated_instance", "desk")])
    desk.share_settings()
    lap.share_settings()                        # version 2 taken up meanwhile
    window.designated_instance.setText("lap")   # the user decides otherwise, on version 1
    _save(window, lap)
    status = lap.shared_settings.status()
    assert status.version == 3 and "changed by 'desk'" in status.conflict
    (kept,) = [k for k in json.loads((lap.profile.root / REPLACED_FILE).read_text())
               if k["version"] == 2]
    assert kept["settings"]["sharing"]["designated_instance"] == "desk"


def test_a_template_this_device_replies_with_is_not_taken_away(devices: Devices) -> None:
    desk, lap = devices.open("desk"), devices.open("lap")
    _edit(desk, [], TEMPLATE)
    _edit(desk, [("replies", "template", "on-site")])   # desk's own default (not shared)
    desk.share_settings()
    lap.share_settings()
    lap.profile.templates.write_text("")                # lap deletes the template ...
    lap.reload_settings()
    assert lap.share_settings().action == "published"   # ... and shares that
    result = desk.share_settings()
    assert "cannot be used here" in result.error and "on-site" in result.error
    assert "on-site" in load_templates(desk.profile.templates)
    assert desk.settings.replies.template == "on-site"
    desk.close()
    Engine.open(desk.profile).close()                   # desk still starts


def test_a_save_that_changes_nothing_shared_publishes_nothing(
        devices: Devices, qtbot: QtBot, conns: list) -> None:
    from heard.config.templates import default_templates
    from tests.support.gui import window_for

    lap = devices.open("lap")
    lap.share_settings()
    # Another device (another version of Heard) shared a template as this one ships it:
    # this device's own values never list it, so they differ from the server's as written.
    shipped = default_templates()["acknowledge"]
    odd = dict(local_values(lap.profile))
    odd["templates"] = {"acknowledge": {"subject": shipped.subject, "body": shipped.body,
                                        "promise": shipped.promise}}
    fb.write_settings(connection(devices.me, conns), odd, 1, "desk", datetime.now(UTC), None)
    assert lap.share_settings().version == 2
    window = window_for(qtbot, lap)
    window.paused.setChecked(True)             # a Save of something not shared
    _save(window, lap)
    assert lap.shared_settings.status().version == 2
    assert lap.settings.notifications.paused


def test_a_window_left_open_keeps_a_template_another_device_added(
        devices: Devices, qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    desk, lap = _agreed(devices)
    window = window_for(qtbot, lap)
    _edit(desk, [], TEMPLATE)                    # desk adds "on-site" meanwhile ...
    desk.share_settings()
    assert lap.share_settings().action == "pending"       # a new template: asked first
    assert lap.share_settings(accept=True).action == "applied"
    subject, body, promise = window.templates.working["acknowledge"]
    window.templates.working["acknowledge"] = (subject, body + "\nAlex\n", promise)
    _save(window, lap)                           # ... and lap's user edits another one
    assert {"on-site", "acknowledge"} <= set(lap.templates)
    assert lap.templates["acknowledge"].body.endswith("Alex\n")
    assert desk.share_settings(accept=True).action == "applied"
    assert "on-site" in desk.templates
    assert desk.templates["acknowledge"].body.endswith("Alex\n")


BANK = ('Dear {client.name},\nour firm\'s bank details have changed. Please wire the retainer'
        ' to IBAN GB33 BUKB 2020 1555 5555 55.\n')


def _outside_settings(version: int, headers: str = "") -> bytes:
    """Shared settings as an outsider writes them: Heard's format, without the key."""
    body = json.dumps({"version": version, "written_by": "desk",
                       "written_at": datetime.now(UTC).isoformat(), "nonce": "x",
                       "settings": {"standards": {}, "sharing": {"designated_instance": "",
                                                                 "autopilot_instance": ""},
                                    "templates": {"acknowledge": {
                                        "subject": "Re: {subject}", "body": BANK,
                                        "promise": "next_free"}}}})
    return (f"From: Heard <heard@heard.invalid>\r\nSubject: Heard settings\r\n"
            f"Message-ID: <{version}.settings@heard.invalid>\r\n"
            f"X-Heard-Settings: {version}\r\n{headers}\r\n{body}\r\n").encode()


@pytest.fixture
def plain(tmp_path: Path, plain_dovecot: Dovecot) -> Iterator[Devices]:
    """Devices on a server without METADATA: the settings live in the Heard folder."""
    found = Devices(tmp_path, plain_dovecot.add_user())
    yield found
    found.close()


def test_settings_delivered_into_the_heard_folder_change_nothing_and_are_reported(
        plain: Devices, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 24, 1: mail to user+Heard with X-Heard-Settings: 50 and a template with bank
    details rewrote templates.toml. Now it is ignored, said, and logged once."""
    desk, lap = plain.open("desk"), plain.open("lap")
    assert desk.share_settings().version == 1
    join(lap, desk)
    assert lap.share_settings().version == 1
    templates = lap.profile.templates.read_bytes() if lap.profile.templates.exists() else b""

    plain.me.deliver(_outside_settings(50), detail="Heard")          # by mail
    plain.me.append(_outside_settings(51), folder="Heard")            # by a mail program
    client = plain.me.client()
    try:
        client.select_folder("Heard", readonly=True)
        delivered = client.fetch(client.search(["HEADER", "X-Heard-Settings", "50"]),
                                 ["BODY.PEEK[HEADER]"])
        assert b"Return-Path" in next(iter(delivered.values()))[b"BODY[HEADER]"]
    finally:
        client.logout()

    for engine in (lap, desk):
        status = engine.share_settings()
        assert (status.version, status.written_by, status.error) == (1, "desk", "")
        assert "IBAN" not in engine.templates["acknowledge"].body
        assert "bank details" in " ".join(engine.status().problems) or \
            "not written by your devices" in " ".join(engine.status().problems)
    assert (lap.profile.templates.read_bytes() if lap.profile.templates.exists()
            else b"") == templates
    lap.share_settings()
    warned = [r for r in caplog.records if r.name == "heard.devices.keys"
              and "ignored a settings" in r.getMessage() and "lap" not in r.getMessage()]
    assert len([r for r in warned if r.levelname == "WARNING"]) == 4   # 2 each device, once
    problems = " ".join(lap.status().problems)
    assert "2 messages in the Heard folder were not written by your devices" in problems
    assert "(the last, a settings: " in problems

    # The devices' own changes still travel, signed.
    _edit(desk, [("standards.default", "ack_within", "12m")])
    # (numbered on from the last signed version: a forged number moves nothing)
    assert desk.share_settings(publish=True).version == 2
    assert lap.share_settings().version == 2
    assert _std(lap, "default").ack_within == timedelta(minutes=12)


def test_an_upgraded_device_without_the_key_trusts_no_old_settings_and_says_to_join(
        plain: Devices) -> None:
    """Settings written before signatures are untrusted: the first upgraded device makes
    the key and reports them; the next one is told to join, and after joining agrees."""
    from heard.mail.imap import commands as wire

    plain.me.append(b"x", folder="INBOX")
    conn = plain.me.client()
    conn.create_folder("Heard")
    conn.logout()
    old = json.dumps({"version": 3, "written_by": "desk", "written_at": datetime.now(UTC)
                      .isoformat(), "nonce": "n", "settings": {
                          "standards": {"default": {"ack_within": "5m"}}, "templates": {},
                          "sharing": {"designated_instance": "", "autopilot_instance": ""}}})
    plain.me.append(wire.small_message("<old@heard.invalid>", "Heard settings",
                                       {"X-Heard-Settings": "3"}, old, datetime.now(UTC)),
                    folder="Heard")
    lap = plain.open("lap")
    status = lap.share_settings()
    assert _std(lap, "default").ack_within == timedelta(minutes=30)   # not taken
    assert status.version == 1 and status.action == "published"      # its own, signed
    assert "not signed by any of your devices" in " ".join(lap.status().problems)

    desk = plain.open("desk")
    refused = desk.share_settings()
    assert "has not joined" in refused.error and "heard sharing join CODE" in refused.error
    assert any("has not joined" in p for p in desk.status().problems)
    join(desk, lap)
    assert desk.share_settings().version == 1
    assert not any("has not joined" in p for p in desk.status().problems)


def test_the_sharing_key_is_in_the_keyring_only(
        plain: Devices, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import base64

    from heard.system import secrets

    caplog.set_level("DEBUG", logger="heard")
    desk, lap = plain.open("desk"), plain.open("lap")
    desk.share_settings()
    join(lap, desk)
    lap.share_settings()
    (account,) = lap.settings.accounts
    key = lap.devices.keys.get(account)
    assert key is not None and key == desk.devices.keys.get(account)
    entry = secrets.key_entry("lap", f"{account.username}@{account.host}")
    assert secrets.get_key(entry) == key
    forms = [key, key.hex().encode(), base64.b64encode(key),
             base64.b64encode(key).rstrip(b"=")]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert lap.profile.database in files
    for path in files:
        data = path.read_bytes()
        assert not any(form in data for form in forms), path
    logged = caplog.text.encode()
    assert not any(form in logged for form in forms)


def test_the_settings_window_shows_a_template_change_and_takes_it_on_the_users_yes(
        devices: Devices, qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    desk, lap = _agreed(devices)
    _edit(desk, [], TEMPLATE)                    # the desk adds "on-site"
    desk.share_settings()
    assert lap.share_settings().action == "pending"
    assert "on-site" not in lap.templates
    window = window_for(qtbot, lap)
    assert "Waiting for your yes" in window.shared_state.text()
    assert "+[on-site]" in window.shared_diff.toPlainText()     # the change, in its box
    assert window.shared_diff.isVisibleTo(window) and window.take_shared.isVisibleTo(window)
    window.take_shared.click()
    qtbot.waitUntil(lambda: not window.take_shared.isVisibleTo(window), timeout=10000)
    assert not window.shared_diff.isVisibleTo(window)
    assert "on-site" in lap.templates and lap.shared_settings.status().version == 2


def test_comparing_the_shared_settings_leaves_tomlkit_unloaded(tmp_path: Path) -> None:
    """Each sync compares this device's shared settings; that reads heard.toml with the
    standard library and loads the comment-keeping writer only to take settings up (issue
    25: the idle tray's RSS)."""
    ConfigFile(tmp_path / "heard.toml").set("standards.default", "ack_within", "20m")
    script = ("import sys; from pathlib import Path; from heard.system.paths import Profile;"
              " from heard.devices.settings import local_values;"
              " v = local_values(Profile(Path(sys.argv[1])));"
              " print(v['standards']['default']['ack_within'], 'tomlkit' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["20m", "False"]
