"""Response standards: how fast each kind of contact must be acknowledged and answered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from heard.domain.clients import DEFAULT_TIER, Channel
from heard.domain.clock import Counting, WorkingHours, deadline


@dataclass(frozen=True)
class Standard:
    ack_within: timedelta
    answer_within: timedelta
    counting: Counting = Counting.WORKING_HOURS
    # The percentile goals: the share of contacts to acknowledge (answer) in time, e.g.
    # "90% of acknowledgements within 10 minutes, 100% of answers within a day".
    ack_goal: float = 0.9
    answer_goal: float = 1.0

    def __post_init__(self) -> None:
        if self.ack_within <= timedelta(0) or self.answer_within <= timedelta(0):
            raise ValueError("response times must be positive")
        if self.answer_within < self.ack_within:
            raise ValueError("the answer cannot be due before the acknowledgement")
        if not (0 < self.ack_goal <= 1 and 0 < self.answer_goal <= 1):
            raise ValueError("goals are shares between 0% (excluded) and 100%")

    def ack_due(self, received_at: datetime, hours: WorkingHours) -> datetime:
        return deadline(received_at, self.ack_within, self.counting, hours)

    def answer_due(self, received_at: datetime, hours: WorkingHours) -> datetime:
        return deadline(received_at, self.answer_within, self.counting, hours)


# Minutes, not days: the point of Heard is that a client hears back fast.
DEFAULT_STANDARD = Standard(ack_within=timedelta(minutes=30), answer_within=timedelta(hours=8))


@dataclass(frozen=True)
class Standards:
    """The user's standards, looked up by client tier and channel.

    A (tier, channel) entry wins over a tier-wide one, which wins over the default's
    channel entry ([standards.default.call]), which wins over the default.
    """

    default: Standard = DEFAULT_STANDARD
    by_tier: Mapping[str, Standard] = field(default_factory=dict)
    by_tier_channel: Mapping[tuple[str, Channel], Standard] = field(default_factory=dict)

    def for_contact(self, tier: str, channel: Channel) -> Standard:
        return (
            self.by_tier_channel.get((tier, channel))
            or self.by_tier.get(tier)
            or (self.fastest if tier == PROSPECT_TIER else None)
            or self.by_tier_channel.get(("default", channel))
            or self.default
        )

    @property
    def tiers(self) -> frozenset[str]:
        """The tiers a client may have: those with a standard of their own, the default
        one, prospects, and "vip" (which toasts and the autopilot treat as urgent)."""
        named = {*self.by_tier, *(tier for tier, _ in self.by_tier_channel)} - {"default"}
        return frozenset({DEFAULT_TIER, PROSPECT_TIER, "vip", *named})

    @property
    def fastest(self) -> Standard:
        """As fast as the best tier, in working hours: what a new person gets unless the
        user sets [standards.prospect]. Silence loses a prospect faster than a client."""
        every = [self.default, *self.by_tier.values(), *self.by_tier_channel.values()]
        return Standard(min(s.ack_within for s in every), min(s.answer_within for s in every),
                        Counting.WORKING_HOURS, max(s.ack_goal for s in every),
                        max(s.answer_goal for s in every))


# New people who may become clients: a tier of their own (see Standards.fastest).
PROSPECT_TIER = "prospect"
