"""Absences and after hours (heard.engine.absences, and the autopilot's replies for them in
heard.engine.replies): once per client per absence, marked automatic, naming the deputy,
never to a forged sender, for the chosen tiers only, and counted apart."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from heard import config
from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.outbox import OutboxKind
from heard.engine import Engine
from heard.engine.absences import AbsenceError
from tests.conftest import BERLIN, NOW
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message, sent_messages
from tests.support.scenes import Scene, copies
from tests.support.smtp import Postfix

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)   # NOW is Wednesday 25 Nov 10:00


def _write(mail: MailFolders, sender: str, subject: str, at: datetime, **kw: object) -> None:
    drop(mail.inbox, message(sender, subject, at=at, **kw), at)   # type: ignore[arg-type]


def test_an_absence_tells_each_client_once_naming_the_deputy_and_they_still_wait(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    _write(mail, MEGGE, "Before I left", NOW - timedelta(minutes=30))
    engine.sync()
    absence = engine.absences.add(NOW, MONDAY, deputy="Jordan Lee")
    assert engine.status().away == absence and absence.tiers == ("*",)
    assert engine.next_tick() <= NOW + timedelta(seconds=30)
    assert engine.tick().autopilot == []       # she wrote before it began: nobody told
    clock.advance(timedelta(hours=1))
    _write(mail, MEGGE, "Lease", clock.now(), message_id="<l1@hale.example>")
    _write(mail, RAJ, "Drawings", clock.now())
    engine.sync()                              # the sync runs the autopilot too
    sent = sent_messages(mail)
    assert sorted(m["To"].addresses[0].addr_spec for m in sent) == [
        "margaret@hale.example", "raj@patel-eng.example"]
    megge = next(m for m in sent if "hale" in str(m["To"]))
    assert megge["Auto-Submitted"] == "auto-replied" and megge["X-Heard-Notice"] == "absence"
    assert megge["X-Heard-Acknowledges"] is None and megge["In-Reply-To"] == "<l1@hale.example>"
    text = megge.get_content()
    assert "Hi Megge" in text and "Jordan Lee" in text and "back on Monday morning" in text
    kinds = {i.kind for i in engine.outbox_items(everything=True)}
    assert kinds == {OutboxKind.ABSENCE}
    # Not twice in one absence, whatever they write; they still wait for the user.
    clock.advance(timedelta(hours=1))
    _write(mail, MEGGE, "Lease (2)", clock.now())
    engine.sync()
    engine.tick()
    assert len(sent_messages(mail)) == 2
    status = engine.status()
    assert status.count == 2 and {c.client.name for c in status.clients} == {
        "Margaret Hale", "Rajesh Patel"}
    # Counted apart from the user's own acknowledgements.
    automatic = engine.statistics.automatic(NOW - timedelta(days=1), clock.now())
    assert automatic == {"autopilot": 0, "absence": 2, "after_hours": 0}
    (week,) = engine.statistics.stats(NOW - timedelta(days=1), clock.now())
    assert week.acknowledged == 0


def test_an_absence_writes_only_where_the_user_would_and_to_its_tiers(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    engine.absences.add(NOW, MONDAY, deputy="Jordan", tiers=("vip",))
    # Anyone can write Megge's name in a From: unvouched, it is left to the user, and why.
    _write(mail, "Margaret Hale <margaret@hale.example>", "Bank details", NOW,
           authenticated=False)
    _write(mail, RAJ, "Drawings", NOW)         # standard tier: not told
    _write(mail, "Megge <margaret@hale.example>", "Out of office", NOW,
           headers={"Auto-Submitted": "auto-replied"})   # a robot: never an inquiry
    new = engine.sync().new_inquiries
    assert len(new) == 2 and mail.outbox_messages() == []
    skipped = engine.status().autopilot_skipped
    assert any("did not vouch" in s.reason for s in skipped.values())


def test_absences_are_listed_refused_when_they_clash_and_taken_back(
        engine: Engine, mail: MailFolders) -> None:
    first = engine.absences.add(NOW + timedelta(days=1), MONDAY)
    with pytest.raises(AbsenceError, match="overlaps absence 1"):
        engine.absences.add(NOW + timedelta(days=2), MONDAY + timedelta(days=1))
    with pytest.raises(AbsenceError, match="no template 'nope'"):
        engine.absences.add(MONDAY, MONDAY + timedelta(days=1), template="nope")
    assert engine.absences.listing() == [first] and engine.status().away is None
    assert engine.absences.off(first.id) == [first] and engine.absences.listing() == []
    _write(mail, MEGGE, "Lease", NOW)
    engine.sync()
    assert mail.outbox_messages() == []


def test_after_hours_a_chosen_tier_hears_once_per_closed_evening(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    ConfigFile(engine.profile.config).set("afterhours", "tiers", ["vip"])
    engine.settings = config.load(engine.profile.config)
    _write(mail, MEGGE, "In hours", NOW)
    engine.sync()
    assert mail.outbox_messages() == []        # open: the user answers
    evening = datetime(2026, 11, 25, 19, 0, tzinfo=BERLIN)
    clock.set(evening)
    _write(mail, MEGGE, "Lease", evening)
    _write(mail, RAJ, "Drawings", evening)     # standard: not chosen
    engine.sync()
    (sent,) = sent_messages(mail)
    assert sent["To"].addresses[0].addr_spec == "margaret@hale.example"
    assert sent["Auto-Submitted"] == "auto-replied" and sent["X-Heard-Notice"] == "after_hours"
    assert "out of the office until tomorrow morning" in sent.get_content()
    clock.advance(timedelta(hours=1))
    _write(mail, MEGGE, "Lease (2)", clock.now())
    engine.sync()
    assert len(sent_messages(mail)) == 1        # once this evening
    clock.set(evening + timedelta(days=1))      # the next evening: again
    _write(mail, MEGGE, "Keys", clock.now())
    engine.sync()
    assert len(sent_messages(mail)) == 2
    automatic = engine.statistics.automatic(NOW - timedelta(days=1),
                                            clock.now() + timedelta(minutes=1))
    assert automatic["after_hours"] == 2 and automatic["absence"] == 0


def test_an_out_of_office_event_is_an_absence_when_calendar_tiers_are_set(
        engine: Engine, mail: MailFolders, clock: FixedClock, tmp_path: Path) -> None:
    ics = tmp_path / "work.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:oof\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261125T090000\r\n"
        "DTEND;TZID=Europe/Berlin:20261125T160000\r\nSUMMARY:Court\r\n"
        "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8")
    file = ConfigFile(engine.profile.config)
    file.append("calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    engine.settings = config.load(engine.profile.config)
    _write(mail, MEGGE, "Lease", NOW)
    engine.sync()
    assert mail.outbox_messages() == [] and engine.status().away is None   # off by default
    file.set("absence", "calendar_tiers", ["*"])
    file.set("absence", "deputy", "Jordan Lee")
    engine.settings = config.load(engine.profile.config)
    away = engine.status().away
    assert away is not None and away.source == "calendar"
    assert away.ends == datetime(2026, 11, 25, 16, 0, tzinfo=BERLIN)
    engine.tick()
    (sent,) = sent_messages(mail)
    assert "Jordan Lee" in sent.get_content() and sent["X-Heard-Notice"] == "absence"
    engine.tick()
    assert len(sent_messages(mail)) == 1


def test_through_the_real_servers_the_absence_reply_arrives_once_marked_automatic(
        postfix_scene: Scene, postfix: Postfix) -> None:
    """Dovecot and Postfix: the client's mailbox receives one absence reply, as composed,
    with Auto-Submitted and the deputy; a second message in the absence gets none."""
    scene = postfix_scene
    engine = scene.engine
    megge = engine.clients.all()[0]
    engine.clients.update(dataclasses.replace(megge, preferences={"signs": "no"}))
    now = scene.clock.now()
    engine.absences.add(now, now + timedelta(days=3), deputy="Jordan Lee")
    scene.client_writes("Lease")                 # the sync sends it
    (item,) = [i for i in engine.outbox_items(everything=True)
               if i.kind is OutboxKind.ABSENCE]
    postfix.wait_delivered(item.message_id)
    (received,) = copies(scene.client, "INBOX", "Message-ID", item.message_id)
    assert received["Auto-Submitted"] == "auto-replied"
    assert received["X-Heard-Notice"] == "absence"
    assert "Jordan Lee" in received.get_content()
    scene.clock.advance(timedelta(minutes=5))
    scene.me.deliver(message(f"Megge <{scene.client.address}>", "Keys",
                             to=f"Alex <{scene.me.address}>", at=scene.clock.now(),
                             authenticated=False))
    assert len(engine.sync().new_inquiries) == 1   # another matter, in the same absence
    engine.tick()
    assert [i.kind for i in engine.outbox_items(everything=True)] == [OutboxKind.ABSENCE]
    assert engine.status().count == 1 and len(engine.status().clients[0].items) == 2
