"""The suite fails a test on an error it logs but does not expect (tests/support/logfail.py),
and on an expected error that never came. The cases run in a child pytest with this suite's
conftest: their errors must not reach this test's own capture."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

CONFTEST = """
from tests.conftest import (  # noqa: F401
    _fail_on_logged_errors, _heard_log_handlers_removed, expected_errors, pytest_runtest_call)
"""
INI = """
[pytest]
markers =
    expect_log_errors(*regex): errors this test expects logged
"""
CASES = r'''
import logging
import threading

import pytest

from heard.system import log as heard_log


def test_unexpected():
    logging.getLogger("heard.outbox").error("send failed: %s", "550 no such user")


def test_from_a_thread():
    worker = threading.Thread(target=lambda: logging.getLogger("heard.x").critical("boom"))
    worker.start()
    worker.join()


def test_warning():
    logging.getLogger("heard.x").warning("a warning is not an error")


@pytest.mark.expect_log_errors(r"heard\.outbox: send failed")
def test_declared_by_marker():
    logging.getLogger("heard.outbox").error("send failed")


def test_declared_by_fixture(expected_errors):
    expected_errors.add(r"background work failed \[TimeoutError: 30 s")
    try:
        raise TimeoutError("30 s")
    except TimeoutError as exc:
        logging.getLogger("heard.gui.ops").error("background work failed", exc_info=exc)


@pytest.mark.expect_log_errors(r"send failed")
def test_declared_and_another():
    logging.getLogger("heard.outbox").error("send failed")
    logging.getLogger("heard.store").error("database is locked")


@pytest.mark.expect_log_errors(r"send failed")
def test_declared_never_came():
    pass


@pytest.fixture
def closing():
    yield
    logging.getLogger("heard.engine").error("close failed")


def test_logged_at_teardown(closing):
    pass


def test_cli_sets_up_logging(capsys):
    heard_log.setup(None)   # its stderr handler holds capsys's stream, closed after this


@pytest.mark.expect_log_errors("later")
def test_logs_later():
    logging.getLogger("heard.x").error("later")
'''


@dataclass
class Outcome:
    call: str              # passed, failed, skipped
    teardown_error: str    # the message of an error at teardown, or ""
    message: str           # the failure's message, or ""


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Outcome], str]:
    folder = tmp_path_factory.mktemp("logfail")
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "pytest.ini").write_text(INI)
    (folder / "test_cases.py").write_text(CASES)
    run = subprocess.run(
        # -s: a "--- Logging error ---" goes to the terminal, not to a passing test's capture
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s",
         "--junitxml=report.xml", "test_cases.py"],
        cwd=folder, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(folder / "report.xml").iter("testcase"):
        name = case.get("name", "")
        failure, error = case.find("failure"), case.find("error")
        previous = outcomes.get(name)
        if previous is None:
            outcomes[name] = Outcome(
                "failed" if failure is not None else
                "skipped" if case.find("skipped") is not None else "passed",
                "", failure.get("message", "") if failure is not None else "")
        if error is not None:   # junit lists a teardown error as a second entry
            outcomes[name].teardown_error = error.get("message", "") + (error.text or "")
    return outcomes, run.stdout + run.stderr


def test_an_unexpected_error_fails_the_test_and_names_the_line(child) -> None:
    outcome = child[0]["test_unexpected"]
    assert outcome.call == "failed"
    assert "ERROR heard.outbox: send failed: 550 no such user" in outcome.message


def test_an_error_from_another_thread_fails_the_test_too(child) -> None:
    outcome = child[0]["test_from_a_thread"]
    assert outcome.call == "failed"
    assert "CRITICAL heard.x: boom" in outcome.message


def test_a_warning_does_not_fail_a_test(child) -> None:
    assert child[0]["test_warning"] == Outcome("passed", "", "")


def test_a_declared_error_passes_by_marker_or_by_fixture_with_its_exception(child) -> None:
    assert child[0]["test_declared_by_marker"] == Outcome("passed", "", "")
    assert child[0]["test_declared_by_fixture"] == Outcome("passed", "", "")


def test_a_declared_error_does_not_excuse_another(child) -> None:
    outcome = child[0]["test_declared_and_another"]
    assert outcome.call == "failed"
    assert "ERROR heard.store: database is locked" in outcome.message
    assert "send failed" not in outcome.message


def test_an_expected_error_that_never_came_fails_at_teardown(child) -> None:
    outcome = child[0]["test_declared_never_came"]
    assert outcome.call == "passed"
    assert "expected errors were never logged" in outcome.teardown_error
    assert "'send failed'" in outcome.teardown_error


def test_an_error_logged_while_a_fixture_tears_down_fails_at_teardown(child) -> None:
    outcome = child[0]["test_logged_at_teardown"]
    assert outcome.call == "passed"
    assert "ERROR heard.engine: close failed" in outcome.teardown_error


def test_heard_log_setup_leaves_no_handler_on_a_closed_stream_behind(child) -> None:
    outcomes, output = child
    assert outcomes["test_cli_sets_up_logging"] == Outcome("passed", "", "")
    assert outcomes["test_logs_later"] == Outcome("passed", "", "")
    assert "Logging error" not in output
