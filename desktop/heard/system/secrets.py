"""Passwords in the OS keyring (the Secret Service, Keychain or Windows Credential Locker).

Heard keeps account passwords (IMAP, SMTP, CalDAV) nowhere else: not in the config file, not in
the store, not in a log line, not in an exception message.

**The entry.** Service ``"heard"``, username = the account name exactly as the caller gives it
(the config's ``keyring_name``, e.g. ``"imap:alex@imap.example.com"``). This module adds no
prefix of its own: the service already says whose entry it is, the caller already says what
kind of login it is, and a bare, readable name is what a user browsing their keyring (Seahorse,
KeePassXC, ``secret-tool lookup service heard username imap:alex@imap.example.com``)
recognises. The keyring library labels it "Password for '<name>' on 'heard'".

**Which keyring.** When ``PYTHON_KEYRING_BACKEND`` is set it is read again at *every* call, so
the backend is always the one the environment names at that moment (tests switch it per test;
the keyring library itself would cache the first answer for the life of the process).
Otherwise the keyring library chooses (its ``keyringrc.cfg``, then the best backend it
detects) and caches that choice.

**Every call can block**: a locked keyring shows an unlock prompt and waits for the user, and
the Secret Service is a D-Bus round trip away. Callers run these functions off the GUI thread
(``gui/`` through its one worker helper), never in a slot.

**Sharing keys.** The key the user's devices sign their messages in the mailbox with
(heard.devices.wire.trust) is a secret of the same kind: :func:`store_key` keeps it, base64,
in an entry ``sharing-key:<instance>:<login>@<host>`` (one per device and mailbox login, so
two profiles on one machine are two devices, as they are to each other), and it is redacted
from every log line like a password.

**Every failure is one exception**, :class:`SecretsUnavailable`, whose message says in plain
words what is wrong and how to fix it, and whose ``problem`` says which kind of failure it is.
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
import os
import sys
from pathlib import Path

import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordDeleteError

from heard.system.log import redact

log = logging.getLogger(__name__)

SERVICE = "heard"
ENV_BACKEND = "PYTHON_KEYRING_BACKEND"
SECRET_SERVICE_BUS_NAME = "org.freedesktop.secrets"

# An account name no config can produce: check() only ever reads it.
_PROBE_ACCOUNT = "(heard keyring check)"

_FRIENDLY_NAMES = {
    "keyring.backends.SecretService.Keyring": "Secret Service",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet 4",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Locker",
    "keyring.backends.fail.Keyring": "none (no keyring found)",
    "keyring.backends.null.Keyring": "none (password storage is switched off)",
}
# Executables that own org.freedesktop.secrets, as users know them.
_PROVIDERS = {
    "gnome-keyring-daemon": "gnome-keyring",
    "keepassxc": "KeePassXC",
    "kwalletd5": "KWallet",
    "kwalletd6": "KWallet",
    "ksecretd": "KWallet",
}


class Problem(enum.StrEnum):
    NO_KEYRING = "no-keyring"      # nothing to store passwords in (install or start one)
    DISABLED = "disabled"          # the keyring library is configured to throw passwords away
    LOCKED = "locked"              # the keyring stayed locked (prompt dismissed or not shown)
    FAILED = "failed"              # the keyring is there but the operation failed


class SecretsUnavailable(RuntimeError):
    """The keyring cannot be used. ``str(exc)`` is the reason and the fix in plain words.

    Never contains a password. ``account`` is the entry concerned (None for a general check).
    """

    def __init__(self, problem: Problem, message: str, account: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.account = account


def store_password(account: str, password: str) -> None:
    """Store (or replace) ``account``'s password. Blocks; run off the GUI thread."""
    _check_account(account)
    if not password:
        raise ValueError("an empty password is not stored; use delete_password to remove one")
    redact(password)
    backend = _backend(account)
    try:
        backend.set_password(SERVICE, account, password)
    except Exception as exc:
        raise _unavailable(exc, "store", account, backend, password) from _cause(exc, password)
    if log.isEnabledFor(logging.DEBUG):  # naming the provider is a D-Bus round trip
        log.debug("stored the password of %s in %s", account, _describe(backend))


def get_password(account: str) -> str | None:
    """``account``'s password, or None when the keyring has no entry for it. Blocks."""
    _check_account(account)
    backend = _backend(account)
    try:
        password = backend.get_password(SERVICE, account)
    except Exception as exc:
        raise _unavailable(exc, "read", account, backend) from exc
    if password:
        redact(password)
    return password


def delete_password(account: str) -> bool:
    """Remove ``account``'s password; False when there was none. Blocks."""
    _check_account(account)
    backend = _backend(account)
    try:
        backend.delete_password(SERVICE, account)
    except PasswordDeleteError as exc:
        # Every backend says "not found" this way; only a surviving entry makes it an error.
        if get_password(account) is None:
            return False
        raise _unavailable(exc, "delete", account, backend) from exc
    except Exception as exc:
        raise _unavailable(exc, "delete", account, backend) from exc
    if log.isEnabledFor(logging.DEBUG):
        log.debug("deleted the password of %s from %s", account, _describe(backend))
    return True


def key_entry(instance: str, login: str) -> str:
    """The keyring entry of this device's sharing key for the mailbox `login` (user@host)."""
    return f"sharing-key:{instance}:{login}"


def store_key(entry: str, key: bytes) -> None:
    """Keep a sharing key (see the module doc). Blocks; run off the GUI thread."""
    if len(key) < 16:
        raise ValueError("a sharing key has at least 16 bytes")
    store_password(entry, base64.b64encode(key).decode("ascii"))


def get_key(entry: str) -> bytes | None:
    """The sharing key kept in `entry`; None when there is none (or it is unreadable: the
    device joins again). Blocks."""
    text = get_password(entry)
    if not text:
        return None
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        log.warning("the sharing key in %s is unreadable; this device must join again", entry)
        return None
    return key if len(key) >= 16 else None


def delete_key(entry: str) -> bool:
    return delete_password(entry)


def backend_name() -> str:
    """Which keyring is in use, for people: e.g. ``"Secret Service (gnome-keyring)"``.

    ``"none (...)"`` when there is none to use (``check()`` says why and what to do).
    """
    try:
        backend = _backend(None)
    except SecretsUnavailable as exc:
        if exc.problem is Problem.DISABLED:
            return _FRIENDLY_NAMES["keyring.backends.null.Keyring"]
        return _FRIENDLY_NAMES["keyring.backends.fail.Keyring"]
    return _describe(backend)


def check() -> str | None:
    """None when the keyring can be used, else the problem in plain words (``heard doctor``).

    Only reads (an entry no account has), so it has no side effect, but like every call it
    may show the unlock prompt and wait for the user.
    """
    try:
        get_password(_PROBE_ACCOUNT)
    except SecretsUnavailable as exc:
        return str(exc)
    return None


# -- the backend -------------------------------------------------------------------------------


def _backend(account: str | None) -> KeyringBackend:
    name = os.environ.get(ENV_BACKEND, "").strip()
    # Named in the environment: loaded afresh (about a millisecond), so a change is seen.
    # Otherwise the keyring library's own choice, which it makes once and caches.
    source = (f"the environment variable {ENV_BACKEND}={name!r}" if name else
              "the keyring library's configuration file (keyringrc.cfg)")
    try:
        backend = keyring.core.load_keyring(name) if name else keyring.core.get_keyring()
    except (ImportError, AttributeError, ValueError) as exc:
        raise SecretsUnavailable(Problem.NO_KEYRING, (
            f"No keyring is available: {source} names a keyring backend that cannot be"
            f" loaded ({type(exc).__name__}: {exc}). Remove that setting or name an installed"
            f" backend. {_HOW_TO_GET_ONE}"), account) from exc
    except Exception as exc:  # a backend's viability check failed (e.g. no daemon running)
        what = _FRIENDLY_NAMES.get(name, name) if name else f"the keyring chosen by {source}"
        raise SecretsUnavailable(Problem.NO_KEYRING, (
            f"No keyring is available: {what} cannot be used ({exc}). {_HOW_TO_GET_ONE}"),
            account) from exc
    if isinstance(backend, null.Keyring):
        raise SecretsUnavailable(Problem.DISABLED, (
            "Password storage is switched off: the keyring library is set to its 'null'"
            f" backend (by {ENV_BACKEND} or its keyringrc.cfg), which throws passwords away."
            " Remove that setting so Heard can use the system keyring."), account)
    if isinstance(backend, fail.Keyring) or (
            isinstance(backend, ChainerBackend) and not backend.backends):
        raise SecretsUnavailable(Problem.NO_KEYRING, _NO_KEYRING, account)
    return backend


def _describe(backend: KeyringBackend) -> str:
    if isinstance(backend, ChainerBackend):
        return " + ".join(_describe(b) for b in backend.backends) or "none"
    cls = type(backend)
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    name = _FRIENDLY_NAMES.get(qualified) or str(backend.name)
    if qualified == "keyring.backends.SecretService.Keyring":
        provider = _secret_service_provider()
        if provider:
            name = f"{name} ({provider})"
    return name


def _secret_service_provider() -> str | None:
    """The program that answers as the Secret Service on the session bus (Linux), if known."""
    try:
        from jeepney import MessageType  # type: ignore[import-untyped]
        from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
        from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

        with open_dbus_connection(bus="SESSION", auth_timeout=1.0) as conn:
            reply = conn.send_and_get_reply(
                message_bus.GetConnectionUnixProcessID(SECRET_SERVICE_BUS_NAME), timeout=1.0)
        if reply.header.message_type != MessageType.method_return:
            return None
        program = Path(f"/proc/{int(reply.body[0])}/exe").resolve().name
    except Exception:  # best effort: no bus, no /proc, another user's process, a sandbox
        return None
    return _PROVIDERS.get(program, program or None)


# -- words -------------------------------------------------------------------------------------


def _how_to_get_one() -> str:
    if sys.platform == "darwin":
        return ("On macOS Heard uses your login Keychain: check that Keychain Access opens it,"
                " then try again.")
    if sys.platform == "win32":
        return ("On Windows Heard uses the Credential Locker of your account: check that"
                " Credential Manager opens, then try again.")
    return ("On Linux install and start gnome-keyring (or KeePassXC with its Secret Service"
            " integration enabled, or KWallet) in your desktop session, then start Heard again.")


_HOW_TO_GET_ONE = _how_to_get_one()
_NO_KEYRING = ("No keyring is available: Heard keeps passwords only in the system keyring,"
               f" never in its own files. {_HOW_TO_GET_ONE}")
_LOCKED = ("The keyring is locked (or not yet created) and was not unlocked: the prompt was"
           " dismissed or could not be shown. Unlock your keyring (e.g. the 'login' keyring in"
           " Passwords and Keys / Seahorse, or your KeePassXC database) and try again.")
# Without a display the keyring's own prompt (gcr-prompter) cannot appear at all: a session
# over ssh, or a daemon that D-Bus started on demand outside the desktop. "Dismissed" would
# send the user looking for a window that never opened.
_LOCKED_NO_DISPLAY = (
    "The keyring is locked (or not yet created) and there is no display to show its unlock"
    " prompt on (neither DISPLAY nor WAYLAND_DISPLAY is set). Run Heard in your desktop session,"
    " or unlock the keyring first (for gnome-keyring: `gnome-keyring-daemon --unlock`, which"
    " reads the password from standard input).")


def _locked_words() -> str:
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return _LOCKED_NO_DISPLAY
    return _LOCKED


def _unavailable(exc: Exception, action: str, account: str, backend: KeyringBackend,
                 password: str | None = None) -> SecretsUnavailable:
    """One place that turns a backend's failure into words; ``password`` is scrubbed out."""
    if isinstance(exc, NoKeyringError):
        return SecretsUnavailable(Problem.NO_KEYRING, _NO_KEYRING, account)
    if isinstance(exc, KeyringLocked) or _prompt_dismissed(exc):
        return SecretsUnavailable(Problem.LOCKED, _locked_words(), account)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if password:
        detail = detail.replace(password, "***")
    hint = ("Check that the keyring is running and unlocked, then try again."
            if isinstance(exc, InitError | OSError) else
            "Try again; if it keeps failing, the keyring's own log may say more.")
    return SecretsUnavailable(Problem.FAILED, (
        f"The system keyring ({_describe(backend)}) could not {action} the password of"
        f" {account!r}: {detail}. {hint}"), account)


def _prompt_dismissed(exc: BaseException) -> bool:
    """SecretStorage reports a dismissed prompt as InitError caused by PromptDismissedException."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "PromptDismissedException":
            return True
        seen = seen.__cause__
    return False


def _cause(exc: BaseException, password: str) -> BaseException | None:
    """The exception to chain, unless its text would carry the password into a traceback."""
    seen: BaseException | None = exc
    while seen is not None:
        if password in str(seen):
            return None
        seen = seen.__cause__ or seen.__context__
    return exc


def _check_account(account: str) -> None:
    if not isinstance(account, str) or not account.strip():
        raise ValueError(f"an account name must be a non-empty string, not {account!r}")
