"""Real CalDAV servers on loopback, started by the tests themselves: Radicale and Xandikos.

One server of each kind runs per test session; each test gets its own user (Radicale,
which has accounts) or its own calendars (Xandikos, which has a single principal and no
authentication of its own), so tests never see each other's events. Tests that stop,
restart or reconfigure a server start their own. Adapted from the recipe in
../shared/recipes/servers.md (section 3).
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from tests.support.dovecot import free_port, wait_closed, wait_port

USERS = 300

RADICALE_CONF = """\
[server]
hosts = 127.0.0.1:{port}
{tls}
[auth]
type = htpasswd
htpasswd_filename = {d}/users
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {d}/collections
[logging]
level = info
"""


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


@dataclass(frozen=True)
class DavUser:
    """A CalDAV account: a name and password (both ignored by Xandikos) and its home."""
    name: str
    password: str
    server: DavServer

    @property
    def home(self) -> str:
        return self.server.home(self.name)

    def client(self, password: str | None = None, **kwargs: Any) -> Any:
        from caldav.davclient import DAVClient
        cert = self.server.cert
        kwargs.setdefault("ssl_verify_cert", str(cert) if cert else True)
        kwargs.setdefault("timeout", 10)
        return DAVClient(self.server.url, username=self.name,
                         password=self.password if password is None else password, **kwargs)

    def make_calendar(self, name: str) -> str:
        """A new, empty calendar collection (MKCALENDAR); returns its URL."""
        url = f"{self.home}{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set>"
            "</C:mkcalendar>")
        response = self.client().request(url, "MKCALENDAR", body)
        assert response.status == 201, (response.status, response.raw)
        return url

    def put(self, calendar_url: str, name: str, ics: str) -> str:
        """Create or replace one calendar object, as another calendar app would."""
        url = f"{calendar_url}{name}"
        response = self.client().put(url, ics, {"Content-Type": "text/calendar"})
        assert response.status in (201, 204), (response.status, response.raw)
        return url

    def delete(self, url: str) -> None:
        response = self.client().delete(url)
        assert response.status in (200, 204), (response.status, response.raw)


class DavServer:
    """Base of the two servers: a process in its own folder, on a free loopback port."""
    kind = ""
    has_auth = True

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"heard-{self.kind}-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)
        self.scheme = "http"
        self.cert: Path | None = None  # the CA file to trust, when served over TLS

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.dir / "server.log"

    def home(self, user: str) -> str:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> Self:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        try:
            wait_port(self.port, 20)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{self.kind} did not start: {self.log.read_text()[-2000:]}"
                               ) from None
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        wait_closed(self.port)  # until then a restart could not bind

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_user(self) -> DavUser:
        n = next(self._users)
        if n > USERS:
            raise RuntimeError(f"more than {USERS} CalDAV users in one test session")
        return DavUser(f"user{n}", "secret", self)


class Radicale(DavServer):
    """Radicale with htpasswd accounts user1..user300 (password 'secret'); optionally TLS
    with its own self-signed certificate (for 127.0.0.1) in `cert`."""
    kind = "radicale"

    def __init__(self, tls: bool = False) -> None:
        super().__init__()
        (self.dir / "users").write_text("".join(f"user{n}:secret\n"
                                                for n in range(1, USERS + 1)))
        tls_conf = ""
        if tls:
            self.scheme = "https"
            self.cert, key = make_certificate(self.dir)
            tls_conf = f"ssl = True\ncertificate = {self.cert}\nkey = {key}\n"
        (self.dir / "config").write_text(RADICALE_CONF.format(port=self.port, d=self.dir,
                                                               tls=tls_conf))

    def home(self, user: str) -> str:
        return f"{self.url}{user}/"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "radicale", "--config", str(self.dir / "config")]


class Xandikos(DavServer):
    """Xandikos serving one principal, /alice/; each test user is a folder of calendars
    under alice's calendar home (Xandikos has no accounts of its own)."""
    kind = "xandikos"
    has_auth = False

    def home(self, user: str) -> str:
        return f"{self.url}alice/calendars/{user}-"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "xandikos", "serve", "-l", "127.0.0.1",
                "-p", str(self.port), "-d", str(self.dir / "data"),
                "--state-dir", str(self.dir / "state"), "--defaults",
                "--current-user-principal", "/alice/", "--no-detect-systemd"]
