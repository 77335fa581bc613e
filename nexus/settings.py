"""Settings, from the environment and ``.env``. With none set NEXUS runs offline on SQLite.

Every variable is listed with a comment in ``.env.example``. Secrets are ``SecretStr`` so they never
print; ``validate_for_mode`` names the variable a mode still needs.
"""

from __future__ import annotations

import enum
from typing import Annotated

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Mode(enum.StrEnum):
    MOCK_AI = "mock_ai"
    MOCK_HUMAN = "mock_human"
    LIVE = "live"


class SettingsError(Exception):
    """The configuration cannot work; the message names the variable to set."""


def settings_problem(error: ValidationError) -> str:
    """A sentence naming the variables whose values cannot be used."""
    problems = []
    for item in error.errors()[:5]:
        name = "_".join(str(part) for part in item["loc"]).upper() or "a setting"
        problems.append(f"{name} ({item['msg'].removeprefix('Value error, ')})")
    return "These settings cannot be used: " + "; ".join(problems) + ". Fix them in the environment or .env."


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    nexus_mode: Mode = Mode.MOCK_AI
    database_url: str = "sqlite+aiosqlite:///nexus.db"
    database_pool_size: int = Field(default=10, ge=1, le=500)
    redis_url: str | None = None
    log_level: str = "INFO"

    # Tool server
    nexus_host: str = "127.0.0.1"
    nexus_port: int = Field(default=8000, ge=0, le=65535)
    public_base_url: str | None = None
    tools_shared_secret: SecretStr = SecretStr("")
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)

    # Campaigns and calls
    default_timezone: str = "Europe/Berlin"
    max_concurrent_calls: int = Field(default=30, ge=1, le=1000)
    calls_per_campaign: int = Field(default=15, ge=1, le=15)
    call_timeout_seconds: int = Field(default=600, ge=10)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=120)
    campaign_deadline_minutes: int = Field(default=20, ge=1)
    hold_ttl_seconds: int = Field(default=1800, ge=60)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    sweep_interval_seconds: int = Field(default=30, ge=1)
    campaigns_per_hour: int = Field(default=5, ge=1)

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_base_url: str | None = None
    allowed_telegram_users: Annotated[list[int], NoDecode] = Field(default_factory=list)
    telegram_messages_per_second: int = Field(default=30, ge=1, le=30)
    outbox_max_attempts: int = Field(default=6, ge=1, le=50)

    # ElevenLabs and Twilio
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_base_url: str | None = None
    elevenlabs_agent_phone_number_id: str | None = None
    elevenlabs_agent_id_discover: str | None = None
    elevenlabs_agent_id_confirm: str | None = None
    elevenlabs_agent_id_cancel: str | None = None
    elevenlabs_webhook_secret: SecretStr | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    target_phone_number: str | None = None

    # Google
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_maps_api_key: SecretStr | None = None
    encryption_key: SecretStr | None = None

    # OpenAI
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_timeout_seconds: float = Field(default=4.0, gt=0)

    @field_validator("allowed_telegram_users", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return [int(p) for p in parts if p]
            except ValueError as exc:
                raise ValueError("ALLOWED_TELEGRAM_USERS must be Telegram user ids separated by commas") from exc
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            try:
                Fernet(value.get_secret_value())
            except ValueError:
                raise ValueError(
                    "not a valid key; make one with "
                    'python -c "from integrations.crypto import generate_key; print(generate_key())"'
                ) from None
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def validate_for_mode(self) -> None:
        """Raise ``SettingsError`` naming the first variable this mode needs and lacks."""
        needs: list[tuple[str, object]] = []
        if self.nexus_mode is not Mode.MOCK_AI:
            needs += [
                ("TOOLS_SHARED_SECRET", self.tools_shared_secret.get_secret_value()),
                ("PUBLIC_BASE_URL", self.public_base_url),
                ("ELEVENLABS_API_KEY", self.elevenlabs_api_key),
                ("ELEVENLABS_AGENT_PHONE_NUMBER_ID", self.elevenlabs_agent_phone_number_id),
                ("ELEVENLABS_AGENT_ID_DISCOVER", self.elevenlabs_agent_id_discover),
                ("ELEVENLABS_AGENT_ID_CONFIRM", self.elevenlabs_agent_id_confirm),
                ("ELEVENLABS_WEBHOOK_SECRET", self.elevenlabs_webhook_secret),
                ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
            ]
        if self.nexus_mode is Mode.MOCK_HUMAN:
            needs.append(("TARGET_PHONE_NUMBER", self.target_phone_number))
        if self.nexus_mode is Mode.LIVE:
            needs.append(("GOOGLE_MAPS_API_KEY", self.google_maps_api_key))
        for name, value in needs:
            if not value:
                raise SettingsError(f"NEXUS_MODE={self.nexus_mode} needs {name}; set it in the environment or .env.")
