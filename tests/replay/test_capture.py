"""The capture format: writer -> reader round trip, merged order, and clear errors."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest
import yaml

from edge.replay.capture import (
    FORMAT,
    MANIFEST,
    CameraFrame,
    CameraSource,
    Capture,
    CaptureError,
    CaptureWriter,
    MqttMessage,
    MqttSource,
    SerialChunk,
    SerialSource,
)

START_MS = 1_772_877_600_000  # 2026-03-07T10:00:00Z


def _write_sample(directory: Path, *, compress: bool = False) -> None:
    with CaptureWriter(directory, "demo", START_MS, "round trip", compress=compress) as writer:
        writer.add_serial_source("shelf", "shelf-reader")
        writer.add_mqtt_source("mqtt", topics=["zebra/fx/data"])
        writer.add_camera_source("cam-1", "cam-1").write_bytes(b"not a real video")
        writer.write_serial("shelf", START_MS + 100, b"\xa0\x04\x01")
        writer.write_mqtt("mqtt", START_MS + 100, "impinj/r700/events", b'{"a":1}')
        writer.write_frame_ts("cam-1", START_MS + 50, 0)
        writer.write_serial("shelf", START_MS + 100, b"\x89\x01\xd1")
        writer.write_frame_ts("cam-1", START_MS + 100, 1)
        writer.write_mqtt("mqtt", START_MS + 2_345, "zebra/fx/data", b"[]")


def test_round_trip_merges_in_time_order_with_stable_ties(tmp_path: Path) -> None:
    _write_sample(tmp_path)
    capture = Capture.open(tmp_path)

    records = list(capture.records())

    # At t=100 the ties keep manifest order (shelf, mqtt, cam-1), then file order.
    assert records == [
        CameraFrame("cam-1", "cam-1", START_MS + 50, 0),
        SerialChunk("shelf", "shelf-reader", START_MS + 100, b"\xa0\x04\x01"),
        SerialChunk("shelf", "shelf-reader", START_MS + 100, b"\x89\x01\xd1"),
        MqttMessage("mqtt", START_MS + 100, "impinj/r700/events", b'{"a":1}'),
        CameraFrame("cam-1", "cam-1", START_MS + 100, 1),
        MqttMessage("mqtt", START_MS + 2_345, "zebra/fx/data", b"[]"),
    ]
    assert capture.store_id == "demo"
    assert capture.start_ms == START_MS
    assert capture.manifest.duration_s == 2.345
    camera = capture.source("cam-1")
    assert isinstance(camera, CameraSource)
    assert capture.path(camera.video).read_bytes() == b"not a real video"


def test_manifest_and_lines_have_the_documented_shape(tmp_path: Path) -> None:
    _write_sample(tmp_path)

    manifest = yaml.safe_load((tmp_path / MANIFEST).read_text())
    assert manifest["format"] == FORMAT
    assert manifest["start"] == "2026-03-07T10:00:00.000Z"
    assert manifest["sources"] == [
        {"id": "shelf", "kind": "serial", "reader": "shelf-reader", "file": "shelf.jsonl"},
        {
            "id": "mqtt",
            "kind": "mqtt",
            "file": "mqtt.jsonl",
            "topics": ["zebra/fx/data", "impinj/r700/events"],
        },
        {
            "id": "cam-1",
            "kind": "camera",
            "camera": "cam-1",
            "video": "cam-1.mp4",
            "timestamps": "cam-1.frames.jsonl",
        },
    ]
    first = json.loads((tmp_path / "shelf.jsonl").read_text().splitlines()[0])
    assert first == {"t": 1772877600.1, "data_b64": "oAQB"}
    frame = json.loads((tmp_path / "cam-1.frames.jsonl").read_text().splitlines()[0])
    assert frame == {"t": 1772877600.05, "frame": 0}


def test_compressed_captures_read_back_the_same_records(tmp_path: Path) -> None:
    _write_sample(tmp_path / "plain")
    _write_sample(tmp_path / "gzip", compress=True)
    _write_sample(tmp_path / "again", compress=True)

    plain = Capture.open(tmp_path / "plain")
    packed = Capture.open(tmp_path / "gzip")
    assert list(packed.records()) == list(plain.records())
    assert [_source_files(s) for s in packed.sources] == [
        ("shelf.jsonl.gz",),
        ("mqtt.jsonl.gz",),
        ("cam-1.mp4", "cam-1.frames.jsonl.gz"),
    ]
    for name in ("shelf.jsonl.gz", "mqtt.jsonl.gz", "cam-1.frames.jsonl.gz"):
        data = (tmp_path / "gzip" / name).read_bytes()
        assert data[:2] == b"\x1f\x8b"  # gzip magic
        plain_name = name.removesuffix(".gz")
        assert gzip.decompress(data) == (tmp_path / "plain" / plain_name).read_bytes()
        # Header time 0: the same lines always give the same bytes.
        assert data == (tmp_path / "again" / name).read_bytes()


def test_a_source_file_named_gz_is_compressed(tmp_path: Path) -> None:
    with CaptureWriter(tmp_path, "demo", START_MS) as writer:
        writer.add_serial_source("s", "r", file="s.jsonl.gz")
        writer.add_serial_source("p", "q")
        writer.write_serial("s", START_MS + 1, b"x")
        writer.write_serial("p", START_MS + 2, b"y")

    assert gzip.decompress((tmp_path / "s.jsonl.gz").read_bytes()).startswith(b'{"t":')
    assert (tmp_path / "p.jsonl").read_text().startswith('{"t":')
    assert [r.t_ms for r in Capture.open(tmp_path).records()] == [START_MS + 1, START_MS + 2]


def test_a_cut_short_or_corrupt_gzip_file_is_a_clear_error(tmp_path: Path) -> None:
    _write_sample(tmp_path, compress=True)
    path = tmp_path / "mqtt.jsonl.gz"
    path.write_bytes(path.read_bytes()[:-12])  # the stream's end (CRC, size) is lost
    with pytest.raises(CaptureError, match=r"mqtt\.jsonl\.gz: unreadable after line 2"):
        Capture.open(tmp_path)

    path.write_bytes(b"not gzip at all")
    with pytest.raises(CaptureError, match=r"mqtt\.jsonl\.gz: unreadable after line 0"):
        Capture.open(tmp_path)


def _source_files(source: SerialSource | MqttSource | CameraSource) -> tuple[str, ...]:
    if isinstance(source, CameraSource):
        return (source.video, source.timestamps)
    return (source.file,)


def test_time_never_goes_backwards_within_a_source(tmp_path: Path) -> None:
    with CaptureWriter(tmp_path, "demo", START_MS) as writer:
        writer.add_serial_source("s", "r")
        writer.write_serial("s", START_MS + 500, b"a")
        writer.write_serial("s", START_MS + 400, b"b")  # the wall clock stepped back

    times = [record.t_ms for record in Capture.open(tmp_path).records()]
    assert times == [START_MS + 500, START_MS + 500]


def test_writes_from_many_threads_all_land_as_whole_lines(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "demo", START_MS)
    for n in range(4):
        writer.add_mqtt_source(f"m{n}")

    def produce(n: int) -> None:
        for i in range(300):
            writer.write_mqtt(f"m{n}", START_MS + i, f"t/{n}", bytes([i % 256]) * 50)

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()

    records = list(Capture.open(tmp_path).records())
    assert len(records) == 1200
    assert [r.t_ms for r in records] == sorted(r.t_ms for r in records)


def test_an_interrupted_recording_is_still_readable(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, "demo", START_MS)
    writer.add_serial_source("s", "r")
    writer.write_serial("s", START_MS + 1, b"x")
    # no close(): the manifest written when the source was added is enough to open it
    assert Capture.open(tmp_path, verify=False).source("s").kind == "serial"
    writer.close()


def test_records_are_streamed_so_a_late_bad_line_surfaces_only_when_reached(
    tmp_path: Path,
) -> None:
    _write_sample(tmp_path)
    with (tmp_path / "shelf.jsonl").open("a") as handle:
        handle.write('{"t": 1772877609.0, "data_b64": "!"}\n')

    stream = Capture.open(tmp_path, verify=False).records()

    assert [next(stream).t_ms for _ in range(3)] == [START_MS + 50, START_MS + 100, START_MS + 100]
    with pytest.raises(CaptureError, match=r"shelf.jsonl:3: 'data_b64' is not valid base64"):
        list(stream)


BAD_LINES = [
    ("not json", "not valid JSON"),
    ("[1, 2]", "each line must be a JSON object"),
    ('{"t": 1772877600.1}', "missing key(s) data_b64"),
    ('{"t": "noon", "data_b64": "AA=="}', "'t' must be a number of epoch seconds"),
    ('{"t": 1772877600.1, "data_b64": "@@@"}', "'data_b64' is not valid base64"),
    ('{"t": 1772877600.1, "data_b64": "AA==", "x": 1}', "unknown key(s) x"),
    ('{"t": 1772877500.0, "data_b64": "AA=="}', "'t' goes backwards"),
]


@pytest.mark.parametrize(
    ("line", "message"), BAD_LINES, ids=["json", "array", "missing", "t", "b64", "extra", "order"]
)
def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    with CaptureWriter(tmp_path, "demo", START_MS) as writer:
        writer.add_serial_source("shelf", "shelf-reader")
        writer.write_serial("shelf", START_MS + 1_000, b"ok")
    with (tmp_path / "shelf.jsonl").open("a") as handle:
        handle.write(line + "\n")

    with pytest.raises(CaptureError) as error:
        Capture.open(tmp_path)

    assert f"{tmp_path / 'shelf.jsonl'}:2: " in str(error.value)
    assert message in str(error.value)


def _manifest(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "format": FORMAT,
        "store_id": "demo",
        "start": "2026-03-07T10:00:00Z",
        "duration_s": 1,
        "sources": [{"id": "s", "kind": "serial", "reader": "r", "file": "s.jsonl"}],
    }
    data.update(changes)
    return data


BAD_MANIFESTS = [
    (_manifest(format="o2o-capture/9"), "format: expected 'o2o-capture/1'"),
    (_manifest(start="2026-03-07T10:00:00"), "start: Value error, start must carry a time zone"),
    (_manifest(colour="red"), "colour: unknown key"),
    (
        _manifest(sources=[{"id": "s", "kind": "audio", "file": "s.jsonl"}]),
        "sources -> 0: Input tag 'audio' found using 'kind' does not match",
    ),
    (
        _manifest(sources=[{"id": "s", "kind": "serial", "file": "s.jsonl"}]),
        "sources -> 0 -> serial -> reader: Field required",
    ),
    (
        _manifest(sources=[{"id": "s", "kind": "serial", "reader": "r", "file": "../x"}]),
        "sources -> 0 -> serial -> file: String should match pattern",
    ),
    (
        _manifest(
            sources=[
                {"id": "s", "kind": "serial", "reader": "r", "file": "s.jsonl"},
                {"id": "s", "kind": "mqtt", "file": "m.jsonl"},
            ]
        ),
        "source ids must be unique; repeated: s",
    ),
    (
        _manifest(sources=[{"id": "s", "kind": "serial", "reader": "r", "file": "gone.jsonl"}]),
        "source s: file gone.jsonl does not exist",
    ),
]


@pytest.mark.parametrize(
    ("manifest", "message"),
    BAD_MANIFESTS,
    ids=["format", "naive-start", "unknown-key", "kind", "no-reader", "path", "dup-id", "file"],
)
def test_a_bad_manifest_names_the_key(
    tmp_path: Path, manifest: dict[str, object], message: str
) -> None:
    (tmp_path / "s.jsonl").write_text("")
    (tmp_path / "m.jsonl").write_text("")
    (tmp_path / MANIFEST).write_text(yaml.safe_dump(manifest))

    with pytest.raises(CaptureError) as error:
        Capture.open(tmp_path)

    assert str(tmp_path / MANIFEST) in str(error.value)
    assert message in str(error.value)


def test_a_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read the manifest"):
        Capture.open(tmp_path)
