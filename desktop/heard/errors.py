"""Failures the user is told about as they are (no traceback), shared by every layer. Each
face turns a HeardError into words in one place (the CLI's handler, the GUI's Ops); any
other exception is a bug, logged with its traceback."""

from __future__ import annotations

from heard.domain.inquiries import Inquiry


class HeardError(Exception):
    """An expected failure, told to the user as is."""


class EngineError(HeardError, RuntimeError):
    """An expected failure of the engine's work."""


class AccountError(EngineError):
    """One account could not do what was asked: which account, and why in words."""

    def __init__(self, account: str, problem: str, message: str = "") -> None:
        super().__init__(message or f"{account}: {problem}")
        self.account = account
        self.problem = problem


class InvalidClient(HeardError, ValueError):
    """A client that cannot be kept as given (an address that is none, a tier with no
    standard): every problem, in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ClientClash(HeardError):
    """An address, domain or number already belongs to another client (the store says so
    when asked to give it to a second one)."""

    def __init__(self, kind: str, value: str, owner: str) -> None:
        super().__init__(f"{kind} {value} already belongs to client {owner!r}")
        self.kind = kind
        self.value = value
        self.owner = owner


class NoSuchInquiry(EngineError):
    def __init__(self, inquiry_id: int) -> None:
        super().__init__(f"there is no inquiry {inquiry_id}; `heard status` lists them")
        self.inquiry_id = inquiry_id


class NotWaiting(EngineError):
    def __init__(self, inquiry: Inquiry) -> None:
        super().__init__(f"inquiry {inquiry.id} is already {inquiry.state}")
        self.inquiry = inquiry
