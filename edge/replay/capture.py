"""The capture format (``o2o-capture/1``): a directory of recorded reader and camera streams.

A capture is ``manifest.yaml`` plus one file per source (see docs/capture-format.md):

- serial: JSON lines ``{"t": epoch_s, "data_b64": ...}``, in the chunks the port delivered;
- mqtt: JSON lines ``{"t": epoch_s, "topic": ..., "payload_b64": ...}``;
- camera: a video file plus JSON lines ``{"t": epoch_s, "frame": index}``.

``t`` is UTC epoch seconds with millisecond precision; within one file it never decreases.
A lines file whose name ends in ``.gz`` is gzip-compressed (read and written transparently).
``Capture.records()`` streams every source at once, merged in time order (ties: manifest
source order, then file order), so a capture of any size replays in constant memory.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import heapq
import io
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any, Final, Literal

import orjson
import yaml
from pydantic import Field, ValidationError, field_validator

from edge.config.base import StrictModel
from edge.config.loader import format_validation_error

FORMAT: Final = "o2o-capture/1"
MANIFEST = "manifest.yaml"
EXPECTED_EVENTS = "expected_events.jsonl"
"""Expected replay output of a shipped capture, kept beside its manifest."""

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_FILE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""Plain file names inside the capture directory: no folders, no ``..``."""
GZIP_SUFFIX = ".gz"
"""A lines file named ``*.gz`` is gzip-compressed (a busy store hour is 10x smaller)."""
GZIP_LEVEL = 6
"""zlib's default: nearly level 9's size at a fraction of its time."""


class CaptureError(ValueError):
    """A capture that cannot be used; the message names the file (and line) at fault."""


# --- manifest -------------------------------------------------------------------------------


class SerialSource(StrictModel):
    id: str = Field(pattern=_ID_PATTERN, title="Source id")
    kind: Literal["serial"] = "serial"
    reader: str = Field(title="Id of the serial reader (STORE.yaml readers) it was read from")
    file: str = Field(pattern=_FILE_PATTERN, title="JSON lines of {t, data_b64}")


class MqttSource(StrictModel):
    id: str = Field(pattern=_ID_PATTERN, title="Source id")
    kind: Literal["mqtt"] = "mqtt"
    file: str = Field(pattern=_FILE_PATTERN, title="JSON lines of {t, topic, payload_b64}")
    topics: list[str] = Field(
        default_factory=list, title="Topics in the file (informative; each line names its own)"
    )


class CameraSource(StrictModel):
    id: str = Field(pattern=_ID_PATTERN, title="Source id")
    kind: Literal["camera"] = "camera"
    camera: str = Field(title="Camera id it was recorded from")
    video: str = Field(pattern=_FILE_PATTERN, title="Video file")
    timestamps: str = Field(pattern=_FILE_PATTERN, title="JSON lines of {t, frame}")


class LlrpSource(StrictModel):
    id: str = Field(pattern=_ID_PATTERN, title="Source id")
    kind: Literal["llrp"] = "llrp"
    reader: str = Field(title="Id of the LLRP reader (STORE.yaml readers) it was received from")
    file: str = Field(
        pattern=_FILE_PATTERN, title="JSON lines of {t, data_b64}: whole LLRP messages"
    )


Source = Annotated[
    SerialSource | MqttSource | CameraSource | LlrpSource, Field(discriminator="kind")
]
AnySource = SerialSource | MqttSource | CameraSource | LlrpSource


class Manifest(StrictModel):
    format: Literal["o2o-capture/1"] = Field(title="Format and version")
    store_id: str = Field(title="Store the capture was recorded in (or simulated for)")
    start: datetime = Field(title="Start of the recording, ISO 8601 UTC")
    duration_s: float = Field(ge=0, title="Length of the recording, seconds")
    description: str = Field(default="", title="What the capture shows")
    sources: list[Source] = Field(default_factory=list, title="Recorded streams")

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start must carry a time zone (UTC expected, e.g. ...Z)")
        return value.astimezone(UTC)

    @field_validator("sources")
    @classmethod
    def _unique(cls, sources: list[Source]) -> list[Source]:
        ids = [source.id for source in sources]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"source ids must be unique; repeated: {', '.join(repeated)}")
        files = [name for source in sources for name in _files_of(source)]
        shared = sorted({f for f in files if files.count(f) > 1})
        if shared:
            raise ValueError(f"each source needs its own files; shared: {', '.join(shared)}")
        return sources

    @property
    def start_ms(self) -> int:
        return round(self.start.timestamp() * 1000)

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json")
        data["start"] = format_utc(self.start_ms)
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _files_of(source: AnySource) -> tuple[str, ...]:
    if isinstance(source, CameraSource):
        return (source.video, source.timestamps)
    return (source.file,)


def format_utc(ts_ms: int) -> str:
    """``2026-03-07T10:00:00.000Z`` for epoch milliseconds."""
    moment = datetime.fromtimestamp(ts_ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SerialChunk:
    """Bytes as one read of the serial port returned them."""

    source_id: str
    reader_id: str
    t_ms: int
    data: bytes


@dataclass(frozen=True, slots=True)
class MqttMessage:
    source_id: str
    t_ms: int
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class CameraFrame:
    """Frame ``frame_index`` (0-based, in decode order) of the source's video was taken at t."""

    source_id: str
    camera_id: str
    t_ms: int
    frame_index: int


@dataclass(frozen=True, slots=True)
class LlrpRecord:
    """One whole LLRP message (header included) as the reader sent it."""

    source_id: str
    reader_id: str
    t_ms: int
    data: bytes


Record = SerialChunk | MqttMessage | CameraFrame | LlrpRecord
"""``records()`` yields these: one record of any source."""


def _t_ms(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'t' must be a number of epoch seconds (value: {value!r})")
    if value < 0:
        raise ValueError(f"'t' must not be negative (value: {value!r})")
    return round(value * 1000)


def _b64(value: Any, key: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a base64 string (value: {value!r})")
    try:
        # Strict: characters outside the alphabet or misplaced padding are errors, not skipped.
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"'{key}' is not valid base64 (value: {value[:40]!r})") from None


_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "serial": ("t", "data_b64"),
    "llrp": ("t", "data_b64"),
    "mqtt": ("t", "topic", "payload_b64"),
    "camera": ("t", "frame"),
}
_KEY_SETS: Final = {kind: frozenset(keys) for kind, keys in _KEYS.items()}


def _check_keys(kind: str, obj: dict[str, Any]) -> None:
    if obj.keys() == _KEY_SETS[kind]:
        return  # every line of a good capture: no lists built
    expected = _KEYS[kind]
    missing = [key for key in expected if key not in obj]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    unknown = sorted(set(obj) - set(expected))
    raise ValueError(f"unknown key(s) {', '.join(unknown)}")


def _parse_line(source: AnySource, line: bytes | str) -> Record:
    # The replayer parses every record on its critical path: orjson and binascii, not json
    # and base64's regular expression, keep a busy hour's parsing off the replay's wall time.
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(obj, dict):
        raise ValueError("each line must be a JSON object")
    _check_keys(source.kind, obj)
    t_ms = _t_ms(obj["t"])
    if isinstance(source, SerialSource):
        return SerialChunk(source.id, source.reader, t_ms, _b64(obj["data_b64"], "data_b64"))
    if isinstance(source, LlrpSource):
        data = _b64(obj["data_b64"], "data_b64")
        if len(data) < 10 or int.from_bytes(data[2:6], "big") != len(data):
            raise ValueError(f"'data_b64' is not one whole LLRP message ({len(data)} bytes)")
        return LlrpRecord(source.id, source.reader, t_ms, data)
    if isinstance(source, MqttSource):
        topic = obj["topic"]
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"'topic' must be a non-empty string (value: {topic!r})")
        return MqttMessage(source.id, t_ms, topic, _b64(obj["payload_b64"], "payload_b64"))
    frame = obj["frame"]
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise ValueError(f"'frame' must be a frame index >= 0 (value: {frame!r})")
    return CameraFrame(source.id, source.camera, t_ms, frame)


def _lines_file(source: AnySource) -> str:
    return source.timestamps if isinstance(source, CameraSource) else source.file


def open_lines(path: Path) -> gzip.GzipFile | io.BufferedReader:
    """A lines file for reading, as bytes (JSON lines are UTF-8 by definition: the parser
    checks), decompressed when its name ends in ``.gz``."""
    if path.name.endswith(GZIP_SUFFIX):
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def create_lines(path: Path) -> IO[str]:
    """A lines file for writing, gzip-compressed when its name ends in ``.gz``.

    The gzip header's time is 0 (not now), so the same lines always give the same bytes.
    """
    if path.name.endswith(GZIP_SUFFIX):
        compressed = gzip.GzipFile(path, "wb", compresslevel=GZIP_LEVEL, mtime=0)
        return io.TextIOWrapper(compressed, encoding="utf-8", newline="\n")
    return path.open("w", encoding="utf-8", newline="\n")


# --- reading --------------------------------------------------------------------------------


class Capture:
    """An opened, validated capture directory."""

    def __init__(self, directory: Path, manifest: Manifest) -> None:
        self.directory = directory
        self.manifest = manifest

    @classmethod
    def open(cls, directory: str | Path, *, verify: bool = True) -> Capture:
        """Read and validate the manifest and check every file it names exists.

        With ``verify`` (the default) every line of every source is also checked once
        (streamed), so a corrupt capture fails here, before a replay starts, not halfway.
        """
        directory = Path(directory)
        path = directory / MANIFEST
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CaptureError(f"{path}: cannot read the manifest: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise CaptureError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise CaptureError(f"{path}: the top level must be a mapping of keys to values")
        if data.get("format") != FORMAT:
            raise CaptureError(
                f"{path}: format: expected {FORMAT!r} (value: {data.get('format')!r})"
            )
        try:
            manifest = Manifest.model_validate(data)
        except ValidationError as error:
            raise CaptureError(format_validation_error(str(path), error)) from None
        for source in manifest.sources:
            for name in _files_of(source):
                if not (directory / name).is_file():
                    raise CaptureError(
                        f"{path}: source {source.id}: file {name} does not exist in {directory}"
                    )
        capture = cls(directory, manifest)
        if verify:
            for source in manifest.sources:
                for _ in capture.source_records(source.id):
                    pass
        return capture

    @property
    def store_id(self) -> str:
        return self.manifest.store_id

    @property
    def start_ms(self) -> int:
        return self.manifest.start_ms

    @property
    def sources(self) -> list[AnySource]:
        return list(self.manifest.sources)

    def source(self, source_id: str) -> AnySource:
        for source in self.manifest.sources:
            if source.id == source_id:
                return source
        raise KeyError(f"capture {self.directory} has no source {source_id!r}")

    def path(self, name: str) -> Path:
        """A file of the capture, e.g. ``capture.path(camera_source.video)``."""
        return self.directory / name

    def source_records(self, source_id: str) -> Iterator[Record]:
        """One source's records in file order; a bad line raises ``CaptureError``
        naming the file and line number."""
        source = self.source(source_id)
        path = self.directory / _lines_file(source)
        last_ms = -1
        number = 0
        with open_lines(path) as handle:
            try:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = _parse_line(source, line)
                    except ValueError as error:
                        raise CaptureError(f"{path}:{number}: {error}") from None
                    if record.t_ms < last_ms:
                        raise CaptureError(
                            f"{path}:{number}: 't' goes backwards "
                            f"({record.t_ms / 1000:.3f} < {last_ms / 1000:.3f})"
                        )
                    last_ms = record.t_ms
                    yield record
            except (OSError, EOFError, zlib.error) as error:
                # gzip.BadGzipFile is an OSError; EOFError: a compressed file cut short.
                raise CaptureError(f"{path}: unreadable after line {number}: {error}") from None

    def records(self) -> Iterator[Record]:
        """Every record of every source, merged by time (heap over per-source streams).

        Ties keep manifest source order, then file order, so the merge is deterministic.
        """
        streams = [
            _keyed(index, self.source_records(source.id))
            for index, source in enumerate(self.manifest.sources)
        ]
        for _, record in heapq.merge(*streams):
            yield record


def _keyed(index: int, records: Iterator[Record]) -> Iterator[tuple[tuple[int, int, int], Record]]:
    """``((t_ms, source index, line order), record)``: a total order, so records never compare."""
    for n, record in enumerate(records):
        yield (record.t_ms, index, n), record


# --- writing --------------------------------------------------------------------------------


class CaptureWriter:
    """Writes a capture directory; the ``write_*`` methods may be called from any thread.

    Within a source, ``t`` never decreases: a timestamp earlier than the source's last one
    (a wall-clock step backwards) is written as the last one, so the file stays mergeable.
    The manifest is rewritten whenever a source is added and on ``close()``, so an
    interrupted recording is still a readable capture (unless compressed: a gzip stream is
    only complete once closed). ``compress`` names default files ``*.jsonl.gz``.
    """

    def __init__(
        self,
        directory: str | Path,
        store_id: str,
        start_ms: int,
        description: str = "",
        *,
        compress: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self._suffix = ".jsonl" + (GZIP_SUFFIX if compress else "")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.store_id = store_id
        self.start_ms = start_ms
        self.description = description
        self._lock = threading.Lock()
        self._sources: list[AnySource] = []
        self._handles: dict[str, IO[str]] = {}
        self._last_ms: dict[str, int] = {}
        self._topics: dict[str, list[str]] = {}
        self._max_ms = start_ms
        self._closed = False

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def add_serial_source(self, source_id: str, reader_id: str, file: str | None = None) -> None:
        self._add(
            SerialSource(id=source_id, reader=reader_id, file=file or source_id + self._suffix)
        )

    def add_mqtt_source(
        self, source_id: str, topics: list[str] | tuple[str, ...] = (), file: str | None = None
    ) -> None:
        """``topics`` are informative; topics seen in ``write_mqtt`` are added to the list."""
        self._add(MqttSource(id=source_id, file=file or source_id + self._suffix, topics=[*topics]))

    def add_camera_source(
        self,
        source_id: str,
        camera_id: str,
        video: str | None = None,
        timestamps: str | None = None,
    ) -> Path:
        """Returns the path the caller writes the video to (default ``<source_id>.mp4``)."""
        source = CameraSource(
            id=source_id,
            camera=camera_id,
            video=video or f"{source_id}.mp4",
            timestamps=timestamps or f"{source_id}.frames{self._suffix}",
        )
        self._add(source)
        return self.directory / source.video

    def add_llrp_source(self, source_id: str, reader_id: str, file: str | None = None) -> None:
        self._add(LlrpSource(id=source_id, reader=reader_id, file=file or source_id + self._suffix))

    def write_llrp(self, source_id: str, t_ms: int, message: bytes) -> None:
        """One whole message from the reader (the LLRP driver's ``on_message`` tap)."""
        self._write(source_id, LlrpSource, t_ms, {"data_b64": _encode(message)})

    def write_serial(self, source_id: str, t_ms: int, data: bytes) -> None:
        self._write(source_id, SerialSource, t_ms, {"data_b64": _encode(data)})

    def write_mqtt(self, source_id: str, t_ms: int, topic: str, payload: bytes) -> None:
        self._write(source_id, MqttSource, t_ms, {"topic": topic, "payload_b64": _encode(payload)})

    def write_frame_ts(self, source_id: str, t_ms: int, frame_index: int) -> None:
        self._write(source_id, CameraSource, t_ms, {"frame": frame_index})

    def close(self, duration_s: float | None = None) -> Path:
        """Flush and close every file and write the final manifest; returns the directory.

        ``duration_s`` defaults to the span from ``start_ms`` to the latest record.
        """
        with self._lock:
            if not self._closed:
                for handle in self._handles.values():
                    handle.close()
                self._closed = True
            if duration_s is None:
                duration_s = max(0, self._max_ms - self.start_ms) / 1000
            self._write_manifest(duration_s)
        return self.directory

    def _add(self, source: AnySource) -> None:
        with self._lock:
            if self._closed:
                raise CaptureError(f"{self.directory}: the capture writer is closed")
            if any(existing.id == source.id for existing in self._sources):
                raise CaptureError(f"{self.directory}: source {source.id!r} added twice")
            self._sources.append(source)
            path = self.directory / _lines_file(source)
            self._handles[source.id] = create_lines(path)
            self._last_ms[source.id] = self.start_ms
            if isinstance(source, MqttSource):
                self._topics[source.id] = list(source.topics)
            self._write_manifest(0.0)

    def _write(self, source_id: str, kind: type, t_ms: int, fields: dict[str, Any]) -> None:
        with self._lock:
            handle = self._handles.get(source_id)
            source = next((s for s in self._sources if s.id == source_id), None)
            if handle is None or not isinstance(source, kind):
                raise CaptureError(
                    f"{self.directory}: no {kind.__name__} with id {source_id!r} was added"
                )
            if self._closed:
                raise CaptureError(f"{self.directory}: the capture writer is closed")
            t_ms = max(int(t_ms), self._last_ms[source_id])
            self._last_ms[source_id] = t_ms
            self._max_ms = max(self._max_ms, t_ms)
            topic = fields.get("topic")
            if topic is not None and topic not in self._topics[source_id]:
                self._topics[source_id].append(topic)
            line = json.dumps({"t": t_ms / 1000, **fields}, separators=(",", ":"))
            handle.write(line + "\n")

    def _write_manifest(self, duration_s: float) -> None:
        sources = [
            source.model_copy(update={"topics": list(self._topics[source.id])})
            if isinstance(source, MqttSource)
            else source
            for source in self._sources
        ]
        manifest = Manifest(
            format=FORMAT,
            store_id=self.store_id,
            start=datetime.fromtimestamp(self.start_ms / 1000, tz=UTC),
            duration_s=round(duration_s, 3),
            description=self.description,
            sources=sources,
        )
        (self.directory / MANIFEST).write_text(manifest.to_yaml(), encoding="utf-8")


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
