"""The outbox's sink over the Bot API: the live view of the calls, the shortlist, bookings, reminders.

The dispatcher of whichever process holds the bot token hands it one message at a time, in order per
chat. Which message shows a search's calls is stored in the chat session, so another process (or this
one after a restart) edits the same message instead of starting a new one. Every failure is raised as
``DeliveryFailed`` (Telegram's 429 with its ``retry_after``; permanent when trying again cannot help),
so the dispatcher retries or gives up; a repeated live view or final view is an edit, harmless twice.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import views
from bot.replies import Reply
from bot.session import LIVE_KEY, read_session, update_session
from bot.telegram import render
from domain.errors import DeliveryFailed
from domain.models import CampaignStatus, User
from domain.notifications import (
    CallTranscript,
    CampaignCancelled,
    CampaignFailed,
    CampaignProgress,
    Notification,
    ShortlistReady,
)
from domain.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

_DISCOVERING = (CampaignStatus.DIALING, CampaignStatus.NEGOTIATING)
T = TypeVar("T")

# Telegram allows a bot about 30 messages a second.
TELEGRAM_MESSAGES_PER_SECOND = 30


class SendBudget:
    """At most ``per_second`` requests in any one-second window as Telegram sees them, and nothing at all
    while Telegram's flood control asked to wait.

    A request counts from the moment it is sent until a second after its answer came: it reaches Telegram
    somewhere in between, so however the network delays requests, no second of arrivals holds more than
    ``per_second`` of them. Requests that are not ``urgent`` (redrawing live views) may use only
    ``BACKGROUND_SHARE`` of the budget, so that when many searches run at once their shortlists and
    bookings still find room at once.
    """

    BACKGROUND_SHARE = 2 / 3

    def __init__(self, per_second: int = TELEGRAM_MESSAGES_PER_SECOND) -> None:
        self._per_second = per_second
        self._in_flight = 0
        self._answered: collections.deque[float] = collections.deque()
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def sending(self, *, urgent: bool = True) -> AsyncIterator[None]:
        """Wait for room in the budget, then count the request made inside until a second after it. A
        request that is not ``urgent`` does not wait: without room it raises ``NoRoom`` at once."""
        room = self._per_second if urgent else max(1, int(self._per_second * self.BACKGROUND_SHARE))
        async with self._changed:
            while (wait := self._wait(room)) != 0.0:
                if not urgent:
                    raise NoRoom(wait or 0.1)
                try:
                    async with asyncio.timeout(wait):
                        await self._changed.wait()
                except TimeoutError:
                    pass
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._answered.append(time.monotonic())
                self._changed.notify_all()

    def _wait(self, room: int) -> float | None:
        """0 when a request may go now; else how long to wait at most (``None``: until one is answered)."""
        now = time.monotonic()
        while self._answered and now - self._answered[0] >= 1.0:
            self._answered.popleft()
        if now < self._paused_until:
            return self._paused_until - now
        used = self._in_flight + len(self._answered)
        if used < room:
            return 0.0
        # The oldest answer leaving the window makes room; so may a request in flight being answered.
        return self._answered[used - room] + 1.0 - now if len(self._answered) > used - room else None

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class NoRoom(Exception):
    """The budget has no room for a request that need not be sent now; ``seconds`` until it may have."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no room in the send budget for {seconds:.2f} s")
        self.seconds = seconds


def _retry_after_seconds(error: RetryAfter) -> float:
    # PTB 22 warns that ``retry_after`` becomes a timedelta; both forms are read the same.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramNotifier:
    """``domain.ports.Notifier`` for Telegram; user ids are private chat ids."""

    def __init__(self, bot: Bot, uow: UnitOfWorkFactory, clock: Clock, *, budget: SendBudget | None = None) -> None:
        self._bot = bot
        self._uow = uow
        self._clock = clock
        self._budget = budget or SendBudget()
        self._shown: dict[tuple[int, str], str] = {}  # what each live view shows, to skip unchanged edits
        self._live: dict[tuple[int, str], int] = {}  # the message of each live view this process showed

    async def notify(self, user_id: int, notification: Notification) -> None:
        try:
            await self._deliver(user_id, notification)
        except NoRoom as exc:
            # A live view waiting for room would hold its chat's next message (the shortlist) back: it
            # goes back to the outbox instead, where a newer refresh or the shortlist supersedes it.
            raise DeliveryFailed(
                "The live view waits for room in Telegram's budget.", retry_after=exc.seconds, deferred=True
            ) from exc
        except RetryAfter as exc:
            seconds = _retry_after_seconds(exc)
            self._budget.pause(seconds)
            raise DeliveryFailed(f"Telegram asked to wait {seconds:g} s.", retry_after=seconds) from exc
        except Forbidden as exc:
            raise DeliveryFailed(f"Telegram refused the message: {self._plain(exc)}", permanent=True) from exc
        except BadRequest as exc:
            raise DeliveryFailed(f"Telegram rejected the message: {self._plain(exc)}", permanent=True) from exc
        except TelegramError as exc:
            raise DeliveryFailed(f"Telegram could not be reached: {self._plain(exc)}") from exc

    def _plain(self, error: TelegramError) -> str:
        """The error's message as it may be logged and stored: never with the bot token in it."""
        return error.message.replace(self._bot.token, "<bot token>")

    async def _call(self, request: Callable[[], Awaitable[T]], *, urgent: bool = True) -> T:
        async with self._budget.sending(urgent=urgent):
            return await request()

    async def _deliver(self, user_id: int, notification: Notification) -> None:
        match notification:
            case CampaignProgress():
                if notification.campaign.status in _DISCOVERING:
                    reply = views.live_view(notification)
                    await self._show_live_view(user_id, notification.campaign.id, reply, urgent=False)
            case ShortlistReady(campaign=campaign) | CampaignFailed(campaign=campaign):
                await self._finish_live_view(user_id, campaign.id)
                await self._send_rendered(user_id, notification)
            case CampaignCancelled(campaign=campaign):
                await self._finish_live_view(user_id, campaign.id, stopped=True)
                await self._send_rendered(user_id, notification)
            case CallTranscript():
                await self._show_listen_view(user_id, notification)
            case _:
                await self._send_rendered(user_id, notification)

    async def _send_rendered(self, user_id: int, notification: Notification) -> None:
        reply = views.notification_reply(notification, await self._user(user_id), self._clock.now())
        if reply is not None:
            await self._send(user_id, reply)

    async def _send(self, user_id: int, reply: Reply, *, urgent: bool = True) -> Message:
        message = await self._call(
            lambda: self._bot.send_message(
                user_id, reply.text, parse_mode=ParseMode.HTML, reply_markup=render.markup(reply)
            ),
            urgent=urgent,
        )
        if reply.document is not None:
            await self._call(lambda: render.send_document(self._bot, user_id, reply))
        return message

    async def _user(self, user_id: int) -> User:
        async with self._uow() as uow:
            return await uow.users.get(user_id) or User(id=user_id)

    # --- the live view ----------------------------------------------------------------------------

    async def _finish_live_view(self, user_id: int, campaign_id: str, *, stopped: bool = False) -> None:
        """Show how the calls ended, without the Stop button (an edit: harmless when repeated)."""
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            calls = await uow.calls.list_for_campaign(campaign_id)
            offers = await uow.offers.list_for_campaign(campaign_id)
        if campaign is None:
            return
        if await self._live_message(user_id, campaign_id) is not None:
            final = views.live_view(CampaignProgress(campaign, calls, offers), stopped=stopped)
            await self._show_live_view(user_id, campaign_id, final)
        self._shown.pop((user_id, campaign_id), None)
        self._live.pop((user_id, campaign_id), None)

    async def _live_message(self, user_id: int, campaign_id: str) -> int | None:
        """The message showing the campaign's calls: known here, or stored by whichever process sent it."""
        if (known := self._live.get((user_id, campaign_id))) is not None:
            return known
        stored = (await read_session(self._uow, user_id)).get(LIVE_KEY)
        if isinstance(stored, dict) and stored.get("campaign") == campaign_id:
            return int(stored["message"])
        return None

    async def _show_live_view(self, user_id: int, campaign_id: str, reply: Reply, *, urgent: bool = True) -> None:
        fingerprint = reply.text + "|" + ",".join(reply.button_data())
        if self._shown.get((user_id, campaign_id)) == fingerprint:
            return
        message_id = await self._edit(user_id, await self._live_message(user_id, campaign_id), reply, urgent=urgent)
        if message_id is None:
            message = await self._send(user_id, reply, urgent=urgent)
            live: dict[str, Any] = {"campaign": campaign_id, "message": message.message_id}

            def remember(state: dict[str, Any]) -> None:
                state[LIVE_KEY] = live

            await update_session(self._uow, user_id, remember, self._clock.now())
            message_id = message.message_id
        self._live[(user_id, campaign_id)] = message_id
        self._shown[(user_id, campaign_id)] = fingerprint

    async def _edit(self, user_id: int, message_id: int | None, reply: Reply, *, urgent: bool) -> int | None:
        """Show ``reply`` in message ``message_id``; ``None`` when there is none, or it is gone or too old to
        edit (then the caller sends a new one)."""
        if message_id is None:
            return None
        try:
            await self._call(lambda: render.edit(self._bot, user_id, message_id, reply), urgent=urgent)
        except BadRequest as exc:
            log.info("a view of user %s could not be edited (%s); sending it anew", user_id, exc.message)
            return None
        return message_id

    # --- a call followed live ("Listen") ----------------------------------------------------------

    async def _show_listen_view(self, user_id: int, view: CallTranscript) -> None:
        """Edit the call's "Listen" message (sent the first time; its id is stored with the listener, so any
        process edits the same message)."""
        reply = views.listen_view(view)
        key = (user_id, f"listen:{view.call.id}")
        fingerprint = reply.text + "|" + ",".join(reply.button_data())
        if self._shown.get(key) == fingerprint:
            return
        if await self._edit(user_id, view.message_id, reply, urgent=False) is None:
            message = await self._send(user_id, reply, urgent=False)
            async with self._uow() as uow:
                await uow.turns.listen(view.call.id, user_id, message.message_id)
                await uow.commit()
        self._shown[key] = fingerprint
