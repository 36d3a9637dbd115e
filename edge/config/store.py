"""The root of STORE.yaml: one store, its broker, zones, readers and thresholds."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from edge.config.api import ApiConfig
from edge.config.base import KeyPathError, StrictModel
from edge.config.cameras import CameraConfig, check_cameras
from edge.config.fusion import FusionConfig
from edge.config.gate import GateConfig
from edge.config.mqtt import MqttConfig
from edge.config.readers import ReaderConfig
from edge.config.recommend import RecommendConfig
from edge.config.sync import SyncConfig
from edge.config.tracker import TrackerConfig
from edge.config.vision import VisionConfig
from edge.config.zones import ZoneConfig, ZoneKind


class AlertThrottleConfig(StrictModel):
    repeat_interval_s: float = Field(
        default=300.0, ge=0, title="The same alert for the same subject at most once per interval"
    )


class StoreConfig(StrictModel):
    store_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", title="Store id (used in topics)")
    name: str = Field(default="", title="Display name")
    data_dir: Path = Field(
        default=Path("var"),
        title="Where the edge keeps its state (outbox, gallery)",
        description="Relative paths are resolved against the configuration file's folder",
    )
    log_level: str = Field(
        default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", title="Log level of every logger"
    )
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    zones: list[ZoneConfig] = Field(min_length=1)
    readers: list[ReaderConfig] = Field(default_factory=list)
    cameras: list[CameraConfig] = Field(default_factory=list)
    vision: VisionConfig = Field(default_factory=VisionConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    alerts: AlertThrottleConfig = Field(default_factory=AlertThrottleConfig)
    fusion: FusionConfig = Field(default_factory=FusionConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    recommend: RecommendConfig = Field(default_factory=RecommendConfig)

    @model_validator(mode="after")
    def _references(self) -> StoreConfig:
        zone_ids = [zone.id for zone in self.zones]
        duplicates = sorted({z for z in zone_ids if zone_ids.count(z) > 1})
        if duplicates:
            raise ValueError(f"zone ids must be unique; repeated: {', '.join(duplicates)}")
        reader_ids = [reader.id for reader in self.readers]
        repeated = sorted({r for r in reader_ids if reader_ids.count(r) > 1})
        if repeated:
            raise ValueError(f"reader ids must be unique; repeated: {', '.join(repeated)}")
        known = set(zone_ids)
        if self.fusion.reservation_zone is not None and self.fusion.reservation_zone not in known:
            raise ValueError(
                f"fusion.reservation_zone '{self.fusion.reservation_zone}' is not a defined zone"
            )
        kinds = {zone.id: zone.kind for zone in self.zones}
        for direction in self.gate.directions:
            if kinds.get(direction.exit) is not ZoneKind.EXIT:
                raise ValueError(
                    f"gate -> directions: exit '{direction.exit}' is not a zone of kind exit"
                )
            if direction.inside not in known or kinds[direction.inside] is ZoneKind.EXIT:
                raise ValueError(
                    f"gate -> directions: inside zone '{direction.inside}' of exit "
                    f"'{direction.exit}' must be a defined zone not of kind exit (e.g. entrance)"
                )
        check_cameras(self.cameras, known)
        for index, reader in enumerate(self.readers):
            for what, zone in reader.zone_references():
                if zone not in known:
                    path: tuple[str | int, ...] = ("readers", index) + (
                        ("antennas", what.removeprefix("antenna "))
                        if what.startswith("antenna ")
                        else (what,)
                    )
                    raise KeyPathError(
                        path,
                        f"Reader {reader.id} {what} maps to zone '{zone}', which is not defined.",
                    )
        return self

    def reservation_zone(self) -> str:
        """Where reserved items wait (``fusion.reservation_zone`` or its default)."""
        if self.fusion.reservation_zone is not None:
            return self.fusion.reservation_zone
        for kind in (ZoneKind.FITTING_ROOM, ZoneKind.BACKROOM):
            for zone in self.zones:
                if zone.kind is kind:
                    return zone.id
        return self.zones[0].id

    def zone_kind(self, zone_id: str) -> ZoneKind:
        return self.zones_by_id()[zone_id].kind

    def zones_by_id(self) -> dict[str, ZoneConfig]:
        return {zone.id: zone for zone in self.zones}

    def resolve_paths(self, base: Path) -> StoreConfig:
        if self.data_dir.is_absolute():
            return self
        return self.model_copy(update={"data_dir": (base / self.data_dir).resolve()})
