"""Live events over WebSocket: ``/api/v1/ws?token=...`` (browsers cannot set headers on a
WebSocket), or the token in a first message ``{"token": "..."}``.

Messages are the events' own JSON (``{"type": "tryon.started", ...}``) plus ``{"type":
"hello", ...}`` once connected and ``{"type": "ping"}`` when nothing happened for a while (a
client that hears nothing for much longer reconnects). Close codes: 4401 invalid or revoked
token (no first message within 5 s too), 4400 a first message that is not ``{"token": "..."}``
as JSON text of at most 4 KiB, 1003 a binary first message, 4403 another zone than a tablet's
own (or a till, which has no live events), 4404 unknown zone, 1012 the edge is restarting.
A device revoked, or moved to another zone, is disconnected with 4401 within a second: the
socket re-checks its token every ``RECHECK_S``, whether or not events flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from edge.api.context import ApiContext
from edge.api.deps import INVALID_TOKEN, NOT_FOR_TILLS, OTHER_ZONE, UNKNOWN_ZONE, device_for_token
from edge.api.devices import Device, DeviceRole
from edge.api.hub import ClientFilter

router = APIRouter(tags=["live"])

PING_S = 10.0
TOKEN_WAIT_S = 5.0
RECHECK_S = 0.5
FIRST_MESSAGE_MAX = 4096
CLOSE_INVALID_TOKEN = 4401
CLOSE_MALFORMED = 4400
CLOSE_BINARY = 1003
MALFORMED = 'The first message must be {"token": "..."} as JSON text'
BINARY = 'Binary messages are not accepted: send {"token": "..."} as text'
CLOSE_OTHER_ZONE = 4403
CLOSE_FORBIDDEN = 4403
"""A device whose role has no live events (a till); the same code as another zone's."""
CLOSE_UNKNOWN_ZONE = 4404
CLOSE_RESTART = 1012


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def _token_message(websocket: WebSocket) -> str | None:
    """The token of the first message; None when none came. :class:`_Refused` for a first
    message that is not one (any input, however deep or binary, gets a close code)."""
    try:
        first = await asyncio.wait_for(websocket.receive(), TOKEN_WAIT_S)
    except (TimeoutError, WebSocketDisconnect, RuntimeError):
        return None
    if first["type"] != "websocket.receive":
        return None
    text = first.get("text")
    if text is None:
        raise _Refused(CLOSE_BINARY, BINARY)
    if len(text) > FIRST_MESSAGE_MAX:
        raise _Refused(CLOSE_MALFORMED, MALFORMED)
    try:
        token = json.loads(text).get("token")
    except (ValueError, AttributeError, RecursionError):
        raise _Refused(CLOSE_MALFORMED, MALFORMED) from None
    if not isinstance(token, str):
        raise _Refused(CLOSE_MALFORMED, MALFORMED)
    return token


def _authenticate(context: ApiContext, token: str | None) -> Device | None:
    return device_for_token(context, token) if token else None


async def _until_revoked(context: ApiContext, token: str, device: Device) -> None:
    """Returns once the token no longer opens this socket as it was opened (revoked, or the
    device moved to another zone or role)."""
    while True:
        await asyncio.sleep(RECHECK_S)
        now = _authenticate(context, token)
        if now is None or (now.role, now.zone) != (device.role, device.zone):
            return


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


@router.websocket("/api/v1/ws")
async def live(websocket: WebSocket, token: str | None = None, zone: str | None = None) -> None:
    await websocket.accept()
    context: ApiContext = websocket.app.state.context
    hub = context.hub
    if token is None:
        try:
            token = await _token_message(websocket)
        except _Refused as refused:
            await websocket.close(refused.code, refused.reason)
            return
    device = _authenticate(context, token)
    if device is None or token is None:
        await websocket.close(CLOSE_INVALID_TOKEN, INVALID_TOKEN)
        return
    if device.role is DeviceRole.TILL:
        await websocket.close(CLOSE_FORBIDDEN, NOT_FOR_TILLS)
        return
    if device.role is DeviceRole.TABLET:
        if zone is not None and zone != device.zone:
            await websocket.close(CLOSE_OTHER_ZONE, OTHER_ZONE)
            return
        zone = device.zone
    elif zone is not None and zone not in context.config.zones_by_id():
        await websocket.close(CLOSE_UNKNOWN_ZONE, UNKNOWN_ZONE)
        return
    client = hub.connect(ClientFilter(zone))
    receiver = asyncio.create_task(_drain(websocket))
    revoked = asyncio.create_task(_until_revoked(context, token, device))
    waiting: asyncio.Task[str | None] | None = None
    try:
        hello = {"type": "hello", "device": device.name, "role": device.role.value, "zone": zone}
        await websocket.send_text(json.dumps(hello))
        while not client.closed:
            waiting = waiting or asyncio.create_task(client.next(PING_S))
            done, _ = await asyncio.wait(
                {waiting, receiver, revoked}, return_when=asyncio.FIRST_COMPLETED
            )
            if receiver in done:
                return
            if revoked in done:
                await websocket.close(CLOSE_INVALID_TOKEN, INVALID_TOKEN)
                return
            message, waiting = waiting.result(), None
            if message is not None:
                await websocket.send_text(message)
            elif not client.closed:
                await websocket.send_text('{"type": "ping"}')
        await websocket.close(CLOSE_RESTART, "The edge is restarting")
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away (or the server is shutting down) mid-send
    finally:
        hub.disconnect(client)
        receiver.cancel()
        revoked.cancel()
        if waiting is not None:
            waiting.cancel()
