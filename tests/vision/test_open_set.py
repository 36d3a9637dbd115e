"""The open-set operating point on real photographs (a bounded part of ``o2o-edge bench
faces``, docs/vision.md "Open-set benchmark"): with the shipped enrolment templates, threshold
and margin, members are recognised and strangers refused at least as well as measured, and
the product's Gallery decides exactly as the benchmark's arithmetic does."""

from __future__ import annotations

import numpy as np

from edge.bench.faces import (
    Protocol,
    embed_all,
    gallery_check,
    product_embedder,
    rates,
    scores,
)
from edge.bench.vision import faces_dir
from edge.config.vision import VisionConfig
from edge.vision.backends import create_backend

# Measured on the quick subset (25 members, 105 probes, 88 stranger photos, 60 distractors);
# the full protocol's figures are in docs/vision.md.
FLOORS = {"enrol_1": 0.85, "enrol_1_large": 0.85, "enrol_3": 0.97, "enrol_3_large": 0.97}
MAX_FAR = 0.012  # at most one of the 88 stranger photos


def test_shipped_templates_threshold_and_margin_hold_their_figures() -> None:
    protocol = Protocol.load(faces_dir(), quick=True)
    config = VisionConfig()
    assert config.mirror_templates
    backend = create_backend(config, for_photos=True)
    threshold = config.gallery.threshold or backend.default_threshold
    margin = config.gallery.min_margin
    product = embed_all(protocol.paths(), product_embedder(backend, config), "test")
    mirrored = embed_all(
        protocol.enrolment_paths(), product_embedder(backend, config, flip=True), "test"
    )
    templates = dict(product)
    for path, vector in mirrored.items():
        if vector is not None and product[path] is not None:
            templates[path] = (product[path] + vector) / 2
    for key, enrol, large in (
        ("enrol_1", 1, False),
        ("enrol_1_large", 1, True),
        ("enrol_3", 3, False),
        ("enrol_3_large", 3, True),
    ):
        figures = rates(scores(protocol, templates, enrol, large, "best"), threshold, margin)
        assert figures["recognised"] >= FLOORS[key], (key, figures)
        assert figures["far_photo"] <= MAX_FAR, (key, figures)
        assert figures["wrong_member"] == 0, (key, figures)
    through_gallery = gallery_check(protocol, templates, backend, threshold, margin)
    arithmetic = rates(scores(protocol, templates, 1, True, "best"), threshold, margin)
    assert np.isclose(through_gallery["far_photo"], arithmetic["far_photo"], atol=0.02)
    assert np.isclose(through_gallery["recognised"], arithmetic["recognised"], atol=0.02)
