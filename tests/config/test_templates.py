"""Reply templates from the shipped defaults and the profile's templates.toml
(heard.config.templates)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_an_unknown_promise_is_refused_when_the_template_is_loaded(tmp_path: Path) -> None:
    from heard.config.templates import load_templates
    from heard.domain.templates import TemplateError

    file = tmp_path / "templates.toml"
    file.write_text('[x]\npromise = "next_week"\nbody = "Hi"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match="promise 'next_week' is not known"):
        load_templates(file)
