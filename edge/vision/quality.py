"""Quality gates: which detected faces are worth an embedding. Pure functions on numpy arrays.

A face is refused, in this order, when its box is smaller than ``min_face_px`` (too few pixels
to tell people apart), when the detector is not sure enough (``min_det_score``), or when it is
blurred: the variance of the Laplacian of the grey face, resized to 96x96 so that the figure
does not depend on the face's size, is below ``min_sharpness``. Sharp faces in good light
score in the hundreds; motion blur drives it towards zero.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from edge.config.vision import QualityGates

SHARPNESS_SIDE_PX = 96


class Rejection(StrEnum):
    """Why a face was not embedded, or a photo not used (the counters' keys)."""

    TOO_SMALL = "too_small"
    LOW_SCORE = "low_score"
    BLURRY = "blurry"


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over the interior of a 2-D grey image."""
    image = grey.astype(np.float32)
    if image.shape[0] < 3 or image.shape[1] < 3:
        return 0.0
    laplacian = (
        image[:-2, 1:-1]
        + image[2:, 1:-1]
        + image[1:-1, :-2]
        + image[1:-1, 2:]
        - 4.0 * image[1:-1, 1:-1]
    )
    return float(laplacian.var())


def size_or_score_rejection(
    size_px: int, det_score: float, gates: QualityGates
) -> Rejection | None:
    """The cheap gates, checked before any pixel is looked at."""
    if size_px < gates.min_face_px:
        return Rejection.TOO_SMALL
    if det_score < gates.min_det_score:
        return Rejection.LOW_SCORE
    return None


def sharpness_rejection(sharpness: float, gates: QualityGates) -> Rejection | None:
    return Rejection.BLURRY if sharpness < gates.min_sharpness else None
