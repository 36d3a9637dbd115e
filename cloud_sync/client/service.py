"""One store's sync, assembled from STORE.yaml: the outbox always (events are committed there
before they are acknowledged, whether or not HQ is configured), and when ``sync.enabled`` the
uploader and downlink threads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cloud_sync.client.downlink import Downlink, GallerySink
from cloud_sync.client.http import HqClient
from cloud_sync.client.outbox import Outbox
from cloud_sync.client.status import SyncStatus, sync_status
from cloud_sync.client.uploader import DrainProgress, Uploader
from edge.alerts.sold_set import SoldSet
from edge.clock import Clock, SystemClock
from edge.config.store import StoreConfig
from edge.events.reservations import Reservation
from edge.events.stock import NearbyStock

OUTBOX_FILE = Path("sync") / "outbox.db"


class SyncClient:
    def __init__(
        self,
        config: StoreConfig,
        *,
        gallery: GallerySink | None = None,
        on_model: Callable[[Path, str], None] | None = None,
        on_catalog: Callable[[Path, str], None] | None = None,
        on_stock_request: Callable[[], None] | None = None,
        on_reservations: Callable[[list[Reservation]], None] | None = None,
        on_sold_set: Callable[[SoldSet], None] | None = None,
        on_nearby_stock: Callable[[NearbyStock], None] | None = None,
        on_progress: Callable[[DrainProgress], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store_id = config.store_id
        self.enabled = config.sync.enabled
        self._clock = clock or SystemClock()
        self.outbox = Outbox(
            config.data_dir / OUTBOX_FILE,
            retention_s=config.sync.outbox_retention_h * 3600,
            clock=self._clock,
        )
        self.uploader: Uploader | None = None
        self.downlink: Downlink | None = None
        self._client: HqClient | None = None
        if self.enabled:
            self._client = HqClient.from_config(config.sync, self._clock)
            self.uploader = Uploader(
                self.outbox,
                self._client,
                config.store_id,
                config.sync,
                clock=self._clock,
                on_progress=on_progress,
            )
            self.downlink = Downlink(
                self._client,
                config.store_id,
                config.data_dir,
                config.sync,
                secret=config.sync.secret(),
                gallery=gallery,
                on_model=on_model,
                on_catalog=on_catalog,
                on_stock_request=on_stock_request,
                on_reservations=on_reservations,
                on_sold_set=on_sold_set,
                on_nearby_stock=on_nearby_stock,
                clock=self._clock,
            )

    def start(self) -> None:
        if self.uploader is not None:
            self.uploader.start()
        if self.downlink is not None:
            self.downlink.start()

    def stop(self) -> None:
        if self.uploader is not None:
            self.uploader.stop()
        if self.downlink is not None:
            self.downlink.stop()
        if self._client is not None:
            self._client.close()
        self.outbox.close()

    def status(self) -> SyncStatus:
        return sync_status(
            self.store_id,
            enabled=self.enabled,
            outbox=self.outbox,
            uploader=self.uploader,
            downlink=self.downlink,
            now_ms=self._clock.now_ms(),
        )
