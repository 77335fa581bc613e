"""How NEXUS logs: one line per event, naming the campaign and call, as text or JSON (``LOG_FORMAT``).

Whatever a line says, the formatter hides the configured secrets, anything shaped like a Telegram bot token
or a bearer token, and phone numbers (only their last three digits show), in the message and in tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from domain import log_context

# Loggers that talk too much for an operator at INFO: Alembic announces every plugin and migration step,
# APScheduler every job run; they speak under --verbose. httpx logs every request URL (Bot API URLs contain
# the bot token), so it never speaks below WARNING.
_CHATTY = {"alembic": logging.WARNING, "apscheduler": logging.WARNING}
_NEVER_CHATTY = {"httpx": logging.WARNING, "httpcore": logging.WARNING}

_PHONE = re.compile(r"(?<![\w+])(?:\+|00)[1-9][0-9 ()/.-]{5,18}[0-9](?![0-9])")
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,12}:[A-Za-z0-9_-]{30,}")
_BEARER = re.compile(r"(?i)\b(bearer|token|secret|api[_-]?key)([\"']?\s*[:=]\s*[\"']?|\s+)([A-Za-z0-9._~+/-]{16,})")
_HANDLER_NAME = "nexus"


def mask_phone_numbers(text: str) -> str:
    """``+493055501024`` becomes ``+***024``: enough to tell calls apart, never the number."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[^0-9]", "", match.group())
        return "+***" + digits[-3:]

    return _PHONE.sub(mask, text)


class Redactor:
    """Removes secrets and phone numbers from a line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so that a secret containing another is hidden whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        text = _BOT_TOKEN.sub("[bot-token]", text)
        text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}[secret]", text)
        return mask_phone_numbers(text)


class _TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        campaign_id, call_id = _ids(record)
        ids = "".join(f" {k}={v}" for k, v in (("campaign", campaign_id), ("call", call_id)) if v)
        if ids:
            first, sep, rest = line.partition("\n")
            line = first + ids + sep + rest
        return self._redact(line)


class _JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        campaign_id, call_id = _ids(record)
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        if campaign_id:
            event["campaign_id"] = campaign_id
        if call_id:
            event["call_id"] = call_id
        for key in ("tool", "status", "duration_ms"):
            if hasattr(record, key):
                event[key] = getattr(record, key)
        if record.exc_info:
            event["exception"] = self._redact(self.formatException(record.exc_info))
        return json.dumps(event, ensure_ascii=False)


def _ids(record: logging.LogRecord) -> tuple[str | None, str | None]:
    bound_campaign, bound_call = log_context.current()
    return getattr(record, "campaign_id", bound_campaign), getattr(record, "call_id", bound_call)


def configure_logging(
    level: str = "WARNING",
    fmt: str = "text",
    *,
    verbose: bool = False,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> None:
    """Send every log line to ``stream`` (stderr) as one line of text or JSON; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    redact = Redactor(secrets)
    handler.setFormatter(_JsonFormatter(redact) if fmt == "json" else _TextFormatter(redact))
    root.addHandler(handler)
    wanted = logging.getLevelName(level.upper())
    wanted = wanted if isinstance(wanted, int) else logging.INFO
    root.setLevel(min(wanted, logging.INFO) if verbose else wanted)
    for name, quiet in _CHATTY.items():
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else quiet)
    for name, quiet in _NEVER_CHATTY.items():
        logging.getLogger(name).setLevel(quiet)
