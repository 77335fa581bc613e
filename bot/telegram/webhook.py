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
# Telegram documents no maximum size of an update. The largest real ones (a 4096-character message with
# its entities, a quoted reply and a link preview) stay far below 100 KB; 1 MiB is generous and still bounds
# what a caller with the secret can make this process hold. The tool endpoints keep their own, smaller limit.
MAX_UPDATE_BYTES = 1024 * 1024
_CHUNK_BYTES = 64 * 1024


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
        body = await _body(request)
        if body is None:
            log.warning("refused a Telegram update larger than %d bytes", MAX_UPDATE_BYTES)
            return _refused(413, "too_large", f"An update may be at most {MAX_UPDATE_BYTES} bytes.")
        update = _update(body, application)
        if update is None:
            return _refused(400, "not_an_update", "The body is not a Telegram update (a JSON object with update_id).")
        await application.update_queue.put(update)
        return web.Response(status=200)

    def add(app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, receive)

    return add


async def _body(request: web.Request) -> bytes | None:
    """The body, read by this route's own limit (the app's ``client_max_size`` is for the tool endpoints)."""
    if request.content_length is not None and request.content_length > MAX_UPDATE_BYTES:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_UPDATE_BYTES:
            return None
    return bytes(body)


def _update(body: bytes, application: Application[Any, Any, Any, Any, Any, Any]) -> Update | None:
    """The update in ``body``, or ``None`` for anything else: not JSON, too deep, not an object, wrong types."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        return None
    try:
        return Update.de_json(data, application.bot)
    except Exception:  # whatever shape the fields have, a wrong one is the sender's mistake, never a 500
        log.info("refused a Telegram update whose fields have the wrong shape", exc_info=True)
        return None


def _refused(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)
