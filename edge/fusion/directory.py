"""Member directory: the little the store needs to know about a member beyond their face.

Tier (for ``member_arrived``), first name and consent (for the tablet and the handhelds),
usual sizes and recent products (for recommendations). A JSON file in the data directory,
written by headquarters sync (``{"version": ..., "members": [{"member_id", "first_name",
"tier", "consent", "sizes", "history_gtins"}]}``); the demo ships a sample. Read once at
start-up (and again after a sync) and then only looked up, so the fusion core does no I/O.

``consent`` is the member's agreement to personalised service in the store: their name on
the fitting-room tablet and staff handhelds, recommendations from their history. A member
without it (or not in the directory) is treated as an anonymous shopper by the fitting rooms
and raises no ``member_arrived``; their visit is still counted (recognition itself needs the
face-recognition consent recorded at enrolment).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.config.loader import format_validation_error

DIRECTORY_FILE = "members.json"


class DirectoryError(ValueError):
    """A directory file that cannot be used; the message names the file and the field."""


class MemberProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    member_id: str = Field(min_length=1, max_length=100)
    first_name: str = Field(default="", max_length=100)
    tier: str = Field(default="standard", min_length=1, max_length=40)
    consent: bool = Field(default=False, description="Personalised service in the store")
    sizes: tuple[str, ...] = Field(
        default=(), max_length=20, description="Sizes they buy, most bought first"
    )
    history_gtins: tuple[str, ...] = Field(
        default=(), max_length=200, description="Recently bought or tried products"
    )


class _DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = Field(default="", max_length=64)
    members: list[MemberProfile]


class MemberDirectory:
    """Immutable lookups of member profiles by member id."""

    __slots__ = ("_members", "version")

    def __init__(self, members: Iterable[MemberProfile] = (), version: str = "") -> None:
        self.version = version
        self._members: dict[str, MemberProfile] = {}
        for member in members:
            if member.member_id in self._members:
                raise DirectoryError(f"member directory {version}: {member.member_id} is twice")
            self._members[member.member_id] = member

    @classmethod
    def from_dict(cls, data: Any, source: str = "<members>") -> MemberDirectory:
        if not isinstance(data, dict):
            raise DirectoryError(f"{source}: expected an object with 'members'")
        try:
            parsed = _DirectoryFile.model_validate(data)
        except ValidationError as error:
            raise DirectoryError(format_validation_error(source, error)) from None
        try:
            return cls(parsed.members, parsed.version)
        except DirectoryError as error:
            raise DirectoryError(f"{source}: {error}") from None

    @classmethod
    def load(cls, path: str | Path, *, missing_ok: bool = True) -> MemberDirectory:
        """The directory in ``path``; empty when the file does not exist yet (before the
        first sync) and ``missing_ok``."""
        path = Path(path)
        if missing_ok and not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise DirectoryError(f"{path}: cannot read the member directory: {error}") from None
        except json.JSONDecodeError as error:
            raise DirectoryError(f"{path}: not valid JSON: {error}") from None
        return cls.from_dict(data, str(path))

    def get(self, member_id: str) -> MemberProfile | None:
        return self._members.get(member_id)

    def consented(self, member_id: str) -> MemberProfile | None:
        """The profile of a member who agreed to personalised service, else None."""
        profile = self._members.get(member_id)
        return profile if profile is not None and profile.consent else None

    def __len__(self) -> int:
        return len(self._members)
