"""Reply templates from the shipped defaults and the profile's templates.toml."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from heard.domain.templates import Template, TemplateError


def parse_templates(text: str, origin: str, language: str = "") -> dict[str, Template]:
    """The templates of one file; `language` is the one they are written in ("" for the
    user's templates.toml: the user's own)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(origin, f"not valid TOML: {exc}") from exc
    templates = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("body"), str):
            raise TemplateError(name, f"in {origin}: needs a body = \"\"\"...\"\"\" text")
        templates[name] = Template(name, str(entry.get("subject", "Re: {subject}")),
                                   entry["body"], str(entry.get("promise", "next_free")),
                                   language)
    return templates


def default_templates() -> dict[str, Template]:
    text = resources.files("heard.resources").joinpath("templates/default.toml").read_text(
        encoding="utf-8")
    return parse_templates(text, "default templates", "en")


def translations(profile_file: Path) -> dict[str, dict[str, Template]]:
    """The templates in other languages, by language ("de"): Heard's shipped translations
    (resources/templates/LANG.toml), each overridden and extended by the user's own
    templates.LANG.toml beside templates.toml, which may also add a language of its own."""
    found: dict[str, dict[str, Template]] = {}
    shipped = resources.files("heard.resources").joinpath("templates")
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        language = entry.name.removesuffix(".toml")
        if entry.name.endswith(".toml") and language != "default":
            found[language] = parse_templates(entry.read_text(encoding="utf-8"),
                                              f"{language} templates", language)
    if profile_file.parent.is_dir():
        stem = profile_file.name.removesuffix(".toml")
        for path in sorted(profile_file.parent.glob(f"{stem}.*.toml")):
            language = path.name.removeprefix(f"{stem}.").removesuffix(".toml")
            found.setdefault(language, {}).update(parse_templates(
                path.read_text(encoding="utf-8"), str(path), language))
    return found


def load_templates(profile_file: Path) -> dict[str, Template]:
    """The defaults, overridden and extended by the user's own file if there is one."""
    templates = default_templates()
    if profile_file.exists():
        text = profile_file.read_text(encoding="utf-8")
        templates.update(parse_templates(text, str(profile_file)))
    return templates


def write_templates(path: Path, templates: Mapping[str, tuple[str, str, str]]) -> bool:
    """Write the user's templates.toml so that, over the shipped defaults, it gives
    `templates` (name -> (subject, body, promise)). Only what differs from the shipped
    text is kept; the user's comments and order survive. Validate first
    (template_problems); True if the file changed."""
    # Only writing needs tomlkit (it keeps the user's comments); reading the templates at
    # start-up does not (start-up time and RSS).
    import tomlkit
    from tomlkit.items import Table

    shipped = default_templates()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    document = tomlkit.parse(text) if text else tomlkit.document()
    if not text:
        document.add(tomlkit.comment("Your reply templates (over Heard's shipped ones)."
                                     " Edited by the settings window; comments are kept."))
    for name in [n for n in document if n not in templates]:
        del document[name]
    for name, (subject, body, promise) in templates.items():
        base = shipped.get(name)
        if base is not None and (base.subject, base.body, base.promise) == \
                (subject, body, promise):
            if name in document:   # back to the shipped text
                del document[name]
            continue
        table = document.get(name)
        if not isinstance(table, Table):
            table = tomlkit.table()
            document[name] = table
        wanted: dict[str, Any] = {"subject": subject, "body": body}
        if promise != "next_free" or "promise" in table:
            wanted["promise"] = promise
        for key, value in wanted.items():
            if table.get(key) != value:
                table[key] = tomlkit.string(value, multiline="\n" in value) \
                    if key == "body" else value
    new = tomlkit.dumps(document)
    if new == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)
    return True
