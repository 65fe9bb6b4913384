"""`heard --selftest`: the pieces a broken installation would lose, each exercised once.

A frozen build (PyInstaller) or a half-finished install fails quietly: a module loaded by
name is left out, package data or metadata is missing, a library falls back to a poorer
backend without a word. Importing modules proves little, so each check here *uses* the
piece the way Heard does, in a temporary profile, without the network (requests go to a
closed port on this machine) and without touching the user's profile or keyring.

One line per check (``ok``, ``WARN`` or ``FAIL``, the name, what was seen), then a summary.
The exit status is 1 when any check failed, else 0: warnings are things of this machine
(no keyring daemon, no tray host, no CA certificates), not of the installation.

These are the Qt-free checks; ``heard.gui.selftest_gui`` adds the Qt ones and runs them all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from heard import __version__
from heard.domain.checks import Verdict

#: The libraries Heard loads only when a mail or calendar account needs them: the tray
#: must come up without them (they cost ~0.3 s), in a venv and in a frozen bundle alike.
HEAVY_MODULES = ("caldav", "lxml", "niquests", "urllib3", "qh3", "jh2", "imapclient",
                 "keyring", "secretstorage", "cryptography")

#: watchdog's native observer per platform; a frozen build that lost it polls instead.
NATIVE_OBSERVERS = {"linux": "InotifyObserver", "win32": "WindowsApiObserver",
                    "darwin": "FSEventsObserver"}

#: The keyring backend module each platform needs (loaded by entry point, so a frozen
#: build can lose it without an error), and the modules it uses in turn.
PLATFORM_KEYRING = {
    "linux": ("keyring.backends.SecretService", ("secretstorage", "jeepney")),
    "win32": ("keyring.backends.Windows", ("win32ctypes.pywin32.win32cred",)),
    "darwin": ("keyring.backends.macOS", ("keyring.backends.macOS.api",)),
}


@dataclass(frozen=True)
class Result:
    name: str
    verdict: Verdict
    detail: str
    seconds: float = 0.0

    def line(self) -> str:
        mark = {Verdict.OK: "ok  ", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL"}[self.verdict]
        return f"{mark}  {self.name}: {self.detail}"


class CheckWarning(Exception):
    """Raised by a check: the piece works, but this machine lacks something (not a failure)."""


class CheckFailed(Exception):
    """Raised by a check: the piece is broken (the message says what was seen)."""


@dataclass(frozen=True)
class Check:
    """One self-test: `run` returns what it saw (one line), raises CheckWarning for a warning,
    and anything else is a failure."""

    name: str
    run: Callable[[], str]


def run_checks(checks: Iterable[Check]) -> Iterator[Result]:
    for check in checks:
        started = time.perf_counter()
        try:
            detail = check.run()
            verdict = Verdict.OK
        except CheckWarning as exc:
            detail, verdict = str(exc), Verdict.WARN
        except CheckFailed as exc:
            detail, verdict = str(exc), Verdict.FAIL
        except BaseException as exc:  # a self-test reports every failure, whatever it is
            if isinstance(exc, KeyboardInterrupt):
                raise
            detail, verdict = _describe(exc), Verdict.FAIL
        yield Result(check.name, verdict, detail, time.perf_counter() - started)


def _describe(exc: BaseException) -> str:
    """The exception and its causes on one line, e.g. 'NotImplementedError: ... <- ...'."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 4:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}".strip().rstrip(":"))
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)


def how_installed() -> str:
    if getattr(sys, "frozen", False):
        return f"frozen bundle in {Path(sys.executable).resolve().parent}"
    return f"Python {sys.version.split()[0]} at {sys.prefix}"


def main(checks: Sequence[Check], report: str | None = None) -> int:
    """Run `checks`, print one line each (and write them to `report` if given; a windowed
    Windows build has no stdout, so there the lines go to a file in any case)."""
    out: IO[str] | None = sys.stdout
    file: IO[str] | None = None
    if report in (None, "-") and out is None:
        report = str(Path(tempfile.gettempdir()) / "heard-selftest.txt")
    if report not in (None, "-"):
        file = Path(str(report)).open("w", encoding="utf-8")  # noqa: SIM115
    started = time.perf_counter()

    def emit(line: str) -> None:
        for stream in (out, file):
            if stream is not None:
                print(line, file=stream, flush=True)

    # Libraries' warnings (a refused connection is expected here) stay out of the report.
    logging.getLogger().addHandler(logging.NullHandler())
    emit(f"Heard {__version__} self-test: {how_installed()}")
    counts = dict.fromkeys(Verdict, 0)
    try:
        for result in run_checks(checks):
            counts[result.verdict] += 1
            emit(result.line())
        emit(f"self-test: {counts[Verdict.OK]} ok, {counts[Verdict.WARN]} warnings,"
             f" {counts[Verdict.FAIL]} failed in {time.perf_counter() - started:.2f} s")
    finally:
        if file is not None:
            file.close()
    return 1 if counts[Verdict.FAIL] else 0


# -- the checks ---------------------------------------------------------------------------------


def heavy_modules_loaded() -> list[str]:
    return sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY_MODULES))


def check_package_data() -> str:
    from importlib import resources

    from heard.config.patterns import default_pattern_sets
    from heard.config.templates import default_templates

    templates = default_templates()
    patterns = default_pattern_sets()
    data = resources.files("heard.resources")
    svg = data.joinpath("icons/heard.svg").read_bytes()
    desktop = data.joinpath("heard.desktop").read_text(encoding="utf-8")
    if b"<svg" not in svg:
        raise CheckFailed("icons/heard.svg is not an SVG image")
    if "Exec=heard" not in desktop:
        raise CheckFailed("heard.desktop has no Exec=heard line")
    if not templates or not patterns:
        raise CheckFailed(f"{len(templates)} templates, {len(patterns)} pattern sets shipped")
    return (f"{len(templates)} reply templates, {len(patterns)} voicemail/contact-form"
            f" pattern sets, the icon ({len(svg)} bytes) and the desktop entry")


def check_time_zones() -> str:
    import zoneinfo
    from datetime import UTC, datetime

    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)   # the night Europe goes to summer time
    offsets = []
    for name in ("Europe/Berlin", "America/Los_Angeles", "Australia/Lord_Howe"):
        offset = at.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
        assert offset is not None
        offsets.append(f"{name} {offset.total_seconds() / 3600:+g} h")
    source = "the system's" if any(Path(p).is_dir() for p in zoneinfo.TZPATH) else "tzdata's"
    return f"{', '.join(offsets)} ({source} zone data)"


def check_phone_numbers() -> str:
    import phonenumbers

    from heard.domain.clients import normalize_phone

    # Each region's metadata is a module loaded by name when first needed: a frozen build
    # without them parses nothing.
    cases = {("+1 415 555 0134", "US"): "+14155550134", ("030 1234567", "DE"): "+49301234567",
             ("020 7946 0018", "GB"): "+442079460018", ("08-555 012 34", "SE"): "+46855501234"}
    for (number, region), want in cases.items():
        got = normalize_phone(number, region)
        if got != want:
            raise CheckFailed(f"{number!r} in {region} gave {got!r}, not {want!r}")
    return (f"{len(cases)} numbers in E.164 (US, DE, GB, SE metadata;"
            f" {len(phonenumbers.SUPPORTED_REGIONS)} regions)")


def check_store(tmp: Path) -> str:
    from datetime import UTC, datetime

    from heard.domain.clients import Client
    from heard.store import Store
    from heard.store.migrations import LATEST
    from heard.system.paths import Profile

    profile = Profile(tmp / "store-profile")
    profile.create()
    with Store(profile.database) as store:
        store.add_client(Client("Self Test", emails=("self.test@example.invalid",)),
                         datetime.now(UTC))
    with Store(profile.database) as store:   # a second open: the file and its WAL are sound
        version, integrity = store.schema_version, store.integrity()
        found = store.client_by_address("email", "self.test@example.invalid")
    import sqlite3

    if version != LATEST or integrity != "ok" or found is None:
        raise CheckFailed(f"schema {version} of {LATEST}, integrity {integrity!r},"
                          f" client read back: {found is not None}")
    return f"SQLite {sqlite3.sqlite_version}: a new store migrated to schema {version}, written"\
           " and read back"


def check_demo_profile(tmp: Path) -> str:
    from heard.engine import Engine
    from heard.setup.demo import create_demo_profile

    profile = create_demo_profile(tmp / "demo-profile")
    engine = Engine.open(profile)
    try:
        report = engine.sync()
        status = engine.status()
    finally:
        engine.close()
    if report.errors or not report.seen or not status.count:
        raise CheckFailed(f"a sync of the demo saw {report.seen} messages, {status.count}"
                          f" waiting, errors: {report.errors}")
    busy = ("busy now" if status.busy and status.busy.now else
            "free now" if status.busy else "no calendar answer")
    if status.busy is None:
        raise CheckFailed("the demo calendar (.ics, recurring events) gave no busy state")
    return (f"Maildir and .ics calendar synced: {report.seen} messages, {status.count}"
            f" clients waiting, {busy}")


def check_maildir_watch(tmp: Path) -> str:
    from watchdog.observers import Observer

    from heard.mail.maildir import Maildir
    from heard.mail.watch import MaildirWatcher

    observer = str(getattr(Observer, "__name__", Observer))
    native = NATIVE_OBSERVERS.get(sys.platform)
    box = Maildir(tmp / "watched")
    box.create()
    seen = threading.Event()
    watcher = MaildirWatcher([box.path], seen.set)
    watcher.start()
    try:
        started = time.perf_counter()
        box.deliver(b"From: a@example.invalid\r\nSubject: watch\r\n\r\nhello\r\n")
        if not seen.wait(5.0):
            raise CheckFailed(f"{observer} did not notice a new message within 5 s")
        took = time.perf_counter() - started
    finally:
        watcher.stop()
    if native and observer != native:
        raise CheckFailed(f"watchdog fell back to {observer} (its {native} backend is missing"
                          " from this build): Heard would poll")
    return f"{observer} saw a new message in {took:.2f} s"


def check_keyring() -> str:
    from importlib import import_module
    from importlib.metadata import entry_points

    from heard.system import secrets

    found = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    if not found:
        raise CheckFailed("the keyring library finds no backends (its package metadata is"
                          " missing from this build)")
    module, needs = PLATFORM_KEYRING.get(sys.platform, ("", ()))
    for name in (module, *needs):
        if name:
            import_module(name)
    name = secrets.backend_name()
    forced = os.environ.get(secrets.ENV_BACKEND)
    where = f" (chosen by {secrets.ENV_BACKEND})" if forced else ""
    if name.startswith("none"):
        raise CheckWarning(f"no keyring available{where}: {name}; the backends load"
                       f" ({', '.join(found)}) but none can be used here")
    # A backend that is chosen is not one that works (a session bus with no keyring daemon
    # on it): ask it, as `heard doctor` does, so the two never disagree.
    problem = secrets.check()
    if problem:
        raise CheckWarning(f"{name}{where} cannot be used here: {problem}")
    return f"{name}{where}; backends: {', '.join(found)}"


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_caldav() -> str:
    from heard.calendar.caldav_source import CalendarUnavailable, discover

    url = f"http://127.0.0.1:{_closed_port()}/dav/"
    # Real requests (PROPFIND bodies built with lxml; the HTTP library loads its DNS
    # resolver by name on the first one), to a port where nothing answers.
    try:
        discover(url, "selftest", "not-a-password")
    except CalendarUnavailable as exc:
        if "cannot reach" not in str(exc):
            raise CheckFailed(f"a request to a closed local port gave: {exc}") from exc
    else:
        raise CheckFailed(f"a request to a closed local port ({url}) did not fail")
    import caldav
    from caldav.lib import http_sync

    library = "niquests" if http_sync.USE_NIQUESTS else "requests"
    version = getattr(http_sync.requests, "__version__", "?")
    return (f"caldav {caldav.__version__} over {library} {version}: a DAVClient was made and"
            " its request to a closed local port failed as it should")


def check_imap() -> str:
    import imapclient

    from heard.mail.imap import ImapError, Security, ServerSettings, connect

    server = ServerSettings("127.0.0.1", _closed_port(), Security.PLAIN, "selftest")
    try:
        connect(server, "not-a-password", timeout=3)
    except ImapError as exc:
        if "refused" not in str(exc):
            raise CheckFailed(f"a connection to a closed local port gave: {exc}") from exc
    else:
        raise CheckFailed("a connection to a closed local port did not fail")
    return f"IMAPClient {imapclient.__version__}: a connection to a closed local port was refused"


def check_tls() -> str:
    import smtplib
    import ssl

    import heard.mail.smtp  # noqa: F401  (the sender loads)
    from heard.mail.imap import tls_context

    context = tls_context(None)
    if not isinstance(context, ssl.SSLContext) or context.verify_mode != ssl.CERT_REQUIRED:
        raise CheckFailed("the default TLS context does not verify certificates")
    smtplib.SMTP_SSL  # noqa: B018  (smtplib was built with SSL support)
    paths = ssl.get_default_verify_paths()
    store = context.cert_store_stats().get("x509_ca", 0)
    where = []
    if paths.cafile and Path(paths.cafile).is_file():
        where.append(paths.cafile)
    if paths.capath and Path(paths.capath).is_dir() and any(Path(paths.capath).iterdir()):
        where.append(f"{paths.capath}/")
    if store:
        where.append(f"{store} loaded")
    if not where:
        raise CheckWarning(f"{ssl.OPENSSL_VERSION}, but no trusted CA certificates (looked in"
                       f" {paths.openssl_cafile} and {paths.openssl_capath}): secure"
                       " connections will fail; install ca-certificates or set SSL_CERT_FILE")
    return f"{ssl.OPENSSL_VERSION}; CA certificates: {', '.join(where)}"


#: First of all: the Qt checks draw the icon from this data.
PACKAGE_DATA = Check("package data", check_package_data)


def checks(tmp: Path) -> list[Check]:
    """The other Qt-free checks, working in the temporary folder `tmp`."""
    return [
        Check("time zones", check_time_zones),
        Check("store", lambda: check_store(tmp)),
        Check("demo profile", lambda: check_demo_profile(tmp)),
        Check("maildir watch", lambda: check_maildir_watch(tmp)),
        Check("phone numbers", check_phone_numbers),
        Check("keyring", check_keyring),
        Check("imap", check_imap),
        Check("caldav", check_caldav),
        Check("tls", check_tls),
    ]


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder for the checks' profiles, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="heard-selftest-") as tmp:
        yield Path(tmp)
