"""Uplink: the edge uploader posts batches of events here."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import orjson
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, HTTPException, Request, Response

from cloud_sync.hq.api.deps import StoreAuth
from cloud_sync.hq.core import metrics
from cloud_sync.hq.ingest import BatchError, Status, decode_batch, store_batch

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/api/v1/stores",
    tags=["events"],
    responses={401: {"description": "Missing or bad store signature, or unknown store key"}},
)

INGEST_CONCURRENCY = 4
"""Batches a worker stores at once. The GIL runs one at a time anyway: a few overlap one
batch's database round trips with another's validation, while dozens of threads would only
contend for the GIL and hold more PostgreSQL connections. Add workers to use more cores."""


@router.post("/{store_id}/events")
async def ingest_events(store_id: str, store: StoreAuth, request: Request) -> Response:
    state = request.app.state
    content_encoding = request.headers.get("Content-Encoding")

    def work() -> bytes:
        started_s = time.monotonic()
        # Decoding runs here too, off the event loop: a 500-event batch is a few ms of CPU.
        try:
            batch = decode_batch(
                store.body, content_encoding, max_bytes=state.settings.max_body_bytes
            )
        except BatchError as exc:
            metrics.REFUSED.labels(reason="Unusable body").inc()
            log.warning("store %s: batch refused: %s", store_id, exc)
            raise HTTPException(status_code=422, detail=str(exc)) from None
        with state.sessions() as session:
            outcome = store_batch(
                session,
                store_id=store_id,
                batch=batch,
                settings=state.settings,
                now=datetime.now(UTC),
            )
        for status in Status:
            if n := outcome.count(status):
                metrics.EVENTS.labels(status=status.value).inc(n)
        metrics.BATCH_SECONDS.observe(time.monotonic() - started_s)
        metrics.LAST_UPLOAD.labels(store=store_id).set(time.time())
        rejected = [r for r in outcome.results if r.status in (Status.CONFLICT, Status.INVALID)]
        if rejected:
            log.warning(
                "store %s: %d of %d events rejected, first: %s",
                store_id,
                len(rejected),
                len(outcome.results),
                rejected[0].detail,
            )
        # Serialised here rather than by FastAPI: its generic encoder walks the 500 results in
        # Python and costs more than storing them.
        return orjson.dumps(outcome.as_json())

    limiter: CapacityLimiter | None = getattr(state, "ingest_limiter", None)
    if limiter is None:  # one per app, made in its event loop
        limiter = state.ingest_limiter = CapacityLimiter(INGEST_CONCURRENCY)
    return Response(await to_thread.run_sync(work, limiter=limiter), media_type="application/json")
