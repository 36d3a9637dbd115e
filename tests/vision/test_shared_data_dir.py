"""One data dir, several processes: the command line, the running edge and the sync downlink
each hold their own gallery and consent registry over the same files. Every change is made to
what is on disk under a lock, and readers re-read a replaced file, so no process brings back a
member another one erased, or loses a consent another one recorded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from edge.clock import VirtualClock
from edge.vision.consent import ConsentRegistry
from edge.vision.gallery import Gallery
from edge.vision.gallery_file import GalleryFile, generate_key, load_key

DIM = 8
ROOT = Path(__file__).resolve().parents[2]

# One process of the interleaving: enrol its own members with consent, then forget every third
# one, with the other process doing the same on the same files at the same time.
WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    from edge.clock import VirtualClock
    from edge.vision.consent import ConsentRegistry
    from edge.vision.gallery import Gallery
    from edge.vision.gallery_file import GalleryFile, load_key

    folder, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    clock = VirtualClock(1_700_000_000_000)
    gallery = Gallery.open(
        GalleryFile(folder / "gallery.bin", load_key(folder / "gallery.key")),
        embedding_size=8, metric="euclidean", threshold=0.5, min_margin=0.0, backend="test",
    )
    consent = ConsentRegistry(folder / "consent.json", clock)
    rng = np.random.default_rng(len(name))
    (folder / f"ready-{name}").touch()
    while not (folder / "go").exists():  # both start together, so their writes interleave
        pass
    for i in range(count):
        member = f"{name}-{i}"
        consent.grant(member, f"form-{member}")
        gallery.add(member, rng.normal(size=(2, 8)).astype(np.float32))
        if i % 3 == 2:
            gallery.remove_member(f"{name}-{i - 1}")
            consent.revoke(f"{name}-{i - 1}")
    """
)


def _open(folder: Path) -> tuple[Gallery, ConsentRegistry]:
    gallery = Gallery.open(
        GalleryFile(folder / "gallery.bin", load_key(folder / "gallery.key")),
        embedding_size=DIM,
        metric="euclidean",
        threshold=0.5,
        min_margin=0.0,
        backend="test",
    )
    return gallery, ConsentRegistry(folder / "consent.json", VirtualClock(1_700_000_000_000))


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "gallery.key").write_text(generate_key())
    return tmp_path


def test_two_processes_interleaving_keep_what_a_serial_order_would(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    count = 150
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(folder), name, str(count)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("cli", "edge")
    ]
    while not all((folder / f"ready-{name}").exists() for name in ("cli", "edge")):
        assert all(worker.poll() is None for worker in workers)
    (folder / "go").touch()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err

    # Whatever the interleaving, a serial order leaves each process's own members minus the
    # ones it forgot (the two work on different members, so every order gives the same).
    expected = sorted(
        f"{name}-{i}"
        for name in ("cli", "edge")
        for i in range(count)
        if not (i % 3 == 1 and i + 1 < count)
    )
    gallery, consent = _open(folder)
    assert gallery.members() == expected
    assert consent.members() == expected
    assert gallery.embedding_count == 2 * len(expected)


def test_an_erasure_in_one_process_is_not_undone_by_the_other(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    edge_gallery, edge_consent = _open(folder)
    rng = np.random.default_rng(7)
    anna = rng.normal(size=(1, DIM)).astype(np.float32)
    edge_consent.grant("m-anna", "form-1")
    edge_gallery.add("m-anna", anna)
    assert edge_gallery.match(anna[0]).member_id == "m-anna"

    # The command line (another instance on the same files) forgets her...
    cli_gallery, cli_consent = _open(folder)
    assert cli_gallery.remove_member("m-anna") == 1
    assert cli_consent.revoke("m-anna")

    # ...the running edge no longer recognises her at its next match, and its next write (a
    # new member) does not bring her back.
    assert edge_gallery.match(anna[0]).member_id is None
    assert "m-anna" not in edge_consent
    edge_consent.grant("m-ben", "form-2")
    edge_gallery.add("m-ben", rng.normal(size=(1, DIM)).astype(np.float32))

    fresh_gallery, fresh_consent = _open(folder)
    assert fresh_gallery.members() == ["m-ben"]
    assert fresh_consent.members() == ["m-ben"]
    # A consent recorded through one instance is not lost when the other writes.
    cli_consent.grant("m-cleo", "form-3")
    edge_consent.revoke("m-ben")
    assert _open(folder)[1].members() == ["m-cleo"]
