"""IMAP: connecting safely, and reading what is new in a folder at the least cost.

Heard only ever reads: folders are opened read-only (EXAMINE) and bodies are fetched
with BODY.PEEK, so nothing Heard does marks mail as read. What was seen is remembered as
a FolderState (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ), so a re-sync of an unchanged folder
is one STATUS command, and new mail is fetched by UID.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from heard.domain.hosts import is_loopback
from heard.mail import oauth
from heard.mail.imap.fetching import Parts, read_fetches, uid_ranges
from heard.mail.oauth import Bearer

log = logging.getLogger(__name__)

# A server that takes longer than this to answer one command is treated as gone.
TIMEOUT = 30.0
BATCH = 500
# Enough of the text for a preview, a voicemail's caller or a contact form's fields.
TEXT_BYTES = 16_384


class Security(StrEnum):
    TLS = "tls"              # implicit TLS (IMAPS, usually port 993)
    STARTTLS = "starttls"    # plain connection upgraded before login (usually port 143)
    PLAIN = "plain"          # no encryption: only to this machine, and only when asked


DEFAULT_PORTS = {Security.TLS: 993, Security.STARTTLS: 143, Security.PLAIN: 143}


class Problem(StrEnum):
    AUTH = "auth"
    TLS = "tls"
    UNREACHABLE = "unreachable"
    PROTOCOL = "protocol"
    FOLDER = "folder"


class ImapError(Exception):
    """A failure told in words a user understands; `problem` says what kind it is."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    security: Security
    username: str
    ca_file: Path | None = None


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates and host names are always verified; a CA file adds trust, never removes
    checks (for servers with their own certificate authority). One context per CA file:
    loading the system's trust store costs ~20 ms, and a context is safe to share."""
    try:
        return _context(str(ca_file) if ca_file is not None else None,
                        _mtime(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise ImapError(Problem.TLS, f"cannot read the CA file {ca_file}: {exc}") from exc


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns   # a replaced CA file is read again
    except OSError:
        return None


@functools.lru_cache(maxsize=8)
def _context(ca_file: str | None, _stamp: int | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


def _tls_problem(server: ServerSettings, exc: ssl.SSLError) -> ImapError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ImapError(Problem.TLS, (
            f"the certificate of {server.host} is not trusted ({exc.verify_message}). If the"
            " server uses its own certificate authority, give its CA file with --ca-file;"
            " Heard never turns verification off"))
    if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc):
        return ImapError(Problem.TLS, (
            f"{server.host}:{server.port} does not speak TLS directly; try --security "
            "starttls, or port 993 for IMAPS"))
    return ImapError(Problem.TLS, f"TLS with {server.host} failed: {exc.reason or exc}")


def _network_problem(server: ServerSettings, exc: OSError) -> ImapError:
    where = f"{server.host}:{server.port}"
    if isinstance(exc, socket.gaierror):
        return ImapError(Problem.UNREACHABLE, (
            f"cannot find the server {server.host!r} (check the name and your network)"))
    if isinstance(exc, ConnectionRefusedError):
        return ImapError(Problem.UNREACHABLE, (
            f"{where} refused the connection (is the server running, and is the port right?)"))
    if isinstance(exc, TimeoutError):
        return ImapError(Problem.UNREACHABLE, f"{where} did not answer in time")
    return ImapError(Problem.UNREACHABLE, f"lost the connection to {where} ({exc})")


def connect(server: ServerSettings, password: str | Bearer,
            timeout: float = TIMEOUT) -> Connection:
    """A logged-in connection, or an ImapError that says what went wrong. With a Bearer
    (an OAuth2 access token) the login is OAUTHBEARER or XOAUTH2 (heard.mail.oauth)."""
    import imapclient  # ~30 ms of imports, kept off the tray's start-up path
    from imapclient.exceptions import IMAPClientError, LoginError

    if server.security is Security.PLAIN and not is_loopback(server.host):
        raise ImapError(Problem.TLS, (
            f"refusing to send a password in clear text to {server.host}: plain IMAP is only"
            " allowed to this machine; use --security tls or starttls"))
    context = tls_context(server.ca_file)
    client = None
    try:
        client = imapclient.IMAPClient(server.host, port=server.port,
                                       ssl=server.security is Security.TLS,
                                       ssl_context=context, timeout=timeout)
        if server.security is Security.STARTTLS:
            if not client.has_capability("STARTTLS"):
                raise ImapError(Problem.TLS, (
                    f"{server.host} does not offer STARTTLS, so the password could not be"
                    " sent safely; try --security tls (port 993)"))
            client.starttls(context)
        _keepalive(client)
        try:
            if isinstance(password, Bearer):
                oauth.imap_login(client, password)
            else:
                client.login(server.username, password)
        except oauth.NoOAuthLogin as exc:
            raise ImapError(Problem.AUTH, f"{server.host}: {exc}") from exc
        except LoginError as exc:
            if isinstance(password, Bearer):
                raise ImapError(Problem.AUTH, oauth.REFUSED) from exc
            raise ImapError(Problem.AUTH, (
                f"{server.host} refused the login for {server.username!r}: wrong user name"
                " or password (update it with `heard account add` again)")) from exc
        client.normalise_times = False
        return Connection(client, server)
    except ImapError:
        _close_quietly(client)
        raise
    except ssl.SSLError as exc:
        _close_quietly(client)
        raise _tls_problem(server, exc) from exc
    except OSError as exc:
        _close_quietly(client)
        raise _network_problem(server, exc) from exc
    except IMAPClientError as exc:
        _close_quietly(client)
        raise ImapError(Problem.PROTOCOL, f"{server.host} answered unexpectedly: {exc}") from exc


class Dial:
    """A connection being made on a thread of its own, which the thread that waits for it
    can be told to stop waiting for (`give_up`, from another thread). A login begun just
    before the machine slept waits on a dead connection until TIMEOUT (nothing can
    interrupt a connect, a TLS handshake or a greeting in progress); after the wake the
    worker and the watcher give such an attempt up and dial again at once, leaving it to
    end by itself (a connection it makes after all is logged out)."""

    def __init__(self, connect: Callable[[], Connection], name: str = "imap-dial") -> None:
        self._connect = connect
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._given_up = False
        self._conn: Connection | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:  # handed to the waiting thread
            with self._lock:
                self._error = exc
        else:
            with self._lock:
                late = self._given_up
                if not late:
                    self._conn = conn
            if late:
                conn.close()
        finally:
            self._done.set()

    def give_up(self) -> None:
        """The waiting thread stops waiting (`wait` returns None), now."""
        with self._lock:
            self._given_up = True
            conn, self._conn = self._conn, None
        self._done.set()
        if conn is not None:   # made, not yet taken: may be from before the sleep
            conn.abort()

    @property
    def given_up(self) -> bool:
        return self._given_up

    def wait(self) -> Connection | None:
        """The connection, None if given up, or the connect's own error raised."""
        self._done.wait()
        with self._lock:
            if self._given_up:
                return None
            if self._error is not None:
                raise self._error
            conn, self._conn = self._conn, None
        assert conn is not None
        return conn


def _keepalive(client: object) -> None:
    """Notice a dead connection (sleep, network change) within about two minutes, even
    while idling, instead of waiting for the next IDLE renewal."""
    sock = getattr(client, "socket", lambda: None)()
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:
        pass


def _close_quietly(client: object) -> None:
    if client is None:
        return
    with contextlib.suppress(Exception):  # already gone
        client.shutdown()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None


@dataclass(frozen=True)
class Fetched:
    uid: int
    header: bytes
    text: bytes                # the start of the body, when it was asked for
    arrived: datetime          # INTERNALDATE: when the server received it
    flags: frozenset[str]

    @property
    def raw(self) -> bytes:
        return self.header + self.text


@dataclass(frozen=True)
class FolderDelta:
    folder: str
    state: FolderState
    new: list[Fetched]
    answered: list[int]        # UIDs already known whose \\Answered flag is now set
    reset: bool = False        # UIDVALIDITY changed: everything known is stale
    unchanged: bool = False    # one STATUS said nothing happened
    # The flags of known messages that changed (keywords other devices of the user set).
    flags: dict[int, frozenset[str]] = field(default_factory=dict)


Progress = Callable[[str, int, int], None]


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None


class Connection:
    """One logged-in IMAP connection. Not thread-safe: one thread uses it at a time."""

    def __init__(self, client: object, server: ServerSettings) -> None:
        self._client = client
        self.server = server
        # imapclient sets imaplib's debug level to 5, so imaplib formats a repr of every
        # line and literal it reads for a logger Heard keeps quiet anyway (heard.system.log):
        # ~0.5 s of a first sync of 10,000 messages. Off: nothing is formatted.
        imap = getattr(client, "_imap", None)
        if imap is not None:
            imap.debug = 0
        self._sent: dict[str, str | None] = {}
        # Each folder's state as the last sync_folder on this connection saw it: the
        # watcher IDLEs on a connection lent to the catch-up sync, and compares.
        self.seen: dict[str, FolderState] = {}
        caps = {c.decode().upper() if isinstance(c, bytes) else str(c).upper()
                for c in self._c.capabilities()}
        self.capabilities = frozenset(caps)
        self.condstore = "CONDSTORE" in caps or "QRESYNC" in caps
        if self.condstore:
            try:
                self._c.enable("CONDSTORE")
            except Exception:  # a server that lists but refuses it: do without
                self.condstore = False

    @property
    def _c(self):  # type: ignore[no-untyped-def]  # imapclient is untyped
        return self._client

    @property
    def idle(self) -> bool:
        return "IDLE" in self.capabilities

    def close(self) -> None:
        try:
            self._c.logout()
        except Exception:
            _close_quietly(self._client)

    def abort(self) -> None:
        """Wake a thread blocked in IDLE on this connection (from another thread)."""
        with contextlib.suppress(OSError):
            self._c.socket().shutdown(socket.SHUT_RDWR)

    def _guard(self) -> _Guard:
        return _Guard(self.server)

    def find_sent(self, configured: str = "") -> str | None:
        """The Sent folder: as configured, else the one the server flags \\Sent, else by
        its usual names ("Sent", "Sent Items", "[Gmail]/Sent Mail" ...)."""
        if configured in self._sent:  # folders rarely move: once per connection
            return self._sent[configured]
        with self._guard():
            if configured:
                found = configured if self._c.folder_exists(configured) else None
            else:
                from imapclient.imapclient import SENT

                special = self._c.find_special_folder(SENT)
                found = str(special) if special else None
        self._sent[configured] = found
        return found

    def has_message(self, folder: str, message_id: str) -> bool:
        """Whether a message with this Message-ID is in the folder (the outbox asks Sent
        this after a crash: a copy there proves it was sent)."""
        with self._guard():
            self._c.select_folder(folder, readonly=True)
            try:
                found = self._c.search(["HEADER", "Message-ID", message_id])
            finally:
                self._leave_folder()
        return bool(found)

    def fetch_message(self, folder: str, message_id: str, limit: int = 25 << 20
                      ) -> bytes | None:
        """The whole message with this Message-ID (to forward it), without marking it read;
        None when it is not there or larger than `limit`."""
        with self._guard():
            self._c.select_folder(folder, readonly=True)
            try:
                uids = self._c.search(["HEADER", "Message-ID", message_id])
                if not uids:
                    return None
                size = self._c.fetch(uids[:1], ["RFC822.SIZE"]).get(uids[0], {})
                if int(size.get(b"RFC822.SIZE", 0)) > limit:
                    return None
                data = self._c.fetch(uids[:1], ["BODY.PEEK[]"]).get(uids[0], {})
            finally:
                self._leave_folder()
        raw = data.get(b"BODY[]")
        return bytes(raw) if raw else None

    def append(self, folder: str, raw: bytes, when: datetime | None = None) -> None:
        """File a message Heard sent (marked read, as mail clients file their own)."""
        with self._guard():
            self._c.append(folder, raw, flags=[b"\\Seen"], msg_time=when)

    def folder_exists(self, folder: str) -> bool:
        with self._guard():
            return bool(self._c.folder_exists(folder))

    def status(self, folder: str) -> FolderState:
        what = [b"UIDVALIDITY", b"UIDNEXT"] + ([b"HIGHESTMODSEQ"] if self.condstore else [])
        with self._guard():
            info = self._c.folder_status(folder, what)
        return FolderState(int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"]),
                           _int(info.get(b"HIGHESTMODSEQ")))

    def sync_folder(self, folder: str, previous: FolderState | None, since: date,
                    wants_text: Callable[[int, bytes], bool], watch_uids: Iterable[int] = (),
                    progress: Progress | None = None,
                    on_batch: Callable[[list[Fetched]], None] | None = None) -> FolderDelta:
        """What is new in `folder` since `previous` (None: a first look, back to `since`).

        `wants_text(uid, header)` says which messages need the start of their text too;
        `watch_uids` are known messages whose \\Answered flag matters. `on_batch` is
        handed each batch of new messages as soon as it is fetched (to parse them while
        the next is fetched); an exception it raises ends the fetch.
        """
        watch = sorted(set(watch_uids))
        if previous is not None and (previous.highestmodseq is not None or not watch):
            now = self.status(folder)
            if now == previous:
                self.seen[folder] = now
                return FolderDelta(folder, now, [], [], unchanged=True)
        with self._guard():
            info = self._c.select_folder(folder, readonly=True)
            state = FolderState(int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT") or 0),
                                _int(info.get(b"HIGHESTMODSEQ")))
            reset = previous is not None and previous.uidvalidity != state.uidvalidity
            if previous is None or reset:
                uids = sorted(self._c.search(["SINCE", since]))
                watch = []
            elif state.uidnext > previous.uidnext:
                uids = [u for u in self._c.search(["UID", f"{previous.uidnext}:*"])
                        if u >= previous.uidnext]
            else:
                uids = []
            try:
                new = list(self._fetch(folder, sorted(uids), wants_text, progress, on_batch))
            except Exception:
                # Not the server's doing (on_batch failed): the connection stays usable.
                with contextlib.suppress(Exception):
                    self._leave_folder()
                raise
            if uids and max(uids) + 1 > state.uidnext:
                # Mail that arrived between SELECT and SEARCH is fetched now: do not fetch
                # it again next time.
                state = FolderState(state.uidvalidity, max(uids) + 1, state.highestmodseq)
            flags = self._changed_flags(watch, previous) if watch and previous else {}
            answered = sorted(uid for uid, f in flags.items()
                              if "\\ANSWERED" in {x.upper() for x in f})
            # STATUS on a selected folder answers from the session's stale view.
            self._leave_folder()
        self.seen[folder] = state
        return FolderDelta(folder, state, new, answered, reset=reset, flags=flags)

    def _leave_folder(self) -> None:
        if "UNSELECT" in self.capabilities:
            self._c.unselect_folder()
        else:  # CLOSE expunges nothing on a folder opened read-only
            self._c.close_folder()

    def _fetch(self, folder: str, uids: list[int], wants_text: Callable[[int, bytes], bool],
               progress: Progress | None,
               on_batch: Callable[[list[Fetched]], None] | None = None) -> Iterator[Fetched]:
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            heads = self._fetch_raw(batch, b"(BODY.PEEK[HEADER] INTERNALDATE FLAGS)",
                                    (b"BODY[HEADER]",))
            want = [uid for uid in batch if uid in heads
                    and wants_text(uid, heads[uid].bodies[b"BODY[HEADER]"])]
            texts = self._fetch_raw(want, b"(BODY.PEEK[TEXT]<0.%d>)" % TEXT_BYTES,
                                    (b"BODY[TEXT]<0>",)) if want else {}
            done: list[Fetched] = []
            for uid in batch:
                data = heads.get(uid)
                if data is None:  # expunged meanwhile
                    continue
                text = texts.get(uid)
                body = next((v for k, v in text.bodies.items() if k.startswith(b"BODY[TEXT]")),
                            b"") if text is not None else b""
                arrived = data.arrived
                if arrived is None:
                    arrived = datetime.now(UTC)
                elif arrived.tzinfo is None:
                    arrived = arrived.replace(tzinfo=UTC)
                done.append(Fetched(uid, data.bodies[b"BODY[HEADER]"], body, arrived,
                                    data.flags))
            if on_batch is not None:
                on_batch(done)
            yield from done
            if progress is not None:
                progress(folder, min(start + BATCH, len(uids)), len(uids))

    def _fetch_raw(self, uids: list[int], items: bytes, names: tuple[bytes, ...]
                   ) -> dict[int, Parts]:
        """`UID FETCH uids items`, its answers read by heard.mail.imap.fetching (not
        imapclient's general parser: half the cost of a first sync's fetch)."""
        imap = self._c._imap
        imap.untagged_responses.pop("FETCH", None)
        typ, data = self._c._raw_command(b"FETCH", [uid_ranges(uids), items])
        answers = imap.untagged_responses.pop("FETCH", [])
        if typ != "OK":
            text = data[0].decode(errors="replace") if data and isinstance(data[0], bytes) \
                else typ
            raise ImapError(Problem.PROTOCOL, f"{self.server.host} refused to fetch: {text}")
        return read_fetches(answers, names)

    def _changed_flags(self, watch: list[int], previous: FolderState
                       ) -> dict[int, frozenset[str]]:
        """The flags of known messages that changed since last time: \\Answered set by a
        phone or webmail, keywords set by the user's other Heard devices."""
        if self.condstore and previous.highestmodseq is not None:
            data = self._c.fetch(watch, ["FLAGS"],
                                 modifiers=[f"CHANGEDSINCE {previous.highestmodseq}"])
        else:
            data = self._c.fetch(watch, ["FLAGS"])
        return {uid: _flags(item.get(b"FLAGS", ())) for uid, item in data.items()}

    # push

    def start_idle(self, folder: str) -> FolderState:
        """Open `folder` read-only and wait in IDLE (see wait, end_idle, renew_idle); the
        folder's state as it was opened."""
        with self._guard():
            info = self._c.select_folder(folder, readonly=True)
            self._c.idle()
        return FolderState(int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT") or 0),
                           _int(info.get(b"HIGHESTMODSEQ")))

    def wait(self, timeout: float) -> bool:
        """Block in IDLE until the server says something (True) or `timeout` passes."""
        with self._guard():
            responses = self._c.idle_check(timeout=timeout)
        return self._meaningful(responses)

    def end_idle(self) -> bool:
        """Leave IDLE; True if the server reported a change on the way out."""
        with self._guard():
            _text, responses = self._c.idle_done()
        return self._meaningful(responses)

    def renew_idle(self) -> None:
        with self._guard():
            self._c.idle()

    def _meaningful(self, responses: list[object]) -> bool:
        changed = False
        for response in responses:
            if not isinstance(response, tuple) or not response:
                continue
            if response[0] == b"BYE":
                raise ImapError(Problem.UNREACHABLE, f"{self.server.host} closed the session")
            # EXISTS, EXPUNGE, FETCH (flags), VANISHED: anything but "still here" chatter.
            if response[0] != b"OK":
                changed = True
        return changed

    def noop(self) -> None:
        with self._guard():
            self._c.noop()


def _flags(raw: Iterable[object]) -> frozenset[str]:
    return frozenset(f.decode(errors="replace") if isinstance(f, bytes) else str(f)
                     for f in raw)


class _Guard:
    """Turns socket, TLS and protocol failures mid-session into ImapError."""

    def __init__(self, server: ServerSettings) -> None:
        self.server = server

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if exc is None or isinstance(exc, ImapError):
            return
        from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

        if isinstance(exc, ssl.SSLError):
            raise _tls_problem(self.server, exc) from exc
        if isinstance(exc, OSError):
            raise _network_problem(self.server, exc) from exc
        if isinstance(exc, IMAPClientAbortError):
            raise ImapError(Problem.UNREACHABLE,
                            f"lost the connection to {self.server.host} ({exc})") from exc
        if isinstance(exc, IMAPClientError):
            text = str(exc)
            problem = Problem.FOLDER if "select" in text.lower() else Problem.PROTOCOL
            raise ImapError(problem, f"{self.server.host}: {text}") from exc
