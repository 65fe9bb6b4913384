"""What Heard knows of one mail message (heard.domain.messages), and what it makes of it."""

from heard.domain.messages import MessageFacts, auto_generated_reason


def test_auto_submitted_no_is_a_person() -> None:
    assert auto_generated_reason({"auto-submitted": "no"}) is None


def test_thread_ids_list_references_then_own_id_once() -> None:
    f = MessageFacts(message_id="<3@x>", from_addr="a@b", from_name="", to=(), subject="",
                     date=None, in_reply_to=("<2@x>",), references=("<1@x>", "<2@x>"))
    assert f.thread_ids == ("<1@x>", "<2@x>", "<3@x>")
