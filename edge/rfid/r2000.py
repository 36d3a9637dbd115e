"""The binary serial protocol of Impinj-R2000-based reader modules (the "0xA0 protocol").

Pure protocol code, no I/O: command builders, frame encoders (used by tests and the simulated
module) and :class:`R2000Parser`, a streaming parser that turns bytes, chunked any way, into
frames. Section numbers below are those of the vendor's "UHF RFID Reader Serial Interface
Protocol" V3.x (docs/readers.md names the editions). Frame layout (§1, every field one byte
unless noted)::

    A0 | Len | Addr | Cmd | Data (Len - 3 bytes) | Check

``Len`` counts the bytes after itself, the checksum included, and ``Check`` is the two's
complement of the sum of all earlier bytes, so a whole frame sums to 0 mod 256.

Commands the driver sends and the replies it reads:

- ``0x74`` set work antenna (Data = antenna 0..7): ``A0 04 Addr 74 Result``.
- ``0x89`` real-time inventory on the work antenna (Data = repeat): one tag frame per read,
  ``A0 Len Addr 89 FreqAnt PC(2) EPC RSSI [Phase(2)] Check``, then ``A0 0A Addr 89 Ant Rate(2)
  Total(4)``, or ``A0 04 Addr 89 ErrorCode``.
- ``0x8A`` fast switch antenna inventory (Data = 4 or 8 pairs of antenna and Stay, Interval,
  Repeat): tag frames as 0x89's, then ``A0 0A Addr 8A TotalRead(3) CommandDuration(4)``; an
  antenna that is not connected answers ``A0 05 Addr 8A AntID ErrorCode`` and is skipped.
- ``0x8B`` customised session/target inventory: replies as 0x89's.
- ``0x90``/``0x91`` get (and reset) inventory buffer: one frame per buffered tag,
  ``A0 Len Addr 90 TagCount(2) DataLen PC(2) EPC CRC(2) RSSI FreqAnt InvCount Check``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD = 0xA0
CMD_SET_WORK_ANTENNA = 0x74
CMD_REALTIME_INVENTORY = 0x89
CMD_FAST_SWITCH_INVENTORY = 0x8A
CMD_CUSTOMIZED_INVENTORY = 0x8B
CMD_GET_INVENTORY_BUFFER = 0x90
CMD_GET_AND_RESET_INVENTORY_BUFFER = 0x91
TAG_COMMANDS = (CMD_REALTIME_INVENTORY, CMD_FAST_SWITCH_INVENTORY, CMD_CUSTOMIZED_INVENTORY)
"""Commands whose replies are tag frames (0x89..0x8B, one range check in the parser)."""
BUFFER_COMMANDS = (CMD_GET_INVENTORY_BUFFER, CMD_GET_AND_RESET_INVENTORY_BUFFER)
RESULT_COMMANDS = frozenset((CMD_SET_WORK_ANTENNA, *TAG_COMMANDS, *BUFFER_COMMANDS))
"""Commands whose 1-byte reply (Len 4) is a result code: 0x10 success, else an error."""
COMMAND_SUCCESS = 0x10
ANTENNA_MISSING = 0x22
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
MAX_PORTS = 8
FAST_SWITCH_SLOTS = (4, 8)
"""0x8A takes 4 antenna slots (A-D) on 4-port modules, 8 (A-H) on 8-port ones."""
NO_ANTENNA_SLOT = 0xFF
"""An unused 0x8A slot: antenna ids above 7 are skipped by the module."""
IDLE_FLUSH_MS = 100
"""Bytes held this long without more arriving belong to no frame: a module sends a frame's
bytes back to back (a 30-byte frame takes 2.6 ms at 115200 baud), and USB-serial adapters
deliver within their 16 ms latency timer."""

# Len of the fixed-size replies; a tag frame's Len is 7 + EPC length, 9 + it with phase.
_LEN_RESULT = 4
_LEN_ANTENNA_MISSING = 5
_LEN_INVENTORY_DONE = 10
_LEN_TAG_OVERHEAD = 7
_LEN_PHASE = 2
_LEN_BUFFER_OVERHEAD = 9  # Addr, Cmd, TagCount(2), DataLen, RSSI, FreqAnt, InvCount, Check
_LEN_PC_CRC = 4
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
    """One tag read: of an inventory (0x89, 0x8A, 0x8B) or from the inventory buffer."""

    address: int
    antenna: int
    """1-based antenna port: (FreqAnt & 3) + 1, plus 4 when the RSSI byte's bit 7 is set."""
    pc: int
    epc_hex: str
    """Upper-case hex."""
    rssi_raw: int
    rssi_dbm: int
    phase: int | None = None
    """The 2 phase bytes a module appends when phase reporting is on; None without them."""


@dataclass(frozen=True, slots=True)
class InventoryDone:
    """End of a 0x89 or 0x8B round: the antenna, reads per second and reads in the round."""

    address: int
    antenna: int
    read_rate: int
    total_reads: int
    cmd: int = CMD_REALTIME_INVENTORY


@dataclass(frozen=True, slots=True)
class FastSwitchDone:
    """End of a 0x8A command: reads over all its antennas and how long it took."""

    address: int
    total_reads: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class CommandOk:
    """A command answered with result 0x10 (command_success), e.g. 0x74 set work antenna."""

    address: int
    cmd: int


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    address: int
    cmd: int
    code: int
    meaning: str
    antenna: int | None = None
    """For 0x8A's per-antenna error (``A0 05 Addr 8A AntID ErrorCode``): the 1-based port."""


@dataclass(frozen=True, slots=True)
class OtherResponse:
    """A valid frame of a command this code does not interpret."""

    address: int
    cmd: int
    data: bytes


Frame = TagFrame | InventoryDone | FastSwitchDone | CommandOk | ErrorResponse | OtherResponse

# The generated __init__ of a frozen dataclass sets each field through object.__setattr__, 40 %
# of the parser's time per tag frame; the slot descriptors do the same at half the cost and
# the result is an ordinary, still frozen, TagFrame.
_set_address, _set_antenna, _set_pc, _set_epc_hex, _set_rssi_raw, _set_rssi_dbm, _set_phase = (
    getattr(TagFrame, name).__set__
    for name in ("address", "antenna", "pc", "epc_hex", "rssi_raw", "rssi_dbm", "phase")
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
    _set_phase(frame, None)
    return frame


def _tag(
    address: int, freq_ant: int, rssi: int, pc: int, epc: bytes, phase: int | None
) -> TagFrame:
    raw = rssi & 0x7F
    antenna = (freq_ant & 3) + 1 + ((rssi & HIGH_PORTS) >> 5)
    return TagFrame(address, antenna, pc, epc.hex().upper(), raw, raw - RSSI_OFFSET_DB, phase)


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


def build_set_work_antenna(address: int, antenna: int) -> bytes:
    """Cmd 0x74: the antenna (1-based here, 0-based on the wire) 0x89 reads next."""
    _check_antenna(antenna, MAX_PORTS)
    return build_command(address, CMD_SET_WORK_ANTENNA, bytes((antenna - 1,)))


def build_fast_switch_inventory(
    address: int, sequence: list[tuple[int, int]], interval_ms: int = 0, repeat: int = 1
) -> bytes:
    """Cmd 0x8A: inventory each ``(antenna, stay)`` of ``sequence`` in turn, ``stay`` rounds
    each, ``interval_ms`` between antennas, the whole sequence ``repeat`` times. Four slots
    (A-D) while every antenna is 1-4, eight (A-H, the 8-port form) otherwise; unused slots
    hold 0xFF; a sequence of more than four slots takes the 8-slot form too."""
    slots = 4 if len(sequence) <= 4 and all(antenna <= 4 for antenna, _ in sequence) else 8
    if not 1 <= len(sequence) <= slots:
        raise ValueError(f"0x8A takes 1..{slots} antennas, got {len(sequence)}")
    if not 0 <= interval_ms <= 0xFF or not 1 <= repeat <= 0xFF:
        raise ValueError(f"interval must be 0..255 ms, repeat 1..255, got {interval_ms}, {repeat}")
    data = bytearray()
    for antenna, stay in sequence:
        _check_antenna(antenna, MAX_PORTS)
        if not 1 <= stay <= 0xFF:
            raise ValueError(f"stay must be 1..255 rounds, got {stay}")
        data += bytes((antenna - 1, stay))
    data += bytes((NO_ANTENNA_SLOT, 0)) * (slots - len(sequence))
    data += bytes((interval_ms, repeat))
    return build_command(address, CMD_FAST_SWITCH_INVENTORY, bytes(data))


def build_customized_inventory(address: int, session: int, target: int, repeat: int) -> bytes:
    """Cmd 0x8B: real-time inventory with Gen2 session S0-S3 and target A (0) / B (1)."""
    if not 0 <= session <= 3 or target not in (0, 1) or not 1 <= repeat <= 0xFF:
        raise ValueError(f"session 0..3, target 0/1, repeat 1..255: {session}, {target}, {repeat}")
    return build_command(address, CMD_CUSTOMIZED_INVENTORY, bytes((session, target, repeat)))


def _check_antenna(antenna: int, ports: int = 4) -> None:
    if not 1 <= antenna <= ports:
        raise ValueError(f"antenna must be 1..{ports}, got {antenna}")


def _check_tag(pc: int, epc: bytes, rssi_raw: int, freq: int) -> None:
    if not 0 <= pc <= 0xFFFF or ((pc >> 11) & 0x1F) * 2 != len(epc):
        raise ValueError(f"PC 0x{pc:04X} does not announce {len(epc)} EPC bytes")
    if not 0 <= freq <= 0x3F or not 0 <= rssi_raw <= 0x7F:
        raise ValueError(f"freq must be 0..63 and rssi_raw 0..127, got {freq}, {rssi_raw}")


def encode_tag_frame(
    address: int,
    antenna: int,
    pc: int,
    epc: bytes,
    rssi_raw: int,
    freq: int = 0,
    *,
    cmd: int = CMD_REALTIME_INVENTORY,
    phase: int | None = None,
) -> bytes:
    """A tag frame as the reader sends it in reply to ``cmd`` (0x89, 0x8A or 0x8B). ``pc``
    must announce ``len(epc)`` (bits 15..11); antennas 5-8 (8-port modules) set bit 7 of the
    RSSI byte; ``phase`` adds the 2 phase bytes."""
    _check_antenna(antenna, ports=MAX_PORTS)
    _check_tag(pc, epc, rssi_raw, freq)
    if cmd not in TAG_COMMANDS:
        raise ValueError(f"tag frames answer 0x89, 0x8A or 0x8B, not 0x{cmd:02X}")
    port = antenna - 1
    rssi = rssi_raw | (HIGH_PORTS if port >= 4 else 0)
    data = bytes(((freq << 2) | (port & 3), pc >> 8, pc & 0xFF)) + epc + bytes((rssi,))
    if phase is not None:
        data += phase.to_bytes(2, "big")
    return build_command(address, cmd, data)


def encode_buffered_tag_frame(
    address: int,
    antenna: int,
    pc: int,
    epc: bytes,
    crc: int,
    rssi_raw: int,
    *,
    tag_count: int = 1,
    inventory_count: int = 1,
    freq: int = 0,
    cmd: int = CMD_GET_INVENTORY_BUFFER,
) -> bytes:
    """One buffered tag in reply to 0x90/0x91 (§2.4.1, §2.4.2)."""
    _check_antenna(antenna, ports=MAX_PORTS)
    _check_tag(pc, epc, rssi_raw, freq)
    port = antenna - 1
    rssi = rssi_raw | (HIGH_PORTS if port >= 4 else 0)
    data = (
        tag_count.to_bytes(2, "big")
        + bytes((len(epc) + _LEN_PC_CRC,))
        + pc.to_bytes(2, "big")
        + epc
        + crc.to_bytes(2, "big")
        + bytes((rssi, (freq << 2) | (port & 3), inventory_count))
    )
    return build_command(address, cmd, data)


def encode_completion_frame(
    address: int, antenna: int, read_rate: int, total_reads: int, cmd: int = CMD_REALTIME_INVENTORY
) -> bytes:
    """End of a 0x89 (or 0x8B) round on ``antenna``."""
    _check_antenna(antenna, MAX_PORTS)
    data = bytes((antenna - 1,)) + read_rate.to_bytes(2, "big") + total_reads.to_bytes(4, "big")
    return build_command(address, cmd, data)


def encode_fast_switch_done(address: int, total_reads: int, duration_ms: int) -> bytes:
    """End of a 0x8A command: TotalRead (3 bytes) and CommandDuration (4 bytes, ms)."""
    data = total_reads.to_bytes(3, "big") + duration_ms.to_bytes(4, "big")
    return build_command(address, CMD_FAST_SWITCH_INVENTORY, data)


def encode_antenna_missing(address: int, antenna: int, error_code: int = ANTENNA_MISSING) -> bytes:
    """0x8A's reply for an antenna it cannot inventory (not connected: 0x22)."""
    _check_antenna(antenna, MAX_PORTS)
    return build_command(address, CMD_FAST_SWITCH_INVENTORY, bytes((antenna - 1, error_code)))


def encode_error_frame(address: int, cmd: int, error_code: int) -> bytes:
    """A 1-byte result reply (``error_code`` 0x10 is command_success)."""
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
    "phase_frames",
    "buffered_tag_frames",
    "inventory_done",
    "fast_switch_done",
    "commands_ok",
    "error_responses",
    "antenna_missing",
    "other_responses",
    "garbage_bytes",
    "checksum_errors",
    "bad_length",
    "epc_length_mismatch",
    "wrong_address",
    "idle_flushed",
    "rssi_out_of_range",
)
MALFORMED_KEYS = (
    "checksum_errors",
    "bad_length",
    "epc_length_mismatch",
    "wrong_address",
    "idle_flushed",
    "rssi_out_of_range",
)
"""Reasons a frame candidate was refused (or, for RSSI, doubted), counted per reason."""


class R2000Parser:
    """Bytes in, frames out, whatever the chunking.

    Resynchronisation rules, applied to each candidate frame start (a 0xA0 byte), in order;
    a rule runs only once the bytes it needs have arrived, so chunking never changes the result:

    1. ``Len`` < 3 is impossible: skip this 0xA0 (``bad_length``).
    2. If an address was given (not broadcast 0xFF), ``Addr`` must match (``wrong_address``).
    3. Replies of the commands the driver sends have known lengths: a result code (4), 0x8A's
       antenna error (5), a round summary (10), a tag frame (7 + the EPC length its PC word
       announces, 9 with phase), a buffered tag (9 + DataLen, DataLen = 4 + the PC's EPC
       length). A Len no reply of that command has: skip (``bad_length``); a tag Len that
       disagrees with its PC word: skip (``epc_length_mismatch``). A garbage 0xA0 is thus
       dropped before waiting for up to 255 bytes of a frame that does not exist.
    4. The checksum must hold (``checksum_errors``).

    A skipped candidate discards only its 0xA0 byte and the scan restarts at the next byte.
    Bytes that belong to no valid frame count as ``garbage_bytes``. A frame that is not yet
    complete waits for more bytes, until :meth:`feed` or :meth:`flush_idle` is given a time
    :data:`IDLE_FLUSH_MS` after the last bytes arrived: then the candidate is dead
    (``idle_flushed``), and the frames held behind it come out.
    """

    __slots__ = ("_address", "_buf", "_idle_ms", "last_bytes_ms", "stats")

    def __init__(self, address: int | None = None, idle_flush_ms: int = IDLE_FLUSH_MS) -> None:
        self._address = None if address in (None, BROADCAST_ADDRESS) else address
        self._buf = bytearray()
        self._idle_ms = idle_flush_ms
        self.last_bytes_ms: int | None = None
        """Arrival time of the last bytes fed (None before any); flushed frames came then."""
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def flush_due_ms(self) -> int | None:
        """When held bytes are to be flushed (None: nothing held)."""
        if not self._buf or self.last_bytes_ms is None:
            return None
        return self.last_bytes_ms + self._idle_ms

    def reset(self) -> None:
        """Forget a partial frame (the port was reopened); its bytes count as garbage."""
        self.stats["garbage_bytes"] += len(self._buf)
        self._buf.clear()

    def flush_idle(self, now_ms: int) -> list[Frame]:
        """The frames held behind a dead candidate, if ``now_ms`` is past the idle gap."""
        due = self.flush_due_ms()
        if due is None or now_ms < due:
            return []
        return self._scan(final=True)

    def feed(self, chunk: bytes, now_ms: int | None = None) -> list[Frame]:
        """Frames completed by ``chunk``; with ``now_ms`` (its arrival time), bytes held from
        before an idle gap are flushed first, so a chunk-by-chunk result never depends on when
        the caller polled."""
        frames = self.flush_idle(now_ms) if now_ms is not None else []
        if now_ms is not None:
            self.last_bytes_ms = now_ms
        self._buf += chunk
        frames += self._scan(final=False)
        return frames

    def _scan(self, final: bool) -> list[Frame]:
        buf = self._buf
        n = len(buf)
        want_address = self._address
        frames: list[Frame] = []
        append = frames.append
        find = buf.find
        pos = 0
        garbage = tags = bad_len = bad_sum = bad_addr = rssi_out = epc_mismatch = flushed = 0
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
            # Fast path: a complete, valid tag frame without phase (the bulk of the traffic).
            # Anything else falls through to the rule-by-rule checks below, which also count.
            if i + 7 <= n:
                length, address, cmd, freq_ant, pc = _unpack_head(buf, i)
                end = i + 2 + length
                if (
                    0x89 <= cmd <= 0x8B
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
            verdict = self._check(buf, i, n, want_address)
            if verdict is None:  # incomplete: wait for more bytes, unless the line went idle
                if not final:
                    break
                verdict = "idle_flushed"
            if verdict:
                if verdict == "bad_length":
                    bad_len += 1
                elif verdict == "wrong_address":
                    bad_addr += 1
                elif verdict == "epc_length_mismatch":
                    epc_mismatch += 1
                elif verdict == "checksum_errors":
                    bad_sum += 1
                else:
                    flushed += 1
                garbage += 1
                pos = i + 1
                continue
            end = i + 2 + buf[i + 1]
            frame = self._decode(bytes(buf[i:end]))
            if type(frame) is TagFrame and not RSSI_MIN_RAW <= frame.rssi_raw <= RSSI_MAX_RAW:
                rssi_out += 1
            append(frame)
            pos = end
        del buf[:pos]
        stats = self.stats
        stats["frames"] += len(frames)
        stats["tag_frames"] += tags
        stats["garbage_bytes"] += garbage
        stats["checksum_errors"] += bad_sum
        stats["bad_length"] += bad_len
        stats["epc_length_mismatch"] += epc_mismatch
        stats["wrong_address"] += bad_addr
        stats["idle_flushed"] += flushed
        stats["rssi_out_of_range"] += rssi_out
        return frames

    @staticmethod
    def _check(buf: bytearray, i: int, n: int, want_address: int | None) -> str | None:
        """Rules 1-4 for the candidate at ``i``: ``""`` (a valid frame), the reason to skip
        it, or None when more bytes are needed to tell."""
        if i + 1 >= n:
            return None
        length = buf[i + 1]
        if length < _MIN_LEN:
            return "bad_length"
        if i + 2 >= n:
            return None
        if want_address is not None and buf[i + 2] != want_address:
            return "wrong_address"
        if i + 3 >= n:
            return None
        cmd = buf[i + 3]
        if 0x89 <= cmd <= 0x8B:
            fixed = (_LEN_RESULT, _LEN_INVENTORY_DONE) + (
                (_LEN_ANTENNA_MISSING,) if cmd == CMD_FAST_SWITCH_INVENTORY else ()
            )
            if length not in fixed:
                if length < _LEN_TAG_OVERHEAD or not length & 1:
                    return "bad_length"
                if i + 5 >= n:
                    return None
                epc_len = (buf[i + 5] >> 3) << 1
                if length not in (epc_len + _LEN_TAG_OVERHEAD, epc_len + _LEN_TAG_OVERHEAD + 2):
                    return "epc_length_mismatch"
        elif cmd in BUFFER_COMMANDS:
            if length != _LEN_RESULT:
                if length < _LEN_BUFFER_OVERHEAD + _LEN_PC_CRC:
                    return "bad_length"
                if i + 7 >= n:
                    return None
                data_len = buf[i + 6]
                if length != data_len + _LEN_BUFFER_OVERHEAD:
                    return "bad_length"
                if data_len != ((buf[i + 7] >> 3) << 1) + _LEN_PC_CRC:
                    return "epc_length_mismatch"
        elif cmd == CMD_SET_WORK_ANTENNA and length != _LEN_RESULT:
            return "bad_length"
        end = i + 2 + length
        if end > n:
            return None
        if sum(buf[i:end]) & 0xFF:
            return "checksum_errors"
        return ""

    def _decode(self, frame: bytes) -> Frame:
        """A frame that passed every rule (the fast path's tag frames excepted)."""
        length, address, cmd = frame[1], frame[2], frame[3]
        data = frame[4:-1]
        stats = self.stats
        if length == _LEN_RESULT and cmd in RESULT_COMMANDS:
            code = data[0]
            if code == COMMAND_SUCCESS:
                stats["commands_ok"] += 1
                return CommandOk(address, cmd)
            stats["error_responses"] += 1
            return ErrorResponse(address, cmd, code, error_meaning(code))
        if 0x89 <= cmd <= 0x8B:
            if length == _LEN_INVENTORY_DONE:
                if cmd == CMD_FAST_SWITCH_INVENTORY:
                    stats["fast_switch_done"] += 1
                    total = int.from_bytes(data[0:3], "big")
                    return FastSwitchDone(address, total, int.from_bytes(data[3:7], "big"))
                stats["inventory_done"] += 1
                return InventoryDone(
                    address,
                    data[0] + 1,
                    int.from_bytes(data[1:3], "big"),
                    int.from_bytes(data[3:7], "big"),
                    cmd,
                )
            if length == _LEN_ANTENNA_MISSING and cmd == CMD_FAST_SWITCH_INVENTORY:
                stats["error_responses"] += 1
                stats["antenna_missing"] += 1
                code = data[1]
                return ErrorResponse(address, cmd, code, error_meaning(code), data[0] + 1)
            epc_len = (data[1] >> 3) << 1
            phase = None
            if length == epc_len + _LEN_TAG_OVERHEAD + _LEN_PHASE:
                phase = int.from_bytes(data[-2:], "big")
                stats["phase_frames"] += 1
            stats["tag_frames"] += 1
            rssi = data[3 + epc_len]
            return _tag(
                address, data[0], rssi, (data[1] << 8) | data[2], data[3 : 3 + epc_len], phase
            )
        if cmd in BUFFER_COMMANDS:
            # TagCount(2) DataLen PC(2) EPC CRC(2) RSSI FreqAnt InvCount
            epc_len = data[2] - _LEN_PC_CRC
            pc = (data[3] << 8) | data[4]
            epc = data[5 : 5 + epc_len]
            rssi, freq_ant = data[7 + epc_len], data[8 + epc_len]
            stats["tag_frames"] += 1
            stats["buffered_tag_frames"] += 1
            return _tag(address, freq_ant, rssi, pc, epc, None)
        stats["other_responses"] += 1
        return OtherResponse(address, cmd, data)
