"""``o2o-edge bench vision``: recognition speed on one core, and accuracy on real photographs.

Speed: 640x480 frames composed from the shared photographs (LFW faces, about 170 px, on a
landscape with no face) with 0, 1 and 3 faces in view, each run through
:func:`edge.vision.backends.analyse` (detect at the configured detection scale, quality
gates, embed every face that passes) with the process pinned to one CPU. Also the detection
and per-face embedding times that the frame rate is made of.

Accuracy, with the photo settings used for enrolment:
- verification on LFW pairsDevTest (``lfw_pairs_devtest/pairs_devtest.csv``; the face nearest
  the centre of each image): accuracy, FAR and FRR at the configured threshold and a sweep;
- identification on the 100 LFW identities: half enrolled from their first photo, the other
  half as strangers, then the other way round; rank-1 accuracy of the enrolled identities'
  other photos, how many were named (threshold and margin), named wrongly, and false accepts
  of strangers.

``--quick`` subsamples (a smoke test). Photographs are read from ``$O2O_FACE_DATA`` or
``../shared/data/faces`` beside the project; nothing derived from them is written anywhere.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.config.vision import PROJECT_ROOT, QualityGates, VisionConfig
from edge.vision.backends import FaceBackend, analyse, create_backend, decode_image
from edge.vision.gallery import Gallery

FRAME_W, FRAME_H = 640, 480
FACE_PX = 170
SWEEP = (0.40, 0.45, 0.48, 0.50, 0.52, 0.55, 0.58, 0.60)


def faces_dir() -> Path:
    configured = os.environ.get("O2O_FACE_DATA")
    folder = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data" / "faces"
    if not (folder / "INDEX.csv").is_file():
        raise SystemExit(
            f"bench vision: face photographs not found in {folder}; put the shared data set "
            "there or name its folder in O2O_FACE_DATA"
        )
    return folder


def progress(message: str) -> None:
    print(f"bench vision: {message}", file=sys.stderr, flush=True)


def read(path: Path) -> np.ndarray:
    image = decode_image(path.read_bytes())
    if image is None:
        raise SystemExit(f"bench vision: cannot read {path}")
    return image


def face_tiles(folder: Path, backend: FaceBackend, count: int) -> list[np.ndarray]:
    """Square crops of LFW faces, scaled so that the face box is about FACE_PX."""
    import cv2

    tiles: list[np.ndarray] = []
    for person in sorted(p for p in (folder / "lfw").iterdir() if p.is_dir())[:count]:
        image = read(sorted(person.glob("*.jpg"))[0])
        (face,) = backend.detect(image)
        top, right, bottom, left = face.box
        side = max(bottom - top, right - left)
        half = int(side * 0.625)
        cy, cx = (top + bottom) // 2, (left + right) // 2
        padded = cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_REPLICATE)
        crop = padded[cy : cy + 2 * half, cx : cx + 2 * half]
        tile_px = int(FACE_PX * 1.25)
        tiles.append(cv2.resize(crop, (tile_px, tile_px), interpolation=cv2.INTER_AREA))
    return tiles


def compose(background: np.ndarray, tiles: list[np.ndarray]) -> np.ndarray:
    frame = background.copy()
    if not tiles:
        return frame
    side = tiles[0].shape[0]
    gap = (FRAME_W - side * len(tiles)) // (len(tiles) + 1)
    top = (FRAME_H - side) // 2
    for number, tile in enumerate(tiles):
        left = gap + number * (side + gap)
        frame[top : top + side, left : left + side] = tile
    return frame


def frame_rate(
    backend: FaceBackend, frames: list[np.ndarray], gates: QualityGates, count: int
) -> tuple[float, float, float]:
    """Frames per wall-clock second and per CPU second over ``count`` frames, and faces
    embedded per frame. The two rates agree on an idle core; on a shared machine the CPU
    rate is what one core delivers, the wall rate what this run got."""
    analyse(backend, frames[0], gates)  # warm-up
    embedded = 0
    started, started_cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        results = analyse(backend, frames[number % len(frames)], gates)
        embedded += sum(r.embedding is not None for r in results)
    elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return count / elapsed, count / elapsed_cpu, embedded / count


def speed(folder: Path, config: VisionConfig, quick: bool) -> dict[str, Any]:
    import cv2

    backend = create_backend(config)
    photo_backend = create_backend(config, for_photos=True)
    background = cv2.resize(
        read(folder / "facenet_misc" / "_noface" / "pilatus800.jpg"), (FRAME_W, FRAME_H)
    )
    tiles = face_tiles(folder, photo_backend, 9)
    frames_per_run = 10 if quick else 40
    figures: dict[str, Any] = {
        "frame_size": f"{FRAME_W}x{FRAME_H}",
        "detection_scale": config.face_recognition.detection_scale,
        "detection_upsample": config.face_recognition.detection_upsample,
        "face_px": FACE_PX,
    }
    for faces, key in ((0, "fps_0_faces"), (1, "fps_1_face"), (3, "fps_3_faces")):
        frames = [compose(background, tiles[i : i + faces]) for i in range(0, 9, max(faces, 1))]
        progress(f"{faces} face(s) in view, {frames_per_run} frames")
        fps, fps_cpu, embedded = frame_rate(backend, frames, config.gates, frames_per_run)
        figures[key] = round(fps, 2)
        figures[key.replace("fps_", "fps_cpu_")] = round(fps_cpu, 2)
        figures[f"faces_embedded_per_frame_{faces}"] = round(embedded, 2)
    detect_ms = 1000 / figures["fps_cpu_0_faces"]
    figures["detect_cpu_ms"] = round(detect_ms, 1)
    figures["embed_cpu_ms_per_face"] = round(1000 / figures["fps_cpu_1_face"] - detect_ms, 1)
    return figures


def off_centre(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> float:
    top, right, bottom, left = box
    return ((left + right - shape[1]) / 2) ** 2 + ((top + bottom - shape[0]) / 2) ** 2


def photo_embeddings(
    backend: FaceBackend, paths: list[Path], gates: QualityGates, label: str
) -> Iterator[tuple[Path, np.ndarray | None]]:
    """The embedding of the face nearest each photo's centre (None: no usable face)."""
    for number, path in enumerate(paths, start=1):
        if number % 100 == 0:
            progress(f"{label}: {number}/{len(paths)} photos")
        image = read(path)
        results = [r for r in analyse(backend, image, gates) if r.embedding is not None]
        if not results:
            yield path, None
            continue
        yield path, min(results, key=lambda r: off_centre(r.box, image.shape)).embedding


def verification(
    folder: Path, backend: FaceBackend, config: VisionConfig, threshold: float, quick: bool
) -> dict[str, Any]:
    root = folder / "lfw_pairs_devtest"
    with (root / "pairs_devtest.csv").open(newline="") as handle:
        pairs = [
            (row["image_a"], row["image_b"], row["same"] == "1") for row in csv.DictReader(handle)
        ]
    if quick:
        pairs = pairs[::10]
    paths = sorted({root / name for a, b, _ in pairs for name in (a, b)})
    embeddings = dict(photo_embeddings(backend, paths, config.gates, "pairs"))
    distances, same = [], []
    for a, b, is_same in pairs:
        first, second = embeddings[root / a], embeddings[root / b]
        if first is None or second is None:
            continue
        distances.append(float(np.linalg.norm(first - second)))
        same.append(is_same)
    d, s = np.array(distances), np.array(same)

    def rates(limit: float) -> dict[str, float]:
        return {
            "accuracy": round(float(((d <= limit) == s).mean()), 4),
            "far": round(float((d[~s] <= limit).mean()), 4),
            "frr": round(float((d[s] > limit).mean()), 4),
        }

    at = rates(threshold)
    return {
        "verification_pairs": len(pairs),
        "verification_pairs_evaluated": len(d),
        "verification_accuracy": at["accuracy"],
        "verification_far": at["far"],
        "verification_frr": at["frr"],
        "verification_sweep": {f"{limit:.2f}": rates(limit) for limit in SWEEP},
        "matched_mean_distance": round(float(d[s].mean()), 4),
        "mismatched_mean_distance": round(float(d[~s].mean()), 4),
    }


def identification(
    folder: Path, backend: FaceBackend, config: VisionConfig, threshold: float, quick: bool
) -> dict[str, Any]:
    people = sorted(p for p in (folder / "lfw").iterdir() if p.is_dir())
    if quick:
        people = people[:20]
    photos = {person.name: sorted(person.glob("*.jpg")) for person in people}
    paths = [path for group in photos.values() for path in group]
    embeddings = dict(photo_embeddings(backend, paths, config.gates, "identities"))
    names = sorted(photos)
    probes = rank1 = named = wrong = strangers = false_accepts = 0
    for enrolled, others in ((names[::2], names[1::2]), (names[1::2], names[::2])):
        gallery = Gallery(
            embedding_size=backend.embedding_size,
            metric=backend.metric,
            threshold=threshold,
            min_margin=config.gallery.min_margin,
            backend=backend.name,
        )
        for name in enrolled:
            first = embeddings[photos[name][0]]
            if first is not None:
                gallery.add(name, first)
        for name in enrolled:
            for path in photos[name][1:]:
                if (embedding := embeddings[path]) is None:
                    continue
                match = gallery.match(embedding)
                probes += 1
                rank1 += match.best_member_id == name
                named += match.member_id == name
                wrong += match.member_id not in (None, name)
        for name in others:
            for path in photos[name]:
                if (embedding := embeddings[path]) is None:
                    continue
                strangers += 1
                false_accepts += gallery.match(embedding).member_id is not None
    return {
        "identities": len(names),
        "identification_probes": probes,
        "rank1_accuracy": round(rank1 / probes, 4),
        "named_rate": round(named / probes, 4),
        "named_wrongly": wrong,
        "stranger_photos": strangers,
        "false_accepts": false_accepts,
        "margin": config.gallery.min_margin,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    folder = faces_dir()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    config = VisionConfig()
    figures: dict[str, Any] = {"cores": 1, "load_average_1m": round(os.getloadavg()[0], 2)}
    figures |= speed(folder, config, args.quick)
    photo_backend = create_backend(config, for_photos=True)
    threshold = config.gallery.threshold or photo_backend.default_threshold
    figures["threshold"] = threshold
    progress("verification on the LFW pairs")
    figures |= verification(folder, photo_backend, config, threshold, args.quick)
    progress("identification on the LFW identities")
    figures |= identification(folder, photo_backend, config, threshold, args.quick)
    return figures
