"""``/healthz`` and ``/metrics``: for systemd, load balancers and Prometheus, no bearer token.

Neither shows anything about shoppers (counters and component states only), but ``/metrics``
does describe the store's hardware: bind the API to the store LAN or firewall the port
(docs/operations.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response

from edge.api.deps import ConfigDep, MetricsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(config: ConfigDep, metrics: MetricsDep) -> JSONResponse:
    """200 while the edge processes input (``status`` is ``degraded`` when the broker or HQ
    is unreachable: events wait in the outbox); 503 when its owner loop no longer answers."""
    health = metrics.health()
    degraded = any(value != "ok" for value in health.checks.values())
    body: dict[str, Any] = {
        "status": "ok" if not degraded else "degraded" if health.healthy else "failing",
        "store_id": config.store_id,
        "checks": health.checks,
    }
    code = status.HTTP_200_OK if health.healthy else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(body, status_code=code)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
def metrics(found: MetricsDep) -> Response:
    """Prometheus text format."""
    body, content_type = found.render()
    return Response(body, media_type=content_type)
