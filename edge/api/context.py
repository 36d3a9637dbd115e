"""Everything the HTTP app needs from the running edge, in one typed object.

The composition root (:mod:`edge.app.compose`) builds it from the objects that run and hands
it to :func:`edge.api.app.create_app`; routes reach it through :mod:`edge.api.deps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.api.devices import DeviceRegistry, PairingThrottle
from edge.api.hub import EventHub
from edge.config.store import StoreConfig
from edge.service.faces import FaceServiceProvider
from edge.service.metrics import EdgeMetrics
from edge.service.store import StoreService


@dataclass(frozen=True)
class ApiContext:
    config: StoreConfig
    store: StoreService
    faces: FaceServiceProvider
    devices: DeviceRegistry
    hub: EventHub
    metrics: EdgeMetrics
    pairing: PairingThrottle = field(default_factory=PairingThrottle)
    """Wrong pairing codes seen lately (the API's own state)."""
