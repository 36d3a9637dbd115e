"""A dict-backed :class:`~cloud_sync.client.downlink.GallerySink`: the seam where the vision
engineer's encrypted gallery plugs in, kept minimal so that the tests check the downlink."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class DictGallery:
    def __init__(self) -> None:
        self.members: dict[str, np.ndarray] = {}

    def replace_members(self, members: Mapping[str, np.ndarray]) -> None:
        self.members = dict(members)

    def remove_member(self, member_id: str) -> None:
        self.members.pop(member_id, None)
