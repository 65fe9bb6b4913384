"""A real, private Secret Service for tests: gnome-keyring on its own D-Bus session bus.

tests/conftest.py imports the two fixtures once, for every test folder (a module that
imported them again would get a keyring of its own: a session fixture is one per place it
is defined)::

    @pytest.mark.usefixtures("real_keyring")
    def test_in_process() -> None:
        secrets.store_password("work-imap", "s3cret")          # goes to gnome-keyring

    def test_in_a_child(request: pytest.FixtureRequest) -> None:
        service = request.getfixturevalue("keyring_service")
        subprocess.run([...], env={**os.environ, **service.env}, check=True)

``keyring_service`` (session scope) starts, once per pytest run:

1. ``dbus-daemon --nofork --print-address=FD`` with a hermetic session config: it listens in a
   temp dir and has *no* service activation, so nothing on this bus is started behind the
   test's back (the stock ``--session`` config would activate the machine's own
   gnome-keyring, gcr-prompter, ... from /usr/share/dbus-1/services);
2. ``gnome-keyring-daemon --foreground --unlock --components=secrets`` with the password on
   stdin and HOME, XDG_DATA_HOME, XDG_RUNTIME_DIR ... under the temp dir, so it creates and
   unlocks a fresh ``login`` keyring there and never sees a real user's keyrings or control
   socket. ``--foreground`` keeps it our child (no self-daemonising), so it can be stopped.

It is ready when ``org.freedesktop.secrets`` is owned on the bus *and* the ``default`` alias
names an unlocked collection (otherwise the first store would need a prompt, and there is no
one to answer it). Both run in their own process group, get SIGTERM if pytest dies (Linux
``PR_SET_PDEATHSIG``), and are killed as groups at the end of the session.

``.env`` holds only the variables to add: DBUS_SESSION_BUS_ADDRESS and PYTHON_KEYRING_BACKEND.
``real_keyring`` (function scope) puts them into ``os.environ`` for one test (after the autouse
isolation fixture in tests/conftest.py, which selects the ``fail`` backend) and points the
keyring library's cached backend at the service too, for code that calls ``keyring`` directly.
The keyring itself is shared by the whole run: give each test its own account names.

Debian packages: dbus-daemon (or dbus), gnome-keyring. Stdlib + jeepney (a keyring dependency).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import keyring.core
import pytest
from jeepney import (  # type: ignore[import-untyped]
    DBusAddress,
    MessageType,
    Properties,
    new_method_call,
)
from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

BACKEND = "keyring.backends.SecretService.Keyring"
SECRETS_NAME = "org.freedesktop.secrets"
KEYRING_PASSWORD = "heard-test-login-keyring"

_SECRETS = DBusAddress("/org/freedesktop/secrets", bus_name=SECRETS_NAME,
                       interface="org.freedesktop.Secret.Service")

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <!-- A desktop's session bus (/usr/share/dbus-1/session.conf) lifts dbus-daemon's low
       built-in limits (256 connections per user, 64 half-open): so does this one, for
       the three-instance race's hundreds of keyring lookups at once. -->
  <limit name="max_completed_connections">100000</limit>
  <limit name="max_incomplete_connections">10000</limit>
  <limit name="max_connections_per_user">100000</limit>
  <limit name="auth_timeout">240000</limit>
</busconfig>
"""


class KeyringServiceError(RuntimeError):
    """The bus or the keyring daemon did not start; the message carries the tail of its log."""


class KeyringService:
    """A private session bus with an unlocked gnome-keyring on it. Use as a context manager.

    Inside the ``with`` block: ``env`` (variables to add to a child's or the test's
    environment), ``bus_address``, ``home`` (where the keyring files live), ``started_in``
    (seconds), ``pids`` (the process-group leaders still running).
    """

    def __init__(self, *, password: str = KEYRING_PASSWORD, timeout: float = 10.0) -> None:
        self.password = password
        self.timeout = timeout
        self.env: dict[str, str] = {}
        self.bus_address = ""
        self.home = Path()
        self.started_in = 0.0
        self._tmp: Path | None = None
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> KeyringService:
        start = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self.started_in = time.monotonic() - start
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return [proc.pid for _, proc in self._procs if proc.poll() is None]

    def close(self) -> None:
        """Stop the daemon, then the bus (each as a whole process group); remove the files."""
        for _, proc in reversed(self._procs):
            _stop_group(proc)
        self._procs.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- start-up ----------------------------------------------------------------------------

    def _start(self) -> None:
        tmp = self._tmp = Path(tempfile.mkdtemp(prefix="heard-keyring-"))
        self.home = tmp / "home"
        for sub in ("bus", "runtime", "home/.local/share/keyrings", "home/.config",
                    "home/.cache"):
            (tmp / sub).mkdir(mode=0o700, parents=True)
        self.bus_address = self._start_bus(tmp)
        self._start_keyring(tmp)
        self.env = {"DBUS_SESSION_BUS_ADDRESS": self.bus_address,
                    "PYTHON_KEYRING_BACKEND": BACKEND}

    def _spawn(self, name: str, cmd: Sequence[str], *, env: dict[str, str] | None = None,
               stdin: int = subprocess.DEVNULL, pass_fds: Sequence[int] = ()
               ) -> subprocess.Popen[bytes]:
        assert self._tmp is not None
        with (self._tmp / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                list(cmd), stdin=stdin, stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=self._tmp, pass_fds=tuple(pass_fds),
                start_new_session=True,  # its own process group, stopped as one
                preexec_fn=_die_with_parent(),
            )
        self._procs.append((name, proc))
        return proc

    def _failed(self, name: str, proc: subprocess.Popen[bytes], what: str
                ) -> KeyringServiceError:
        assert self._tmp is not None
        rc = proc.poll()
        state = "still running" if rc is None else f"exited with {rc}"
        try:
            log = (self._tmp / f"{name}.log").read_text(errors="replace").strip()
        except OSError:
            log = ""
        tail = "\n".join(log.splitlines()[-20:]) or "(empty log)"
        return KeyringServiceError(f"{name} {what} ({state}); its log:\n{tail}")

    def _start_bus(self, tmp: Path) -> str:
        daemon = _which("dbus-daemon", "dbus-daemon")
        config = tmp / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket_dir=tmp / "bus"))
        read_end, write_end = os.pipe()
        try:
            proc = self._spawn("dbus-daemon", [
                daemon, f"--config-file={config}", "--nofork", "--nosyslog",
                f"--print-address={write_end}"], pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        # dbus-daemon prints the address once it listens: no polling needed.
        address = self._read_line(proc, read_end)
        if not address.startswith("unix:"):
            raise self._failed("dbus-daemon", proc, f"printed an odd address {address!r}")
        return address

    def _read_line(self, proc: subprocess.Popen[bytes], fd: int) -> str:
        deadline = time.monotonic() + self.timeout
        data = b""
        try:
            while b"\n" not in data:
                if time.monotonic() > deadline:
                    raise self._failed("dbus-daemon", proc, "printed no address")
                ready, _, _ = select.select([fd], [], [], 0.05)
                chunk = os.read(fd, 4096) if ready else b""
                if ready and not chunk:
                    raise self._failed("dbus-daemon", proc, "closed its pipe without an address")
                data += chunk
        finally:
            os.close(fd)
        return data.split(b"\n", 1)[0].decode().strip()

    def _start_keyring(self, tmp: Path) -> None:
        daemon = _which("gnome-keyring-daemon", "gnome-keyring")
        home = self.home
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(tmp / "runtime"),
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
        }
        proc = self._spawn("gnome-keyring-daemon", [
            daemon, "--foreground", "--unlock", "--components=secrets"],
            env=env, stdin=subprocess.PIPE)
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(self.password.encode())  # --unlock reads it up to end of file
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        with open_dbus_connection(bus=self.bus_address) as conn:
            self._wait(proc, lambda: _default_collection_unlocked(conn),
                       f"owns {SECRETS_NAME} with an unlocked default collection")

    def _wait(self, proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str
              ) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while not ready():
            if proc.poll() is not None:
                raise self._failed("gnome-keyring-daemon", proc, f"died before it {what}")
            if time.monotonic() > deadline:
                raise self._failed("gnome-keyring-daemon", proc,
                                   f"not ready after {self.timeout:.0f}s: {what}")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _default_collection_unlocked(conn: Any) -> bool:
    call = conn.send_and_get_reply
    if not call(message_bus.NameHasOwner(SECRETS_NAME), timeout=2.0).body[0]:
        return False
    reply = call(new_method_call(_SECRETS, "ReadAlias", "s", ("default",)), timeout=2.0)
    if reply.header.message_type != MessageType.method_return or reply.body[0] == "/":
        return False
    collection = DBusAddress(reply.body[0], bus_name=SECRETS_NAME,
                             interface="org.freedesktop.Secret.Collection")
    locked = call(Properties(collection).get("Locked"), timeout=2.0)
    return bool(locked.header.message_type == MessageType.method_return
                and locked.body[0][1] is False)


def _which(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise KeyringServiceError(
            f"{tool} is not installed: apt-get install -y --no-install-recommends {package}")
    return path


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn giving the child SIGTERM when pytest dies (even by SIGKILL). Linux only;
    only from the main thread, because the signal fires when the forking *thread* exits."""
    if threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.util.find_library("c")
    if libc is None:
        return None
    try:
        prctl = ctypes.CDLL(libc, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm, 0, 0, 0)


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL what is left, reap the leader."""
    if proc.returncode is None:  # not reaped yet, so its pid (= pgid) cannot have been reused
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, or a stuck leader
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


@pytest.fixture(scope="session")
def keyring_service() -> Iterator[KeyringService]:
    """One private bus + unlocked gnome-keyring for the whole run. Add ``.env`` to a child's
    environment (``env={**os.environ, **keyring_service.env}``)."""
    with KeyringService() as service:
        yield service


@pytest.fixture
def real_keyring(keyring_service: KeyringService, monkeypatch: pytest.MonkeyPatch
                 ) -> KeyringService:
    """This test talks to the real Secret Service: ``.env`` is in ``os.environ`` and the
    keyring library's cached backend is the Secret Service (both undone afterwards)."""
    for name, value in keyring_service.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core.load_env())
    return keyring_service
