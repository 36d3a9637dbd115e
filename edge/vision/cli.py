"""``o2o-edge members enroll|forget|keygen`` and ``o2o-edge faces identify``.

dlib and OpenCV are imported inside the handlers (through :mod:`edge.vision.enrolment`), so
the rest of the command line starts fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.vision.enrolment import FaceService, PhotoInput


def register(subparsers: Any) -> None:
    members = subparsers.add_parser("members", help="Enrol and erase members' faces")
    actions = members.add_subparsers(dest="action", metavar="ACTION", required=True)

    enroll = actions.add_parser(
        "enroll",
        help="Enrol a consented member from photographs or a short video (the best few are kept)",
    )
    enroll.add_argument("member_id")
    enroll.add_argument(
        "photos", nargs="+", metavar="PHOTO", type=Path, help="JPEG/PNG photos, or MP4/AVI/MKV"
    )
    enroll.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    enroll.add_argument(
        "--consent",
        metavar="REFERENCE",
        help="Record the member's consent (the signed form's id) before enrolling",
    )
    enroll.set_defaults(handler=_enroll)

    forget = actions.add_parser("forget", help="Erase every embedding and the consent record")
    forget.add_argument("member_id")
    forget.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    forget.set_defaults(handler=_forget)

    keygen = actions.add_parser("keygen", help="Print a new gallery key (for O2O_GALLERY_KEY)")
    keygen.set_defaults(handler=_keygen)

    faces = subparsers.add_parser("faces", help="Recognise faces in photographs")
    face_actions = faces.add_subparsers(dest="action", metavar="ACTION", required=True)
    identify = face_actions.add_parser(
        "identify", help="Print one JSON line per photo: member id or null, distance, margin"
    )
    identify.add_argument("photos", nargs="+", metavar="PHOTO", type=Path)
    identify.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    identify.set_defaults(handler=_identify)


def _service(config_path: Path) -> FaceService:
    from edge.clock import SystemClock
    from edge.config import load_store_config
    from edge.vision.enrolment import FaceService

    return FaceService.from_config(load_store_config(config_path), SystemClock())


def _photo(path: Path) -> PhotoInput:
    from edge.vision.enrolment import PhotoInput

    return PhotoInput(str(path), path.read_bytes)


def finite(value: float) -> float | None:
    """JSON has no infinity: an empty gallery or a lone member gives null."""
    return round(value, 4) if math.isfinite(value) else None


def _enroll(args: argparse.Namespace) -> int:
    from edge.vision.consent import ConsentError
    from edge.vision.enrolment import MemberIdError
    from edge.vision.gallery_file import GalleryFileError, GalleryKeyError

    try:
        service = _service(args.config)
        report = service.enroll(
            args.member_id, [_photo(path) for path in args.photos], consent_reference=args.consent
        )
    except (ConsentError, MemberIdError, GalleryKeyError, GalleryFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    total = len(report.photos)
    for number, photo in enumerate(report.photos, start=1):
        verdict = photo.message if photo.accepted else f"not used: {photo.message}"
        print(f"[{number}/{total}] {photo.name}: {verdict}", file=sys.stderr)
    print(
        json.dumps(
            {
                "member_id": report.member_id,
                "added": report.added,
                "photos_used": report.photos_used,
                "embeddings": report.total,
                "rejected": {p.name: p.message for p in report.photos if not p.accepted},
                "weak": {p.name: list(p.notes) for p in report.photos if p.notes},
            },
            sort_keys=True,
        )
    )
    if not report.added:
        print(f"error: no usable photo for member {report.member_id}", file=sys.stderr)
        return 1
    return 0


def _forget(args: argparse.Namespace) -> int:
    from edge.vision.gallery_file import GalleryFileError, GalleryKeyError

    try:
        report = _service(args.config).forget(args.member_id)
    except (GalleryKeyError, GalleryFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "member_id": report.member_id,
                "embeddings_removed": report.embeddings_removed,
                "consent_removed": report.consent_removed,
            },
            sort_keys=True,
        )
    )
    if not report.found:
        print(f"error: member {args.member_id} is not enrolled", file=sys.stderr)
        return 1
    return 0


def _identify(args: argparse.Namespace) -> int:
    from edge.vision.gallery_file import GalleryFileError, GalleryKeyError

    try:
        service = _service(args.config)
    except (GalleryKeyError, GalleryFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failures = 0
    for path in args.photos:
        report = service.identify(_photo(path))
        line: dict[str, Any] = {"photo": report.name, "member_id": None}
        if report.match is None:
            failures += 1
            line["error"] = report.message
        else:
            line["member_id"] = report.match.member_id
            line["distance"] = finite(report.match.distance)
            line["margin"] = finite(report.match.margin)
        print(json.dumps(line, sort_keys=True), flush=True)
    return 1 if failures == len(args.photos) else 0


def _keygen(args: argparse.Namespace) -> int:
    from edge.vision.gallery_file import generate_key

    print(generate_key())
    return 0
