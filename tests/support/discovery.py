"""The world account discovery looks at, on loopback: a real DNS server (dnsmasq, run
unprivileged on a high port, never touching /etc/resolv.conf) holding the test domains'
SRV, TXT, MX and A records, and an HTTPS server for autoconfig files that answers by the
Host it is asked for, with a certificate for those names (its own CA file, which the
tests trust through heard.setup.discover.Network).

The test domains (all under .test, which dnsmasq answers alone: `--local=/test/`):

- example.test (and every name under it, autoconfig.example.test too): 127.0.0.1; its
  autoconfig file is what a test puts in `AutoconfigServer.files["autoconfig.example.test"]`
- wellknown.test: 127.0.0.1, no autoconfig.wellknown.test: the .well-known file
- srv.test: RFC 6186 and RFC 6764 SRV records (SRV_TEST), and a TXT path for CalDAV
- m365.test, workspace.test: MX records at Microsoft 365 and Google Workspace
- nothing.test: an MX record at a host no provider Heard knows
"""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dovecot import free_port

# What srv.test's SRV records say (dnsmasq: name,target,port,priority,weight).
SRV_RECORDS = (
    "_imaps._tcp.srv.test,backup-imap.srv.test,993,20,0",
    "_imaps._tcp.srv.test,imap.srv.test,993,10,0",
    "_imap._tcp.srv.test,starttls.srv.test,143,0,0",
    "_submission._tcp.srv.test,smtp.srv.test,587,10,0",
    "_caldavs._tcp.srv.test,dav.srv.test,8443,0,0",
)
HTTPS_NAMES = ("autoconfig.example.test", "example.test", "wellknown.test",
               "autoconfig.wellknown.test")


class DnsServer:
    """dnsmasq on 127.0.0.1:`port`, answering for the test domains only."""

    def __init__(self) -> None:
        binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="heard-dns-"))
        args = [binary, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                "--pid-file=", "--local=/test/", "--log-facility=-",
                "--address=/example.test/127.0.0.1",
                "--host-record=wellknown.test,127.0.0.1",
                *(f"--srv-host={r}" for r in SRV_RECORDS),
                "--txt-record=_caldavs._tcp.srv.test,path=/dav/calendars/",
                "--mx-host=m365.test,m365-test.mail.protection.outlook.com,0",
                "--mx-host=workspace.test,aspmx.l.google.com,1",
                "--mx-host=workspace.test,alt1.aspmx.l.google.com,5",
                "--mx-host=nothing.test,mx.nothing.test,10"]
        if os.geteuid() == 0:
            args.append("--user=root")   # no change of user: nothing to drop to here
        self.log = (self.dir / "dnsmasq.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        import dns.exception
        import dns.message
        import dns.query

        deadline = time.monotonic() + 10
        while True:
            try:
                query = dns.message.make_query("wellknown.test", "A")
                dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.5)
                return
            except (OSError, dns.exception.Timeout) as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dnsmasq did not start: " + (
                        self.dir / "dnsmasq.log").read_text(errors="replace")) from exc

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class AutoconfigServer:
    """HTTPS on 127.0.0.1:`port` for every name in HTTPS_NAMES; `files` maps a Host to the
    body it serves at any path (404 for a Host without one); `requests` lists (host, path)
    as asked."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="heard-autoconfig-"))
        self.ca_file = self.dir / "cert.pem"
        key = self.dir / "key.pem"
        names = ",".join(f"DNS:{n}" for n in HTTPS_NAMES)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(self.ca_file), "-days", "2", "-subj", "/CN=example.test",
             "-addext", f"subjectAltName={names}"], check=True, capture_output=True)
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                server.requests.append((host, self.path))
                body = server.files.get(host)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


class DiscoveryWorld:
    """The DNS and HTTPS servers together, and the environment that points Heard at them."""

    def __init__(self, dns: DnsServer, https: AutoconfigServer) -> None:
        self.dns, self.https = dns, https

    @property
    def env(self) -> dict[str, str]:
        return {"HEARD_DNS_SERVER": f"127.0.0.1:{self.dns.port}",
                "HEARD_DISCOVERY_CA_FILE": str(self.https.ca_file),
                "HEARD_DISCOVERY_HTTPS_PORT": str(self.https.port)}


@pytest.fixture(scope="session")
def discovery_world() -> Iterator[DiscoveryWorld]:
    dns_server = DnsServer()
    https = AutoconfigServer()
    try:
        yield DiscoveryWorld(dns_server, https)
    finally:
        https.close()
        dns_server.close()


@pytest.fixture
def discovery(discovery_world: DiscoveryWorld, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[DiscoveryWorld]:
    """The session's world, with the environment set for this test and no files served."""
    for key, value in discovery_world.env.items():
        monkeypatch.setenv(key, value)
    discovery_world.https.files.clear()
    discovery_world.https.requests.clear()
    yield discovery_world
    discovery_world.https.files.clear()
