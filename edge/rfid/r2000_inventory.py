"""What an R2000 driver sends, and when: the pure core of the serial driver's command loop.

No I/O and no clock of its own: :class:`InventoryCommander` is told the time (``now_ms``, any
monotonic milliseconds) and the frames that arrived, and answers with the command bytes to
write. The serial driver runs it on a real port; the store simulator runs the same object
against its simulated module, so a simulated capture holds only replies to commands this
code sends.

Two ways to read every antenna of a module (docs/readers.md, "Commands sent"):

- ``fast_switch`` (default): one cmd 0x8A lists the antenna sequence with ``dwell_rounds``
  (its Stay byte) per antenna; the module walks it and ends with a summary frame, upon which
  the next 0x8A goes out at once. An antenna the module cannot use answers with its own error
  frame and the rest of the sequence is still read.
- ``work_antenna``: cmd 0x74 selects an antenna, its 0x10 result triggers cmd 0x89 with
  ``dwell_rounds`` rounds, whose round summary (or error) moves on to the next antenna.

A command that gets no frame back within ``resend_after_ms`` is sent again; so is the next
step after a pass in which every antenna failed, so a reader with nothing connected is asked
at that pace, not hammered.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge.config.readers import R2000SerialReader
from edge.rfid.r2000 import (
    CMD_FAST_SWITCH_INVENTORY,
    CMD_REALTIME_INVENTORY,
    CMD_SET_WORK_ANTENNA,
    CommandOk,
    ErrorResponse,
    FastSwitchDone,
    Frame,
    InventoryDone,
    TagFrame,
    build_fast_switch_inventory,
    build_realtime_inventory,
    build_set_work_antenna,
)

RESEND_AFTER_MS = 1000


class InventoryCommander:
    """One owner: the driver thread (or the simulator). ``start`` once per session, then
    ``on_frames`` for every batch of frames and ``due`` whenever time passes."""

    def __init__(self, config: R2000SerialReader, resend_after_ms: int = RESEND_AFTER_MS) -> None:
        self._address = config.address
        self._mode = config.inventory_mode
        self._sequence = config.inventory_sequence()
        self._dwell = config.dwell_rounds
        self._resend_after_ms = resend_after_ms
        self._fast_switch = build_fast_switch_inventory(
            config.address,
            [(antenna, config.dwell_rounds) for antenna in self._sequence],
            config.switch_interval_ms,
            config.inventory_repeat,
        )
        self._step = 0
        """work_antenna: index into the sequence of the antenna being read."""
        self._pass_ok = False
        self._last_command = b""
        self._resend_at_ms = 0
        self.commands_sent = 0
        self.missing_antennas: set[int] = set()
        """Antennas the module said it cannot use (0x8A's per-antenna errors, or errors of
        0x74/0x89 on them), until they answer again."""

    @property
    def resend_at_ms(self) -> int:
        """When :meth:`due` sends the last command again, if nothing arrives before."""
        return self._resend_at_ms

    def start(self, now_ms: int) -> bytes:
        """The first command of a session (the port was just opened)."""
        self._step = 0
        self._pass_ok = False
        if self._mode == "fast_switch":
            return self._send(self._fast_switch, now_ms)
        return self._send(self._select(), now_ms)

    def due(self, now_ms: int) -> bytes | None:
        """The last command again, when nothing came back for ``resend_after_ms``."""
        if now_ms < self._resend_at_ms:
            return None
        return self._send(self._last_command, now_ms)

    def on_frames(self, frames: Iterable[Frame], now_ms: int) -> bytes | None:
        """The next command once ``frames`` complete a step, else None (frames keep the
        current command alive)."""
        command: bytes | None = None
        any_frame = False
        missing = self.missing_antennas
        for frame in frames:
            any_frame = True
            if type(frame) is TagFrame:  # the bulk: only a missing antenna's return matters
                if missing and self._mode == "fast_switch":
                    missing.discard(frame.antenna)
                continue
            if self._mode == "fast_switch":
                command = self._fast_switch_step(frame) or command
            else:
                command = self._work_antenna_step(frame) or command
        if command is not None:
            return self._send(command, now_ms)
        if any_frame:
            self._resend_at_ms = now_ms + self._resend_after_ms
        return None

    # --- the two modes -----------------------------------------------------------------------

    def _fast_switch_step(self, frame: Frame) -> bytes | None:
        if isinstance(frame, FastSwitchDone):
            return self._fast_switch
        if (
            isinstance(frame, ErrorResponse)
            and frame.cmd == CMD_FAST_SWITCH_INVENTORY
            and frame.antenna is not None
        ):
            self.missing_antennas.add(frame.antenna)
        return None

    def _work_antenna_step(self, frame: Frame) -> bytes | None:
        antenna = self._sequence[self._step]
        if isinstance(frame, CommandOk) and frame.cmd == CMD_SET_WORK_ANTENNA:
            return build_realtime_inventory(self._address, self._dwell)
        if isinstance(frame, InventoryDone) and frame.cmd == CMD_REALTIME_INVENTORY:
            self.missing_antennas.discard(antenna)
            self._pass_ok = True
            return self._next_antenna()
        if isinstance(frame, ErrorResponse) and frame.cmd in (
            CMD_SET_WORK_ANTENNA,
            CMD_REALTIME_INVENTORY,
        ):
            self.missing_antennas.add(antenna)
            return self._next_antenna()
        return None

    def _next_antenna(self) -> bytes | None:
        self._step = (self._step + 1) % len(self._sequence)
        if self._step == 0:
            failed_pass = not self._pass_ok
            self._pass_ok = False
            if failed_pass:
                # Nothing answered in a whole pass: the next 0x74 waits for the resend timer.
                self._last_command = self._select()
                return None
        return self._select()

    def _select(self) -> bytes:
        return build_set_work_antenna(self._address, self._sequence[self._step])

    def _send(self, command: bytes, now_ms: int) -> bytes:
        self._last_command = command
        self._resend_at_ms = now_ms + self._resend_after_ms
        self.commands_sent += 1
        return command
