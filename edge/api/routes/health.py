"""``/healthz`` and ``/metrics``: for systemd, load balancers and Prometheus, no bearer token.

Neither shows anything about shoppers (counters and component states only), but ``/metrics``
does describe the store's hardware: bind the API to the store LAN or firewall the port
(docs/operations.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response

if TYPE_CHECKING:
    from edge.metrics import EdgeMetrics

router = APIRouter(tags=["health"])


def _metrics(request: Request) -> EdgeMetrics | None:
    metrics: EdgeMetrics | None = getattr(request.app.state, "metrics", None)
    return metrics


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 while the edge processes input (``status`` is ``degraded`` when the broker or HQ
    is unreachable: events wait in the outbox); 503 when its owner loop no longer answers."""
    store_id = request.app.state.config.store_id
    metrics = _metrics(request)
    if metrics is None:  # the API alone (no running edge behind it)
        return JSONResponse({"status": "ok", "store_id": store_id, "checks": {}})
    health = metrics.health()
    degraded = any(value != "ok" for value in health.checks.values())
    body: dict[str, Any] = {
        "status": "ok" if not degraded else "degraded" if health.healthy else "failing",
        "store_id": store_id,
        "checks": health.checks,
    }
    code = status.HTTP_200_OK if health.healthy else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(body, status_code=code)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    found = _metrics(request)
    if found is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Metrics need the running edge behind the API"
        )
    body, content_type = found.render()
    return Response(body, media_type=content_type)
