"""A throw-away X11 desktop for GUI tests and benchmarks (stdlib only, Linux only).

``DesktopSession`` starts, in this order, and waits for each to be really ready:

1. a private D-Bus session bus (``dbus-daemon --nofork``, hermetic config: no service
   activation unless ``dbus_activation=True``),
2. ``Xvfb`` on a free display (``-displayfd``),
3. ``openbox`` (ready when ``_NET_SUPPORTING_WM_CHECK`` is set on the root window),
4. the tray host: ``trayer`` for ``tray="xembed"`` (ready when ``_NET_SYSTEM_TRAY_S0`` has an
   owner), ``status-notifier-watcher`` + ``gtk-sni-tray-standalone`` for ``tray="sni"`` (ready
   when the watcher reports a registered host), nothing for ``tray="none"``,
5. ``dunst`` (ready when it owns ``org.freedesktop.Notifications``).

Every component runs in its own process group; on exit only those groups are killed and the
temporary directory (logs, runtime dir, configs) is removed.

    with DesktopSession() as desk:
        subprocess.run([...], env=desk.env, check=True)
        desk.screenshot(tmp_path / "shot.png")

Command line (runs CMD inside a session and returns its exit code)::

    python -m tests.support.desktop [--tray xembed|sni|none] [--size WxH] -- CMD ARGS...
    python -m tests.support.desktop            # no CMD: prints the env, waits for Ctrl-C

Debian packages needed: dbus-daemon dbus-bin xvfb openbox trayer dunst libnotify-bin
imagemagick x11-utils x11-xserver-utils (for tray="sni" also haskell-status-notifier-item-utils
and haskell-gtk-sni-tray-utils).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import os
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

TrayKind = Literal["xembed", "sni", "none"]
TRAY_KINDS: tuple[str, ...] = ("xembed", "sni", "none")

#: Flags for trayer, as in the tried recipe: a 32 px dark panel at the top right.
TRAYER_ARGS: tuple[str, ...] = (
    "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32",
    "--SetDockType", "true", "--transparent", "false", "--tint", "0x333333",
)
ROOT_COLOUR = "#5a6b7d"

_DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  {servicedirs}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Notifications go to the bottom right so they never cover the tray (top right).
_DUNSTRC = """[global]
    monitor = 0
    follow = none
    width = 300
    height = 120
    origin = bottom-right
    offset = 10x10
    font = DejaVu Sans 9
    frame_width = 1
    idle_threshold = 0
    show_indicators = no
    history_length = 100
    # As dunst ships it (/etc/xdg/dunst/dunstrc): bodies are Pango markup, and dunst says
    # so (body-markup), so a client must escape text that is not markup.
    markup = full
    sticky_history = yes
    browser = /bin/true
    dmenu = /bin/true

[urgency_low]
    timeout = 10
[urgency_normal]
    timeout = 10
[urgency_critical]
    timeout = 0
"""


class DesktopSessionError(RuntimeError):
    """A component did not start (the message carries the tail of its log)."""


@dataclass
class _Component:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    rows = text.rstrip().splitlines()[-lines:]
    return "\n".join(rows) if rows else "(log is empty)"


def _which(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise DesktopSessionError(
            f"{tool!r} is not installed (Debian package: {package}); "
            f"apt-get install -y --no-install-recommends {package}"
        )
    return path


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM if this thread dies (Linux prctl).

    Keeps Xvfb & co from outliving a pytest run killed with SIGKILL by a CI timeout. Only used
    from the main thread: PR_SET_PDEATHSIG fires when the *thread* that forked exits.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    try:
        prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    sigterm = int(signal.SIGTERM)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigterm, 0, 0, 0)

    return preexec


class _X11:
    """Tiny libX11 binding (ctypes) for the two questions the shell tools answer badly."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("X11") or "libX11.so.6"
        lib = ctypes.CDLL(name)
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        lib.XOpenDisplay.restype = ctypes.c_void_p
        lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        lib.XCloseDisplay.restype = ctypes.c_int
        lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.XInternAtom.restype = ctypes.c_ulong
        lib.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        lib.XGetSelectionOwner.restype = ctypes.c_ulong
        self._lib = lib

    def selection_owner(self, display: str, selection: str) -> int:
        """Window id owning ``selection`` on ``display``; 0 if none or display unreachable."""
        dpy = self._lib.XOpenDisplay(display.encode())
        if not dpy:
            return 0
        try:
            atom = self._lib.XInternAtom(dpy, selection.encode(), 0)
            return int(self._lib.XGetSelectionOwner(dpy, atom))
        finally:
            self._lib.XCloseDisplay(dpy)


class DesktopSession:
    """Private D-Bus + Xvfb + openbox + tray host + dunst. Use as a context manager.

    Attributes (valid inside the ``with`` block):
      ``display``      ``":N"``
      ``bus_address``  the private session bus address
      ``vars``         only the session variables (DISPLAY, DBUS_SESSION_BUS_ADDRESS,
                       XDG_RUNTIME_DIR)
      ``env``          ``os.environ`` + ``vars``, minus QT_QPA_PLATFORM/WAYLAND_DISPLAY: pass it
                       as ``env=`` to subprocesses
      ``log_dir``      component logs (``<name>.log``)
      ``width``, ``height``
    """

    def __init__(
        self,
        tray: str = "xembed",
        size: str = "1024x768",
        *,
        timeout: float = 15.0,
        log_dir: str | os.PathLike[str] | None = None,
        dbus_activation: bool = False,
        dmenu: str = "/bin/true",
    ) -> None:
        if tray not in TRAY_KINDS:
            raise ValueError(f"tray must be one of {TRAY_KINDS}, not {tray!r}")
        try:
            w, h = (int(v) for v in size.lower().split("x")[:2])
        except ValueError:
            raise ValueError(f"size must look like '1024x768', not {size!r}") from None
        self.tray: str = tray
        self.width, self.height = w, h
        self.timeout = timeout
        self._dbus_activation = dbus_activation
        # dunst's menu program (`dunstctl context` pipes it the actions, one a line, and
        # invokes the one it prints): a test can pick a notification's action with it.
        self._dmenu = dmenu
        self._keep_logs = log_dir is not None
        self._requested_log_dir = Path(log_dir) if log_dir is not None else None
        self._tmp: Path | None = None
        self._components: list[_Component] = []
        self._x11: _X11 | None = None
        self.display: str = ""
        self.bus_address: str = ""
        self.runtime_dir: Path = Path()
        self.log_dir: Path = Path()
        self.vars: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.started_in: float = 0.0

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> DesktopSession:
        t0 = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self.started_in = time.monotonic() - t0
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public helpers ----------------------------------------------------------------------

    @property
    def pids(self) -> list[int]:
        """PIDs (= process group ids) of the components still owned by this session."""
        return [c.proc.pid for c in self._components]

    def run(
        self, cmd: Sequence[str], *, timeout: float | None = 60.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` with the session env, capturing text output."""
        return subprocess.run(
            list(cmd), env=self.env, capture_output=True, text=True, timeout=timeout, check=check
        )

    def popen(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen`` with the session env (caller owns and must reap the process)."""
        return subprocess.Popen(list(cmd), env=self.env, **kwargs)

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        """Save the whole X screen (tray included) as a PNG and return its path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        errors: list[str] = []
        importer = shutil.which("import")
        if importer:
            r = self.run([importer, "-silent", "-window", "root", f"png:{out}"], timeout=30)
            if r.returncode == 0 and _is_png(out):
                return out
            errors.append(f"import: rc={r.returncode} {r.stderr.strip()}")
        xwd, convert = shutil.which("xwd"), shutil.which("convert")
        if xwd and convert:
            grab = subprocess.run(
                [xwd, "-root", "-silent"], env=self.env, capture_output=True, timeout=30
            )
            if grab.returncode == 0:
                conv = subprocess.run(
                    [convert, "xwd:-", f"png:{out}"], input=grab.stdout, capture_output=True,
                    timeout=30,
                )
                if conv.returncode == 0 and _is_png(out):
                    return out
                errors.append(f"convert: rc={conv.returncode} {conv.stderr.decode().strip()}")
            else:
                errors.append(f"xwd: rc={grab.returncode} {grab.stderr.decode().strip()}")
        raise DesktopSessionError(
            "screenshot failed (needs imagemagick, or x11-apps + imagemagick): "
            + ("; ".join(errors) or "no tool found")
        )

    def tray_owner(self) -> int:
        """X window id owning ``_NET_SYSTEM_TRAY_S0`` (0: no XEmbed tray)."""
        return self._xlib().selection_owner(self.display, "_NET_SYSTEM_TRAY_S0")

    def bus_name_has_owner(self, name: str) -> bool:
        return _bus_has_owner(self.env, name)

    def notification_counts(self) -> dict[str, int]:
        """dunst's counters: ``displayed``, ``waiting``, ``history`` (``{}`` if unavailable)."""
        counts: dict[str, int] = {}
        for kind in ("displayed", "waiting", "history"):
            r = self.run(["dunstctl", "count", kind], timeout=10)
            if r.returncode != 0:
                return {}
            counts[kind] = int(r.stdout.strip() or 0)
        return counts

    def notifications_received(self) -> int:
        """How many notifications dunst has received so far (displayed + waiting + history)."""
        return sum(self.notification_counts().values())

    def close(self) -> None:
        """Stop every component this session started (reverse order), remove temp files."""
        for comp in reversed(self._components):
            _stop(comp.proc)
        self._components.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- start-up ----------------------------------------------------------------------------

    def _start(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="heard-desktop-"))
        if self._requested_log_dir is not None:
            self.log_dir = self._requested_log_dir
            self.log_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.log_dir = self._tmp / "logs"
            self.log_dir.mkdir()
        self.runtime_dir = self._tmp / "runtime"
        self.runtime_dir.mkdir(mode=0o700)
        (self._tmp / "config").mkdir()

        self._start_dbus()
        self._start_xvfb()
        self._publish_env()
        self._start_openbox()
        if self.tray == "xembed":
            self._start_trayer()
        elif self.tray == "sni":
            self._start_sni()
        self._start_dunst()
        xsetroot = shutil.which("xsetroot")
        if xsetroot:
            subprocess.run(
                [xsetroot, "-solid", ROOT_COLOUR], env=self.env, capture_output=True, timeout=10
            )

    def _component_env(self) -> dict[str, str]:
        """Env for the components: the session env + a private, empty XDG_CONFIG_HOME."""
        assert self._tmp is not None
        env = dict(self.env) if self.env else _base_env()
        env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)
        env["XDG_CONFIG_HOME"] = str(self._tmp / "config")
        if self.bus_address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        if self.display:
            env["DISPLAY"] = self.display
        return env

    def _spawn(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        pass_fds: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
    ) -> _Component:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as fh:
            fh.write(f"$ {shlex.join(cmd)}\n".encode())
            fh.flush()
            proc = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else self._component_env(),
                cwd=str(self._tmp),
                pass_fds=tuple(pass_fds),
                start_new_session=True,  # own process group: killed as a group on close()
                preexec_fn=_parent_death_signal(),
            )
        comp = _Component(name, proc, log)
        self._components.append(comp)
        return comp

    def _fail(self, comp: _Component, what: str) -> DesktopSessionError:
        rc = comp.proc.poll()
        state = "still running" if rc is None else f"exited with {rc}"
        kept = "" if self._keep_logs else " (deleted on exit; pass log_dir= to keep the logs)"
        return DesktopSessionError(
            f"{comp.name}: {what} (process {comp.proc.pid} {state}); "
            f"last lines of {comp.log}{kept}:\n{_tail(comp.log)}"
        )

    def _wait(self, comp: _Component, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            if ready():
                return
            if comp.proc.poll() is not None:
                raise self._fail(comp, f"died before {what}")
            if time.monotonic() > deadline:
                raise self._fail(comp, f"not ready after {self.timeout:.0f}s: {what}")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _read_fd_line(self, comp: _Component, fd: int, what: str) -> str:
        """Read one newline-terminated line from pipe ``fd`` (closed afterwards)."""
        deadline = time.monotonic() + self.timeout
        buf = b""
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._fail(comp, f"did not print {what} within {self.timeout:.0f}s")
                ready, _, _ = select.select([fd], [], [], min(left, 0.1))
                if not ready:
                    if comp.proc.poll() is not None:
                        raise self._fail(comp, f"died before printing {what}")
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise self._fail(comp, f"closed the pipe before printing {what}")
                buf += chunk
        finally:
            os.close(fd)
        return buf.split(b"\n", 1)[0].decode().strip()

    def _start_dbus(self) -> None:
        assert self._tmp is not None
        daemon = _which("dbus-daemon", "dbus-daemon")
        socket_dir = self._tmp / "bus"
        socket_dir.mkdir(mode=0o700)
        servicedirs = "<standard_session_servicedirs/>" if self._dbus_activation else ""
        config = self._tmp / "session-bus.conf"
        config.write_text(_DBUS_CONFIG.format(socket_dir=socket_dir, servicedirs=servicedirs))
        r, w = os.pipe()
        try:
            comp = self._spawn(
                "dbus-daemon",
                [daemon, f"--config-file={config}", "--nofork", "--nosyslog",
                 f"--print-address={w}"],
                pass_fds=(w,),
            )
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        self.bus_address = self._read_fd_line(comp, r, "its address")
        if not self.bus_address.startswith("unix:"):
            raise self._fail(comp, f"printed an odd address {self.bus_address!r}")
        env = self._component_env()
        self._wait(comp, lambda: _bus_has_owner(env, "org.freedesktop.DBus"), "bus answers")

    def _start_xvfb(self) -> None:
        xvfb = _which("Xvfb", "xvfb")
        r, w = os.pipe()
        try:
            comp = self._spawn(
                "xvfb",
                [xvfb, "-displayfd", str(w), "-screen", "0", f"{self.width}x{self.height}x24",
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(w,),
            )
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        number = self._read_fd_line(comp, r, "its display number")
        if not number.isdigit():
            raise self._fail(comp, f"printed an odd display number {number!r}")
        self.display = f":{number}"
        xlib = self._xlib()
        display = self.display
        self._wait(comp, lambda: _can_connect(xlib, display), "accepts X connections")

    def _publish_env(self) -> None:
        self.vars = {
            "DISPLAY": self.display,
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
        }
        env = _base_env()
        env.update(self.vars)
        self.env = env

    def _start_openbox(self) -> None:
        openbox = _which("openbox", "openbox")
        xprop = _which("xprop", "x11-utils")
        comp = self._spawn("openbox", [openbox, "--sm-disable"])

        def managing() -> bool:
            r = subprocess.run(
                [xprop, "-root", "_NET_SUPPORTING_WM_CHECK"],
                env=self.env, capture_output=True, text=True, timeout=10,
            )
            return r.returncode == 0 and "window id" in r.stdout

        self._wait(comp, managing, "_NET_SUPPORTING_WM_CHECK set on the root window")

    def _start_trayer(self) -> None:
        trayer = _which("trayer", "trayer")
        comp = self._spawn("trayer", [trayer, *TRAYER_ARGS])
        self._wait(comp, lambda: self.tray_owner() != 0, "owns the _NET_SYSTEM_TRAY_S0 selection")

    def _start_sni(self) -> None:
        tools = ("status-notifier-watcher", "gtk-sni-tray-standalone")
        if not all(shutil.which(tool) for tool in tools):
            raise DesktopSessionError(
                "tray='sni' needs status-notifier-watcher and gtk-sni-tray-standalone: "
                "apt-get install -y --no-install-recommends "
                "haskell-status-notifier-item-utils haskell-gtk-sni-tray-utils"
            )
        watcher_bin = _which("status-notifier-watcher", "haskell-status-notifier-item-utils")
        host_bin = _which("gtk-sni-tray-standalone", "haskell-gtk-sni-tray-utils")
        watcher = self._spawn("status-notifier-watcher", [watcher_bin])
        env = self.env
        self._wait(
            watcher,
            lambda: _bus_has_owner(env, "org.kde.StatusNotifierWatcher"),
            "owns org.kde.StatusNotifierWatcher",
        )
        host = self._spawn(
            "gtk-sni-tray", [host_bin, "--top", "--end", "--size", "32", "-c", "#333333"]
        )
        self._wait(host, lambda: _sni_host_registered(env), "registered as StatusNotifierHost")

    def _start_dunst(self) -> None:
        assert self._tmp is not None
        dunst = _which("dunst", "dunst")
        _which("dunstctl", "dunst")
        rc = self._tmp / "config" / "dunst" / "dunstrc"
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text(_DUNSTRC.replace("dmenu = /bin/true", f"dmenu = {self._dmenu}"))
        comp = self._spawn("dunst", [dunst, "-config", str(rc)])
        env = self.env
        self._wait(
            comp,
            lambda: _bus_has_owner(env, "org.freedesktop.Notifications"),
            "owns org.freedesktop.Notifications",
        )

    def _xlib(self) -> _X11:
        if self._x11 is None:
            try:
                self._x11 = _X11()
            except OSError as exc:
                raise DesktopSessionError(f"libX11 not loadable (package libx11-6): {exc}") from exc
        return self._x11


# -- module helpers ----------------------------------------------------------------------------


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_PID", "XAUTHORITY",
                "SESSION_MANAGER", "DESKTOP_STARTUP_ID"):
        env.pop(key, None)
    return env


def _can_connect(xlib: _X11, display: str) -> bool:
    lib = xlib._lib
    dpy = lib.XOpenDisplay(display.encode())
    if not dpy:
        return False
    lib.XCloseDisplay(dpy)
    return True


def _dbus_send(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--reply-timeout=2000", *args],
        env=dict(env), capture_output=True, text=True, timeout=10,
    )


def _bus_has_owner(env: Mapping[str, str], name: str) -> bool:
    r = _dbus_send(
        env, "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
        "org.freedesktop.DBus.NameHasOwner", f"string:{name}",
    )
    return r.returncode == 0 and "boolean true" in r.stdout


def _sni_host_registered(env: Mapping[str, str]) -> bool:
    r = _dbus_send(
        env, "--dest=org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
        "org.freedesktop.DBus.Properties.Get", "string:org.kde.StatusNotifierWatcher",
        "string:IsStatusNotifierHostRegistered",
    )
    return r.returncode == 0 and "boolean true" in r.stdout


def _stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM the process group led by ``proc`` (ours: start_new_session), then SIGKILL."""
    if proc.returncode is None:  # not reaped yet, so its pid (= pgid) can't have been reused
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    else:
        # The leader is gone; reap stragglers of its group (e.g. children it forked).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(8) == _PNG_MAGIC
    except OSError:
        return False


def png_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) read from a PNG's IHDR chunk; ValueError if not a PNG."""
    with Path(path).open("rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[:8] != _PNG_MAGIC or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def crop(
    png: str | os.PathLike[str],
    x: int,
    y: int,
    w: int,
    h: int,
    out: str | os.PathLike[str],
    *,
    zoom: int = 1,
) -> Path:
    """Cut the ``w`` x ``h`` box at (``x``, ``y``) out of ``png`` (ImageMagick), optionally
    enlarged ``zoom`` times with nearest-neighbour scaling. Returns ``out``."""
    convert = _which("convert", "imagemagick")
    target = Path(out)
    cmd = [convert, str(png), "-crop", f"{w}x{h}+{x}+{y}", "+repage"]
    if zoom != 1:
        cmd += ["-filter", "point", "-resize", f"{zoom * 100}%"]
    cmd.append(f"png:{target}")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or not _is_png(target):
        raise DesktopSessionError(f"crop failed: rc={r.returncode} {r.stderr.strip()}")
    return target


# -- command line ------------------------------------------------------------------------------


@contextlib.contextmanager
def _forward_signals(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """While ``proc`` runs: forward SIGTERM/SIGHUP to it; SIGINT is left to the terminal, which
    sends it to the whole foreground group (``proc`` included), so this process only waits."""
    previous: dict[signal.Signals, Any] = {}

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    def wait_for_child(_signum: int, _frame: object) -> None:
        pass

    previous[signal.SIGINT] = signal.signal(signal.SIGINT, wait_for_child)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, forward)
    try:
        yield
    finally:
        for old_sig, handler in previous.items():
            signal.signal(old_sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.desktop",
        description="Run CMD inside a private X desktop (Xvfb + openbox + tray + dunst + "
        "session bus). Without CMD, print the session env and wait for Ctrl-C.",
    )
    parser.add_argument("--tray", choices=TRAY_KINDS, default="xembed")
    parser.add_argument("--size", default="1024x768", help="screen size, WxH (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=15.0, help="per-component start timeout")
    parser.add_argument("--log-dir", help="keep component logs here")
    parser.add_argument("--screenshot", help="save a screenshot here after CMD ends")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="command to run (after --)")
    args = parser.parse_args(argv)
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    # SIGTERM/SIGHUP must unwind through the with-block so the components get stopped.
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    try:
        with DesktopSession(
            args.tray, args.size, timeout=args.timeout, log_dir=args.log_dir
        ) as desk:
            print(
                f"desktop: {desk.display} tray={desk.tray} ready in {desk.started_in:.2f}s",
                file=sys.stderr,
            )
            if not cmd:
                for key, value in desk.vars.items():
                    print(f"export {key}={shlex.quote(value)}")
                print("# Ctrl-C to stop", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    signal.pause()
                return 0
            try:
                proc = subprocess.Popen(cmd, env=desk.env, preexec_fn=_parent_death_signal())
            except OSError as exc:
                print(f"desktop: cannot run {cmd[0]!r}: {exc}", file=sys.stderr)
                return 127
            with _forward_signals(proc):
                rc = proc.wait()
            if args.screenshot:
                print(f"desktop: screenshot {desk.screenshot(args.screenshot)}", file=sys.stderr)
            return rc
    except DesktopSessionError as exc:
        print(f"desktop: {exc}", file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main())
