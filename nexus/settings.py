"""Settings, from the environment and ``.env``. With none set NEXUS runs offline on SQLite.

Every variable is listed with a comment in ``.env.example``. Secrets are ``SecretStr`` so they never
print; ``validate_for_mode`` names, in one message, every variable a mode still needs.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.models import is_e164
from domain.services.fanout import FanOut

_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Mode(enum.StrEnum):
    MOCK_AI = "mock_ai"
    MOCK_HUMAN = "mock_human"
    LIVE = "live"


class SettingsError(Exception):
    """The configuration cannot work; the message names the variable to set."""


def settings_problem(error: ValidationError) -> str:
    """One message naming every variable whose value cannot be used, and every one the mode still lacks."""
    problems = []
    bad_fields: set[str] = set()
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        bad_fields.add(field)
        name = "_".join(str(part) for part in item["loc"]).upper() or "a setting"
        problems.append(f"{name} ({item['msg'].removeprefix('Value error, ')})")
    message = "These settings cannot be used: " + "; ".join(problems) + "."
    # Learn in the same message what the mode also lacks: read the settings again without the unusable values.
    try:
        fallback = Settings(**{f: Settings.model_fields[f].get_default(call_default_factory=True) for f in bad_fields})
        lacking = fallback.mode_problems()
    except (ValidationError, KeyError):
        lacking = []
    if lacking:
        message += f" NEXUS_MODE={fallback.nexus_mode} also " + "; ".join(lacking) + "."
    return message + " Fix them in the environment or .env."


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    nexus_mode: Mode = Mode.MOCK_AI
    database_url: str = "sqlite+aiosqlite:///nexus.db"
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="nexus", min_length=1, max_length=100)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Tool server
    nexus_host: str = "127.0.0.1"
    nexus_port: int = Field(default=8000, ge=0, le=65535)
    public_base_url: str | None = None
    tools_shared_secret: SecretStr = SecretStr("")
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)

    # Campaigns and calls
    default_timezone: str = "Europe/Berlin"
    max_concurrent_calls: int = Field(default=30, ge=1, le=1000)
    call_slot_lease_seconds: float = Field(default=30.0, ge=0.5, le=3600)
    calls_per_campaign: int = Field(default=15, ge=1, le=15)
    call_timeout_seconds: int = Field(default=600, ge=10)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=120)
    campaign_deadline_minutes: int = Field(default=20, ge=1)
    hold_ttl_seconds: int = Field(default=1800, ge=60)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    sweep_interval_seconds: int = Field(default=30, ge=1)
    campaigns_per_hour: int = Field(default=5, ge=1)
    voicemail_retry_minutes: int = Field(default=10, ge=1, le=24 * 60)
    voicemail_retries: int = Field(default=1, ge=0, le=3)
    call_cost_per_minute: float = Field(default=0.10, ge=0, le=100)
    call_cost_currency: str = Field(default="EUR", min_length=1, max_length=8)
    call_minutes_per_month: int = Field(default=300, ge=0)  # per user; 0: no limit
    # ask_user: how long the agent's request waits for the user's answer (below the tool's 30 s timeout), and
    # how often it looks in the database for it (the answer may come through another process)
    ask_user_wait_seconds: float = Field(default=20.0, ge=0, le=25)
    ask_user_poll_seconds: float = Field(default=0.25, gt=0, le=5)
    fan_out: FanOut = FanOut.PARALLEL
    fan_out_wave: int = Field(default=3, ge=1, le=15)
    transcript_retention_days: int = Field(default=30, ge=1, le=3650)
    record_call_audio: bool = False
    follow_up_rounds: int = Field(default=5, ge=1, le=30)  # keep looking / watch: later rounds per search
    provider_calls_per_day: int = Field(default=3, ge=0, le=1000)  # per practice, all users; 0: no limit
    provider_call_gap_minutes: int = Field(default=20, ge=0, le=24 * 60)
    knowledge_no_slots_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    knowledge_opening_hours_hours: int = Field(default=24, ge=1, le=30 * 24)
    knowledge_call_back_hours: int = Field(default=12, ge=1, le=7 * 24)

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
    elevenlabs_agent_id_reschedule: str | None = None  # the agent of RESCHEDULE calls (moving an appointment)
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

    # Expert agents (one per expert service and language, made by `nexus elevenlabs sync`):
    # "dentist/de=agent_x,dentist/en=agent_y"; a service without one is called by the general agent.
    elevenlabs_expert_agent_ids: str = ""

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

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's setWebhook takes 1-256 characters of A-Z, a-z, 0-9, _ and -; anything else fails at start.
        if value is not None and value.get_secret_value() and not _TELEGRAM_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(
                "Telegram accepts only 1 to 256 letters, digits, _ and -; make one with "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
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
                    'python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
                ) from None
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_values(self) -> list[str]:
        """Every secret set, for the log formatter to hide (and the URLs' passwords)."""
        values = [getattr(self, name) for name in type(self).model_fields]
        found = [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]
        for url in (self.database_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:
                found.append(password)
        return found

    def mode_problems(self) -> list[str]:
        """What this mode lacks or cannot use, each as a phrase; empty when the settings can start it."""
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
        missing = [name for name, value in needs if not _given(value)]
        problems = [f"needs {', '.join(missing)}"] if missing else []
        if self.nexus_mode is not Mode.MOCK_AI:
            if self.public_base_url and not self.public_base_url.startswith("https://"):
                problems.append("needs PUBLIC_BASE_URL to be an https:// address (ElevenLabs and Google call it)")
            if self.target_phone_number and not is_e164(self.target_phone_number):
                problems.append("needs TARGET_PHONE_NUMBER in international form, like +4915112345678")
        return problems

    def validate_for_mode(self) -> None:
        """Raise ``SettingsError`` naming, in one message, every variable this mode lacks or cannot use."""
        problems = self.mode_problems()
        if problems:
            raise SettingsError(
                f"NEXUS_MODE={self.nexus_mode} " + "; ".join(problems) + "; set them in the environment or .env "
                "(.env.example describes each)."
            )


def _given(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)
