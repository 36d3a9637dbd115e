"""Cuts the reader's TCP byte stream into LLRP messages, whatever the reads deliver: half a
message, several messages, a message split over many reads.

The header's length field is the only framing LLRP has (no sync byte, no checksum),
so a bad header (a length below 10 or above the limit, an unknown version, non-zero reserved
bits) means the stream is lost: :meth:`LlrpFramer.feed` raises :class:`LlrpError` and the
caller drops the connection (a new one starts with a fresh framer).
"""

from __future__ import annotations

from typing import NamedTuple

from edge.rfid.llrp.codec import MAX_MESSAGE_BYTES, LlrpError, Malformed
from edge.rfid.llrp.spec import HEADER_LEN, VERSION_1_0_1, VERSION_1_1


class Frame(NamedTuple):
    """One whole message as received: ``data`` is header + body."""

    version: int
    type: int
    id: int
    data: bytes

    @property
    def body(self) -> bytes:
        return self.data[HEADER_LEN:]


class LlrpFramer:
    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._max = max_message_bytes
        self._buffer = bytearray()
        self.messages = 0
        self.bytes = 0

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()

    def feed(self, data: bytes) -> list[Frame]:
        """The messages completed by ``data``; raises LlrpError on a header that cannot be one."""
        self.bytes += len(data)
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        pos = 0
        size = len(buffer)
        while size - pos >= HEADER_LEN:
            word = (buffer[pos] << 8) | buffer[pos + 1]
            length = int.from_bytes(buffer[pos + 2 : pos + 6], "big")
            version = (word >> 10) & 0x7
            if word >> 13 or version not in (VERSION_1_0_1, VERSION_1_1):
                del buffer[:pos]
                raise LlrpError(
                    Malformed.BAD_VERSION,
                    f"message header {bytes(buffer[:HEADER_LEN]).hex()} is not LLRP "
                    f"(version {version}, reserved bits {word >> 13})",
                )
            if length < HEADER_LEN or length > self._max:
                del buffer[:pos]
                raise LlrpError(
                    Malformed.BAD_LENGTH,
                    f"message length {length} outside {HEADER_LEN}..{self._max} "
                    f"(header {bytes(buffer[:HEADER_LEN]).hex()})",
                )
            if size - pos < length:
                break
            frames.append(
                Frame(
                    version,
                    word & 0x3FF,
                    int.from_bytes(buffer[pos + 6 : pos + 10], "big"),
                    bytes(buffer[pos : pos + length]),
                )
            )
            pos += length
        if pos:
            del buffer[:pos]
        self.messages += len(frames)
        return frames
