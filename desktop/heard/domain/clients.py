"""Clients, and how a sender's address or a caller's number is matched to one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heard.domain.ids import ClientId
from heard.domain.locales import LanguageError, parse_language


class Channel(StrEnum):
    EMAIL = "email"
    CALL = "call"


DEFAULT_TIER = "standard"

# Status reports a client can ask for (preference "status_reports"), and how far apart
# they fall.
REPORT_EVERY = {"weekly": timedelta(weeks=1), "monthly": timedelta(days=30),
                "quarterly": timedelta(days=91)}


_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@(?:[^@\s<>()\[\],;:\".]+\.)+[^@\s<>()\[\],;:\".]{2,}")
_DOMAIN = re.compile(r"(?:[^@\s<>()\[\],;:\"./]+\.)+[^@\s<>()\[\],;:\"./]{2,}")


def is_email(address: str) -> bool:
    """Whether this looks like a deliverable address (one @, a dotted domain, no spaces;
    or user@localhost, the mail system of this machine)."""
    address = address.strip()
    local, _, host = address.rpartition("@")
    if host.lower() == "localhost":
        address = f"{local}@localhost.localdomain"
    return bool(_EMAIL.fullmatch(address)) and ".." not in address


def is_domain(domain: str) -> bool:
    return bool(_DOMAIN.fullmatch(domain.strip().lstrip("@").rstrip(".")))


def is_phone(number: str) -> bool:
    return sum(ch.isdigit() for ch in number) >= 3


def is_zone(name: str) -> bool:
    """An IANA time zone name ("Europe/Berlin") that zoneinfo knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return bool(name.strip())


def client_problems(client: Client, tiers: Iterable[str]) -> list[str]:
    """What is wrong with a client before it is kept, in words: the one check behind
    `heard clients add/edit`, the settings window's Clients tab and `heard clients import`.
    `tiers` are the tiers the user's standards know (Standards.tiers): a tier with no
    standard would silently get the default one."""
    problems = [f"{e!r} is not an email address" for e in client.emails if not is_email(e)]
    problems += [f"{d!r} is not a domain (like firm.example)" for d in client.domains
                 if not is_domain(d)]
    problems += [f"{p!r} is not a phone number" for p in client.phones if not is_phone(p)]
    if client.language is not None:
        try:
            parse_language(client.language)
        except LanguageError as exc:
            problems.append(str(exc))
    if client.zone is not None and not is_zone(client.zone):
        problems.append(f"{client.zone!r} is not a time zone; write one like"
                        " \"Europe/Berlin\" or \"America/New_York\"")
    known = sorted(set(tiers))
    if client.tier not in known:
        problems.append(f"{client.tier!r} is not a tier your standards know; use one of"
                        f" {', '.join(known)}, or give it a standard in the settings first")
    return problems


def normalize_email(address: str) -> str:
    """Addresses compare case-insensitively; this is the one form kept and compared."""
    return address.strip().strip("<>").lower()


def normalize_domain(domain: str) -> str:
    return domain.strip().lstrip("@").rstrip(".").lower()


def normalize_phone(number: str, default_region: str = "US") -> str | None:
    """E.164 ('+15551234567') when the number parses, else None.

    The default region only matters for numbers written without a country code.
    """
    import phonenumbers  # ~14 ms and several MB: loaded only when a number is seen

    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# The preference that says whether the user's assistant may deal with a client.
ASSISTANT_PREFERENCE = "assistant"


@dataclass(frozen=True)
class Client:
    name: str
    emails: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    preferred_name: str | None = None
    tier: str = DEFAULT_TIER
    channel: Channel = Channel.EMAIL
    # Free-form preferences (detail level, status reports, assistant allowed, ...).
    preferences: Mapping[str, str] = field(default_factory=dict)
    # A new person Heard noticed (a first message, a contact form, an unknown caller),
    # not yet confirmed as a client by the user.
    prospect: bool = False
    id: ClientId | None = None
    # The language replies to them are written in (a locale: "de", "en_GB") and their
    # time zone (a promise is written in their time too); None: the user's.
    language: str | None = None
    zone: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a client needs a name")
        object.__setattr__(self, "emails", tuple(normalize_email(e) for e in self.emails))
        object.__setattr__(self, "domains", tuple(normalize_domain(d) for d in self.domains))
        # Only international numbers can be normalised without knowing the user's country;
        # the engine normalises the others with the configured region.
        object.__setattr__(self, "phones", tuple(
            (normalize_phone(p) or p) if p.strip().startswith("+") else p.strip()
            for p in self.phones))
        for key in ("language", "zone"):   # "" is not set
            value = getattr(self, key)
            object.__setattr__(self, key, (value.strip() or None) if value else None)
        if self.language is not None:
            with suppress(LanguageError):   # else kept as written: client_problems names it
                object.__setattr__(self, "language", parse_language(self.language))

    @property
    def display_name(self) -> str:
        """The name the client wants to be addressed by ("Megge", not "Margaret")."""
        return self.preferred_name or self.name.split()[0]

    @property
    def report_every(self) -> timedelta | None:
        """How often this client asked to hear how the matter stands (None: not asked, or
        not a client yet: a prospect is owed an answer, not reports)."""
        if self.prospect or self.id is None:
            return None
        return REPORT_EVERY.get(self.preferences.get("status_reports", ""))

    @property
    def assistant_allowed(self) -> bool:
        """Whether the user's assistant may deal with this client (preference "assistant":
        "no" keeps every reply the user's own, and the client is never told otherwise)."""
        return self.preferences.get(ASSISTANT_PREFERENCE, "yes").lower() not in ("no", "false")


class ClientDirectory:
    """Looks clients up by address, by domain and by phone number.

    An exact address wins over a domain, so a firm's domain can belong to one client
    while a single person at that firm is another.
    """

    def __init__(self, clients: Iterable[Client]) -> None:
        self._clients = tuple(clients)
        self._by_email: dict[str, Client] = {}
        self._by_domain: dict[str, Client] = {}
        self._by_phone: dict[str, Client] = {}
        for client in self._clients:
            for email in client.emails:
                self._by_email.setdefault(email, client)
            for domain in client.domains:
                self._by_domain.setdefault(domain, client)
            for phone in client.phones:
                self._by_phone.setdefault(phone, client)

    def __iter__(self) -> Iterator[Client]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def by_id(self, client_id: ClientId) -> Client | None:
        return next((c for c in self._clients if c.id == client_id), None)

    def match_email(self, address: str) -> Client | None:
        address = normalize_email(address)
        if found := self._by_email.get(address):
            return found
        _, _, domain = address.rpartition("@")
        # Walk up subdomains: mail from eu.acme.com belongs to a client owning acme.com.
        parts = domain.split(".")
        for i in range(len(parts) - 1):
            if found := self._by_domain.get(".".join(parts[i:])):
                return found
        return None

    def match_phone(self, number: str, region: str = "US") -> Client | None:
        e164 = normalize_phone(number, region)
        return self._by_phone.get(e164) if e164 else None
