"""Request and response bodies (pydantic), named as in the FastAPI template:
``XBase`` shared fields, ``XCreate`` input, ``XUpdate`` partial input, ``XPublic`` output."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cloud_sync.hq.core.security import Role
from edge.events.limits import Text
from edge.recommend.catalog import ProductFields

TAG_NAMES: dict[str, Any] = {"propertyNames": {"pattern": "^[^\\x00-\\x1f\\x7f]*$"}}
"""Tag names follow the text rule of their values (no control characters)."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreBase(_In):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: Text = Field(min_length=1, max_length=200)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class StoreCreate(StoreBase):
    pass


class StoreUpdate(_In):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    active: bool | None = Field(default=None, description="False refuses the store's key")


class StorePublic(StoreBase):
    key_id: str
    active: bool
    created_at: datetime


class StoreCredentials(StorePublic):
    """Returned once, at creation: HQ never shows the secret again."""

    secret: str


class StaffTokenCreate(_In):
    name: Text = Field(min_length=1, max_length=200)
    role: Role


class StaffTokenPublic(BaseModel):
    id: int
    name: str
    role: Role
    token: str


class ProductBase(ProductFields):
    """The store's own product definition (edge/recommend/catalog.py), unknown keys refused."""

    model_config = ConfigDict(extra="forbid")


class ProductCreate(ProductBase):
    pass


class ProductPublic(ProductBase):
    pass


class CatalogUpsert(_In):
    products: list[ProductCreate] = Field(min_length=1)


class ModelPublic(BaseModel):
    version: str
    sha256: str
    size: int
    url: str


class ConsentScope(StrEnum):
    FACE_RECOGNITION = "face_recognition"
    MARKETING = "marketing"


class Identity(_In):
    channel: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9_]+$",
        description="phone, email, wechat_openid, loyalty_card, ...",
    )
    value: Text = Field(min_length=1, max_length=200)


class MemberBase(_In):
    name: Text | None = Field(default=None, max_length=200)
    tier: Text = Field(default="standard", min_length=1, max_length=40)


class MemberCreate(MemberBase):
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="The loyalty programme's own member id (what the tills name); default: new",
    )
    identities: list[Identity] = Field(default_factory=list)
    tags: dict[Text, Text] = Field(default_factory=dict, json_schema_extra=TAG_NAMES)
    home_store_id: Text | None = Field(
        default=None, description="Explicit home store; otherwise the nearest to lat/long"
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class MemberUpdate(_In):
    name: Text | None = Field(default=None, max_length=200)
    tier: Text | None = Field(default=None, min_length=1, max_length=40)
    identities: list[Identity] | None = Field(
        default=None, description="Added (or moved between channels of this member)"
    )
    tags: dict[Text, Text | None] | None = Field(
        json_schema_extra=TAG_NAMES,
        default=None,
        description="Set tags; a null value removes the tag",
    )
    home_store_id: Text | None = None


class ConsentCreate(_In):
    scope: ConsentScope
    given: bool
    source: Text = Field(min_length=1, max_length=200, description="e.g. store:s1/tablet, app")
    at: datetime | None = Field(default=None, description="When it was given; default now")


class ConsentPublic(BaseModel):
    scope: ConsentScope
    given: bool
    at: datetime
    source: str


class PointsAdjust(_In):
    delta: int
    cause: Text = Field(default="manual", min_length=1, max_length=40)
    ref: Text = Field(min_length=1, max_length=200, description="Idempotency reference")
    note: Text = Field(default="", max_length=500)


class PointsEntryPublic(BaseModel):
    delta: int
    cause: str
    ref: str
    note: str
    at: datetime


class MemberPublic(MemberBase):
    id: str
    home_store_id: str | None
    identities: list[Identity]
    tags: dict[str, str]
    consents: dict[str, ConsentPublic]
    points_balance: int
    embeddings: int
    merged_into: str | None
    erased_at: datetime | None
    created_at: datetime


class PhotoOutcome(BaseModel):
    """What became of one enrolment photo (or sampled video frame, ``name @ 1.5 s``)."""

    name: str
    accepted: bool
    problem: str | None
    message: str
    quality: float | None
    notes: list[str]


class PhotoEnrolmentPublic(MemberPublic):
    photos: list[PhotoOutcome]


class MemberMerge(_In):
    duplicate_id: Text = Field(min_length=1, max_length=40)


class EmbeddingsCreate(_In):
    embeddings: list[list[float]] = Field(min_length=1, max_length=20)
