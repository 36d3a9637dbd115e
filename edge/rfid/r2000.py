"""The binary serial protocol of Impinj-R2000-based reader modules (the "0xA0 protocol").

Pure protocol code, no I/O: command builders, frame encoders (used by tests and the store
simulator) and :class:`R2000Parser`, a streaming parser that turns bytes, chunked any way,
into frames. Frame layout (every field one byte unless noted)::

    A0 | Len | Addr | Cmd | Data (Len - 3 bytes) | Check

``Len`` counts the bytes after itself, the checksum included, and ``Check`` is the two's
complement of the sum of all earlier bytes, so a whole frame sums to 0 mod 256.

Real-time inventory (``Cmd`` 0x89, Data = repeat count) answers with one frame per tag read,
``A0 Len Addr 89 FreqAnt PC(2) EPC RSSI Check``, then one completion frame
``A0 0A Addr 89 Ant Rate(2) Total(4) Check``, or a 1-byte error code ``A0 04 Addr 89 Err Check``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD = 0xA0
CMD_REALTIME_INVENTORY = 0x89
BROADCAST_ADDRESS = 0xFF
RSSI_OFFSET_DB = 129
"""dBm ≈ raw RSSI (the RSSI byte's low 7 bits) - 129 (0x45 -> -60 dBm)."""
HIGH_PORTS = 0x80
"""Bit 7 of the RSSI byte: on 8-port modules, the read came from antennas 5-8 (FreqAnt's two
antenna bits count within the group), so ``FreqAnt=0x28, RSSI=0xC5`` is antenna 5 at -60 dBm.
A 4-port module never sets it: its raw RSSI stays below 0x80."""
RSSI_MIN_RAW, RSSI_MAX_RAW = 0x1F, 0x6E
"""Raw values a module reports for a real tag (-98 .. -19 dBm): beyond the receiver's
sensitivity and saturation a value only comes from a false frame; counted
(``rssi_out_of_range``), the read kept."""

# Len of the fixed-size 0x89 replies; a tag frame's Len is 7 + EPC length (always odd).
_LEN_ERROR = 4
_LEN_INVENTORY_DONE = 10
_LEN_TAG_OVERHEAD = 7
_MIN_LEN = 3  # Addr, Cmd, Check: a frame without data
# Len, Addr, Cmd, FreqAnt, PC of a frame starting at the offset given.
_unpack_head = struct.Struct(">xBBBBH").unpack_from

ERROR_CODES: dict[int, str] = {
    0x11: "command_fail",
    0x20: "mcu_reset_error",
    0x21: "cw_on_error",
    0x22: "antenna_missing_error",
    0x23: "write_flash_error",
    0x24: "read_flash_error",
    0x25: "set_output_power_error",
    0x31: "tag_inventory_error",
    0x32: "tag_read_error",
    0x33: "tag_write_error",
    0x34: "tag_lock_error",
    0x35: "tag_kill_error",
    0x36: "no_tag_error",
    0x37: "inventory_ok_but_access_fail",
    0x38: "buffer_is_empty_error",
    0x3C: "nxp_custom_command_fail",
    0x40: "access_or_password_error",
    0x41: "parameter_invalid",
    0x42: "parameter_invalid_wordcnt_too_long",
    0x43: "parameter_invalid_membank_out_of_range",
    0x44: "parameter_invalid_lock_region_out_of_range",
    0x45: "parameter_invalid_lock_action_out_of_range",
    0x46: "parameter_reader_address_invalid",
    0x47: "parameter_invalid_antenna_id_out_of_range",
    0x48: "parameter_invalid_output_power_out_of_range",
    0x49: "parameter_invalid_frequency_region_out_of_range",
    0x4A: "parameter_invalid_baudrate_out_of_range",
    0x4B: "parameter_beeper_mode_out_of_range",
    0x4C: "parameter_epc_match_len_too_long",
    0x4D: "parameter_epc_match_len_error",
    0x4E: "parameter_invalid_epc_match_mode",
    0x4F: "parameter_invalid_frequency_range",
    0x50: "fail_to_get_rn16_from_tag",
    0x51: "parameter_invalid_drm_mode",
    0x52: "pll_lock_fail",
    0x53: "rf_chip_fail_to_response",
    0x54: "fail_to_achieve_desired_output_power",
    0x55: "copyright_authentication_fail",
    0x56: "spectrum_regulation_error",
    0x57: "output_power_too_low",
    0xEE: "fail_to_get_rf_port_return_loss",
}
"""Result codes of the R2000 serial protocol guide (0x10 is command_success)."""


def error_meaning(code: int) -> str:
    return ERROR_CODES.get(code, f"unknown_error_0x{code:02X}")


# --- frames ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagFrame:
    """One tag read of a real-time inventory round."""

    address: int
    antenna: int
    """1-based antenna port: (FreqAnt & 3) + 1, plus 4 when the RSSI byte's bit 7 is set."""
    pc: int
    epc_hex: str
    """Upper-case hex."""
    rssi_raw: int
    rssi_dbm: int


@dataclass(frozen=True, slots=True)
class InventoryDone:
    """End of a real-time inventory round: reads per second and reads in the round."""

    address: int
    antenna: int
    read_rate: int
    total_reads: int


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    address: int
    cmd: int
    code: int
    meaning: str


@dataclass(frozen=True, slots=True)
class OtherResponse:
    """A valid frame of a command this code does not interpret."""

    address: int
    cmd: int
    data: bytes


Frame = TagFrame | InventoryDone | ErrorResponse | OtherResponse

# The generated __init__ of a frozen dataclass sets each field through object.__setattr__, 40 %
# of the parser's time per tag frame; the slot descriptors do the same at half the cost and
# the result is an ordinary, still frozen, TagFrame.
_set_address, _set_antenna, _set_pc, _set_epc_hex, _set_rssi_raw, _set_rssi_dbm = (
    getattr(TagFrame, name).__set__
    for name in ("address", "antenna", "pc", "epc_hex", "rssi_raw", "rssi_dbm")
)


def _new_tag_frame(
    address: int, antenna: int, pc: int, epc_hex: str, rssi_raw: int, rssi_dbm: int
) -> TagFrame:
    frame: TagFrame = object.__new__(TagFrame)
    _set_address(frame, address)
    _set_antenna(frame, antenna)
    _set_pc(frame, pc)
    _set_epc_hex(frame, epc_hex)
    _set_rssi_raw(frame, rssi_raw)
    _set_rssi_dbm(frame, rssi_dbm)
    return frame


# --- builders and encoders ------------------------------------------------------------------


def build_command(address: int, cmd: int, data: bytes = b"") -> bytes:
    """Any frame: header, Len, address, command, data and checksum."""
    if not 0 <= address <= 0xFF or not 0 <= cmd <= 0xFF:
        raise ValueError(f"address and cmd must be 0..255, got {address!r}, {cmd!r}")
    if len(data) > 0xFF - _MIN_LEN:
        raise ValueError(f"data of {len(data)} bytes does not fit one frame")
    body = bytes((HEAD, len(data) + _MIN_LEN, address, cmd)) + data
    return body + bytes((-sum(body) & 0xFF,))


def build_realtime_inventory(address: int, repeat: int) -> bytes:
    """Cmd 0x89: inventory on the work antenna, ``repeat`` rounds (``A0 04 01 89 01 D1``)."""
    if not 1 <= repeat <= 0xFF:
        raise ValueError(f"repeat must be 1..255, got {repeat}")
    return build_command(address, CMD_REALTIME_INVENTORY, bytes((repeat,)))


def _check_antenna(antenna: int, ports: int = 4) -> None:
    if not 1 <= antenna <= ports:
        raise ValueError(f"antenna must be 1..{ports}, got {antenna}")


def encode_tag_frame(
    address: int, antenna: int, pc: int, epc: bytes, rssi_raw: int, freq: int = 0
) -> bytes:
    """A tag frame as the reader sends it. ``pc`` must announce ``len(epc)`` (bits 15..11);
    antennas 5-8 (8-port modules) set bit 7 of the RSSI byte."""
    _check_antenna(antenna, ports=8)
    if not 0 <= pc <= 0xFFFF or ((pc >> 11) & 0x1F) * 2 != len(epc):
        raise ValueError(f"PC 0x{pc:04X} does not announce {len(epc)} EPC bytes")
    if not 0 <= freq <= 0x3F or not 0 <= rssi_raw <= 0x7F:
        raise ValueError(f"freq must be 0..63 and rssi_raw 0..127, got {freq}, {rssi_raw}")
    port = antenna - 1
    rssi = rssi_raw | (HIGH_PORTS if port >= 4 else 0)
    data = bytes(((freq << 2) | (port & 3), pc >> 8, pc & 0xFF)) + epc + bytes((rssi,))
    return build_command(address, CMD_REALTIME_INVENTORY, data)


def encode_completion_frame(address: int, antenna: int, read_rate: int, total_reads: int) -> bytes:
    _check_antenna(antenna)
    data = bytes((antenna - 1,)) + read_rate.to_bytes(2, "big") + total_reads.to_bytes(4, "big")
    return build_command(address, CMD_REALTIME_INVENTORY, data)


def encode_error_frame(address: int, cmd: int, error_code: int) -> bytes:
    return build_command(address, cmd, bytes((error_code,)))


def pc_for_epc(epc: bytes) -> int:
    """The PC word a tag with this EPC reports (length in words, no user memory/XPC bits)."""
    if len(epc) % 2 or len(epc) > 62:
        raise ValueError(f"EPC must be an even number of bytes up to 62, got {len(epc)}")
    return (len(epc) // 2) << 11


# --- streaming parser -----------------------------------------------------------------------

STAT_KEYS = (
    "frames",
    "tag_frames",
    "inventory_done",
    "error_responses",
    "other_responses",
    "garbage_bytes",
    "checksum_errors",
    "bad_length",
    "wrong_address",
    "rssi_out_of_range",
)


class R2000Parser:
    """Bytes in, frames out, whatever the chunking.

    Resynchronisation rules, applied to each candidate frame start (a 0xA0 byte), in order;
    a rule runs only once the bytes it needs have arrived, so chunking never changes the result:

    1. ``Len`` < 3 is impossible: skip this 0xA0 (``bad_length``).
    2. If an address was given (not broadcast 0xFF), ``Addr`` must match (``wrong_address``).
    3. Cmd 0x89 replies have a known ``Len``: 4, 10, or 7 + the EPC length announced by the
       PC word. Anything else: skip (``bad_length``). This catches a garbage 0xA0 early, before
       waiting for up to 255 bytes of a frame that does not exist.
    4. The checksum must hold (``checksum_errors``).

    A skipped candidate discards only its 0xA0 byte and the scan restarts at the next byte.
    Bytes that belong to no valid frame count as ``garbage_bytes``. A frame that is not yet
    complete waits for more bytes.
    """

    __slots__ = ("_address", "_buf", "stats")

    def __init__(self, address: int | None = None) -> None:
        self._address = None if address in (None, BROADCAST_ADDRESS) else address
        self._buf = bytearray()
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def reset(self) -> None:
        """Forget a partial frame (the port was reopened); its bytes count as garbage."""
        self.stats["garbage_bytes"] += len(self._buf)
        self._buf.clear()

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf
        buf += chunk
        n = len(buf)
        want_address = self._address
        frames: list[Frame] = []
        append = frames.append
        find = buf.find
        pos = 0
        garbage = tags = done = errors = others = bad_len = bad_sum = bad_addr = rssi_out = 0
        while True:
            if pos < n and buf[pos] == HEAD:
                i = pos
            else:
                i = find(HEAD, pos)
                if i < 0:
                    garbage += n - pos
                    pos = n
                    break
                garbage += i - pos
                pos = i
            # Fast path: a complete, valid tag frame (the bulk of the traffic). Anything else
            # falls through to the rule-by-rule checks below, which also do the counting.
            if i + 7 <= n:
                length, address, cmd, freq_ant, pc = _unpack_head(buf, i)
                end = i + 2 + length
                if (
                    cmd == CMD_REALTIME_INVENTORY
                    and end <= n
                    and length == ((pc >> 11) << 1) + _LEN_TAG_OVERHEAD
                    and (want_address is None or address == want_address)
                    and not sum(buf[i:end]) & 0xFF
                ):
                    rssi = buf[end - 2]
                    raw = rssi & 0x7F
                    if not RSSI_MIN_RAW <= raw <= RSSI_MAX_RAW:
                        rssi_out += 1
                    append(
                        _new_tag_frame(
                            address,
                            (freq_ant & 3) + 1 + ((rssi & HIGH_PORTS) >> 5),
                            pc,
                            buf[i + 7 : end - 2].hex().upper(),
                            raw,
                            raw - RSSI_OFFSET_DB,
                        )
                    )
                    tags += 1
                    pos = end
                    continue
            if i + 1 >= n:
                break
            length = buf[i + 1]
            if length < _MIN_LEN:
                bad_len += 1
                garbage += 1
                pos = i + 1
                continue
            if i + 2 >= n:
                break
            address = buf[i + 2]
            if want_address is not None and address != want_address:
                bad_addr += 1
                garbage += 1
                pos = i + 1
                continue
            if i + 3 >= n:
                break
            cmd = buf[i + 3]
            end = i + 2 + length
            if cmd == CMD_REALTIME_INVENTORY and length not in (_LEN_ERROR, _LEN_INVENTORY_DONE):
                # A tag frame: Len must match the EPC length its PC word announces.
                if length < _LEN_TAG_OVERHEAD or not length & 1:
                    bad_len += 1
                    garbage += 1
                    pos = i + 1
                    continue
                if i + 5 >= n:
                    break
                if ((buf[i + 5] >> 3) << 1) + _LEN_TAG_OVERHEAD != length:
                    bad_len += 1
                    garbage += 1
                    pos = i + 1
                    continue
            if end > n:
                break
            if sum(buf[i:end]) & 0xFF:
                bad_sum += 1
                garbage += 1
                pos = i + 1
                continue
            pos = end
            if cmd != CMD_REALTIME_INVENTORY:
                append(OtherResponse(address, cmd, bytes(buf[i + 4 : end - 1])))
                others += 1
            elif length == _LEN_ERROR:
                code = buf[i + 4]
                append(ErrorResponse(address, cmd, code, error_meaning(code)))
                errors += 1
            else:
                # Len 10: complete valid tag frames never get here, the fast path took them.
                append(
                    InventoryDone(
                        address,
                        buf[i + 4] + 1,
                        int.from_bytes(buf[i + 5 : i + 7], "big"),
                        int.from_bytes(buf[i + 7 : i + 11], "big"),
                    )
                )
                done += 1
        del buf[:pos]
        stats = self.stats
        stats["frames"] += tags + done + errors + others
        stats["tag_frames"] += tags
        stats["inventory_done"] += done
        stats["error_responses"] += errors
        stats["other_responses"] += others
        stats["garbage_bytes"] += garbage
        stats["checksum_errors"] += bad_sum
        stats["bad_length"] += bad_len
        stats["wrong_address"] += bad_addr
        stats["rssi_out_of_range"] += rssi_out
        return frames
