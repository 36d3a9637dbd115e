"""Settings from O2O_HQ_* variables: parsed, validated, errors name the variable and value."""

from __future__ import annotations

import pytest

from cloud_sync.hq.core.config import NotifyChannel, Settings, SettingsError
from cloud_sync.hq.core.security import ServerKeyError, Vault


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "O2O_HQ_RATE_LIMIT_REQUESTS": "50",
            "O2O_HQ_TIER_POINTS_MULTIPLIER": '{"gold": 1.5}',
            "O2O_HQ_NOTIFY_CHANNEL": "wechat",
            "UNRELATED": "x",
        }
    )
    assert settings.rate_limit_requests == 50
    assert settings.tier_points_multiplier == {"gold": 1.5}
    assert settings.notify_channel is NotifyChannel.WECHAT
    assert settings.effective_database_url == "sqlite:///var/hq.sqlite3"
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"O2O_HQ_RATE_LIMIT_REQUESTS": "0"},
            "O2O_HQ_RATE_LIMIT_REQUESTS: Input should be greater than or equal to 1 (value: '0')",
        ),
        (
            {"O2O_HQ_TIER_POINTS_MULTIPLIER": "{gold"},
            "O2O_HQ_TIER_POINTS_MULTIPLIER: not valid JSON",
        ),
        (
            {"O2O_HQ_NOTIFY_CHANNEL": "sms"},
            "O2O_HQ_NOTIFY_CHANNEL: Input should be 'none', 'webhook'",
        ),
    ],
    ids=["below-minimum", "bad-json", "unknown-channel"],
)
def test_settings_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert str(error.value).startswith(message)


def test_server_key_required() -> None:
    with pytest.raises(ServerKeyError, match="O2O_HQ_SECRET_KEY is not set"):
        Vault("")
    with pytest.raises(ServerKeyError, match="not a Fernet key"):
        Vault("short")
