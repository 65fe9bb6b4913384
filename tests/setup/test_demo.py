"""The demo profile: what a new user sees in `heard demo` before touching anything."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from heard.engine import Engine
from heard.setup.demo import DemoGenerator, DemoPaths, create_demo_profile


def test_the_demo_profile_has_waiting_clients_a_meeting_and_mail_that_does_not_count(
    tmp_path: Path
) -> None:
    profile = create_demo_profile(tmp_path / "demo", now=datetime.now(UTC))
    engine = Engine.open(profile)
    try:
        report = engine.sync()
        reasons = sorted(s.reason for s in report.skipped)
        assert reasons == ["auto-generated: Auto-Submitted", "auto-generated: List-Id",
                           "not a prospect: your own organisation"]
        assert len(report.answered) == 1  # Tom was answered from the phone this morning
        status = engine.status()
        assert status.count == 4
        assert {i.client.display_name for i in status.waiting} == {"Megge", "Raj", "Dana",
                                                                  "Jonas"}
        jonas = next(i for i in status.waiting if i.client.display_name == "Jonas")
        assert jonas.client.prospect and jonas.inquiry.sender == "jonas.weber@weber-bakery.example"
        assert status.busy is not None and status.busy.now
        megge = next(c for c in engine.store.clients() if c.preferred_name == "Megge")
        assert megge.tier == "vip"

        # The generator picks clients who are not waiting yet: the badge climbs each time.
        generator = DemoGenerator(profile, engine.store, seed=7)
        for expected in (5, 6, 7, 8, 9):
            assert generator.drop_one()
            assert len(engine.sync().new_inquiries) == 1
            assert engine.status().count == expected
        assert generator.dropped == 5
        # Every client waits now: never one of them again (README), but new people, once
        # each, and then nobody.
        writers = {i.inquiry.sender for i in engine.status().waiting}
        for expected in (10, 11, 12):
            assert generator.drop_one()
            (new,) = engine.sync().new_inquiries
            inquiry = engine.store.inquiry(new)
            assert inquiry is not None and inquiry.sender not in writers
            status = engine.status()
            assert status.count == expected
            assert next(i for i in status.waiting if i.inquiry.id == new).client.prospect
        assert not generator.drop_one()
        assert engine.sync().new_inquiries == [] and engine.status().count == 12
        waiting = [i.inquiry.sender for i in engine.status().waiting]
        assert len(waiting) == len(set(waiting))   # nobody wrote twice while waiting
        # The assistant has an address, so Delegate works: the forward lands in the
        # demo's own outbox Maildir, as every reply does.
        (jordan,) = engine.settings.assistants
        assert jordan.address == "jordan@morgan-law.example"
        result = engine.replies.delegate(jonas.inquiry.id, note="Please call them back")
        outbox = DemoPaths.of(profile).outbox
        assert any(b"To: Jordan Lee <jordan@morgan-law.example>" in f.read_bytes()
                   for f in (outbox / "new").iterdir()), result
        assert engine.status().count == 11
    finally:
        engine.close()


def test_an_existing_demo_profile_is_reused_and_a_foreign_folder_refused(
    tmp_path: Path
) -> None:
    first = create_demo_profile(tmp_path / "demo")
    inbox = DemoPaths.of(first).inbox
    count = len(list((inbox / "new").iterdir()))
    again = create_demo_profile(tmp_path / "demo")
    assert again.root == first.root
    assert len(list((inbox / "new").iterdir())) == count  # not seeded twice
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not empty"):
        create_demo_profile(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"
