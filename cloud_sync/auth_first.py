"""Authentication before the body, on both servers (issue 11, area 3).

FastAPI reads a request's body before it solves the route's dependencies, the bearer-token
check among them: a client without a valid token could make a route read up to the body limit
before hearing 401. :class:`AuthFirst` is a pure ASGI middleware that answers 401 before any
body byte is read, for the routes whose dependencies require the bearer token (found
in the app's OpenAPI description), when the token is missing or not valid.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

TokenCheck = Callable[[FastAPI, str], Awaitable[bool]]
"""True when the bearer token is valid (any role: the route still checks the role)."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Protected:
    method: str
    path: str
    """The OpenAPI path template, e.g. ``/api/v1/members/{member_id}``."""
    pattern: re.Pattern[str]


def protected_routes(app: FastAPI, scheme: str) -> list[Protected]:
    """The operations taking a body that require the bearer ``scheme``, from the app's own
    OpenAPI description (what every route's dependencies declare)."""
    found = []
    for path, operations in app.openapi().get("paths", {}).items():
        regex = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        for method, operation in operations.items():
            schemes = {name for entry in operation.get("security", []) for name in entry}
            if method.upper() in _BODY_METHODS and scheme in schemes:
                found.append(Protected(method.upper(), path, regex))
    return found


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class AuthFirst:
    def __init__(
        self, app: ASGIApp, *, fastapi: FastAPI, valid: TokenCheck, scheme: str = "HTTPBearer"
    ) -> None:
        self.app = app
        self._fastapi = fastapi
        self._scheme = scheme
        self._valid = valid
        self._routes: list[Protected] | None = None

    def _protected(self, method: str, path: str) -> Protected | None:
        if self._routes is None:  # the routes exist once the app serves
            self._routes = protected_routes(self._fastapi, self._scheme)
        for route in self._routes:
            if route.method == method and route.pattern.match(path):
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self._protected(scope["method"], scope["path"])
            if scope["type"] == "http" and scope["method"] in _BODY_METHODS
            else None
        )
        if route is not None:
            token = bearer_token(scope)
            if token is None or not await self._valid(self._fastapi, token):
                detail = "Not authenticated" if token is None else "Invalid token"
                response = JSONResponse(
                    {"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
                scope["route"] = route  # refusals are counted by route (its ``path``)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
