"""How Heard names people and quotes mail on a screen: one way to count and list names, and
one way to make text from mail safe to show.

Every surface that says who is waiting (the tray's tooltip, the arrival, summary, catch-up
and deadline toasts) builds its words with `who`, so a count and the names listed under it
always add up: "4 clients waiting" listing three names says "and 1 more", never "and 3
others" beside "and 9 more".

Text from mail is the sender's, not Heard's: `shown` keeps it to printable characters
(no control characters, no bidirectional overrides that would turn "exe.pdf" into
"fdp.exe") and to a length a toast or a tooltip can hold. Escaping for a surface that reads
markup is the surface's job (it knows whether it does); this only decides which characters
reach it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# A list of names says this many, then "and N more".
NAMED = 3
# Bidirectional embeddings, overrides and isolates: a sender's, not Heard's, to set.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
                  "\u061c")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Who:
    """Some people, counted and named: `count` of them, the first `named` spelled out."""

    count: int
    named: tuple[str, ...]

    @property
    def more(self) -> int:
        """How many are counted but not named."""
        return self.count - len(self.named)

    def listed(self) -> str:
        """'Megge', 'Megge and Raj', 'Megge, Raj and Dana', 'Megge, Raj, Dana and 2 more'."""
        if not self.named:
            return f"{self.count} more" if self.count else ""
        if self.more:
            return f"{', '.join(self.named)} and {self.more} more"
        if len(self.named) == 1:
            return self.named[0]
        return f"{', '.join(self.named[:-1])} and {self.named[-1]}"

    def clients(self, noun: str = "client") -> str:
        """'1 client', '4 clients'."""
        return f"{self.count} {noun if self.count == 1 else noun + 's'}"


def who(people: Iterable[tuple[object, str]], named: int = NAMED) -> Who:
    """Each person once (by key: two clients may share a name, one client writes many
    times), in the order given, the first `named` of them by name."""
    seen: dict[object, str] = {}
    for key, name in people:
        seen.setdefault(key, name)
    names = list(seen.values())
    return Who(len(names), tuple(shown(n, 60) for n in names[:max(named, 0)]))


def shown(text: str, limit: int = 200, *, lines: bool = False) -> str:
    """`text` from mail as it may be shown: control characters and bidirectional controls
    gone (a tab or line break becomes a space, unless `lines` keeps line breaks), runs of
    spaces kept short, at most `limit` characters (cut with an ellipsis)."""
    kept: list[str] = []
    for char in text:
        if char == "\n" and lines:
            kept.append(char)
        elif char in _BIDI:
            continue
        elif char in "\t\r\n\v\f\x85\u2028\u2029":
            kept.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cs", "Co") or char == "\ufeff":
            continue
        else:
            kept.append(char)
    out = "".join(kept)
    while "   " in out:   # a wall of spaces is no way to hide the rest
        out = out.replace("   ", "  ")
    if lines:
        out = "\n".join(line.strip() for line in out.split("\n"))
    out = out.strip()
    if len(out) > limit:
        out = out[:max(limit - 1, 0)].rstrip() + ELLIPSIS
    return out
