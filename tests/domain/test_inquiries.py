from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from heard.domain.clients import Channel
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState, InvalidTransition

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def fresh() -> Inquiry:
    return Inquiry(client_id=ClientId(1), channel=Channel.EMAIL, received_at=T0,
                   subject="Hi", sender="a@b.example", id=InquiryId(7))


def test_waiting_then_acknowledged_then_answered() -> None:
    acked = fresh().acknowledge(T0 + timedelta(minutes=3))
    assert acked.state is InquiryState.ACKNOWLEDGED
    assert acked.acknowledged_at == T0 + timedelta(minutes=3)
    assert acked.state.is_open
    done = acked.answer(T0 + timedelta(hours=1))
    assert done.state is InquiryState.ANSWERED
    assert done.closed_at == T0 + timedelta(hours=1)
    assert not done.state.is_open


def test_answered_is_final() -> None:
    done = fresh().answer(T0)
    with pytest.raises(InvalidTransition, match="inquiry 7 is answered"):
        done.acknowledge(T0)


def test_a_dismissal_can_be_undone() -> None:
    dismissed = fresh().dismiss(T0)
    assert dismissed.state is InquiryState.DISMISSED
    back = dismissed.move_to(InquiryState.WAITING, T0)
    assert back.state is InquiryState.WAITING
    assert back.closed_at is None


def test_acknowledging_twice_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        fresh().acknowledge(T0).acknowledge(T0)


def test_delegated_can_still_be_answered() -> None:
    assert fresh().delegate(T0).answer(T0).state is InquiryState.ANSWERED


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Inquiry(client_id=ClientId(1), channel=Channel.EMAIL, received_at=datetime(2026, 1, 1),
                subject="", sender="")
