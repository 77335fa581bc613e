"""Telegram updates over HTTP: a route on the tool server's aiohttp app, guarded by the secret token header."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import Update

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates (the public URL of ``WEBHOOK_PATH``) and the secret it sends along."""

    url: str
    secret: str

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("a webhook needs a secret token")


def webhook_routes(
    application: Application[Any, Any, Any, Any, Any, Any], secret: str
) -> Callable[[web.Application], None]:
    """A function that adds ``POST /telegram/webhook`` to an aiohttp app, feeding ``application``."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("refused a Telegram webhook request without the right secret token")
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except (json.JSONDecodeError, TypeError, KeyError, ValueError):
            return web.json_response({"error": "not a Telegram update"}, status=400)
        await application.update_queue.put(update)
        return web.Response(status=200)

    def add(app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, receive)

    return add
