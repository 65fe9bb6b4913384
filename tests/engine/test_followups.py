"""Waiting on the client (heard.engine.followups): a follow-up closed by the client's own
message, the client owing a reply at its time (never in the count), the nudge sent as shown
and undone, and a follow-up offered from a question in Sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from heard.config.file import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.followups import Closed, Origin
from heard.domain.outbox import OutboxKind, OutboxState
from heard.engine import Engine
from heard.engine.followups import FollowUpError
from heard.system.paths import Profile
from tests.conftest import BERLIN, NOW
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message, sent_messages
from tests.support.scenes import Scene, copies
from tests.support.smtp import Postfix

THURSDAY = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)   # NOW is Wednesday 10:00


def test_a_follow_up_is_closed_by_the_clients_own_message(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    follow_up = engine.follow_ups.set("Margaret", THURSDAY, "the signed lease")
    assert follow_up.id is not None and follow_up.due == THURSDAY
    clock.advance(timedelta(hours=2))
    # Someone else writing, or the client's out-of-office robot, closes nothing.
    drop(mail.inbox, message(RAJ, "Drawings", at=clock.now()), clock.now())
    drop(mail.inbox, message(MEGGE, "Out of office", at=clock.now(),
                             headers={"Auto-Submitted": "auto-replied"}), clock.now())
    engine.sync()
    assert [f.id for f, _c in engine.follow_ups.listing()] == [follow_up.id]
    drop(mail.inbox, message(MEGGE, "Signed lease attached", at=clock.now()), clock.now())
    engine.sync()
    assert engine.follow_ups.listing() == []
    (closed,), = [[f for f, _c in engine.follow_ups.listing(everything=True)]]
    assert closed.closed is Closed.ANSWERED
    assert closed.closed_reason == "answered: Signed lease attached"
    clock.set(THURSDAY + timedelta(hours=1))
    assert engine.status().owed == []
    # The statistics: set, and answered before it came due.
    waited = engine.statistics.follow_ups(NOW - timedelta(days=1), clock.now())
    assert (waited.set, waited.answered_in_time, waited.came_due, waited.open) == (1, 1, 0, 0)


def test_at_its_time_the_client_owes_a_reply_apart_from_the_count_with_one_toast(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    engine.follow_ups.set("Rajesh", THURSDAY, "the drawings")
    assert engine.next_tick() <= THURSDAY   # the tick wakes for it
    clock.set(THURSDAY - timedelta(minutes=1))
    assert engine.status().owed == []
    assert not [t for t in engine.reminders.alerts() if "owes you" in t[0]]
    clock.set(THURSDAY)
    status = engine.status()
    (owed,) = status.owed
    assert owed.client.name == "Rajesh Patel" and owed.follow_up.note == "the drawings"
    assert status.count == 0 and status.waiting == []
    (toast,) = [t for t in engine.reminders.alerts() if "owes you" in t[0]]
    assert toast[0] == "Rajesh owes you a reply" and "the drawings" in toast[1]
    assert not [t for t in engine.reminders.alerts() if "owes you" in t[0]]   # once
    waited = engine.statistics.follow_ups(NOW - timedelta(days=1), clock.now())
    assert (waited.set, waited.came_due, waited.answered_late, waited.open) == (1, 1, 0, 1)
    # He writes after all: answered late, counted apart from the contact his mail is.
    drop(mail.inbox, message(RAJ, "Drawings attached", at=clock.now()), clock.now())
    engine.sync()
    waited = engine.statistics.follow_ups(NOW - timedelta(days=1), clock.now())
    assert (waited.came_due, waited.answered_late, waited.open) == (1, 1, 0)


def test_the_nudge_sent_is_the_one_shown_and_undo_makes_them_owe_it_again(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<lease@hale.example>"), NOW)
    (inquiry_id,) = engine.sync().new_inquiries
    engine.inquiries.mark_answered(inquiry_id)
    follow_up = engine.follow_ups.set(str(inquiry_id), THURSDAY)
    assert follow_up.subject == "Lease" and follow_up.message_id == "<lease@hale.example>"
    clock.set(THURSDAY + timedelta(minutes=5))
    assert follow_up.id is not None
    draft = engine.follow_ups.draft(follow_up.id)
    assert draft.to == "margaret@hale.example" and draft.subject == "Re: Lease"
    assert draft.body.startswith("Hi Megge,\n\nJust checking in on Lease")
    # Held for Undo, then taken back: nothing leaves, and she owes the reply again.
    held = engine.follow_ups.nudge(follow_up.id, draft.subject, draft.body,
                                   delay=timedelta(seconds=5))
    assert held.state.value == "queued" and engine.status().owed == []
    engine.outbox.cancel(held.message_id)
    assert mail.outbox_messages() == []
    (owed,) = engine.status().owed
    assert owed.follow_up.due == THURSDAY and owed.follow_up.nudges == 0
    # Sent, edited as the user left it: exactly that text, threaded, acknowledging nothing.
    edited = draft.body.replace("Let me know", "Do let me know")
    result = engine.follow_ups.nudge(follow_up.id, draft.subject, edited)
    assert result.sent
    (sent,) = sent_messages(mail)
    assert sent["To"] == "Margaret Hale <margaret@hale.example>"
    assert sent["Subject"] == "Re: Lease" and sent["In-Reply-To"] == "<lease@hale.example>"
    assert sent.get_content() == edited + ("" if edited.endswith("\n") else "\n")
    assert sent["X-Heard-Nudge"] == str(follow_up.id) and sent["X-Heard-Acknowledges"] is None
    assert sent["Auto-Submitted"] is None          # a person chose to send it
    nudges = [i for i in engine.outbox_items(everything=True) if i.kind is OutboxKind.NUDGE]
    assert sorted(i.state for i in nudges) == [OutboxState.CANCELLED, OutboxState.FILED]
    # Not owed until as long again has passed; the nudge in Sent answers nothing.
    assert engine.status().owed == []
    engine.sync()
    (still,) = [f for f, _c in engine.follow_ups.listing()]
    assert still.nudges == 1 and still.due > clock.now()


def test_refusals_say_why(engine: Engine) -> None:
    with pytest.raises(FollowUpError, match="later than now"):
        engine.follow_ups.set("Margaret", NOW)
    with pytest.raises(FollowUpError, match="no client matches"):
        engine.follow_ups.set("Nobody", THURSDAY)
    with pytest.raises(FollowUpError, match="not waiting on Megge"):
        engine.follow_ups.off("Margaret")
    with pytest.raises(FollowUpError, match="no open follow-up 99"):
        engine.follow_ups.draft(99)


def _offer_after(profile: Profile, engine: Engine, days: str) -> None:
    ConfigFile(profile.config).set("followups", "offer_after", days)
    engine.reload_settings()


def test_a_question_in_sent_is_offered_after_n_working_days_only_with_the_setting(
        engine: Engine, profile: Profile, mail: MailFolders, clock: FixedClock) -> None:
    me = "Alex Morgan <alex@morgan-law.example>"
    question = message(me, "Closing date", to="Megge <margaret@hale.example>", at=NOW,
                       body="Could you confirm the 3rd works for you?\n\n> earlier? quoted",
                       message_id="<q1@morgan-law.example>")
    statement = message(me, "Minutes", to="Raj <raj@patel-eng.example>", at=NOW,
                        body="Minutes attached.\n\n> Did you get them?",
                        message_id="<m1@morgan-law.example>")
    drop(mail.sent, question, NOW)
    engine.sync()
    assert engine.follow_ups.listing() == []            # off by default
    _offer_after(profile, engine, "2 working days")
    drop(mail.sent, message(me, "Closing date (2)", to="Megge <margaret@hale.example>",
                            at=NOW, body="Or would the 4th be better?"), NOW)
    drop(mail.sent, statement, NOW)
    engine.sync()
    (offered,) = [f for f, _c in engine.follow_ups.listing()]   # not Raj: no question
    assert offered.origin is Origin.SENT and offered.subject == "Closing date (2)"
    # Wednesday + 2 working days: Friday's opening.
    assert offered.due == datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)
    clock.set(offered.due)
    (owed,) = engine.status().owed
    assert owed.client.name == "Margaret Hale" and engine.status().count == 0
    drop(mail.inbox, message(MEGGE, "Re: Closing date", at=clock.now()), clock.now())
    engine.sync()
    assert engine.status().owed == []                    # she wrote: closed by itself


def test_through_the_real_servers_the_nudge_arrives_as_shown(
        postfix_scene: Scene, postfix: Postfix) -> None:
    """Dovecot and Postfix: a follow-up on the client, closed by nothing, comes due; the
    nudge the user saw is the text the client's mailbox receives."""
    scene = postfix_scene
    engine = scene.engine
    inquiry_id, message_id = scene.client_writes("Lease")
    engine.inquiries.mark_answered(inquiry_id)
    follow_up = engine.follow_ups.set(str(inquiry_id), scene.clock.now() + timedelta(days=2))
    scene.clock.advance(timedelta(days=2))
    (owed,) = engine.status().owed
    assert owed.follow_up.id == follow_up.id and follow_up.id is not None
    draft = engine.follow_ups.draft(follow_up.id)
    result = engine.follow_ups.nudge(follow_up.id, draft.subject, draft.body)
    assert result.sent
    postfix.wait_delivered(result.message_id)
    (received,) = copies(scene.client, "INBOX", "Message-ID", result.message_id)
    assert received.get_content().replace("\r\n", "\n") == draft.body
    assert received["Subject"] == draft.subject == "Re: Lease"
    assert received["In-Reply-To"] == message_id
