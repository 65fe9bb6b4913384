"""The user's word on a prospect (a new person who may become a client): a client, still a
prospect, or not a client at all (this sender, or the whole domain) — and taking it back."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from heard.domain.clients import DEFAULT_TIER, Channel, Client
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.standards import PROSPECT_TIER
from heard.engine.context import EngineContext
from heard.errors import EngineError, NoSuchInquiry


class DecisionKind(StrEnum):
    CLIENT = "client"              # into the directory with what was parsed
    PROSPECT = "prospect"          # keep the prospect tier (reviewed)
    NOT_A_CLIENT = "not-a-client"  # such mail no longer counts


@dataclass(frozen=True)
class Decision:
    """A decision on a prospect, with what undoing it needs."""

    kind: DecisionKind
    inquiry_id: InquiryId
    person: Client                         # the record as it was before
    dismissed: tuple[InquiryId, ...] = ()
    listed: tuple[str, str] | None = None  # (value, kind) put on the not-a-client list

    def to_json(self) -> dict[str, object]:
        p = self.person
        return {"kind": self.kind.value, "inquiry_id": self.inquiry_id, "dismissed":
                list(self.dismissed), "listed": list(self.listed) if self.listed else None,
                "person": {"id": p.id, "name": p.name, "emails": list(p.emails),
                           "domains": list(p.domains), "phones": list(p.phones),
                           "preferred_name": p.preferred_name, "tier": p.tier,
                           "channel": p.channel.value, "preferences": dict(p.preferences),
                           "prospect": p.prospect}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        p = data["person"]
        person = Client(p["name"], tuple(p["emails"]), tuple(p["domains"]), tuple(p["phones"]),
                        p["preferred_name"], p["tier"], Channel(p["channel"]),
                        p["preferences"], p["prospect"], ClientId(p["id"]))
        listed = tuple(data["listed"]) if data["listed"] else None
        return cls(DecisionKind(data["kind"]), InquiryId(data["inquiry_id"]), person,
                   tuple(InquiryId(i) for i in data["dismissed"]),
                   (listed[0], listed[1]) if listed else None)


class ProspectsService:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def decide(self, inquiry_id: InquiryId, decision: str, *, whole_domain: bool = False,
               tier: str | None = None) -> Decision:
        """The user's word on a prospect: "client" (into the directory with what was
        parsed), "prospect" (keep the prospect tier) or "not-a-client" (this sender, or
        the whole domain; their open inquiries are dismissed and such mail no longer
        counts). Returns what `undo` needs."""
        ctx = self._ctx
        store = ctx.store
        try:
            kind = DecisionKind(decision)
        except ValueError:
            raise EngineError(f"unknown decision {decision!r}: say client, prospect or"
                              " not-a-client") from None
        inquiry = store.inquiry(inquiry_id)
        if inquiry is None:
            raise NoSuchInquiry(inquiry_id)
        person = store.client(inquiry.client_id)
        if person is None:
            raise EngineError(f"the sender of inquiry {inquiry_id} is no longer known")
        if not person.prospect and kind is not DecisionKind.CLIENT:
            raise EngineError(f"{person.name} is already a client (`heard clients edit`)")
        now = ctx.clock.now()
        dismissed: list[InquiryId] = []
        listed: tuple[str, str] | None = None
        with ctx.lock, store.transaction():
            if kind is DecisionKind.CLIENT:
                store.update_client(dataclasses.replace(
                    person, prospect=False,
                    tier=tier or (person.tier if person.tier != PROSPECT_TIER
                                  else DEFAULT_TIER)))
            elif kind is DecisionKind.PROSPECT:
                prefs = {**person.preferences, "reviewed": now.isoformat(timespec="seconds")}
                store.update_client(dataclasses.replace(person, preferences=prefs))
            else:
                listed = self._not_client_entry(person, whole_domain)
                store.add_not_client(listed[0], listed[1], now)
                for open_one in store.open_inquiries():
                    if open_one.client_id == person.id and open_one.id is not None:
                        store.save_inquiry(open_one.dismiss(now))
                        dismissed.append(open_one.id)
                # Gone from the directory, so their next mail meets the list, not a match.
                assert person.id is not None
                store.remove_client(person.id)
        ctx.events.changed()
        result = Decision(kind, inquiry_id, person, tuple(dismissed), listed)
        self._remember(result)
        return result

    @staticmethod
    def _not_client_entry(person: Client, whole_domain: bool) -> tuple[str, str]:
        if person.emails:
            address = person.emails[0]
            return (address.rpartition("@")[2], "domain") if whole_domain else (address,
                                                                                 "address")
        if person.phones and not whole_domain:
            return person.phones[0], "phone"
        raise EngineError(f"{person.name} has no address or number to leave out")

    def undo(self, decision: Decision | None = None) -> Decision:
        """Take back a decision (by default the last one made on this profile)."""
        ctx = self._ctx
        store = ctx.store
        decision = decision or self._last_decision()
        if decision is None:
            raise EngineError("there is no decision to undo")
        now = ctx.clock.now()
        with ctx.lock, store.transaction():
            if decision.person.id is not None and store.client(decision.person.id):
                store.update_client(decision.person)
            elif decision.person.id is not None:
                store.restore_client(decision.person, now)
            if decision.listed is not None:
                store.remove_not_client(decision.listed[0])
            for inquiry_id in decision.dismissed:
                inquiry = store.inquiry(inquiry_id)
                if inquiry is not None and inquiry.state is InquiryState.DISMISSED:
                    store.save_inquiry(inquiry.move_to(InquiryState.WAITING, now))
        ctx.profile.last_decision.unlink(missing_ok=True)
        ctx.events.changed()
        return decision

    def _remember(self, decision: Decision) -> None:
        self._ctx.profile.last_decision.write_text(json.dumps(decision.to_json()),
                                                   encoding="utf-8")

    def _last_decision(self) -> Decision | None:
        try:
            data = json.loads(self._ctx.profile.last_decision.read_text(encoding="utf-8"))
            return Decision.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
