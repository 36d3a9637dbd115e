"""The edge's HTTP client for headquarters: every request signed with the store's key.

The signature covers the timestamp, the method, the path as the server sees it (with the query
string) and the exact body bytes sent (after gzip), see :mod:`cloud_sync.protocol`.
"""

from __future__ import annotations

import httpx

from cloud_sync import protocol
from edge.clock import Clock, SystemClock
from edge.config.sync import SyncConfig


class HqClient:
    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret: str,
        *,
        timeout_s: float = 30.0,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key_id = key_id
        self._secret = secret
        self._clock = clock or SystemClock()
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, transport=transport, follow_redirects=False
        )

    @classmethod
    def from_config(cls, config: SyncConfig, clock: Clock | None = None) -> HqClient:
        if not (config.hq_url and config.api_key_id):
            raise ValueError("sync -> hq_url and sync -> api_key_id are required to reach HQ")
        return cls(
            config.hq_url,
            config.api_key_id,
            config.secret(),
            timeout_s=config.timeout_s,
            clock=clock,
        )

    def close(self) -> None:
        self._http.close()

    def _signed(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> httpx.Request:
        request = self._http.build_request(method, url, content=body or None, headers=headers)
        if request.url.host == self._http.base_url.host:  # never hand our key to a CDN
            timestamp = self._clock.now_ms() // 1000
            path = request.url.raw_path.decode("ascii")
            request.headers[protocol.HEADER_KEY_ID] = self._key_id
            request.headers[protocol.HEADER_TIMESTAMP] = str(timestamp)
            request.headers[protocol.HEADER_SIGNATURE] = protocol.sign(
                self._secret, timestamp, method, path, body
            )
        return request

    def post_events(self, store_id: str, body_gzip: bytes) -> httpx.Response:
        path = protocol.EVENTS_PATH.format(store_id=store_id)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._http.send(self._signed("POST", path, body_gzip, headers))

    def post_json(self, url: str, body: bytes) -> httpx.Response:
        return self._http.send(
            self._signed("POST", url, body, {"Content-Type": "application/json"})
        )

    def get(self, url: str, *, etag: str | None = None) -> httpx.Response:
        headers = {"If-None-Match": etag} if etag else {}
        return self._http.send(self._signed("GET", url, b"", headers))

    def get_stream(self, url: str) -> httpx.Response:
        """A streamed GET (large downloads); the caller must close the response."""
        return self._http.send(self._signed("GET", url, b"", {}), stream=True)
