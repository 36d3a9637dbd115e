"""The 422 answers of both HTTP servers (edge API and HQ), defined once.

FastAPI's own validation answer echoes every input it refused: a 10 MB body came back as
10 MB. :func:`validation_error` keeps FastAPI's shape (``{"detail": [{"loc", "msg", "type",
"input"}]}``) but cuts each ``input`` to a short excerpt and lists at most
:data:`MAX_ERRORS` errors. :func:`unprocessable` documents a route's 422 that is either that
array or the route's own refusal with a message (``detail`` a string).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

EXCERPT = 80
"""Characters of a refused input sent back."""
MAX_ERRORS = 20


def excerpt(value: Any) -> str:
    if isinstance(value, bytes):
        text = value[: EXCERPT * 4].decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def short_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for error in list(errors)[:MAX_ERRORS]:
        item: dict[str, Any] = {
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", ""))[:300],
            "type": str(error.get("type", "")),
        }
        if "input" in error:
            item["input"] = excerpt(error["input"])
        out.append(item)
    return out


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": short_errors(exc.errors())}, status_code=422)


def unprocessable(description: str) -> dict[str, Any]:
    """OpenAPI of a 422 that is FastAPI's validation array or the route's own refusal."""
    problem = {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    }
    schema = {"anyOf": [{"$ref": "#/components/schemas/HTTPValidationError"}, problem]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NO_NUL = "^[^\\x00]*$"
"""PostgreSQL stores no NUL character: no id, filter or search text may hold one."""


class RefuseNul:
    """Pure ASGI: a NUL in the path or the query string is a 422 naming where, before any
    route reads it (a NUL reaching PostgreSQL was a 500). Bodies are checked by their models
    and, in a signed batch, per event."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            where = None
            if "\x00" in scope.get("path", ""):
                where = "path"
            elif "\x00" in unquote_plus(scope.get("query_string", b"").decode("latin-1")):
                where = "query"
            if where is not None:
                body = {
                    "detail": [
                        {"loc": [where], "msg": "NUL character not allowed", "type": "value_error"}
                    ]
                }
                await JSONResponse(body, status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def document_no_nul(app: FastAPI) -> None:
    """Say :class:`RefuseNul`'s rule in the OpenAPI: every free string parameter gets the
    :data:`NO_NUL` pattern, so clients and fuzzers know it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    found = parameter.get("schema", {})
                    for option in found.get("anyOf", [found]):
                        free = not ({"pattern", "format", "enum", "const"} & option.keys())
                        if option.get("type") == "string" and free:
                            option["pattern"] = NO_NUL
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class CountRefusals:
    """Pure ASGI: every 4xx answer, by route template (``unmatched`` before routing, e.g. a
    413 for a body over the limit) and status, handed to ``count``: what clients were
    refused must be visible in /metrics, not only logged. Outermost, so that it sees the
    refusals of the other middleware too."""

    def __init__(self, app: Any, count: Callable[[str, str], None]) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                where = getattr(scope.get("route"), "path", "unmatched")
                self.count(where, str(message["status"]))
            await send(message)

        await self.app(scope, receive, counting)
