"""What this device ignored for the want of a sharing key, as the status says it
(heard.devices.ignored): read from the store, without the keys' code."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from heard.config import ImapAccount
from heard.devices import ignored
from heard.store import Store

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
WORK = ImapAccount("work", "127.0.0.1", 0, "plain", "alex")
HOME = ImapAccount("home", "127.0.0.1", 0, "plain", "alex")


def test_a_join_needed_and_the_messages_ignored_this_week_are_said(tmp_path: Path) -> None:
    with Store(tmp_path / "heard.sqlite3") as store:
        store.set_state(ignored.JOIN_KEY + "home", NOW.isoformat())
        store.set_state(ignored.UNTRUSTED_KEY + "work", json.dumps([
            {"folder": "Heard", "uid": 1, "what": "claim", "verdict": "unsigned",
             "at": (NOW - timedelta(days=8)).isoformat()},           # too old to be said
            {"folder": "Heard", "uid": 2, "what": "claim", "verdict": "unsigned",
             "at": (NOW - timedelta(days=1)).isoformat()},
            {"folder": "Heard", "uid": 3, "what": "request", "verdict": "forged",
             "at": NOW.isoformat()},
        ]))
        found = ignored.problems(store, [WORK, HOME], NOW)
    assert len(found) == 2
    assert found[0].startswith("work: 2 messages in the Heard folder were not written by your"
                               " devices and were ignored (the last, a request: its signature"
                               " does not match what it says)")
    assert found[1] == ignored.join_words("home")


def test_nothing_recorded_is_nothing_to_say_and_unreadable_records_are_skipped(
        tmp_path: Path) -> None:
    with Store(tmp_path / "heard.sqlite3") as store:
        store.set_state(ignored.UNTRUSTED_KEY + "work", "not json")
        assert ignored.problems(store, [WORK], NOW) == []
        assert ignored.ignored(store, "work") == []


def test_reading_them_loads_neither_the_wire_nor_the_keyring(tmp_path: Path) -> None:
    """The first status of a profile with an IMAP account (what the tray's icon waits for)
    asks this; it must not bring in the IMAP client and the keyring (issue 25: start-up)."""
    script = ("import sys; from pathlib import Path; from heard.config import ImapAccount;"
              " from heard.devices.coordinator import Devices; from heard.store import Store;"
              " from heard.config import Settings; from heard.domain.clock import SystemClock;"
              " from heard.system.paths import Profile;"
              " a = ImapAccount('work', '127.0.0.1', 0, 'plain', 'alex');"
              " s = Settings(accounts=(a,)); p = Profile(Path(sys.argv[1])); p.create();"
              " d = Devices(Store(p.database), SystemClock(), lambda: s, lambda: {}, p);"
              " print(d.trust_problems(), [m for m in ('heard.devices.wire.trust', 'keyring',"
              " 'imapclient', 'heard.devices.keys') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "profile")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "[]"]
