"""Settings: the embedded default needs nothing; a mode names what it lacks; bad values are said plainly."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.crypto import generate_key
from nexus import cli
from nexus.settings import Mode, Settings, SettingsError


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("NEXUS_MODE", "DATABASE_URL", "REDIS_URL", "TOOLS_SHARED_SECRET", "ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_no_settings_at_all_means_offline_on_sqlite() -> None:
    settings = Settings()
    assert settings.nexus_mode is Mode.MOCK_AI
    assert settings.database_url == "sqlite+aiosqlite:///nexus.db"
    assert settings.redis_url is None
    settings.validate_for_mode()


def test_a_mode_names_the_first_variable_it_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_MODE", "mock_human")
    with pytest.raises(SettingsError, match="NEXUS_MODE=mock_human needs TOOLS_SHARED_SECRET"):
        Settings().validate_for_mode()


LIVE_NEEDS = [
    "TOOLS_SHARED_SECRET",
    "PUBLIC_BASE_URL",
    "ELEVENLABS_API_KEY",
    "ELEVENLABS_AGENT_PHONE_NUMBER_ID",
    "ELEVENLABS_AGENT_ID_DISCOVER",
    "ELEVENLABS_AGENT_ID_CONFIRM",
    "ELEVENLABS_WEBHOOK_SECRET",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "GOOGLE_MAPS_API_KEY",
]


def test_live_mode_names_every_missing_variable_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIVE_NEEDS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEXUS_MODE", "live")
    with pytest.raises(SettingsError) as raised:
        Settings().validate_for_mode()
    message = str(raised.value)
    assert message.startswith("NEXUS_MODE=live needs " + ", ".join(LIVE_NEEDS) + ";")
    assert message.count("\n") == 0


def test_bad_values_a_mode_cannot_use_are_named_with_the_missing_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_MODE", "mock_human")
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://nexus.example.com")
    monkeypatch.setenv("TARGET_PHONE_NUMBER", "0151 1234567")
    with pytest.raises(SettingsError) as raised:
        Settings().validate_for_mode()
    message = str(raised.value)
    assert "needs TOOLS_SHARED_SECRET, ELEVENLABS_API_KEY," in message
    assert "PUBLIC_BASE_URL to be an https:// address" in message
    assert "TARGET_PHONE_NUMBER in international form" in message


def test_allowed_users_are_read_from_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_TELEGRAM_USERS", "12, 34;56")
    assert Settings().allowed_telegram_users == [12, 34, 56]


def test_a_good_encryption_key_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    encryption_key = Settings().encryption_key
    assert encryption_key is not None
    assert encryption_key.get_secret_value() == key


def test_unusable_values_stop_the_command_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_PORT", "eighty")
    monkeypatch.setenv("ENCRYPTION_KEY", "not-a-key")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nexus: These settings cannot be used: NEXUS_PORT (")
    assert "ENCRYPTION_KEY (not a valid key; make one with" in err
    assert "Traceback" not in err
    assert "not-a-key" not in err  # a secret's value is never printed


def test_unusable_values_and_what_the_mode_lacks_come_in_one_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_MODE", "mock_human")
    monkeypatch.setenv("NEXUS_PORT", "eighty")
    monkeypatch.setenv("MAX_CONCURRENT_CALLS", "0")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "NEXUS_PORT (" in err and "MAX_CONCURRENT_CALLS (" in err
    assert "NEXUS_MODE=mock_human also needs TOOLS_SHARED_SECRET, PUBLIC_BASE_URL," in err
    assert "TARGET_PHONE_NUMBER" in err


def test_the_encryption_key_command_of_env_example_makes_a_key_nexus_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    example = (Path(__file__).resolve().parents[3] / ".env.example").read_text(encoding="utf-8")
    line = next(line for line in example.splitlines() if "urlsafe_b64encode" in line)
    command = shlex.split(line.removeprefix("#").strip())
    assert command[0] == "python3"  # works on a machine where only python3 exists, without NEXUS installed
    key = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    assert Settings().encryption_key is not None


def test_env_example_lists_every_setting_and_nothing_nexus_does_not_read() -> None:
    example = (Path(__file__).resolve().parents[3] / ".env.example").read_text(encoding="utf-8")
    listed = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - listed == set()
    assert listed - settings == {"NEXUS_DOMAIN", "POSTGRES_PASSWORD"}  # read by Docker Compose (compose.yaml)


@pytest.mark.parametrize(
    "secret",
    ["has spaces in it", "slash/and+plus=", "ümlaut", "x" * 257],
    ids=["spaces", "base64-signs", "non-ascii", "too-long"],
)
def test_a_telegram_webhook_secret_telegram_would_refuse_is_named_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)

    assert cli.main(["db", "upgrade"]) == 2

    err = capsys.readouterr().err
    assert "TELEGRAM_WEBHOOK_SECRET (Telegram accepts only 1 to 256 letters, digits, _ and -" in err
    assert secret not in err


@pytest.mark.parametrize("secret", ["a", "Az09_-" * 42 + "abcd", "tok_EN-123"])
def test_a_telegram_webhook_secret_of_telegrams_characters_is_accepted(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)

    value = Settings().telegram_webhook_secret

    assert value is not None and value.get_secret_value() == secret
