"""The store's one face service per process, shared by the HTTP API and the sync downlink.

Loading the face models takes a moment, so the service is built on first use, once, under a
lock; whoever asks later gets the same instance (two instances on one data directory would
each keep their own idea of the gallery). The command line, another process, shares the files
safely: the gallery and consent files are changed under a file lock and re-read
(:mod:`edge.vision.gallery`, :mod:`edge.vision.consent`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

import numpy as np

from edge.service.errors import ServiceUnavailable
from edge.vision.enrolment import FaceService
from edge.vision.gallery_file import GalleryFileError, GalleryKeyError

log = logging.getLogger(__name__)


class FaceServiceProvider:
    def __init__(self, build: Callable[[], FaceService]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._service: FaceService | None = None

    def get(self) -> FaceService:
        """The face service; ServiceUnavailable (with the reason) when it cannot be built
        (no gallery key, unreadable gallery file)."""
        with self._lock:
            if self._service is None:
                try:
                    self._service = self._build()
                except (GalleryKeyError, GalleryFileError) as error:
                    raise ServiceUnavailable(f"Face recognition unavailable: {error}") from None
            return self._service

    @property
    def built(self) -> bool:
        return self._service is not None


class SyncedGallery:
    """The sync downlink's gallery sink (cloud_sync.client.downlink.GallerySink): HQ's members
    and erasures go into the same face service as the API's enrolments."""

    def __init__(self, faces: FaceServiceProvider) -> None:
        self._faces = faces

    def replace_members(self, members: Mapping[str, np.ndarray]) -> None:
        self._faces.get().replace_members(members)

    def remove_member(self, member_id: str) -> object:
        self._faces.get().remove_member(member_id)
        return None
