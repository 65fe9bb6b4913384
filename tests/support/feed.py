"""An .ics feed served over HTTP(S) on loopback, for the subscription tests."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading
from email.utils import formatdate
from pathlib import Path

from tests.support.calendar import one_file
from tests.support.dav import make_certificate


class Feed:
    """A calendar feed: what it serves, with which validators, and what it was asked."""

    def __init__(self) -> None:
        self.body = one_file().encode()
        self.status = 200
        self.content_type = "text/calendar"
        self.etags = True
        self.modified = formatdate(1_780_000_000, usegmt=True)
        self.requests: list[dict[str, str]] = []
        feed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests.append(dict(self.headers))
                etag = '"' + hashlib.sha1(feed.body).hexdigest() + '"'
                fresh = (self.headers.get("If-None-Match") == etag if feed.etags
                         else self.headers.get("If-Modified-Since") == feed.modified)
                if feed.status != 200:
                    self.send_response(feed.status)
                    self.end_headers()
                    return
                if fresh:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", feed.content_type)
                if feed.etags:
                    self.send_header("ETag", etag)
                self.send_header("Last-Modified", feed.modified)
                self.send_header("Content-Length", str(len(feed.body)))
                self.end_headers()
                self.wfile.write(feed.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.scheme = "http"

    def use_tls(self, folder: Path) -> Path:
        cert, key = make_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https"
        return cert

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/cal.ics"

    def serve(self) -> None:
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
