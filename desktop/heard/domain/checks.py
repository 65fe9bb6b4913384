"""The verdict of one check of Heard's own health (`heard doctor`, `heard --selftest`)."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"      # works, but something is missing or worth knowing
    FAIL = "fail"      # does not work until fixed
