"""What cameras deliver, as plain data: frames with their capture time, and status changes.

The sources (:mod:`edge.vision.sources`) produce them; the face tracker, the store's rules and
the replayer take them without touching a camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    camera_id: str
    index: int
    """Position in the source: the video's frame number for recordings, a counter when live."""
    ts_ms: int
    """Capture time, UTC epoch milliseconds."""
    image: np.ndarray[Any, Any] = field(repr=False)
    """BGR, as OpenCV delivers it. Never written anywhere (privacy: frames stay in memory)."""


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """A camera went online or offline at ``ts_ms`` (for offline: when frames stopped)."""

    camera_id: str
    online: bool
    ts_ms: int
    detail: str = ""
