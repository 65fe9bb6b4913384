"""Driving the command line: in-process through heard.cli.main (`run`, `run_json`), or as a
real `python -m heard` process (`heard`), and what its JSON holds."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from heard.cli import main
from tests.support.dovecot import MailUser

ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Heard tests//EN
BEGIN:VEVENT
UID:meeting-1@heard.test
DTSTAMP:20260101T000000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:Court hearing
END:VEVENT
END:VCALENDAR
"""


def write_calendar(path: Path, start: datetime, end: datetime) -> Path:
    stamp = "%Y%m%dT%H%M%SZ"
    path.write_text(ICS.format(start=start.astimezone(UTC).strftime(stamp),
                               end=end.astimezone(UTC).strftime(stamp)), encoding="utf-8")
    return path


def add_imap(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
             user: MailUser, password: str, *extra: str) -> tuple[int, str, str]:
    stdin(monkeypatch, password)
    return run(capsys, "--profile", bare_root, "account", "add", "imap", "--host", "127.0.0.1",
               "--port", str(user.server.imap_port), "--security", "plain",
               "--username", user.name, "--password-stdin", *extra)


def stdin(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))


BERLIN = ZoneInfo("Europe/Berlin")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
STATUS_KEYS = {"at", "count", "urgency", "busy", "waiting", "clients", "promises", "problems",
               "accounts", "reports_due", "outbox", "delegations", "instance", "assigned",
               "handled_elsewhere", "sharing_notice", "snoozed", "owed", "away"}
CLIENT_KEYS = {"id", "name", "preferred_name", "tier", "channel", "emails", "domains", "phones",
               "preferences", "language", "zone"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def heard(*args: str) -> subprocess.CompletedProcess[str]:
    """A real `python -m heard` process, with the test's isolated environment."""
    return subprocess.run([sys.executable, "-m", "heard", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def assert_iso(value: object) -> datetime:
    assert isinstance(value, str) and ISO_WITH_OFFSET.match(value), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None
    return parsed


def berlin_offset(at: datetime) -> str:
    """The UTC offset Berlin (the test's TZ and the profile's zone) has at `at`, as +HH:MM."""
    return at.astimezone(BERLIN).isoformat()[-6:]


def add_margaret(capsys: pytest.CaptureFixture[str], root: str) -> int:
    client = run_json(capsys, "--profile", root, "clients", "add", "Margaret Hale",
                      "--email", "margaret@hale.example", "--preferred-name", "Megge",
                      "--tier", "vip")
    return int(client["id"])


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
