"""The fusion section of STORE.yaml and the member directory file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge.config.base import ConfigError
from edge.fusion.directory import DirectoryError, MemberDirectory
from edge.fusion.engine import directory_path
from tests.fusion.fusion_store import REPO, store_config


def test_defaults_keep_existing_store_files_valid() -> None:
    from edge.config.loader import load_store_config

    config = load_store_config(REPO / "firmware_configs" / "demo_store.yaml")
    assert config.fusion.member_arrived_min_tier == "gold"
    assert config.fusion.tier_rank("platinum") > config.fusion.tier_rank("gold")
    assert config.fusion.tier_rank("unheard-of") == -1
    assert directory_path(config) == config.data_dir / "members.json"


@pytest.mark.parametrize(
    ("fusion", "message"),
    [
        (
            {"member_arrived_min_tier": "vip"},
            "member_arrived_min_tier 'vip' is not in fusion -> tier_order",
        ),
        ({"tier_order": ["a", "b", "a"], "member_arrived_min_tier": "a"}, "tier_order repeats a"),
        ({"visit_end_after_s": 0}, "fusion -> visit_end_after_s: Input should be greater than 0"),
        ({"room_idle_end_s": "soon"}, "fusion -> room_idle_end_s: Input should be a valid number"),
        ({"outcome_windows": 5}, "fusion -> outcome_windows: unknown key"),
    ],
    ids=["unknown-tier", "repeated-tier", "zero-visit-end", "not-a-number", "typo"],
)
def test_bad_fusion_config_names_key_and_fix(fusion: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        store_config(fusion=fusion)
    assert message in str(caught.value)


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "members.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_directory_loads_and_only_consented_members_are_personal(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "version": "7",
            "members": [
                {
                    "member_id": "m1",
                    "first_name": "Ann",
                    "tier": "gold",
                    "consent": True,
                    "sizes": ["M", "32"],
                    "history_gtins": ["00614141110018"],
                    "phone": "ignored",
                },
                {"member_id": "m2", "tier": "silver"},
            ],
        },
    )
    directory = MemberDirectory.load(path)
    assert (directory.version, len(directory)) == ("7", 2)
    assert directory.consented("m1") is not None
    assert directory.consented("m1").sizes == ("M", "32")  # type: ignore[union-attr]
    assert directory.get("m2") is not None and directory.consented("m2") is None
    assert directory.consented("m3") is None


def test_missing_directory_is_empty_until_the_first_sync(tmp_path: Path) -> None:
    assert len(MemberDirectory.load(tmp_path / "absent.json")) == 0
    with pytest.raises(DirectoryError, match="cannot read the member directory"):
        MemberDirectory.load(tmp_path / "absent.json", missing_ok=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ([], "expected an object with 'members'"),
        ({"members": [{"tier": "gold"}]}, "members -> 0 -> member_id: Field required"),
        ({"members": [{"member_id": "a"}, {"member_id": "a"}]}, "a is twice"),
    ],
    ids=["json", "shape", "missing-id", "twice"],
)
def test_bad_directory_file_says_what_is_wrong(tmp_path: Path, content: Any, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(DirectoryError) as caught:
        MemberDirectory.load(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
