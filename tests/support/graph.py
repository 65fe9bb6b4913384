"""A recorded-fixture server for Microsoft Graph: a local HTTP server replaying responses
recorded from Microsoft Graph documentation (see tests/calendar/test_graph.py for the pages
they come from). It is a stand-in for the service, which cannot run here; not a Graph
implementation."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class RecordedGraph:
    """Recorded from Microsoft Graph documentation: replays `pages` (path and query ->
    [(status, headers, body)], each answer used once, the last one kept), and records
    every request's path and Authorization header."""

    def __init__(self) -> None:
        self.pages: dict[str, list[tuple[int, dict[str, str], Any]]] = {}
        self.asked: list[tuple[str, str]] = []
        graph = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                graph.asked.append((self.path, self.headers.get("Authorization", "")))
                # "window": the answer to a first request of any window (a test's clock
                # is not the command line's)
                first = self.path.startswith("/v1.0/me/calendarView/delta?startDateTime=")
                answers = graph.pages.get(self.path) or (
                    graph.pages.get("window") if first else None) or [(404, {}, {"error": {
                    "code": "ErrorItemNotFound", "message": "not recorded"}})]
                status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/v1.0"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def link(self, query: str) -> str:
        return f"{self.base}/me/calendarView/delta?{query}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
