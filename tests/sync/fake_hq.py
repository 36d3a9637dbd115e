"""A small HTTP server standing in for headquarters at the I/O seam, for the uploader's retry,
Retry-After and dead-letter logic (the real ``o2o-hq`` is exercised in test_sync_hq.py).
It checks every signature with :mod:`cloud_sync.protocol` and answers from a script."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloud_sync import protocol

Answer = tuple[int, dict[str, str], Any]
Responder = Callable[[list[dict[str, Any]]], Answer]


def all_stored(events: list[dict[str, Any]]) -> Answer:
    results = [{"event_id": e["event_id"], "status": "stored", "detail": ""} for e in events]
    return 200, {}, {"results": results, "stored": len(events), "duplicates": 0, "rejected": 0}


@dataclass
class FakeHq:
    secret: str
    script: list[Responder] = field(default_factory=list)
    default: Responder = all_stored
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    bad_signatures: int = 0
    gets: dict[str, Answer] = field(default_factory=dict)
    get_paths: list[tuple[str, str | None]] = field(default_factory=list)
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer_post(self, events: list[dict[str, Any]]) -> Answer:
        self.batches.append(events)
        responder = self.script.pop(0) if self.script else self.default
        return responder(events)


def _handler(fake: FakeHq) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _signed(self, body: bytes) -> bool:
            try:
                ts = int(self.headers[protocol.HEADER_TIMESTAMP])
                ok = protocol.signature_valid(
                    fake.secret,
                    ts,
                    self.command,
                    self.path,
                    body,
                    self.headers[protocol.HEADER_SIGNATURE],
                )
            except (TypeError, ValueError):
                ok = False
            if not ok:
                fake.bad_signatures += 1
                self._reply(401, {}, {"detail": "Bad signature"})
            return ok

        def _reply(self, status: int, headers: dict[str, str], body: Any) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if not self._signed(body):
                return
            if self.path.endswith("/confirmations"):
                fake.confirmations.append(json.loads(body))
                self._reply(204, {}, b"")
                return
            assert self.headers["Content-Encoding"] == "gzip"
            events = json.loads(gzip.decompress(body))["events"]
            self._reply(*fake.answer_post(events))

        def do_GET(self) -> None:
            if not self._signed(b""):
                return
            fake.get_paths.append((self.path, self.headers.get("If-None-Match")))
            status, headers, body = fake.gets.get(self.path, (404, {}, {"detail": "Not found"}))
            etag = headers.get("ETag")
            if status == 200 and etag and etag == self.headers.get("If-None-Match"):
                self._reply(304, headers, b"")
                return
            self._reply(status, headers, body)

    return Handler


@contextmanager
def serve_fake_hq(secret: str) -> Iterator[FakeHq]:
    fake = FakeHq(secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
