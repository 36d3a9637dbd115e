"""The chain's sold EPCs on the edge: a compact, versioned set the exit gate consults.

HQ sends each store the EPCs sold anywhere in the chain (other stores, the web shop) in the
last N days, less those returned, so that an item bought elsewhere does not alarm when its
owner walks through this store's gate (docs/fusion.md, "Gate").

Representation: each EPC becomes a 64-bit key (BLAKE2b of its bytes, 8-byte digest), and the
set is the sorted array of keys: 8 bytes per EPC, 80 MB for 10 million, looked up by binary
search. Two different EPCs share a key with probability about n / 2**64 (5e-13 at 10
million): an unsold item escaping its alarm that way is negligible, unlike a Bloom filter's
percent. The wire form is the same array after a 20-byte header, so HQ and edge agree on it
byte for byte and the edge loads it without parsing.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from hashlib import blake2b

import numpy as np

MAGIC = b"O2OS"
HEADER = struct.Struct("<4sQQ")
"""Magic, version (HQ's, increasing), count; then ``count`` little-endian uint64 keys."""


class SoldSetError(ValueError):
    """Bytes that are not a sold set; the edge keeps the set it had."""


def epc_key(epc_hex: str) -> int:
    """The 64-bit key of an EPC (upper- or lower-case hex)."""
    try:
        raw = bytes.fromhex(epc_hex)
    except ValueError:
        raw = epc_hex.upper().encode()
    return int.from_bytes(blake2b(raw, digest_size=8).digest(), "little")


class SoldSet:
    __slots__ = ("_keys", "version")

    def __init__(self, version: int, keys: array[int]) -> None:
        self.version = version
        self._keys = keys

    @classmethod
    def empty(cls) -> SoldSet:
        return cls(0, array("Q"))

    @classmethod
    def from_epcs(cls, version: int, epcs: Iterable[str]) -> SoldSet:
        return cls(version, array("Q", sorted({epc_key(epc) for epc in epcs})))

    @classmethod
    def from_bytes(cls, data: bytes) -> SoldSet:
        if len(data) < HEADER.size:
            raise SoldSetError(f"sold set of {len(data)} bytes is shorter than its header")
        magic, version, count = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise SoldSetError(f"not a sold set (magic {magic!r})")
        if len(data) != HEADER.size + 8 * count:
            raise SoldSetError(
                f"sold set says {count} EPCs but carries {len(data) - HEADER.size} bytes of keys"
            )
        body = np.frombuffer(data, dtype="<u8", offset=HEADER.size)
        if count > 1 and not bool(np.all(body[1:] > body[:-1])):
            raise SoldSetError("sold set keys are not sorted and distinct")
        keys = array("Q")
        keys.frombytes(body.astype("=u8", copy=False).tobytes())
        return cls(version, keys)

    def to_bytes(self) -> bytes:
        keys = np.frombuffer(self._keys.tobytes(), dtype="=u8").astype("<u8", copy=False)
        return HEADER.pack(MAGIC, self.version, len(self._keys)) + keys.tobytes()

    def __contains__(self, epc: object) -> bool:
        if not isinstance(epc, str):
            return False
        keys = self._keys
        key = epc_key(epc)
        i = bisect_left(keys, key)
        return i < len(keys) and keys[i] == key

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        """Memory of the keys (the wire form adds the header)."""
        return len(self._keys) * self._keys.itemsize
