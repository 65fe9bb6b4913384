"""Tests fail on logged errors (in the spirit of qutebrowser's tests/helpers/logfail.py).

Every log record at ERROR or above, from any logger and any thread of this process, is
kept while a test runs. A record no declared pattern matches fails the test; so does a
declared pattern that matched nothing, so a declaration cannot outlive the error it was
written for. Records of child processes never reach this process's logging: out of scope.

A test declares the errors it expects, each a regular expression searched (re.search) in
the line a failure shows for the record: "<logger>: <message>", followed by
" [<ExceptionType>: <exception>]" when the record carries one:

    @pytest.mark.expect_log_errors(r"heard\\.outbox: .*refused")
    def test_...

    def test_...(expected_errors: ExpectedErrors) -> None:
        expected_errors.add(r"background work failed \\[SmtpTimeout")
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

LEVEL = logging.ERROR


def describe(record: logging.LogRecord) -> str:
    line = f"{record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        line += f" [{type(exc).__name__}: {exc}]"
    return line


@dataclass
class _Pattern:
    regex: re.Pattern[str]
    matched: int = 0


@dataclass
class ExpectedErrors:
    """The errors a test expects to be logged, and every error that was."""

    _patterns: list[_Pattern] = field(default_factory=list)
    _lines: list[str] = field(default_factory=list)       # described when logged
    _reported: int = 0                                     # lines already judged
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *patterns: str) -> None:
        """Expect an error whose line matches each pattern (at least once)."""
        with self._lock:
            self._patterns.extend(_Pattern(re.compile(p)) for p in patterns)

    def record(self, record: logging.LogRecord) -> None:
        line = f"{record.levelname} {describe(record)}"
        with self._lock:
            self._lines.append(line)

    def unexpected(self) -> list[str]:
        """The lines logged since the last call that no declared pattern matches."""
        with self._lock:
            new, self._reported = self._lines[self._reported:], len(self._lines)
            patterns = list(self._patterns)
        bad = []
        for line in new:
            hits = [p for p in patterns if p.regex.search(line)]
            for p in hits:
                p.matched += 1
            if not hits:
                bad.append(line)
        return bad

    def unmatched(self) -> list[str]:
        """Declared patterns that no logged line matched."""
        with self._lock:
            return [p.regex.pattern for p in self._patterns if not p.matched]


class FailHandler(logging.Handler):
    def __init__(self, expected: ExpectedErrors) -> None:
        super().__init__(LEVEL)
        self.expected = expected

    def emit(self, record: logging.LogRecord) -> None:
        self.expected.record(record)


def failure(unexpected: list[str], unmatched: list[str]) -> str:
    parts = []
    if unexpected:
        parts.append("errors were logged that the test does not expect (declare them with "
                     "@pytest.mark.expect_log_errors(regex) if they are the behaviour under "
                     "test):\n" + "\n".join(f"  {line}" for line in unexpected))
    if unmatched:
        parts.append("expected errors were never logged:\n"
                     + "\n".join(f"  {pattern!r}" for pattern in unmatched))
    return "\n".join(parts)
