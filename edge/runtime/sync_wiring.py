"""Connects the store <-> HQ sync client to the running edge: the outbox before every other
sink, model and catalog downloads into the recommender, the gallery into the vision data."""

from __future__ import annotations

import logging
from pathlib import Path

from cloud_sync.client.downlink import GallerySink
from cloud_sync.client.service import SyncClient
from edge.clock import Clock
from edge.config.store import StoreConfig
from edge.recommend.catalog import Catalog
from edge.runtime.core import StoreCore
from edge.runtime.owner import OwnerLoop
from edge.runtime.sinks import OutboxSink

log = logging.getLogger(__name__)


def gallery_sink(config: StoreConfig, clock: Clock) -> GallerySink | None:
    """The store's face gallery, when this edge recognises faces and holds a gallery key."""
    if not config.cameras:
        return None
    from edge.vision.enrolment import FaceService
    from edge.vision.gallery import GalleryKeyError

    try:
        return FaceService.from_config(config, clock)
    except GalleryKeyError as error:
        log.error("member gallery not synced: %s", error)
        return None


def attach_sync(config: StoreConfig, clock: Clock, owner: OwnerLoop) -> SyncClient:
    """The sync client of a built (not yet started) edge; its outbox becomes the first sink."""

    def on_model(path: Path, version: str) -> None:
        def reload(core: StoreCore) -> None:
            recommender = core.recommender
            if recommender is None:
                log.warning("model %s downloaded; recommendations are off until restart", version)
                return
            recommender.reload(path)

        owner.call(reload)
        log.info("recommender model %s in use", version)

    def on_catalog(path: Path, version: str) -> None:
        catalog = Catalog.load(path)

        def reload(core: StoreCore) -> None:
            recommender = core.recommender
            if recommender is not None:
                recommender.reload(catalog=catalog)

        owner.call(reload)
        log.info("catalog %s in use", version)

    sync = SyncClient(
        config,
        gallery=gallery_sink(config, clock),
        on_model=on_model,
        on_catalog=on_catalog,
        clock=clock,
    )
    owner.sinks.insert(0, OutboxSink(sync))
    return sync
