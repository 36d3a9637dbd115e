"""The gallery file: embeddings kept encrypted at rest, and the key.

**At rest.** The file is AES-256-GCM in 8 MiB segments (nonce = random file prefix + segment
counter; the counter and a last-segment flag are authenticated, so segments cannot be
reordered or cut off unnoticed). It is rewritten atomically (temporary file, fsync, rename)
after every change. The key comes from ``O2O_GALLERY_KEY`` or a key file, never the repository.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge.config.vision import GALLERY_KEY_ENV

MAGIC = b"O2OGAL\x00\x01"
SEGMENT_BYTES = 8 << 20
FORMAT_VERSION = 1
ROWS_PER_CHUNK = 16_384
"""Embeddings per block read or written (bounds the memory of a save or a load)."""


class GalleryKeyError(ValueError):
    """No usable gallery key: the message says where one is looked for."""


class GalleryFileError(ValueError):
    """The gallery file is unreadable: wrong key, damaged, or made for another backend."""


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def load_key(key_file: Path | None) -> bytes:
    """The 32-byte gallery key from ``O2O_GALLERY_KEY``, else from ``key_file``."""
    text = os.environ.get(GALLERY_KEY_ENV, "").strip()
    source = f"environment variable {GALLERY_KEY_ENV}"
    if not text and key_file is not None:
        source = f"key file {key_file}"
        try:
            text = key_file.read_text(encoding="ascii").strip()
        except OSError as error:
            raise GalleryKeyError(f"cannot read the gallery {source}: {error.strerror}") from None
    if not text:
        raise GalleryKeyError(
            f"no gallery key: set {GALLERY_KEY_ENV} or vision -> gallery -> key_file to a key "
            "made by `o2o-edge members keygen` (urlsafe base64 of 32 random bytes)"
        )
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise GalleryKeyError(f"the gallery key in the {source} is not urlsafe base64 of 32 bytes")
    return key


def _segment_nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + struct.pack(">I", counter)


def _segment_aad(prefix: bytes, counter: int, final: bool) -> bytes:
    return MAGIC + prefix + struct.pack(">IB", counter, int(final))


class _SealedWriter:
    def __init__(self, out: IO[bytes], key: bytes) -> None:
        self._out = out
        self._aead = AESGCM(key)
        self._prefix = os.urandom(8)
        self._buffer = bytearray()
        self._counter = 0
        out.write(MAGIC + self._prefix)

    def write(self, data: bytes | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) > SEGMENT_BYTES:
            self._seal(bytes(self._buffer[:SEGMENT_BYTES]), final=False)
            del self._buffer[:SEGMENT_BYTES]

    def close(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(
            _segment_nonce(self._prefix, self._counter),
            plain,
            _segment_aad(self._prefix, self._counter, final),
        )
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._counter += 1


class _SealedReader:
    def __init__(self, source: IO[bytes], key: bytes, name: str) -> None:
        self._in = source
        self._name = name
        self._aead = AESGCM(key)
        head = source.read(len(MAGIC) + 8)
        if head[: len(MAGIC)] != MAGIC or len(head) != len(MAGIC) + 8:
            raise GalleryFileError(f"{name}: not an o2o-edge gallery file")
        self._prefix = head[len(MAGIC) :]
        self._buffer = bytearray()
        self._counter = 0
        self._done = False

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size and not self._done:
            self._open_segment()
        if len(self._buffer) < size:
            raise GalleryFileError(f"{self._name}: ends early (damaged file)")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _open_segment(self) -> None:
        length_bytes = self._in.read(4)
        if len(length_bytes) != 4:
            raise GalleryFileError(f"{self._name}: ends early (damaged file)")
        (length,) = struct.unpack(">I", length_bytes)
        sealed = self._in.read(length)
        nonce = _segment_nonce(self._prefix, self._counter)
        for final in (False, True):
            try:
                plain = self._aead.decrypt(
                    nonce, sealed, _segment_aad(self._prefix, self._counter, final)
                )
            except InvalidTag:
                continue
            self._buffer += plain
            self._counter += 1
            self._done = final
            return
        raise GalleryFileError(
            f"{self._name}: cannot decrypt (wrong key for this file, or the file is damaged)"
        )


class GalleryFile:
    """Where a gallery is kept: an encrypted file, rewritten atomically."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key

    def exists(self) -> bool:
        return self.path.is_file()

    def stamp(self) -> tuple[int, int, int] | None:
        """Changes whenever the file is replaced (by this process or another one)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes (the CLI, the running edge, the sync downlink share the
        file): a change is made to what is on disk under this lock, never to a stale copy."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(self.path.name + ".lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield

    def save(self, header: dict[str, Any], owner: np.ndarray, rows: Iterator[np.ndarray]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            writer = _SealedWriter(out, self._key)
            encoded = json.dumps(header, sort_keys=True).encode("utf-8")
            writer.write(struct.pack(">I", len(encoded)) + encoded)
            writer.write(owner.astype("<i4").tobytes())
            for block in rows:
                writer.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    @contextlib.contextmanager
    def reading(self) -> Iterator[tuple[dict[str, Any], np.ndarray, Iterator[np.ndarray]]]:
        """Header, owner array, then the rows in blocks (read lazily: one copy in memory)."""
        with self.path.open("rb") as source:
            reader = _SealedReader(source, self._key, str(self.path))
            (length,) = struct.unpack(">I", reader.read(4))
            header = json.loads(reader.read(length))
            count = int(header["rows"])
            owner = np.frombuffer(reader.read(4 * count), dtype="<i4").astype(np.int32)
            dim = int(header["embedding_size"])

            def blocks() -> Iterator[np.ndarray]:
                for start in range(0, count, ROWS_PER_CHUNK):
                    size = min(ROWS_PER_CHUNK, count - start)
                    data = reader.read(4 * dim * size)
                    yield np.frombuffer(data, dtype="<f4").reshape(size, dim)

            yield header, owner, blocks()
