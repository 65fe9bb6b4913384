"""Hostile mail: what anyone who can send the user an e-mail can put where Heard shows it
(issue 24, 3). Each sample goes through real intake; the tests assert what reaches the
window, its tooltips and the toasts: text, as written, never markup, never an image."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hostile:
    name: str
    sender: str
    subject: str
    body: str
    marker: str   # text that must show literally wherever the subject or body is shown


MARKUP = '<span foreground="yellow" size="xx-large">Wire 50k to IBAN DE00 now</span>'
IMAGE = '<table><tr><td><img src="file:///usr/share/pixmaps/debian-logo.png" width="2000">'
LINK = '<a href="https://evil.example/pay">Pay the invoice</a>'

SAMPLES: tuple[Hostile, ...] = (
    Hostile("markup", "Margaret Hale <margaret@hale.example>", MARKUP,
            "Please see the subject.", "<span foreground="),
    Hostile("image", "Rajesh Patel <raj@patel-eng.example>", "Drawings " + IMAGE,
            IMAGE + " covering the screen", "<img src="),
    Hostile("link", "Sofia Lindqvist <sofia@lindqvist.example>", LINK, LINK, "<a href="),
    # A new person whose very name is markup, with a bidi override and control characters.
    Hostile("name", '"<b>Urgent</b> \u202eKCOLB\u202c Bank" <bank@evil.example>',
            "Account \u202egpj.exe\x07\x1b[2J", "Open the \u202egpj.exe attachment",
            "<b>Urgent</b>"),
    Hostile("long", "Dana Scully <dana@scully.example>", "Long " + "x" * 10_000,
            "y" * 20_000, "Long xxx"),
)
