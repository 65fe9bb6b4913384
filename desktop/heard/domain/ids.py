"""Identifiers that must not be mixed up with one another."""

from typing import NewType

ClientId = NewType("ClientId", int)
InquiryId = NewType("InquiryId", int)
PromiseId = NewType("PromiseId", int)
