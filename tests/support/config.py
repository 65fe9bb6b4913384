"""heard.toml as a test writes it, and the opening hours a new profile has."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from heard.domain.clock import Span

NINE_TO_FIVE = (Span(time(9), time(17)),)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "heard.toml"
    path.write_text(text, encoding="utf-8")
    return path
