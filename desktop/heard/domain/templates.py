"""Reply templates: text with placeholders, checked when saved, filled when sent."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from heard.domain.locales import Speech, on_screens

# Every placeholder a template may use. Unknown ones are refused when the template is
# loaded, so a typo never reaches a client.
PLACEHOLDERS: Mapping[str, str] = {
    "client.name": "the name the client wants to be called by",
    "client.full_name": "the client's full name",
    "user.name": "your name",
    "assistant.name": "your assistant's name",
    "busy_until": "when your current meeting ends (or 'now' when free)",
    "back": "when you are back, when you are out of the office ('tomorrow morning')",
    "next_free": "the start of your next free slot",
    "reply_by": "when you promise to answer",
    "subject": "the subject of the client's message",
    "your_message": "'your message', or 'your messages' when the client wrote several",
    "it": "'it', or 'them' when the client wrote several",
    "deputy": "who stands in for you while you are away (absence replies)",
}


# What an acknowledgement promises, when the user does not pick a time.
PROMISES: Mapping[str, str] = {
    "next_free": "your next free slot (after the current meeting) plus the margin",
    "end_of_day": "the end of today's working hours (or of the next working day)",
    "tomorrow_morning": "the next working day's opening plus the margin",
}


class TemplateError(ValueError):
    def __init__(self, template: str, problem: str) -> None:
        super().__init__(f"template {template!r}: {problem}")
        self.template = template
        self.problem = problem


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    body: str
    promise: str = "next_free"
    # The language it is written in ("en" for Heard's shipped English, "de", ...); "" for
    # the user's own templates.toml, which is in the user's language.
    language: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.promise not in PROMISES:
            raise TemplateError(self.name, f"promise {self.promise!r} is not known; use"
                                f" {', '.join(repr(p) for p in PROMISES)}")
        for text in (self.subject, self.body):
            for field_name in _fields(self.name, text):
                if field_name not in PLACEHOLDERS:
                    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                    raise TemplateError(
                        self.name, f"unknown placeholder {{{field_name}}}; known: {known}"
                    )

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        """(subject, body). The subject is a header: no line breaks may survive in it."""
        subject = _fill(self.subject, values)
        return header_safe(subject), _fill(self.body, values)


def in_language(templates: Mapping[str, Template], translated: Mapping[str, Template],
                own: bool) -> dict[str, Template]:
    """The templates to write to a reader of one language: `templates` (Heard's shipped
    English and the user's own over them) with each one replaced by its translation in
    `translated` where there is one. In the user's own language (`own`) a template the user
    wrote in templates.toml stays theirs: that file is written in their language."""
    chosen = dict(templates)
    for name, template in translated.items():
        if own and name in templates and not templates[name].language:
            continue
        chosen[name] = template
    return chosen


def _fields(name: str, text: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(name, f"broken braces ({exc}); write {{{{ for a literal brace")\
            from exc
    fields = []
    for _literal, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if spec or conversion:
            raise TemplateError(name, f"{{{field_name}}} cannot take a format or conversion")
        fields.append(field_name)
    return fields


def _fill(text: str, values: Mapping[str, str]) -> str:
    out = []
    for literal, field_name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if field_name is not None:
            out.append(values.get(field_name, ""))
    return "".join(out)


def header_safe(text: str) -> str:
    """Collapse CR, LF and other control characters: header injection is never possible."""
    cleaned = "".join(" " if (ch < " " or ch == "\x7f") else ch for ch in text)
    return " ".join(cleaned.split())


def format_time(at: datetime, zone: tzinfo, now: datetime | None = None,
                speech: Speech | None = None) -> str:
    """'3:00 pm', or 'tomorrow 9:00 am' / 'Monday 9:00 am' when not today, in the user's
    zone; in another locale its own ('morgen 09:00 Uhr'): see heard.domain.locales."""
    return (speech or on_screens()).when(at, zone, now)


def format_back(at: datetime, zone: tzinfo, now: datetime, speech: Speech | None = None
                ) -> str:
    """When the user is back, in words a client cannot misread: "at 2:00 pm" today,
    "tomorrow morning", "on Monday afternoon", "on Dec 14" (never "12:00 am")."""
    return (speech or on_screens()).back(at, zone, now)
