"""Enrolment and erasure from real photographs: consent first, one clear reason per refused
photo, forget removes everything (memory, file, consent), and the command line end to end."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import build_parser
from edge.clock import VirtualClock
from edge.config.store import StoreConfig
from edge.vision.backends import FaceBackend
from edge.vision.consent import ConsentError
from edge.vision.enrolment import FaceService, MemberIdError, PhotoInput, PhotoProblem
from tests.conftest import run_cli
from tests.vision.conftest import lfw_photos, store_config

pytestmark = pytest.mark.faces

NOW_MS = 1_767_225_600_000


@pytest.fixture
def config(tmp_path: Path, gallery_key: str) -> StoreConfig:
    return store_config(tmp_path / "data")


def service(config: StoreConfig, backend: FaceBackend) -> FaceService:
    return FaceService.from_config(config, VirtualClock(NOW_MS), backend=backend)


def shrunk(path: Path, side_px: int) -> bytes:
    """The photo as a small JPEG: its face is found (about 50 px) but below the size gate."""
    image = cv2.resize(cv2.imread(str(path)), (side_px, side_px), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", image)[1].tobytes()


def from_file(path: Path) -> PhotoInput:
    return PhotoInput(path.name, path.read_bytes)


def test_consent_is_required_first(
    config: StoreConfig, photo_backend: FaceBackend, faces_dir: Path
) -> None:
    faces = service(config, photo_backend)
    photos = [from_file(lfw_photos(faces_dir, "Abdullah_Gul")[0])]
    with pytest.raises(ConsentError, match="member m-1 has no consent record"):
        faces.enroll("m-1", photos)
    assert len(faces.gallery) == 0 and not faces.gallery._file.exists()  # type: ignore[union-attr]
    with pytest.raises(MemberIdError):
        faces.enroll("../etc", photos, consent_reference="form-1")

    report = faces.enroll("m-1", photos, consent_reference="form-1")
    assert (report.added, report.photos_used) == (1, 1)
    record = faces.consent.get("m-1")
    assert record is not None and (record.reference, record.given_at_ms) == ("form-1", NOW_MS)
    # Consent recorded once is enough for later photos.
    again = faces.enroll("m-1", [from_file(lfw_photos(faces_dir, "Abdullah_Gul")[1])])
    assert (again.added, again.total) == (1, 2)


def test_each_bad_photo_gets_one_reason_and_good_ones_still_count(
    config: StoreConfig, photo_backend: FaceBackend, faces_dir: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "scan.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    photos = [
        from_file(lfw_photos(faces_dir, "Adel_Al-Jubeir")[0]),
        from_file(faces_dir / "dlib_examples" / "_noface" / "dog.jpg"),
        from_file(faces_dir / "face_recognition_examples" / "_multi" / "two_people.jpg"),
        from_file(garbage),
        PhotoInput("missing.jpg", (tmp_path / "missing.jpg").read_bytes),
        PhotoInput("small.jpg", lambda: shrunk(lfw_photos(faces_dir, "Adel_Al-Jubeir")[2], 120)),
        from_file(lfw_photos(faces_dir, "Adel_Al-Jubeir")[1]),
    ]
    faces = service(config, photo_backend)
    report = faces.enroll("m-2", photos, consent_reference="form-2")
    # The two usable photos make one mean template.
    assert (report.photos_used, report.added, report.total) == (2, 1, 1)
    problems = [p.problem for p in report.photos]
    assert problems == [
        None,
        PhotoProblem.NO_FACE,
        PhotoProblem.SEVERAL_FACES,
        PhotoProblem.UNREADABLE,
        PhotoProblem.UNREADABLE,
        PhotoProblem.TOO_SMALL,
        None,
    ]
    messages = {p.name: p.message for p in report.photos}
    assert messages["two_people.jpg"] == (
        "several faces found; use a photo of the member alone (2 faces)"
    )
    assert messages["missing.jpg"] == "not a readable image or video (No such file or directory)"
    assert messages["small.jpg"].startswith("the face is too small; use a closer or larger photo")
    assert [p.name for p in report.photos] == [p.name for p in photos]


def test_forget_erases_memory_file_and_consent(
    config: StoreConfig, photo_backend: FaceBackend, faces_dir: Path
) -> None:
    faces = service(config, photo_backend)
    gul, brody = lfw_photos(faces_dir, "Abdullah_Gul"), lfw_photos(faces_dir, "Adrien_Brody")
    faces.enroll("m-gul", [from_file(p) for p in gul[:2]], consent_reference="form-g")
    faces.enroll("m-brody", [from_file(brody[0])], consent_reference="form-b")
    probe = faces.identify(from_file(gul[2]))
    assert probe.match is not None and probe.match.member_id == "m-gul"

    report = faces.forget("m-gul")
    assert (report.embeddings_removed, report.consent_removed) == (1, True)
    assert faces.forget("m-gul").found is False
    after = faces.identify(from_file(gul[2]))
    assert after.match is not None and after.match.member_id is None

    reopened = service(config, photo_backend)  # from the file, as a restart would
    assert reopened.gallery.members() == ["m-brody"]
    assert reopened.consent.members() == ["m-brody"]
    assert reopened.identify(from_file(gul[2])).match.member_id is None  # type: ignore[union-attr]
    consent_text = reopened.consent.path.read_text()
    assert "m-gul" not in consent_text and "form-g" not in consent_text


def test_enrolment_file_holds_no_plain_embedding(
    config: StoreConfig, photo_backend: FaceBackend, faces_dir: Path
) -> None:
    faces = service(config, photo_backend)
    photo = lfw_photos(faces_dir, "Ali_Naimi")[0]
    faces.enroll("m-3", [from_file(photo)], consent_reference="form-3")
    embedding = faces.photo_face(from_file(photo)).embedding
    assert embedding is not None
    blob = faces.gallery._file.path.read_bytes()  # type: ignore[union-attr]
    raw = embedding.astype("<f4").tobytes()
    assert all(raw[i : i + 8] not in blob for i in range(0, len(raw), 8))
    assert all(np.float32(v).tobytes() not in blob for v in embedding[:8])
    for stored in config.data_dir.rglob("*"):
        assert stored.suffix not in {".jpg", ".png"}  # photos are never stored


def test_command_line_enrol_identify_forget(
    config: StoreConfig, faces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_yaml = tmp_path / "STORE.yaml"
    store_yaml.write_text(
        json.dumps(config.model_dump(mode="json", include={"store_id", "data_dir", "zones"}))
    )
    gul = lfw_photos(faces_dir, "Abdullah_Gul")
    dog = faces_dir / "dlib_examples" / "_noface" / "dog.jpg"

    enrolled = run_cli(
        "members", "enroll", "m-9", str(gul[0]), str(dog), "--config", str(store_yaml),
        "--consent", "form-9",
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    summary = json.loads(enrolled.stdout)
    assert summary == {
        "member_id": "m-9",
        "added": 1,
        "photos_used": 1,
        "embeddings": 1,
        "rejected": {str(dog): "no face found"},
        "weak": summary["weak"],
    }
    assert set(summary["weak"]) <= {str(gul[0])}
    assert "[2/2]" in enrolled.stderr

    # The rest in-process (same handlers, without paying for a new process each time).
    def cli(*args: str) -> int:
        parsed = build_parser().parse_args([*args, "--config", str(store_yaml)])
        return int(parsed.handler(parsed))

    capsys.readouterr()
    assert cli("faces", "identify", str(gul[1]), str(dog)) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["member_id"] == "m-9" and first["distance"] < 0.48 and first["margin"] is None
    assert set(first) == {"photo", "member_id", "distance", "margin"}
    assert second == {"photo": str(dog), "member_id": None, "error": "no face found"}

    assert cli("members", "enroll", "m-9", str(dog)) == 1
    assert "error: no usable photo for member m-9" in capsys.readouterr().err
    assert cli("members", "enroll", "m-10", str(gul[2])) == 2
    assert "member m-10 has no consent record" in capsys.readouterr().err

    assert cli("members", "forget", "m-9") == 0
    assert json.loads(capsys.readouterr().out)["embeddings_removed"] == 1
    assert cli("members", "forget", "m-9") == 1
    assert "error: member m-9 is not enrolled" in capsys.readouterr().err


def test_hq_sync_sink_records_consent_and_erases_it(
    config: StoreConfig, photo_backend: FaceBackend
) -> None:
    """FaceService is the downlink's gallery sink: HQ's members arrive with consent, and an
    erasure order removes embeddings and consent alike."""
    faces = service(config, photo_backend)
    rng = np.random.default_rng(0)
    members = {"m-hq-1": rng.normal(0, 0.09, (2, 128)), "m-hq-2": rng.normal(0, 0.09, (1, 128))}
    faces.replace_members(members)
    assert faces.gallery.members() == ["m-hq-1", "m-hq-2"]
    record = faces.consent.get("m-hq-1")
    assert record is not None and record.reference == "hq-sync"
    faces.remove_member("m-hq-1")
    assert faces.gallery.members() == ["m-hq-2"] and "m-hq-1" not in faces.consent
