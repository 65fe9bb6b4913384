"""`heard stats`: JSON and CSV agree, prospects apart, and the HTML summary is safe."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from heard.domain.clock import FixedClock
from heard.engine import Engine
from tests.cli.test_cli import run, run_json
from tests.conftest import NOW
from tests.support.mail import MailFolders, drop, message

SINCE = "2026-11-23"
UNTIL = "2026-11-26"


@pytest.fixture
def measured(engine: Engine, mail: MailFolders, clock: FixedClock) -> str:
    """Three contacts on Wednesday morning (office hours 09-17): Megge acknowledged in 5
    minutes (VIP: 10), Raj answered after 45 (no acknowledgement; standard 30: late), a new
    person still waiting."""
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing",
                             message_id="<m1@hale.example>"), NOW - timedelta(hours=1))
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings",
                             message_id="<r1@patel-eng.example>"), NOW - timedelta(minutes=55))
    drop(mail.inbox, message("Jane Roe <jane@roe-bakery.example>", "New matter"),
         NOW - timedelta(minutes=5))
    clock.set(NOW - timedelta(minutes=55))
    engine.sync()
    megge = next(i for i in engine.status().waiting if i.client.preferred_name == "Megge")
    assert megge.inquiry.id is not None
    engine.replies.acknowledge(megge.inquiry.id)
    drop(mail.sent, message("alex@morgan-law.example", "Re: Drawings",
                            to="raj@patel-eng.example", in_reply_to="<r1@patel-eng.example>"),
         NOW - timedelta(minutes=10))
    clock.set(NOW)
    engine.sync()
    return str(engine.profile.root)


def test_json_and_csv_agree_and_prospects_are_apart(
        capsys: pytest.CaptureFixture[str], measured: str) -> None:
    data = run_json(capsys, "--profile", measured, "stats", "--since", SINCE, "--until", UNTIL)
    (group,) = data["groups"]
    assert group["count"] == 3 and group["acknowledged"] == 2 and group["answered"] == 1
    # Raj's reply came late; the CLI measures at the real clock, by which Jane's deadline
    # (Wednesday 10:05) has long passed without a reply.
    assert group["ack_in_time"] == 1 and group["ack_late"] == 2
    assert group["median_time_to_ack_seconds"] == 300.0
    code, out, _err = run(capsys, "--profile", measured, "stats", "--since", SINCE,
                          "--until", UNTIL, "--csv")
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert set(row) == set(group)
    assert {k: str(v) if v is not None else "" for k, v in group.items()} == row

    apart = run_json(capsys, "--profile", measured, "stats", "--since", SINCE, "--until",
                     UNTIL, "--by", "prospect")
    assert {g["key"]: g["count"] for g in apart["groups"]} == {"clients": 2, "prospects": 1}
    only = run_json(capsys, "--profile", measured, "stats", "--since", SINCE, "--until",
                    UNTIL, "--prospects")
    assert [g["count"] for g in only["groups"]] == [1]


def test_the_html_summary_has_no_script_or_remote_content(
        capsys: pytest.CaptureFixture[str], measured: str, tmp_path: Path) -> None:
    page = tmp_path / "week.html"
    code, _out, _err = run(capsys, "--profile", measured, "stats", "--since", SINCE,
                           "--until", UNTIL, "--by", "client", "--html", str(page))
    assert code == 0
    text = page.read_text()
    assert "<script" not in text and "http" not in text.replace('http-equiv', '')
    assert "Margaret Hale" in text and "Rajesh Patel" in text


def test_an_empty_period_says_so(capsys: pytest.CaptureFixture[str], measured: str) -> None:
    code, out, _err = run(capsys, "--profile", measured, "stats", "--since", "2026-01-01",
                          "--until", "2026-01-08")
    assert code == 0 and "No contacts" in out
