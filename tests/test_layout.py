"""The tests mirror the package (STYLE.md, practice 11): tests/<room>/test_<module>.py holds
the tests of desktop/heard/<room>/<module>.py, sub-packages likewise
(tests/mail/imap/test_worker.py beside heard/mail/imap/worker.py), and tests/test_<module>.py
those of a module at the top (heard/launcher.py, heard/errors.py). A test file named for a
module that does not exist, or a test folder that is no room of the package, fails here."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "desktop" / "heard"

# Folders of tests that are not a room of the package.
NOT_ROOMS = {
    "desktop",      # end to end on a real desktop (Xvfb, a tray host, a notification server)
    "installers",   # the bundle and the .deb, built and installed (as root)
    "support",      # the suite's own helpers and servers, and their tests
    "samples",      # data: mail and contacts exports
}

# Suites that cut across modules on purpose, named for what they check.
CROSS_CUTTING = {
    # One contract run against every mail source (Maildir, IMAP).
    "engine/test_intake_contract.py",
    # A hypothesis state machine over the replies, the outbox and a killed process.
    "engine/test_outbox_machine.py",
    # The same over the claim: two processes of a device, a second device, real servers.
    "engine/test_claim_machine.py",
    # PySide6 itself: the bindings must not leak or over-release Python's singletons.
    "gui/test_bindings.py",
    # The import contracts, ruff and mypy over the whole package.
    "test_layers.py",
    # This file.
    "test_layout.py",
    # README.md's TOML, JSON and shell blocks, used as a reader would.
    "test_readme.py",
}


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py")
                  if p.relative_to(TESTS).parts[0] not in NOT_ROOMS)


def test_every_test_file_is_named_for_a_module_of_its_room() -> None:
    strays = []
    for path in _test_files():
        rel = path.relative_to(TESTS)
        if rel.as_posix() in CROSS_CUTTING:
            continue
        module = PACKAGE / rel.parent / rel.name.removeprefix("test_")
        if not module.is_file():
            strays.append(f"tests/{rel.as_posix()}: no module heard/"
                          f"{module.relative_to(PACKAGE).as_posix()}")
    assert strays == [], "\n".join(strays)


def test_every_test_folder_is_a_room_of_the_package() -> None:
    folders = {p.parent for p in _test_files()} - {TESTS}
    strays = [f"tests/{f.relative_to(TESTS).as_posix()}" for f in sorted(folders)
              if not (PACKAGE / f.relative_to(TESTS) / "__init__.py").is_file()]
    assert strays == [], "no such package under desktop/heard: " + ", ".join(strays)


def test_every_test_folder_is_a_package() -> None:
    """The suite imports its tests as `tests.<room>.<file>`: a folder without __init__.py
    would be imported by a bare name that a file of another folder can shadow."""
    folders = {p.parent for p in TESTS.rglob("*.py")
               if "samples" not in p.relative_to(TESTS).parts}
    missing = [f"tests/{f.relative_to(TESTS).as_posix()}" for f in sorted(folders)
               if not (f / "__init__.py").is_file()]
    assert missing == [], missing


def test_the_cross_cutting_suites_still_exist() -> None:
    assert [name for name in sorted(CROSS_CUTTING) if not (TESTS / name).is_file()] == []
