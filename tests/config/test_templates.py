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


# templates in other languages (issue 22, 4)


def test_every_shipped_template_has_its_german_text_with_the_same_promise(
        tmp_path: Path) -> None:
    from heard.config.templates import default_templates, translations

    english = default_templates()
    german = translations(tmp_path / "templates.toml")["de"]
    missing = sorted(set(english) - set(german))
    assert missing == [], f"add the German text of {missing} to resources/templates/de.toml"
    for name, template in german.items():
        assert template.language == "de"
        assert template.promise == english[name].promise, name
    assert english["acknowledge"].language == "en"
    assert "vielen Dank" in german["acknowledge"].body


def test_the_users_own_translations_override_and_add_languages(tmp_path: Path) -> None:
    from heard.config.templates import load_templates, translations

    (tmp_path / "templates.de.toml").write_text(
        '[acknowledge]\nbody = "Servus {client.name}, bis {reply_by}."\n', encoding="utf-8")
    (tmp_path / "templates.fr.toml").write_text(
        '[acknowledge]\nbody = "Bonjour {client.name}, d\'ici {reply_by}."\n',
        encoding="utf-8")
    found = translations(tmp_path / "templates.toml")
    assert found["de"]["acknowledge"].body.startswith("Servus")
    assert "Besprechung" in found["de"]["acknowledge-busy"].body      # still shipped
    assert (found["fr"]["acknowledge"].language, list(found["fr"])) == ("fr", ["acknowledge"])
    assert load_templates(tmp_path / "templates.toml")["acknowledge"].language == "en"
