"""Reply templates from the shipped defaults and the profile's templates.toml."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import tomlkit
import tomlkit.exceptions

from heard.domain.templates import Template, TemplateError


def _parse(text: str, origin: str) -> dict[str, Template]:
    try:
        data = tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.ParseError as exc:
        raise TemplateError(origin, f"not valid TOML: {exc}") from exc
    templates = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("body"), str):
            raise TemplateError(name, f"in {origin}: needs a body = \"\"\"...\"\"\" text")
        templates[name] = Template(name, str(entry.get("subject", "Re: {subject}")),
                                   entry["body"], str(entry.get("promise", "next_free")))
    return templates


def default_templates() -> dict[str, Template]:
    text = resources.files("heard.resources").joinpath("templates/default.toml").read_text(
        encoding="utf-8")
    return _parse(text, "default templates")


def load_templates(profile_file: Path) -> dict[str, Template]:
    """The defaults, overridden and extended by the user's own file if there is one."""
    templates = default_templates()
    if profile_file.exists():
        templates.update(_parse(profile_file.read_text(encoding="utf-8"), str(profile_file)))
    return templates
