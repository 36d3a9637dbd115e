"""The demo store for the API and browser tests: its configuration with a private data
directory, and a member directory with one consented and one unconsented member."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.config.loader import load_store_config
from edge.config.store import StoreConfig
from edge.fusion.directory import DIRECTORY_FILE
from edge.vision.face_tracker import MemberSeenObservation

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_STORE = REPO_ROOT / "firmware_configs" / "demo_store.yaml"

MEMBERS = {
    "version": "test",
    "members": [
        {
            "member_id": "m-ana",
            "first_name": "Ana",
            "tier": "gold",
            "consent": True,
            "sizes": ["M"],
        },
        {"member_id": "m-bob", "first_name": "Bob", "tier": "platinum", "consent": False},
    ],
}


def demo_config(store_id: str, data_dir: Path, **api: Any) -> StoreConfig:
    """The demo store as ``store_id``, its state in ``data_dir`` (with the member directory)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DIRECTORY_FILE).write_text(json.dumps(MEMBERS), encoding="utf-8")
    config = load_store_config(DEMO_STORE)
    return config.model_copy(
        update={
            "store_id": store_id,
            "data_dir": data_dir,
            "api": config.api.model_copy(update=api),
        }
    )


def seen(member_id: str, zone: str, ts_ms: int) -> MemberSeenObservation:
    """What the face tracker reports when a camera of ``zone`` recognises ``member_id``."""
    return MemberSeenObservation(
        member_id=member_id,
        camera_id=f"cam-{zone}",
        zone=zone,
        confidence=0.9,
        distance=0.35,
        votes=5,
        first_seen_ms=ts_ms,
        last_seen_ms=ts_ms,
    )
