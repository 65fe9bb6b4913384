"""Pattern sets that read voicemail and contact-form notifications: shipped and user files.

The shipped sets live in resources/patterns/*.toml; the user's own patterns.toml in the
profile folder uses the same format. A user set replaces the shipped set of the same name
(or turns it off with `enabled = false`), new sets are added, and the user's sets are
tried first. Every mistake in a file is reported at once, each with its key and the fix.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from heard.domain.relayed import Field, FieldRule, PatternSet, RelayKind, Source, value_groups

SHIPPED_FILES = ("patterns/voicemail.toml", "patterns/contact_forms.toml")
_KINDS = tuple(kind.value for kind in RelayKind)
_SET_KEYS = ("label", "enabled", "case_sensitive", "match", "fields")
_MATCH_KEYS = ("headers", "sender", "subject", "body")
_FIELD_KEYS = tuple(f.value for f in Field)
_RULE_KEYS = ("header", "subject", "body", "pattern")
_REGEX_HINT = ("check its brackets and escapes, and write it in single quotes ('...') so "
               "backslashes stay as typed")


class PatternError(ValueError):
    """A pattern file Heard cannot use; one line per problem, each naming file and key."""

    def __init__(self, origin: str, problems: Sequence[str]) -> None:
        self.origin = origin
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{origin}: {problem}" for problem in self.problems))


def default_pattern_sets() -> list[PatternSet]:
    """The shipped sets, voicemail first, in file order."""
    return list(_shipped())


def load_pattern_sets(profile_file: Path) -> list[PatternSet]:
    """The user's sets first, then the shipped ones they neither replace nor turn off."""
    defaults = default_pattern_sets()
    if not profile_file.exists():
        return defaults
    origin = str(profile_file)
    try:
        text = profile_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PatternError(origin, [f"cannot be read ({exc}); save it as UTF-8 text"]) from exc
    own, turned_off = _parse(text, origin)
    claimed = {pattern_set.name for pattern_set in own} | turned_off
    return [*own, *(pattern_set for pattern_set in defaults if pattern_set.name not in claimed)]


@functools.cache
def _shipped() -> tuple[PatternSet, ...]:
    sets: list[PatternSet] = []
    for path in SHIPPED_FILES:
        text = resources.files("heard.resources").joinpath(path).read_text(encoding="utf-8")
        parsed, _off = _parse(text, path.rsplit("/", 1)[-1])
        sets.extend(parsed)
    return tuple(sets)


def _parse(text: str, origin: str) -> tuple[list[PatternSet], set[str]]:
    """The sets a file defines, and the names it turns off."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PatternError(origin, [f"not valid TOML: {exc}"]) from exc
    reader = _Reader()
    sets: list[PatternSet] = []
    turned_off: set[str] = set()
    seen: dict[str, str] = {}
    for kind_key, entries in data.items():
        if kind_key not in _KINDS:
            reader.unknown(kind_key, kind_key, _KINDS)
            continue
        if not isinstance(entries, dict):
            reader.problem(kind_key, f"must hold pattern sets as tables: [{kind_key}.NAME]")
            continue
        for name, entry in entries.items():
            key = f"{kind_key}.{name}"
            if name in seen:
                reader.problem(key, f"the name {name!r} is already used by {seen[name]}; "
                                    "give each set its own name")
                continue
            seen[name] = key
            if isinstance(entry, dict) and entry.get("enabled") is False:
                reader.check_keys(key, entry, _SET_KEYS)
                turned_off.add(name)
                continue
            pattern_set = reader.pattern_set(key, name, RelayKind(kind_key), entry)
            if pattern_set is not None:
                sets.append(pattern_set)
    if reader.problems:
        raise PatternError(origin, reader.problems)
    return sets, turned_off


class _Reader:
    """Reads pattern sets out of parsed TOML, collecting every problem it meets."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{key}: {text}")

    def unknown(self, key: str, name: str, allowed: Sequence[str]) -> None:
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(allowed)}"
        self.problem(key, f"unknown key {name!r}: {hint}")

    def check_keys(self, key: str, table: Mapping[str, object], allowed: Sequence[str]) -> None:
        for name in table:
            if name not in allowed:
                self.unknown(f"{key}.{name}", name, allowed)

    def regex(self, key: str, value: object, flags: int) -> re.Pattern[str] | None:
        if not isinstance(value, str) or not value:
            self.problem(key, "needs a regex in single quotes, like '^New voicemail from'")
            return None
        try:
            return re.compile(value, flags)
        except re.error as exc:
            self.problem(key, f"bad regex: {exc}; {_REGEX_HINT}")
            return None

    def pattern_set(self, key: str, name: str, kind: RelayKind,
                    entry: object) -> PatternSet | None:
        if not isinstance(entry, dict):
            self.problem(key, f"must be a table: [{key}] with a label, a match and fields")
            return None
        before = len(self.problems)
        self.check_keys(key, entry, _SET_KEYS)
        label = entry.get("label")
        if not isinstance(label, str) or not label.strip():
            self.problem(key, 'needs a label = "..." (the name people see, like '
                              '"Asterisk voicemail")')
        for flag in ("case_sensitive", "enabled"):
            if flag in entry and not isinstance(entry[flag], bool):
                self.problem(f"{key}.{flag}", "must be true or false")
        flags = re.MULTILINE | (0 if entry.get("case_sensitive") is True else re.IGNORECASE)
        headers, sender, subject, body = self.match(f"{key}.match", entry.get("match"), flags)
        fields = self.fields(f"{key}.fields", entry.get("fields"), flags)
        if len(self.problems) > before or not isinstance(label, str):
            return None
        try:
            return PatternSet(name=name, kind=kind, label=label.strip(), fields=fields,
                              headers=headers, sender=sender, subject=subject, body=body)
        except ValueError as exc:  # the domain's own checks, should the above miss one
            self.problem(key, str(exc))
            return None

    def match(self, key: str, table: object, flags: int) -> tuple[
            dict[str, re.Pattern[str]], re.Pattern[str] | None, re.Pattern[str] | None,
            re.Pattern[str] | None]:
        found: list[re.Pattern[str] | None] = [None, None, None]
        headers: dict[str, re.Pattern[str]] = {}
        if not isinstance(table, dict) or not any(name in table for name in _MATCH_KEYS):
            self.problem(key, "needs at least one of sender, subject, body or headers = "
                              "{ name = '...' }, or the set would claim every message")
            return headers, None, None, None
        self.check_keys(key, table, _MATCH_KEYS)
        for index, name in enumerate(("sender", "subject", "body")):
            if name in table:
                found[index] = self.regex(f"{key}.{name}", table[name], flags)
        raw_headers = table.get("headers", {})
        if not isinstance(raw_headers, dict):
            self.problem(f"{key}.headers",
                         "must be a table of header name = 'regex', like "
                         "{ message-id = '^<Asterisk-' }")
        else:
            for header, value in raw_headers.items():
                compiled = self.regex(f"{key}.headers.{header}", value, flags)
                if compiled is not None:
                    headers[header.lower()] = compiled
        return headers, found[0], found[1], found[2]

    def fields(self, key: str, table: object,
               flags: int) -> dict[Field, tuple[FieldRule, ...]]:
        fields: dict[Field, tuple[FieldRule, ...]] = {}
        if not isinstance(table, dict) or not table:
            self.problem(key, "needs at least one field (name, number, email, message or "
                              "subject) = [ { body = '...(?P<value>...)...' } ]")
            return fields
        for name, rules in table.items():
            if name not in _FIELD_KEYS:
                self.unknown(f"{key}.{name}", name, _FIELD_KEYS)
                continue
            if not isinstance(rules, list) or not rules:
                self.problem(f"{key}.{name}", "must be a list of rules, like "
                                              "[ { header = \"reply-to\" }, { body = '...' } ]")
                continue
            read = [self.rule(f"{key}.{name}[{index}]", rule, flags)
                    for index, rule in enumerate(rules)]
            fields[Field(name)] = tuple(rule for rule in read if rule is not None)
        return fields

    def rule(self, key: str, rule: object, flags: int) -> FieldRule | None:
        if not isinstance(rule, dict):
            self.problem(key, "must be a table: { header = \"...\" }, { subject = '...' } or "
                              "{ body = '...' }")
            return None
        self.check_keys(key, rule, _RULE_KEYS)
        sources = [name for name in ("header", "subject", "body") if name in rule]
        if len(sources) != 1:
            self.problem(key, "needs exactly one of header, subject or body")
            return None
        source = Source(sources[0])
        if source is Source.HEADER:
            header = rule["header"]
            if not isinstance(header, str) or not header.strip():
                self.problem(f"{key}.header", 'needs the header\'s name, like "reply-to"')
                return None
            pattern = None
            if "pattern" in rule:
                pattern = self.regex(key, rule["pattern"], flags)
                if pattern is None:
                    return None
        else:
            if "pattern" in rule:
                self.problem(f"{key}.pattern", f"only a header rule takes a pattern; put the "
                                               f"regex in {source.value} = '...'")
                return None
            pattern = self.regex(key, rule[source.value], flags)
            if pattern is None:
                return None
            header = ""
        if pattern is not None and not value_groups(pattern):
            self.problem(key, "the regex needs a named group (?P<value>...) around the part "
                              "to keep")
            return None
        return FieldRule(source, pattern, header)
