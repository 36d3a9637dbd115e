"""GS1 EPCIS 2.0 JSON(-LD) export of the RFID observations stored as ``tag.*`` events.

Each tag event becomes an ``ObjectEvent`` with ``action: OBSERVE``; bizStep follows the
event type (arrived/returned -> arriving, moved -> stocking, departed -> departing).
Read points and business locations are URNs under ``urn:o2o:`` built from store, reader and
zone ids until stores are given GS1 GLNs. EPCs are given as ``urn:epc:raw:96.x<HEX>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
BIZ_STEPS = {
    "tag.arrived": "arriving",
    "tag.returned": "arriving",
    "tag.moved": "stocking",
    "tag.departed": "departing",
}
TAG_TYPES = tuple(BIZ_STEPS)


def epc_uri(epc_hex: str) -> str:
    return f"urn:epc:raw:{len(epc_hex) * 4}.x{epc_hex.upper()}"


def object_event(body: dict[str, Any]) -> dict[str, Any] | None:
    payload = body.get("payload")
    if not isinstance(payload, dict) or not payload.get("epc"):
        return None
    store = body.get("store_id", "")
    zone = payload.get("zone", "")
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": body.get("ts"),
        "eventTimeZoneOffset": "+00:00",
        "eventID": f"urn:uuid:{body.get('event_id')}",
        "epcList": [epc_uri(str(payload["epc"]))],
        "action": "OBSERVE",
        "bizStep": BIZ_STEPS.get(str(body.get("type")), "inspecting"),
        "readPoint": {
            "id": f"urn:o2o:store:{store}:reader:{payload.get('reader_id', '')}:"
            f"{payload.get('antenna', '')}"
        },
        "bizLocation": {"id": f"urn:o2o:store:{store}:zone:{zone}"},
    }
    return event


def document(bodies: Iterable[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    events = [e for e in (object_event(b) for b in bodies) if e is not None]
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "epcisBody": {"eventList": events},
    }
