"""A fake Telegram Bot API server for tests: a real aiohttp app on 127.0.0.1 that the real bot talks to.

It records every method the bot calls (with its parameters and uploaded files) and feeds the bot the
updates a test makes up: messages, shared locations, button taps. Tests await what the bot sends::

    api = FakeBotApi()
    server = await aiohttp_server(api.app)
    await api.user_says("dentist tomorrow")
    card = await api.wait_for("sendMessage", lambda c: "Call providers" in c.text)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 4242
TOKEN = "4242:test-token"
USER_ID = 7


@dataclass
class ApiCall:
    """One Bot API method the bot called."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    result: Any = None
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def message_id(self) -> int:
        """The id of the message this call sent or edited."""
        return int(self.result["message_id"])

    def edits(self, message_id: int) -> bool:
        """Whether this call changes message ``message_id``."""
        return str(self.params.get("message_id")) == str(message_id)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def button_data(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, label_start: str) -> str:
        markup = self.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for b in row:
                if str(b["text"]).startswith(label_start):
                    return str(b["callback_data"])
        raise AssertionError(f"no button starting {label_start!r} in {markup}")


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self._changed = asyncio.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._query_ids = itertools.count(1)
        self._failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.refused: list[ApiCall] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # --- what a user does -------------------------------------------------------------------------

    def _user(self, user_id: int, language: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": language}

    def _chat(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": f"User{user_id}"}

    async def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        await self._notify()

    def update_for_text(self, text: str, user_id: int = USER_ID, language: str = "en") -> dict[str, Any]:
        """A message update (not queued), e.g. to post to a webhook."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(user_id),
            "from": self._user(user_id, language),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": message}

    async def user_says(self, text: str, user_id: int = USER_ID, language: str = "en") -> None:
        update = self.update_for_text(text, user_id, language)
        del update["update_id"]
        await self._push(update)

    async def user_shares_location(
        self, lat: float, lng: float, user_id: int = USER_ID, *, live_period: int | None = None
    ) -> int:
        """Share a location (a live one with ``live_period``); returns the message id its moves edit."""
        location: dict[str, Any] = {"latitude": lat, "longitude": lng}
        if live_period is not None:
            location["live_period"] = live_period
        message_id: int = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(user_id),
            "from": self._user(user_id, "en"),
            "location": location,
        }
        await self._push({"message": message})
        return message_id

    async def user_edits(self, message_id: int, user_id: int = USER_ID, **content: Any) -> None:
        """An edit of an earlier message: a live location moving (``location=``) or corrected ``text=``."""
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": self._chat(user_id),
            "from": self._user(user_id, "en"),
            **content,
        }
        await self._push({"edited_message": message})

    async def user_taps(self, data: str, message_id: int, user_id: int = USER_ID) -> str:
        """Tap a button on ``message_id``; returns the callback query id (its answer names it)."""
        query_id = str(next(self._query_ids))
        message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(user_id), "text": "…"}
        await self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, "en"),
                    "chat_instance": str(user_id),
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    def fail(
        self, method: str, status: int, description: str, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with a Bot API error (429 with ``retry_after``)."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self._failures.setdefault(method, []).extend([(status, body)] * times)

    # --- what the test waits for ------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the record; ``wait_for(..., since=mark)`` only looks at calls made after it."""
        return len(self.calls)

    async def wait_for(
        self, method: str, where: Callable[[ApiCall], bool] = lambda _: True, *, since: int = 0, within: float = 10
    ) -> ApiCall:
        """The first call of ``method`` matching ``where`` (at or after ``since``), waiting until it comes
        (at most ``within`` seconds)."""
        async with asyncio.timeout(within):
            async with self._changed:
                while True:
                    for call in self.calls[since:]:
                        if call.method == method and where(call):
                            return call
                    await self._changed.wait()

    def sent(self, method: str, since: int = 0) -> list[ApiCall]:
        return [c for c in self.calls[since:] if c.method == method]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- the Bot API ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await self._read(request)
        if method == "getUpdates":
            return self._ok(await self._get_updates(params))
        call = ApiCall(method, params, files)
        if self._failures.get(method):
            status, body = self._failures[method].pop(0)
            self.refused.append(call)
            return web.json_response(body, status=status)
        call.result = self._answer(call)
        self.calls.append(call)
        await self._notify()
        return self._ok(call.result)

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = _decode(str(value))
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = files.get(value.removeprefix("attach://"))
        return params, files

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] >= offset]

        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: bool(pending()))
            except TimeoutError:
                pass
        return pending()

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "NEXUS"},
            **content,
        }

    def _answer(self, call: ApiCall) -> Any:
        p = call.params
        match call.method:
            case "getMe":
                return {"id": BOT_ID, "is_bot": True, "first_name": "NEXUS", "username": "nexus_test_bot"}
            case "sendMessage":
                return self._message(int(p["chat_id"]), text=p["text"])
            case "editMessageText":
                return {**self._message(int(p["chat_id"]), text=p["text"]), "message_id": int(p["message_id"])}
            case "editMessageReplyMarkup":
                return {**self._message(int(p["chat_id"])), "message_id": int(p["message_id"])}
            case "sendDocument":
                name = p["document"][0] if isinstance(p.get("document"), tuple) else "file"
                document = {"file_id": "doc-1", "file_unique_id": "doc-1", "file_name": name}
                return self._message(int(p["chat_id"]), document=document)
            case "getWebhookInfo":
                return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
            case _:
                return True


def _decode(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
