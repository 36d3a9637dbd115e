"""Consent registry: which members agreed to face recognition, on what reference and when.

Nobody is enrolled without a record here (docs/architecture.md, principle 4). Records come from
``--consent REFERENCE`` at enrolment until HQ sync delivers consent with the member data.
Kept as a small JSON file in the data directory, rewritten atomically; it holds no biometric
data (embeddings live only in the encrypted gallery). The command line, the running edge and the
sync downlink share the file: each change takes an exclusive ``flock``, re-reads the file,
changes it and replaces it; readers re-read it when it was replaced, so a withdrawal made in one
process holds in the others at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.clock import Clock

DEFAULT_SCOPE = "face_recognition"


class ConsentError(ValueError):
    """A member without a consent record; the message says how to record one."""


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    member_id: str
    reference: str
    """Where the consent is documented (signed form id, HQ consent id)."""
    scope: str
    given_at_ms: int


class ConsentRegistry:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, ConsentRecord] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._refresh()

    def get(self, member_id: str) -> ConsentRecord | None:
        with self._lock:
            self._refresh()
            return self._records.get(member_id)

    def __contains__(self, member_id: object) -> bool:
        with self._lock:
            self._refresh()
            return member_id in self._records

    def members(self) -> list[str]:
        with self._lock:
            self._refresh()
            return sorted(self._records)

    def grant(self, member_id: str, reference: str, scope: str = DEFAULT_SCOPE) -> ConsentRecord:
        """Record consent (a repeated grant keeps the first time, updates the reference)."""
        reference = reference.strip()
        if not reference:
            raise ConsentError(f"member {member_id}: the consent reference is empty")
        with self._changing() as records:
            previous = records.get(member_id)
            given_at_ms = previous.given_at_ms if previous else self._clock.now_ms()
            record = ConsentRecord(member_id, reference, scope, given_at_ms)
            records[member_id] = record
        return record

    def revoke(self, member_id: str) -> bool:
        with self._changing() as records:
            return records.pop(member_id, None) is not None

    def require(self, member_id: str) -> ConsentRecord:
        record = self.get(member_id)
        if record is None:
            raise ConsentError(
                f"member {member_id} has no consent record: give --consent REFERENCE "
                "(the signed consent's id) or wait for HQ sync to provide it"
            )
        return record

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _refresh(self) -> None:
        """Re-read the file if it was replaced since this instance last read or wrote it."""
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._records = self._read() if stamp is not None else {}
        self._stamp = stamp

    def _read(self) -> dict[str, ConsentRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                member_id: ConsentRecord(member_id=member_id, **fields)
                for member_id, fields in data["members"].items()
            }
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as error:
            raise ConsentError(f"{self.path}: damaged consent registry ({error})") from None

    @contextmanager
    def _changing(self) -> Iterator[dict[str, ConsentRecord]]:
        """The records as on disk, under an exclusive lock; written back if changed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._lock, lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            self._stamp = None
            self._refresh()
            records = dict(self._records)
            yield records
            if records != self._records:
                self._records = records
                self._save()
            self._stamp = self._stat()

    def _save(self) -> None:
        members = {
            member_id: {k: v for k, v in asdict(record).items() if k != "member_id"}
            for member_id, record in sorted(self._records.items())
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump({"version": 1, "members": members}, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
