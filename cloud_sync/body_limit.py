"""Request bodies bounded before they are buffered, for both servers (edge and HQ).

A pure ASGI middleware (not ``BaseHTTPMiddleware``, which buffers and breaks streaming): a
``Content-Length`` over the limit is refused with 413 before the application runs; a chunked
(or lying) body is counted as it is received and refused as soon as it passes the limit, so
that the rest is never read. Routes that take photos or models get larger limits by rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class RouteLimit:
    """Bodies of ``method`` requests whose path matches ``path`` (a regular expression,
    matched whole) may be up to ``max_bytes``."""

    method: str
    path: str
    max_bytes: int


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit. An ``HTTPException`` so
    that FastAPI answers 413 even when it is reading the body itself (it turns any other error
    while parsing a body into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._routes = [
            (route.method.upper(), re.compile(route.path), route.max_bytes) for route in routes
        ]

    def limit_for(self, method: str, path: str) -> int:
        for route_method, pattern, max_bytes in self._routes:
            if route_method == method and pattern.fullmatch(path):
                return max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > limit):
            await _refuse(send, 413 if declared >= 0 else 400, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyTooLarge:
            # Raised where no handler turned it into a response (a raw ASGI route, a
            # background read): answer here if the response has not begun.
            if started:
                raise
            await _refuse(send, 413, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _refuse(send: Send, status: int, limit: int) -> None:
    detail = f"Request body larger than {limit} bytes" if status == 413 else "Bad Content-Length"
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            # The rest of the body is never read: the connection cannot be reused.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
