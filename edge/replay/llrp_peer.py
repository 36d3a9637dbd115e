"""Plays a recorded LLRP session back to the real LLRP driver over local TCP.

A capture's LLRP source holds every message the reader sent, as the driver received it
(docs/capture-format.md). :class:`LlrpReplayPeer` listens on 127.0.0.1 and, to the driver that
connects, sends those messages in recorded order, each one only once it is released:

- a message that answers a request (any type but RO_ACCESS_REPORT, KEEPALIVE and
  READER_EVENT_NOTIFICATION) also waits until the driver has sent the request with its message
  id -- the driver numbers its requests the same way on every run, so the recorded answers
  fit the replayed requests;
- reports, keepalives and events go as soon as they are released ("on cue"): the replayer
  sets its virtual clock to the record's time, releases it, and waits until the driver's
  ``messages_received`` has counted it, so every read carries its recorded time;
- a second ConnectionAttemptEvent in the recording is a reconnection: the peer closes the
  connection first and sends it to the driver's next one.

Requests after the recording's end (the driver stopping: STOP/DELETE_ROSPEC,
CLOSE_CONNECTION) get a synthesized success, so a replay ends without waiting on timeouts.
KEEPALIVE_ACKs are read and dropped.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Sequence

from edge.replay.capture import Capture, LlrpRecord
from edge.rfid.llrp.codec import LlrpError, Message, Param, decode_body, encode_message
from edge.rfid.llrp.framing import LlrpFramer
from edge.rfid.llrp.spec import CUSTOM, MessageType, StatusCode
from edge.rfid.llrp.spec import P as PT

UNSOLICITED = frozenset(
    (MessageType.RO_ACCESS_REPORT, MessageType.KEEPALIVE, MessageType.READER_EVENT_NOTIFICATION)
)
NO_ANSWER = frozenset((MessageType.KEEPALIVE_ACK, MessageType.ENABLE_EVENTS_AND_REPORTS))
ANSWER_TIMEOUT_S = 10.0
"""A recorded answer whose request never comes is sent after this long (and counted)."""


def _answer_type(request_type: int) -> int | None:
    """The response type of a request, None when the specification defines none."""
    if request_type in NO_ANSWER:
        return None
    if request_type == MessageType.CLOSE_CONNECTION:
        return int(MessageType.CLOSE_CONNECTION_RESPONSE)
    answer = request_type + 10
    return answer if answer in MessageType._value2member_map_ else None


class LlrpReplayPeer:
    def __init__(
        self,
        messages: Sequence[bytes],
        *,
        host: str = "127.0.0.1",
        logger: logging.Logger | None = None,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> None:
        self._messages = list(messages)
        self._log = logger or logging.getLogger(__name__)
        self._answer_timeout_s = answer_timeout_s
        self._listener = socket.create_server((host, 0))
        self.host = host
        self.port = int(self._listener.getsockname()[1])
        self._cond = threading.Condition()
        self._released = -1
        self._requests: set[int] = set()
        self._awaiting: int | None = None
        """Index of the recorded answer held until the driver sends its request."""
        self._client: socket.socket | None = None
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self.sent = 0
        self.connections = 0
        self.unmatched = 0
        self.synthesized = 0

    @classmethod
    def from_capture(cls, capture: Capture, source_id: str) -> LlrpReplayPeer:
        return cls([r.data for r in capture.source_records(source_id) if isinstance(r, LlrpRecord)])

    def __len__(self) -> int:
        return len(self._messages)

    def start(self) -> None:
        thread = threading.Thread(target=self._play, name=f"llrp-peer-{self.port}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def release_through(self, index: int) -> None:
        """Let messages ``0..index`` go (each still after its request, if it answers one)."""
        with self._cond:
            self._released = max(self._released, index)
            self._cond.notify_all()

    def release_all(self) -> None:
        self.release_through(len(self._messages) - 1)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._listener.close()
        self._drop_client()
        for thread in self._threads:
            thread.join(5)

    # --- threads --------------------------------------------------------------------------

    def _play(self) -> None:
        connection_events = 0
        try:
            for index, data in enumerate(self._messages):
                type_ = int.from_bytes(data[0:2], "big") & 0x3FF
                msg_id = int.from_bytes(data[6:10], "big")
                if _is_connection_attempt(type_, data):
                    connection_events += 1
                    if connection_events > 1:
                        self._drop_client()  # the recorded session reconnected here
                if not self._wait_released(index):
                    return
                if self._client is None and not self._accept():
                    return
                if type_ not in UNSOLICITED:
                    self._wait_request(msg_id, type_, index)
                self._send(data)
            with self._cond:
                self._cond.wait_for(lambda: self._stopped)
        except OSError as error:
            if not self._stopped:
                self._log.warning("LLRP replay peer: %s", error)

    def _wait_released(self, index: int) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._stopped or self._released >= index)
            return not self._stopped

    def awaiting_request(self, index: int) -> bool:
        """True while the recorded answer ``index`` waits for the driver's request."""
        with self._cond:
            return self._awaiting == index

    def _wait_request(self, msg_id: int, type_: int, index: int) -> None:
        with self._cond:
            self._awaiting = index
            found = self._cond.wait_for(
                lambda: self._stopped or msg_id in self._requests, self._answer_timeout_s
            )
            self._awaiting = None
            if not found:
                self.unmatched += 1
                self._log.warning(
                    "LLRP replay peer: no request with id %d for the recorded answer of type %d; "
                    "sent anyway",
                    msg_id,
                    type_,
                )

    def _accept(self) -> bool:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return False
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._cond:
            self._client = client
            self.connections += 1
        reader = threading.Thread(target=self._read_requests, args=(client,), daemon=True)
        reader.start()
        self._threads.append(reader)
        return True

    def _send(self, data: bytes) -> None:
        client = self._client
        assert client is not None
        client.sendall(data)
        with self._cond:
            self.sent += 1

    def _drop_client(self) -> None:
        with self._cond:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def _read_requests(self, client: socket.socket) -> None:
        framer = LlrpFramer()
        try:
            while data := client.recv(65536):
                for frame in framer.feed(data):
                    with self._cond:
                        self._requests.add(frame.id)
                        after_end = self.sent >= len(self._messages)
                        self._cond.notify_all()
                    if after_end:
                        self._synthesize(client, frame.type, frame.id, frame.version)
        except (OSError, LlrpError):
            return

    def _synthesize(self, client: socket.socket, type_: int, msg_id: int, version: int) -> None:
        """Past the recording: a plain success for requests that have an answer."""
        answer = _answer_type(type_)
        if answer is None or type_ == CUSTOM:
            return
        status = Param(
            PT.LLRPStatus, {"status_code": StatusCode.M_Success, "error_description": ""}
        )
        client.sendall(encode_message(Message(answer, msg_id, {}, (status,), version)))
        with self._cond:
            self.synthesized += 1
        if type_ == MessageType.CLOSE_CONNECTION:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)


def _is_connection_attempt(type_: int, data: bytes) -> bool:
    if type_ != MessageType.READER_EVENT_NOTIFICATION:
        return False
    try:
        message = decode_body(type_, data[10:])
    except LlrpError:
        return False
    notification = message.find(PT.ReaderEventNotificationData)
    return notification is not None and notification.find(PT.ConnectionAttemptEvent) is not None
