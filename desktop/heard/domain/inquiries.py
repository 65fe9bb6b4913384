"""An inquiry: one client contact, from arrival until it is answered or set aside."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from heard.domain.clients import Channel
from heard.domain.ids import ClientId, InquiryId


class InquiryState(StrEnum):
    WAITING = "waiting"            # the last word is the client's
    ACKNOWLEDGED = "acknowledged"  # the client heard back; the real answer is still owed
    ANSWERED = "answered"
    DELEGATED = "delegated"
    DISMISSED = "dismissed"        # no reply needed

    @property
    def is_open(self) -> bool:
        """Still owes the client something (an acknowledgement or an answer)."""
        return self in (InquiryState.WAITING, InquiryState.ACKNOWLEDGED)


# Which states each state may move to. Answering is always possible while open:
# the user may answer fully without acknowledging first.
_TRANSITIONS: dict[InquiryState, frozenset[InquiryState]] = {
    InquiryState.WAITING: frozenset(
        {InquiryState.ACKNOWLEDGED, InquiryState.ANSWERED, InquiryState.DELEGATED,
         InquiryState.DISMISSED}
    ),
    InquiryState.ACKNOWLEDGED: frozenset(
        {InquiryState.ANSWERED, InquiryState.DELEGATED, InquiryState.DISMISSED}
    ),
    InquiryState.ANSWERED: frozenset(),
    InquiryState.DELEGATED: frozenset({InquiryState.ANSWERED}),
    # Undo of a dismissal brings the inquiry back.
    InquiryState.DISMISSED: frozenset({InquiryState.WAITING}),
}


class InvalidTransition(ValueError):
    def __init__(self, inquiry_id: InquiryId | None, current: InquiryState,
                 wanted: InquiryState) -> None:
        super().__init__(f"inquiry {inquiry_id} is {current}; it cannot become {wanted}")
        self.inquiry_id = inquiry_id
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True)
class Provenance:
    """What intake learned of where a client's message came from: the autopilot writes only
    where the user would (heard.engine.replies), so it needs to know whether the user was a
    direct recipient, whether the user's own server vouched for the sender, and whether it
    is another Heard's mail."""

    direct: bool = True        # one of the user's addresses is in To or Cc
    # The user's trusted servers' verdict on the From (heard.domain.authentication.Verdict):
    # "pass", "fail", "" (nothing trusted said); "own": the user logged it by hand.
    auth: str = ""
    heard: bool = False        # it carries X-Heard-* headers: another Heard's message

    def to_text(self) -> str:
        return f"direct={int(self.direct)};auth={self.auth};heard={int(self.heard)}"

    @classmethod
    def from_text(cls, text: str) -> Provenance:
        fields = dict(part.partition("=")[::2] for part in text.split(";") if "=" in part)
        return cls(direct=fields.get("direct", "1") != "0", auth=fields.get("auth", ""),
                   heard=fields.get("heard", "0") == "1")


@dataclass(frozen=True)
class Inquiry:
    client_id: ClientId
    channel: Channel
    received_at: datetime
    subject: str
    sender: str
    message_id: str = ""
    thread_ids: tuple[str, ...] = ()
    preview: str = ""
    state: InquiryState = InquiryState.WAITING
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None   # answered, delegated or dismissed
    account: str = ""                   # the mail account it arrived in; replies leave from it
    reply_to: str = ""                  # the client's Reply-To, when it differs from sender
    last_message_at: datetime | None = None  # the client's latest follow-up in the thread
    # Why the classifier is not sure a person wrote it (machine signs short of certain, on a
    # client's own address); empty when sure. Shown and counted, never answered
    # automatically (heard.domain.classify.Classification.unsure).
    unsure: str = ""
    provenance: Provenance = Provenance()
    id: InquiryId | None = None

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")

    @property
    def reply_address(self) -> str:
        return self.reply_to or self.sender

    @property
    def last_activity(self) -> datetime:
        """When the client last wrote in this inquiry: a reply must be later to answer it."""
        return max(self.received_at, self.last_message_at or self.received_at)

    def move_to(self, state: InquiryState, at: datetime) -> Inquiry:
        if state not in _TRANSITIONS[self.state]:
            raise InvalidTransition(self.id, self.state, state)
        if state is InquiryState.ACKNOWLEDGED:
            return dataclasses.replace(self, state=state, acknowledged_at=at)
        if state is InquiryState.WAITING:
            return dataclasses.replace(self, state=state, closed_at=None)
        return dataclasses.replace(self, state=state, closed_at=at)

    def unsent(self) -> Inquiry:
        """Back to waiting: the acknowledgement or delegation never reached anyone (refused
        by the server, or cancelled before it went out)."""
        return dataclasses.replace(self, state=InquiryState.WAITING, acknowledged_at=None,
                                   closed_at=None)

    def acknowledge(self, at: datetime) -> Inquiry:
        return self.move_to(InquiryState.ACKNOWLEDGED, at)

    def answer(self, at: datetime) -> Inquiry:
        return self.move_to(InquiryState.ANSWERED, at)

    def delegate(self, at: datetime) -> Inquiry:
        """Handed to an assistant: the hand-over acknowledges too, unless already done."""
        moved = self.move_to(InquiryState.DELEGATED, at)
        return dataclasses.replace(moved, acknowledged_at=self.acknowledged_at or at)

    def dismiss(self, at: datetime) -> Inquiry:
        return self.move_to(InquiryState.DISMISSED, at)
