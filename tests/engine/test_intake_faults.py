"""Intake when things go wrong: bugs on one message, hostile dates, copies, stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from heard.engine.intake import Intake
from heard.mail.maildir import Maildir
from heard.mail.watch import MaildirWatcher
from tests.conftest import NOW
from tests.support.mail import ME, MEGGE, RAJ, MailFolders, drop, message


@pytest.mark.expect_log_errors(r"heard\.engine\.intake: could not take in .*\[RuntimeError: a bug")
def test_a_failure_on_one_message_is_undone_and_the_rest_goes_in(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = Intake._record

    def flaky(self: Intake, account, facts, verdict, client, arrived):  # type: ignore[no-untyped-def]
        inquiry_id = real_record(self, account, facts, verdict, client, arrived)  # written...
        if facts.subject == "Boom":
            raise RuntimeError("a bug")  # ...then fails: the write must be undone
        return inquiry_id

    monkeypatch.setattr(Intake, "_record", flaky)
    drop(mail.inbox, message(MEGGE, "Boom"), NOW - timedelta(minutes=2))
    drop(mail.inbox, message(RAJ, "Fine"), NOW - timedelta(minutes=1))
    report = engine.sync()
    assert [s.reason for s in report.skipped] == ["failed: RuntimeError: a bug"]
    assert [i.inquiry.subject for i in engine.status().waiting] == ["Fine"]
    assert engine.sync().seen == 0  # remembered as failed, not retried forever


def test_a_date_beyond_what_python_can_represent_does_not_stop_intake(
    engine: Engine, mail: MailFolders
) -> None:
    raw = (b"From: Margaret Hale <margaret@hale.example>\r\nSubject: Far future\r\n"
           b"Date: Fri, 31 Dec 9999 23:59:59 -1200\r\nMessage-ID: <ff@hale.example>\r\n\r\n"
           b"hi\r\n")
    drop(mail.inbox, raw, NOW - timedelta(minutes=1))
    drop(mail.inbox, message(RAJ, "Normal"), NOW)
    engine.sync()
    subjects = sorted(i.inquiry.subject for i in engine.status().waiting)
    assert subjects == ["Far future", "Normal"]


def test_a_copy_arriving_after_the_acknowledgement_is_not_a_new_inquiry(
    engine: Engine, mail: MailFolders
) -> None:
    raw = message(MEGGE, "Copy", message_id="<same@hale.example>")
    drop(mail.inbox, raw, NOW - timedelta(minutes=2))
    [inquiry_id] = engine.sync().new_inquiries
    engine.replies.acknowledge(inquiry_id)
    drop(mail.inbox, raw, NOW - timedelta(minutes=1))  # e.g. a second account got it too
    report = engine.sync()
    assert report.new_inquiries == []
    assert engine.status().count == 0


def test_acknowledging_one_client_does_not_acknowledge_another_in_the_same_thread(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Site meeting", message_id="<m1@hale.example>",
                             to=f"{ME}, {RAJ}"), NOW - timedelta(minutes=5))
    drop(mail.inbox, message(RAJ, "Re: Site meeting", message_id="<r1@patel-eng.example>",
                             in_reply_to="<m1@hale.example>", references="<m1@hale.example>"),
         NOW - timedelta(minutes=4))
    megge, raj = engine.sync().new_inquiries
    engine.replies.acknowledge(megge)
    engine.sync()  # reads Heard's own copy in Sent
    assert engine.store.inquiry(raj).state is InquiryState.WAITING  # type: ignore[union-attr]
    assert [i.client.display_name for i in engine.status().waiting] == ["Rajesh"]


def test_an_acknowledgement_sent_late_does_not_cover_a_question_asked_after_it(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<l1@hale.example>"),
         NOW - timedelta(minutes=10))
    [first] = engine.sync().new_inquiries
    outbox = mail.outbox.path
    outbox.rename(outbox.with_name("away"))
    outbox.write_text("not a folder")
    assert not engine.replies.acknowledge(first).sent
    # The client asks something new in the thread before the acknowledgement got out.
    engine.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    drop(mail.inbox, message(MEGGE, "Re: Lease", in_reply_to="<l1@hale.example>",
                             references="<l1@hale.example>", at=NOW + timedelta(minutes=3)),
         NOW + timedelta(minutes=3))
    [second] = engine.sync().new_inquiries
    outbox.unlink()
    outbox.with_name("away").rename(outbox)
    engine.retry_outbox()
    engine.sync()  # the acknowledgement, dated before the follow-up, now sits in Sent
    assert engine.store.inquiry(second).state is InquiryState.WAITING  # type: ignore[union-attr]


def test_no_callback_runs_after_the_watcher_stopped(tmp_path: object) -> None:
    from pathlib import Path

    box = Maildir(Path(str(tmp_path)) / "box")
    box.create()
    calls: list[float] = []
    watcher = MaildirWatcher([box.path], lambda: calls.append(time.monotonic()))
    watcher.start()
    box.deliver(b"Subject: first\r\n\r\n")
    assert _until(lambda: bool(calls)), "the watcher never called back"
    stop_writing = threading.Event()
    written: list[None] = []

    def writer() -> None:   # a flood: the debounce timer is pending when the watcher stops
        while not stop_writing.is_set():
            box.deliver(b"Subject: x\r\n\r\n")
            written.append(None)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert _until(lambda: len(written) > 20)
        watcher.stop()
        stopped = time.monotonic()
    finally:
        stop_writing.set()
        thread.join()
    # A watcher started now calls back one debounce after a file written now: by then a
    # timer the first one had pending would have fired too.
    witness = threading.Event()
    second = MaildirWatcher([box.path], witness.set)
    second.start()
    try:
        box.deliver(b"Subject: last\r\n\r\n")
        assert witness.wait(timeout=30), "a file written after the stop was never seen"
    finally:
        second.stop()
    assert all(at <= stopped for at in calls)


def _until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
