"""The notifier port over the Bot API: the live view of the calls, the shortlist, bookings, reminders.

It sends from whichever process acts (tool server, scheduler, bot), through ``bot`` alone, without the
polling loop. Which message shows a search's calls is stored in the chat session, so another process (or
this one after a restart) edits the same message instead of starting a new one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot import views
from bot.replies import Reply
from bot.session import LIVE_KEY, read_session, update_session
from bot.telegram import render
from domain.models import CampaignStatus, User
from domain.notifications import (
    CampaignCancelled,
    CampaignFailed,
    CampaignProgress,
    Notification,
    ShortlistReady,
)
from domain.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

_DISCOVERING = (CampaignStatus.DIALING, CampaignStatus.NEGOTIATING)


@dataclass(slots=True)
class _LiveView:
    """The message showing one search's calls in one chat, and what is waiting to be shown."""

    campaign_id: str
    message_id: int | None
    shown: str = ""
    last_edit: float = float("-inf")
    pending: Reply | None = None
    timer: asyncio.Task[None] | None = field(default=None, repr=False)


class TelegramNotifier:
    """``domain.ports.Notifier`` for Telegram; user ids are private chat ids."""

    def __init__(self, bot: Bot, uow: UnitOfWorkFactory, clock: Clock, *, edit_interval: float = 2.0) -> None:
        self._bot = bot
        self._uow = uow
        self._clock = clock
        self._edit_interval = edit_interval
        self._views: dict[int, _LiveView] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def notify(self, user_id: int, notification: Notification) -> None:
        try:
            await self._deliver(user_id, notification)
        except TelegramError as exc:
            log.warning("could not tell user %s about %s: %s", user_id, type(notification).__name__, exc)
        except Exception:
            log.exception("telling user %s about %s failed", user_id, type(notification).__name__)

    async def aclose(self) -> None:
        """Stop the edits still waiting for their turn."""
        timers = [view.timer for view in self._views.values() if view.timer is not None]
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        self._views.clear()

    async def _deliver(self, user_id: int, notification: Notification) -> None:
        match notification:
            case CampaignProgress():
                await self._progress(user_id, notification)
            case ShortlistReady(campaign=campaign) | CampaignFailed(campaign=campaign):
                await self._finish_live_view(user_id, campaign.id)
                await self._send_rendered(user_id, notification)
            case CampaignCancelled(campaign=campaign):
                await self._finish_live_view(user_id, campaign.id, stopped=True)
                await self._send_rendered(user_id, notification)
            case _:
                await self._send_rendered(user_id, notification)

    async def _send_rendered(self, user_id: int, notification: Notification) -> None:
        reply = views.notification_reply(notification, await self._user(user_id), self._clock.now())
        if reply is not None:
            await self._send(user_id, reply)

    async def _send(self, user_id: int, reply: Reply) -> None:
        await render.send(self._bot, user_id, reply)

    async def _user(self, user_id: int) -> User:
        async with self._uow() as uow:
            return await uow.users.get(user_id) or User(id=user_id)

    # --- the live view ----------------------------------------------------------------------------

    def _lock(self, user_id: int) -> asyncio.Lock:
        return self._locks.setdefault(user_id, asyncio.Lock())

    async def _progress(self, user_id: int, progress: CampaignProgress) -> None:
        if progress.campaign.status not in _DISCOVERING:
            return  # confirmation and cancellation calls are told about in their own messages
        reply = views.live_view(progress)
        final = views.live_view_is_final(progress)
        async with self._lock(user_id):
            view = await self._view(user_id, progress.campaign.id)
            view.pending = reply
            wait = view.last_edit + self._edit_interval - asyncio.get_running_loop().time()
            if view.message_id is None or final or wait <= 0:
                await self._show(user_id, view)
            elif view.timer is None:
                view.timer = asyncio.create_task(self._show_later(user_id, view, wait))

    async def _show_later(self, user_id: int, view: _LiveView, delay: float) -> None:
        await asyncio.sleep(delay)  # the throttle: at most one edit per interval per chat
        async with self._lock(user_id):
            view.timer = None
            if self._views.get(user_id) is view:
                await self._show(user_id, view)

    async def _finish_live_view(self, user_id: int, campaign_id: str, *, stopped: bool = False) -> None:
        """Show how the calls ended, at once and without the Stop button."""
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            calls = await uow.calls.list_for_campaign(campaign_id)
            offers = await uow.offers.list_for_campaign(campaign_id)
        if campaign is None:
            return
        async with self._lock(user_id):
            view = await self._view(user_id, campaign_id)
            if view.timer is not None and view.timer is not asyncio.current_task():
                view.timer.cancel()
            view.timer = None
            if view.message_id is not None:
                view.pending = views.live_view(CampaignProgress(campaign, calls, offers), stopped=stopped)
                await self._show(user_id, view)
            self._views.pop(user_id, None)

    async def _view(self, user_id: int, campaign_id: str) -> _LiveView:
        view = self._views.get(user_id)
        if view is None or view.campaign_id != campaign_id:
            if view is not None and view.timer is not None:
                view.timer.cancel()
            stored = (await read_session(self._uow, user_id)).get(LIVE_KEY)
            message_id = None
            if isinstance(stored, dict) and stored.get("campaign") == campaign_id:
                message_id = int(stored["message"])
            view = _LiveView(campaign_id, message_id)
            self._views[user_id] = view
        return view

    async def _show(self, user_id: int, view: _LiveView) -> None:
        reply, view.pending = view.pending, None
        if reply is None:
            return
        fingerprint = reply.text + "|" + ",".join(reply.button_data())
        if fingerprint == view.shown:
            return
        if view.message_id is None:
            message = await render.send(self._bot, user_id, reply)
            view.message_id = message.message_id
            live: dict[str, Any] = {"campaign": view.campaign_id, "message": message.message_id}

            def remember(state: dict[str, Any]) -> None:
                state[LIVE_KEY] = live

            await update_session(self._uow, user_id, remember, self._clock.now())
        else:
            await render.edit(self._bot, user_id, view.message_id, reply)
        view.shown = fingerprint
        view.last_edit = asyncio.get_running_loop().time()
