"""README.md's examples work the way a reader would use them: each ```toml block is TOML
(and one that is a heard.toml loads with Heard's own loader, a patterns.toml with the
patterns loader), each ```json block is JSON, each ```sh block is bash that parses
(`bash -n`). A reader copies these; a broken one costs them an evening."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from heard import config
from heard.config.patterns import load_pattern_sets

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, text) of each fenced block in `language`."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(2)) for m in _BLOCK.finditer(text)
            if m.group(1) == language]


def _ids(found: list[tuple[int, str]]) -> list[str]:
    return [f"line {line}" for line, _ in found]


def test_the_readme_has_the_blocks_this_checks() -> None:
    assert len(blocks("toml")) >= 2 and blocks("json") and len(blocks("sh")) >= 3


@pytest.mark.parametrize(("line", "text"), blocks("toml"), ids=_ids(blocks("toml")))
def test_every_toml_block_is_toml_heard_reads(line: int, text: str, tmp_path: Path) -> None:
    document = tomllib.loads(text)   # raises on a table given twice, as Heard's loader would
    if {"voicemail", "form"} & set(document):   # a patterns.toml
        own = tmp_path / "patterns.toml"
        own.write_text(text, encoding="utf-8")
        names = {p.name for p in load_pattern_sets(own)}
        assert set(document.get("voicemail", {})) <= {n.split(".")[-1] for n in names} | names
        return
    heard_toml = tmp_path / "heard.toml"
    heard_toml.write_text(text, encoding="utf-8")
    settings = config.load(heard_toml)   # ConfigError names every problem
    if "accounts" in document:
        assert [a.name for a in settings.accounts] == [a["name"] for a in document["accounts"]]


@pytest.mark.parametrize(("line", "text"), blocks("json"), ids=_ids(blocks("json")))
def test_every_json_block_is_json(line: int, text: str) -> None:
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize(("line", "text"), blocks("sh"), ids=_ids(blocks("sh")))
def test_every_shell_block_parses(line: int, text: str) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-n"], input=text, capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
