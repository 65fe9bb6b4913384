"""The architecture holds: Qt stays in gui/, the layers import downwards only, and the
linters and the type checker pass. These run the real tools on purpose: a layering or type
error fails the suite like any other bug."""

from __future__ import annotations

import importlib.metadata
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import heard.domain

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent   # the active environment's scripts, not whatever is on PATH
DOMAIN_MODULES = sorted(f"heard.domain.{m.name}" for m in pkgutil.iter_modules(
    heard.domain.__path__))


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=REPO, timeout=300, check=False)


def tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=REPO,
                          timeout=600, check=False)


def console_script(distribution: str, name: str) -> Path:
    """The script a distribution installs, in the same bin/ as the running interpreter."""
    scripts = {ep.name for ep in importlib.metadata.distribution(distribution).entry_points
               if ep.group == "console_scripts"}
    assert name in scripts, f"{distribution} installs {sorted(scripts)}, not {name}"
    path = BIN / name
    assert path.exists(), f"{path} is missing: reinstall the test extras"
    return path


def test_the_domain_package_has_modules_to_check() -> None:
    assert {"heard.domain.clients", "heard.domain.clock", "heard.domain.waiting"} <= set(
        DOMAIN_MODULES)


def test_importing_the_domain_loads_no_qt() -> None:
    done = python(f"""
        import importlib, sys
        for name in {["heard.domain", *DOMAIN_MODULES]!r}:
            importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
        print(",".join(loaded))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_engine_cli_and_demo_import_with_qt_blocked() -> None:
    done = python("""
        import sys
        sys.modules["PySide6"] = None      # any `import PySide6...` now raises ImportError
        sys.modules["shiboken6"] = None
        import heard.engine, heard.cli, heard.setup.demo
        try:
            import heard.gui.tray
        except ImportError:
            print("gui needs qt")
    """)
    assert done.returncode == 0, done.stderr
    # The block really works: the one layer that needs Qt cannot load.
    assert done.stdout.strip() == "gui needs qt"


def test_import_contracts_are_kept() -> None:
    done = tool(console_script("import-linter", "lint-imports"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("where", ["heard/engine/health.py", "heard/a_new_room/anything.py"])
def test_a_qt_import_outside_the_gui_breaks_the_contracts(tmp_path: Path, where: str) -> None:
    """The contract holds every module of the package, a module added tomorrow too: a copy
    of the tree with `import PySide6.QtCore` in one non-GUI module fails lint-imports."""
    tree = tmp_path / "desktop"
    shutil.copytree(REPO / "desktop" / "heard", tree / "heard",
                    ignore=shutil.ignore_patterns("__pycache__", ".import_linter_cache"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    module = tree / where
    module.parent.mkdir(parents=True, exist_ok=True)
    if not (module.parent / "__init__.py").exists():
        (module.parent / "__init__.py").write_text("")
    with module.open("a", encoding="utf-8") as fh:
        fh.write("\nimport PySide6.QtCore  # noqa: E402, F401\n")
    done = subprocess.run([str(console_script("import-linter", "lint-imports")), "--no-cache",
                           str(tmp_path / "pyproject.toml")], capture_output=True, text=True,
                          cwd=tree, timeout=600, check=False,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    assert done.returncode != 0, done.stdout
    dotted = where.removesuffix(".py").replace("/", ".")
    assert f"{dotted} -> PySide6" in done.stdout
    assert "Only gui/ imports Qt BROKEN" in done.stdout


def test_ruff_is_clean() -> None:
    done = tool(sys.executable, "-m", "ruff", "check", "desktop", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean() -> None:
    done = tool(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


SHARED_ENGINE_MODULES = {"context", "events", "ports", "results", "logins", "facade",
                         "doctor", "stats_report"}


def test_every_engine_service_is_in_the_independence_contract() -> None:
    """A service added to heard/engine/ is held to the contract at once (no hand-kept list
    that a new module can slip past): it is either a service or one of the shared ones."""
    import tomllib

    import heard.engine

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (independent,) = [c for c in contracts["contracts"] if c["type"] == "independence"
                      and c["modules"][0].startswith("heard.engine.")]
    services = {f"heard.engine.{m.name}" for m in pkgutil.iter_modules(heard.engine.__path__)
                if m.name not in SHARED_ENGINE_MODULES}
    assert set(independent["modules"]) == services
