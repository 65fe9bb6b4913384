"""Failures the user is told about as they are (no traceback), shared by every layer."""

from __future__ import annotations

from heard.domain.inquiries import Inquiry


class EngineError(RuntimeError):
    """An expected failure, told to the user as is (no traceback)."""


class NoSuchInquiry(EngineError):
    def __init__(self, inquiry_id: int) -> None:
        super().__init__(f"there is no inquiry {inquiry_id}; `heard status` lists them")
        self.inquiry_id = inquiry_id


class NotWaiting(EngineError):
    def __init__(self, inquiry: Inquiry) -> None:
        super().__init__(f"inquiry {inquiry.id} is already {inquiry.state}")
        self.inquiry = inquiry
