"""Where a profile's files live. `--profile DIR` or HEARD_PROFILE point elsewhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_PROFILE = "HEARD_PROFILE"


@dataclass(frozen=True)
class Profile:
    root: Path
    # The platform's log folder for the default profile (~/.local/state/heard/log on
    # Linux); a profile given by path keeps its log inside, so it is self-contained.
    logs: Path | None = None

    @classmethod
    def locate(cls, explicit: str | os.PathLike[str] | None = None) -> Profile:
        chosen = explicit or os.environ.get(ENV_PROFILE)
        if chosen:
            return cls(Path(chosen).expanduser().absolute())
        return cls(Path(platformdirs.user_data_dir("heard", appauthor=False)),
                   Path(platformdirs.user_log_dir("heard", appauthor=False)))

    @property
    def config(self) -> Path:
        return self.root / "heard.toml"

    @property
    def database(self) -> Path:
        return self.root / "heard.sqlite3"

    @property
    def log(self) -> Path:
        return (self.logs or self.root) / "heard.log"

    @property
    def templates(self) -> Path:
        return self.root / "templates.toml"

    @property
    def patterns(self) -> Path:
        """The user's own voicemail and contact-form pattern sets."""
        return self.root / "patterns.toml"

    @property
    def last_decision(self) -> Path:
        """What `heard prospect undo` takes back."""
        return self.root / "last-decision.json"

    def create(self) -> None:
        # The profile holds client names and mail: only the user may read it.
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
