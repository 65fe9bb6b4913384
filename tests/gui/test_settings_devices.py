"""Invite and Join in the settings window (heard.gui.settings_devices; issue 24, 1): the key
the user's devices sign with reaches a new device only through a code shown on one that
has it, on a real Dovecot (without METADATA: the key is what makes the Heard folder's
messages count) and the real keyring."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.gui.settings_devices import NO_INVITATION, InviteDialog, JoinDialog
from heard.gui.settings_window import SettingsWindow
from tests.support.devices import join
from tests.support.dovecot import Dovecot
from tests.support.gui import keyboard_problems, window_for
from tests.support.imap import imap_profile

pytestmark = pytest.mark.usefixtures("real_keyring")

OTHER_CODE = "ABCD-EFGH-JKLM-NPQR"   # a code of the right shape that no invitation opens


@dataclass
class Devices:
    lap: Engine     # the first device: it makes the key
    desk: Engine    # the one that joins (on a clock of the test's)
    clock: FixedClock


@pytest.fixture
def devices(tmp_path: Path, plain_dovecot: Dovecot) -> Iterator[Devices]:
    me = plain_dovecot.add_user()
    profiles = {name: imap_profile(tmp_path / name, me) for name in ("lap", "desk")}
    for name, profile in profiles.items():
        ConfigFile(profile.config).set("sharing", "instance", name)
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    found = Devices(Engine.open(profiles["lap"]), Engine.open(profiles["desk"], clock), clock)
    yield found
    found.lap.close()
    found.desk.close()


def invite(qtbot: QtBot, window: SettingsWindow) -> InviteDialog:
    assert window.invite_button.isEnabled()
    window.invite_button.click()
    dialog = window.device_dialog
    assert isinstance(dialog, InviteDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    return dialog


def join_dialog(qtbot: QtBot, window: SettingsWindow) -> JoinDialog:
    window.join_button.click()
    dialog = window.device_dialog
    assert isinstance(dialog, JoinDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    return dialog


def type_code(qtbot: QtBot, dialog: JoinDialog, code: str) -> str:
    """The code typed and Enter pressed; what the dialog then says."""
    dialog.code.clear()
    qtbot.keyClicks(dialog.code, code)
    qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    assert dialog.busy() and dialog.message.text().startswith("Joining")
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=20_000)
    return dialog.message.text()


def whole(qtbot: QtBot, label: QLabel) -> None:
    """The label's wrapped words are all shown: the dialog grew to them."""
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()),
                    timeout=2000)


def test_a_code_shown_on_one_device_lets_another_join_from_the_window(
        qtbot: QtBot, devices: Devices) -> None:
    lap = window_for(qtbot, devices.lap)
    desk = window_for(qtbot, devices.desk)

    # The first device asks before it shows the secret, then shows it, copyable.
    dialog = invite(qtbot, lap)
    assert not dialog.code.isVisible() and dialog.show_button.isVisible()
    assert keyboard_problems(dialog) == []
    qtbot.keyClick(dialog.show_button, Qt.Key.Key_Space)
    qtbot.waitUntil(dialog.code.isVisible, timeout=20_000)
    code = dialog.code.text()
    assert len(code) == 19 and dialog.code.isReadOnly()
    assert "Settings > General > Join with a code" in dialog.message.text()
    assert "valid until" in dialog.message.text() and "for work" in dialog.message.text()
    assert keyboard_problems(dialog) == []
    whole(qtbot, dialog.message)
    dialog.close_button.click()

    # A device that has not joined has nothing to hand on: said in words, no command.
    refused = invite(qtbot, desk)
    refused.show_button.click()
    qtbot.waitUntil(lambda: refused.message.text().startswith("No code"), timeout=20_000)
    words = refused.message.text()
    assert "has not joined" in words and "Invite another device in Settings > General" in \
        words and "`" not in words and "heard sharing" not in words
    assert not refused.code.isVisible() and refused.show_button.isEnabled()
    refused.reject()

    # The new device: a mistyped code, one no invitation opens, one out of date.
    dialog = join_dialog(qtbot, desk)
    assert keyboard_problems(dialog) == [] and not dialog.join_button.isEnabled()
    said = type_code(qtbot, dialog, "1234")
    assert said.startswith("That is not a code Heard shows: a sharing code is 16 letters")
    assert type_code(qtbot, dialog, OTHER_CODE) == NO_INVITATION
    devices.clock.advance(timedelta(minutes=61))          # an hour later: expired
    assert type_code(qtbot, dialog, code) == NO_INVITATION
    assert devices.desk.devices.keys.get(devices.desk.settings.accounts[0]) is None
    devices.clock.advance(timedelta(minutes=-61))

    # The right code, in time: joined, said, and the shared settings checked with the key.
    with qtbot.waitSignal(dialog.joined, timeout=20_000):
        said = type_code(qtbot, dialog, code.lower().replace("-", " "))  # as typed
    assert said.startswith("Joined.") and "work: joined, invited by 'lap'" in said
    whole(qtbot, dialog.message)
    assert not dialog.join_button.isVisible() and dialog.close_button.text() == "&Done"
    key = devices.desk.devices.keys.get(devices.desk.settings.accounts[0])
    assert key is not None and key == devices.lap.devices.keys.get(
        devices.lap.settings.accounts[0])
    assert "version" in desk.shared_state.text()
    dialog.close_button.click()

    # A code works once.
    again = join_dialog(qtbot, desk)
    assert type_code(qtbot, again, code) == NO_INVITATION
    again.reject()

    # Now the desk can invite in turn.
    dialog = invite(qtbot, desk)
    dialog.show_button.click()
    qtbot.waitUntil(dialog.code.isVisible, timeout=20_000)
    assert dialog.code.text() != code
    dialog.reject()


def test_without_an_imap_account_there_is_nothing_to_join(
        qtbot: QtBot, engine: Engine) -> None:
    window = window_for(qtbot, engine)
    assert not window.invite_button.isEnabled() and not window.join_button.isEnabled()
    assert "works alone" in window.devices_mode.text()


TEMPLATE = ('[on-site]\nsubject = "Re: {subject}"\nbody = """Dear {client.name},\n'
            'I am with a client until {busy_until}; I will call you at {reply_by}.\n"""\n')


def test_a_change_signed_by_the_other_device_waits_shown_whole_for_the_users_yes(
        qtbot: QtBot, devices: Devices) -> None:
    """The laptop's signed settings message adds a template: on the desk (joined) it waits
    for a yes, the diff in a box of its own, nothing drawn over anything."""
    lap, desk = devices.lap, devices.desk
    lap.share_settings()
    join(desk, lap)
    desk.share_settings()
    lap.profile.templates.write_text(TEMPLATE, encoding="utf-8")
    lap.reload_settings()
    lap.share_settings()
    assert desk.share_settings().action == "pending"
    window = window_for(qtbot, desk)
    window.show()
    qtbot.waitUntil(lambda: "Asking" not in window.devices_mode.text(), timeout=20_000)
    assert "Waiting for your yes" in window.shared_state.text()
    assert "+[on-site]" not in window.shared_state.text()
    assert "+[on-site]" in window.shared_diff.toPlainText()
    stack = [window.shared_state, window.shared_diff, window.take_shared,
             window.invite_button, window.devices_mode]
    assert all(w.isVisibleTo(window) for w in stack)
    for upper, lower in pairwise(stack):
        assert upper.geometry().bottom() < lower.geometry().top(), (upper, lower)
    for label in (window.shared_state, window.devices_mode):
        whole(qtbot, label)
    window.take_shared.click()
    qtbot.waitUntil(lambda: not window.take_shared.isVisibleTo(window), timeout=20_000)
    assert not window.shared_diff.isVisibleTo(window) and "on-site" in desk.templates
