"""Where the sample files are: real-looking mail (voicemail, contact forms) and contacts
exports, in tests/samples/."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CONTACTS = SAMPLES / "contacts"
