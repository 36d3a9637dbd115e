"""Consent registry: which members agreed to face recognition, on what reference and when.

Nobody is enrolled without a record here (docs/architecture.md, principle 4). Records come from
``--consent REFERENCE`` at enrolment until HQ sync delivers consent with the member data.
Kept as a small JSON file in the data directory, rewritten atomically; it holds no biometric
data (embeddings live only in the encrypted gallery).
"""

from __future__ import annotations

import json
import os
import threading
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
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._records = {
                    member_id: ConsentRecord(member_id=member_id, **fields)
                    for member_id, fields in data["members"].items()
                }
            except (ValueError, KeyError, TypeError) as error:
                raise ConsentError(f"{path}: damaged consent registry ({error})") from None

    def get(self, member_id: str) -> ConsentRecord | None:
        return self._records.get(member_id)

    def __contains__(self, member_id: object) -> bool:
        return member_id in self._records

    def members(self) -> list[str]:
        return sorted(self._records)

    def grant(self, member_id: str, reference: str, scope: str = DEFAULT_SCOPE) -> ConsentRecord:
        """Record consent (a repeated grant keeps the first time, updates the reference)."""
        reference = reference.strip()
        if not reference:
            raise ConsentError(f"member {member_id}: the consent reference is empty")
        with self._lock:
            previous = self._records.get(member_id)
            given_at_ms = previous.given_at_ms if previous else self._clock.now_ms()
            record = ConsentRecord(member_id, reference, scope, given_at_ms)
            self._records[member_id] = record
            self._save()
        return record

    def revoke(self, member_id: str) -> bool:
        with self._lock:
            if self._records.pop(member_id, None) is None:
                return False
            self._save()
            return True

    def require(self, member_id: str) -> ConsentRecord:
        record = self._records.get(member_id)
        if record is None:
            raise ConsentError(
                f"member {member_id} has no consent record: give --consent REFERENCE "
                "(the signed consent's id) or wait for HQ sync to provide it"
            )
        return record

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
