"""Uplink: the edge uploader posts batches of events here."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from cloud_sync.hq.api.deps import StoreAuth
from cloud_sync.hq.core import metrics
from cloud_sync.hq.ingest import BatchError, Status, decode_batch, store_batch

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/stores", tags=["events"])


@router.post("/{store_id}/events")
async def ingest_events(store_id: str, store: StoreAuth, request: Request) -> dict[str, Any]:
    state = request.app.state
    try:
        items = decode_batch(
            store.body,
            request.headers.get("Content-Encoding"),
            max_bytes=state.settings.max_body_bytes,
        )
    except BatchError as exc:
        metrics.REFUSED.labels(reason="Unusable body").inc()
        log.warning("store %s: batch refused: %s", store_id, exc)
        raise HTTPException(status_code=422, detail=str(exc)) from None

    def work() -> dict[str, Any]:
        with state.sessions() as session:
            outcome = store_batch(
                session,
                store_id=store_id,
                items=items,
                settings=state.settings,
                now=datetime.now(UTC),
            )
        for status in Status:
            if n := outcome.count(status):
                metrics.EVENTS.labels(status=status.value).inc(n)
        rejected = [r for r in outcome.results if r.status in (Status.CONFLICT, Status.INVALID)]
        if rejected:
            log.warning(
                "store %s: %d of %d events rejected, first: %s",
                store_id,
                len(rejected),
                len(outcome.results),
                rejected[0].detail,
            )
        return outcome.as_json()

    return await run_in_threadpool(work)
