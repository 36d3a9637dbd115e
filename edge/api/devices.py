"""Paired devices: fitting-room tablets, staff handhelds, admin consoles.

``o2o-edge devices add NAME --role tablet --zone fitting-1`` creates a device and prints a
bearer token and a short one-time pairing code. Typing the code on the tablet
(``POST /api/v1/devices/pair``) gives it a token of its own, so nobody has to type 43
characters on a touch screen. Only SHA-256 hashes of tokens and codes are stored (tokens are
256-bit random, so an unsalted fast hash is enough; codes are short but expire and are
rate-limited at the endpoint), in ``data_dir/devices.json``.

The file is shared by the running edge and the command line (another process): every write
takes an exclusive ``flock``, re-reads the file, changes it and replaces it atomically; readers
re-read it when its modification time changes, so a revocation takes effect at the next
request.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge.clock import Clock
from edge.config.store import StoreConfig

DEVICES_FILE = "devices.json"
FILE_VERSION = 1
TOKEN_PREFIX = "o2o_"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I: a code is read off one screen and typed on another."""
CODE_LENGTH = 8
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class DeviceRole(StrEnum):
    TABLET = "tablet"
    """Sees and acts on its own zone only."""
    STAFF = "staff"
    """Every zone, alerts and their acknowledgement, the dashboard, sales."""
    TILL = "till"
    """A point of sale: records sales, nothing else."""
    ADMIN = "admin"
    """Everything, members' faces included."""


MAX_PAIRING_FAILURES = 10
"""Wrong codes per client address per minute."""
MAX_PAIRING_FAILURES_ALL = 100
"""Wrong codes per minute from all addresses together: a bound on guessing from many."""
PAIRING_FAILURE_WINDOW_S = 60.0


class PairingThrottle:
    """At most ``MAX_PAIRING_FAILURES`` wrong codes per minute from one client address, and
    ``MAX_PAIRING_FAILURES_ALL`` from all: a short code must not be guessable by trying them
    all, and one tablet's typos must not lock the others out. Times are monotonic seconds
    from the caller."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()  # pairing requests run on the server's worker threads

    def allowed(self, address: str, now_s: float) -> bool:
        with self._lock:
            self._expire(now_s)
            mine = len(self._failures.get(address, ()))
            return mine < MAX_PAIRING_FAILURES and len(self._all) < MAX_PAIRING_FAILURES_ALL

    def failed(self, address: str, now_s: float) -> None:
        with self._lock:
            self._failures.setdefault(address, deque()).append(now_s)
            self._all.append(now_s)

    def _expire(self, now_s: float) -> None:
        while self._all and now_s - self._all[0] > PAIRING_FAILURE_WINDOW_S:
            self._all.popleft()
        for address in list(self._failures):
            failures = self._failures[address]
            while failures and now_s - failures[0] > PAIRING_FAILURE_WINDOW_S:
                failures.popleft()
            if not failures:
                del self._failures[address]


class DeviceError(ValueError):
    """A device operation that cannot be done; the message says why."""


class PairingError(DeviceError):
    """Unknown, used or expired pairing code."""


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    role: DeviceRole
    zone: str | None
    created_ms: int
    revoked_ms: int | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_ms is not None

    def may_see_zone(self, zone: str) -> bool:
        return self.role is not DeviceRole.TABLET or self.zone == zone


@dataclass(frozen=True, slots=True)
class NewDevice:
    device: Device
    token: str
    pairing_code: str
    """``ABCD-EFGH``; dashes and case do not matter when it is typed."""
    code_expires_ms: int


@dataclass(frozen=True, slots=True)
class _Record:
    device: Device
    token_hashes: tuple[str, ...]
    code_hash: str | None
    code_expires_ms: int | None

    def to_json(self) -> dict[str, Any]:
        d = self.device
        return {
            "name": d.name,
            "role": d.role.value,
            "zone": d.zone,
            "created_ms": d.created_ms,
            "revoked_ms": d.revoked_ms,
            "token_sha256": list(self.token_hashes),
            "pairing_code_sha256": self.code_hash,
            "pairing_code_expires_ms": self.code_expires_ms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Record:
        device = Device(
            name=str(data["name"]),
            role=DeviceRole(data["role"]),
            zone=data.get("zone"),
            created_ms=int(data["created_ms"]),
            revoked_ms=data.get("revoked_ms"),
        )
        return cls(
            device=device,
            token_hashes=tuple(data.get("token_sha256", ())),
            code_hash=data.get("pairing_code_sha256"),
            code_expires_ms=data.get("pairing_code_expires_ms"),
        )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(char for char in code.upper() if char not in "- ")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_pairing_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


class DeviceRegistry:
    def __init__(
        self,
        path: Path,
        clock: Clock,
        *,
        zones: Collection[str] = (),
        code_ttl_s: float = 600.0,
    ) -> None:
        self.path = path
        self._clock = clock
        self._zones = frozenset(zones)
        self._code_ttl_ms = round(code_ttl_s * 1000)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: dict[str, _Record] = {}
        self._by_token: dict[str, str] = {}

    @classmethod
    def from_store_config(cls, config: StoreConfig, clock: Clock) -> DeviceRegistry:
        return cls(
            Path(config.data_dir) / DEVICES_FILE,
            clock,
            zones=[zone.id for zone in config.zones],
            code_ttl_s=config.api.pairing_code_ttl_s,
        )

    # Queries --------------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        with self._lock:
            self._refresh()
            return sorted((r.device for r in self._records.values()), key=lambda d: d.name)

    def authenticate(self, token: str) -> Device | None:
        """The device holding ``token``; None when unknown or revoked."""
        with self._lock:
            self._refresh()
            name = self._by_token.get(sha256_hex(token))
            if name is None:
                return None
            device = self._records[name].device
            return None if device.revoked else device

    # Changes ------------------------------------------------------------------------------
    def add(self, name: str, role: DeviceRole, zone: str | None = None) -> NewDevice:
        """A new device (or a fresh one under the name of a revoked device)."""
        if not _NAME.match(name):
            raise DeviceError(
                f"Device name {name!r} must be 1-64 lower-case letters, digits, '.', '_' or "
                "'-', starting with a letter or digit"
            )
        if role is DeviceRole.TABLET and zone is None:
            raise DeviceError("A tablet needs --zone: the zone whose room it shows")
        if role is not DeviceRole.TABLET and zone is not None:
            raise DeviceError(f"Only tablets belong to a zone; a {role.value} sees every zone")
        if zone is not None and self._zones and zone not in self._zones:
            known = ", ".join(sorted(self._zones))
            raise DeviceError(f"Zone {zone!r} is not defined in the store (zones: {known})")
        now_ms = self._clock.now_ms()
        token, code = new_token(), new_pairing_code()
        device = Device(name=name, role=role, zone=zone, created_ms=now_ms)
        record = _Record(
            device=device,
            token_hashes=(sha256_hex(token),),
            code_hash=sha256_hex(normalise_code(code)),
            code_expires_ms=now_ms + self._code_ttl_ms,
        )
        with self._writing() as records:
            existing = records.get(name)
            if existing is not None and not existing.device.revoked:
                raise DeviceError(f"Device {name} already exists; revoke it first")
            records[name] = record
        return NewDevice(device, token, code, now_ms + self._code_ttl_ms)

    def revoke(self, name: str) -> Device:
        with self._writing() as records:
            record = records.get(name)
            if record is None:
                raise DeviceError(f"No device named {name}")
            if record.device.revoked:
                return record.device
            revoked = replace(record.device, revoked_ms=self._clock.now_ms())
            records[name] = replace(record, device=revoked, code_hash=None, code_expires_ms=None)
            return revoked

    def pair(self, code: str) -> tuple[Device, str]:
        """Exchange a one-time pairing code for a new token of its device."""
        code_hash = sha256_hex(normalise_code(code))
        now_ms = self._clock.now_ms()
        token = new_token()
        with self._writing() as records:
            for name, record in records.items():
                if record.code_hash is None or not secrets.compare_digest(
                    record.code_hash, code_hash
                ):
                    continue
                if record.device.revoked or (record.code_expires_ms or 0) < now_ms:
                    break
                records[name] = replace(
                    record,
                    token_hashes=(*record.token_hashes, sha256_hex(token)),
                    code_hash=None,
                    code_expires_ms=None,
                )
                return record.device, token
        raise PairingError("Invalid or expired pairing code")

    # The file -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Re-read the file if another process (the command line) changed it."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._set({})
            self._stamp = None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._set(self._read())
            self._stamp = stamp

    def _set(self, records: dict[str, _Record]) -> None:
        self._records = records
        self._by_token = {h: name for name, r in records.items() for h in r.token_hashes}

    def _read(self) -> dict[str, _Record]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                record.device.name: record
                for record in (_Record.from_json(item) for item in data["devices"])
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DeviceError(f"{self.path}: unreadable device registry: {error}") from None

    @contextmanager
    def _writing(self) -> Iterator[dict[str, _Record]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._lock, lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            records = self._read()
            yield records
            body = {
                "version": FILE_VERSION,
                "devices": [records[name].to_json() for name in sorted(records)],
            }
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
            self._stamp = None
            self._refresh()
