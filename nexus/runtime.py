"""Running NEXUS as a service: the bot, the tool server and the scheduler (``nexus run`` / ``serve`` / ``chat``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.conversation import Conversation
from nexus.bootstrap import Nexus, bootstrap
from nexus.failures import redis_unreachable, telegram_failed
from nexus.settings import Settings
from tools_server.oauth_routes import calendar_connect_configured, calendar_connect_link

if TYPE_CHECKING:
    from bot.telegram import SendBudget
    from integrations.simulation.world import World

log = logging.getLogger(__name__)

HOLD_STORE_TIMEOUT_SECONDS = 5.0


def conversation_for(nexus: Nexus, world: World | None = None) -> Conversation:
    """The conversation on this NEXUS's use cases (shared by the bot and the terminal chat).

    With a ``world``, every user starts with the world user's time zone, home, weights and radius.
    """
    settings = nexus.settings
    new_user: dict[str, object] = {}
    if world is not None:
        profile = world.user_profile(0)
        new_user = {
            "timezone": profile.timezone,
            "home": profile.home,
            "weights": profile.weights,
            "radius_km": profile.radius_km,
        }
    return Conversation(
        nexus.ports,
        nexus.intent,
        nexus.geocoder,
        allowed_users=settings.allowed_telegram_users,
        default_timezone=settings.default_timezone,
        calls_per_campaign=settings.calls_per_campaign,
        calendar_link=(
            (lambda user_id: calendar_connect_link(settings, user_id, nexus.ports.clock.now()))
            if calendar_connect_configured(settings)
            else None
        ),
        calendar_disconnect=nexus.calendar_disconnect,
        new_user=new_user,
    )


def read_world(path: Path | None) -> World | None:
    """The world file at ``path`` (``None`` without one); ``WorldError`` says what is wrong with it."""
    if path is None:
        return None
    from integrations.simulation.world import load_world

    return load_world(path)


@asynccontextmanager
async def opened(settings: Settings, world: World | None = None) -> AsyncIterator[Nexus]:
    """``bootstrap``; with a world, its providers, receptionists, clock and the user's busy times (for
    every user: whoever chats is the world's user)."""
    if world is None:
        async with bootstrap(settings) as nexus:
            yield nexus
        return
    from integrations.clock import FixedClock
    from integrations.directory import BundledDirectory
    from integrations.offline_calendar import StaticCalendar
    from integrations.simulation.gateway import SimulatedVoiceGateway

    gateway = SimulatedVoiceGateway(behaviours=world.behaviours())
    async with bootstrap(
        settings,
        clock=FixedClock(world.now),
        voice=gateway,
        directory=BundledDirectory(world.directory_providers()),
        calendar=StaticCalendar(everyone=world.busy()),
    ) as nexus:
        yield nexus


async def run_all(settings: Settings, host: str, port: int, world: World | None) -> int:
    from telegram.error import TelegramError

    from bot.telegram import TelegramNotifier, Webhook, build_application, running, webhook_routes

    token = settings.telegram_bot_token
    assert token is not None
    async with opened(settings, world) as nexus:
        webhook: Webhook | None = None
        conversation = conversation_for(nexus, world)
        application = build_application(
            token.get_secret_value(),
            conversation,
            base_url=settings.telegram_base_url,
            webhook=bool(settings.telegram_webhook_url),
        )
        if settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
            if not secret:
                # Fine for one process; replicas behind a load balancer need one shared TELEGRAM_WEBHOOK_SECRET.
                secret = secrets.token_urlsafe(32)
                log.warning("TELEGRAM_WEBHOOK_SECRET is not set; using a random one for this process")
            webhook = Webhook(settings.telegram_webhook_url, secret)
            nexus.web_routes.append(webhook_routes(application, secret))
        try:
            await _check_hold_store(nexus)
            async with nexus.serving(nexus.create_web_app(), host, port) as base_url, AsyncExitStack() as bot:
                try:
                    await bot.enter_async_context(running(application, webhook))
                except TelegramError as exc:
                    failure = telegram_failed(exc, settings.telegram_base_url)
                    if failure is None:
                        raise
                    raise failure from exc
                # Only once Telegram answers: a bot that cannot start should not have begun dialling retries.
                nexus.start_scheduler()
                sink = TelegramNotifier(application.bot, nexus.outbox_uow, nexus.ports.clock, budget=_budget(settings))
                dispatcher = nexus.start_dispatcher(sink, drop_superseded=True)
                try:
                    how = "webhook" if webhook else "long polling"
                    print(f"NEXUS is running: tool server on {base_url}, Telegram bot by {how}. Ctrl+C stops it.")
                    await _until_stopped()
                finally:
                    await nexus.stop_dispatcher(dispatcher)  # before the bot it sends through stops
        finally:
            await conversation.background.aclose()  # campaigns still being dialled
    return 0


async def serve(settings: Settings, host: str, port: int, reuse_port: bool = False) -> int:
    """The tool server and the scheduler; with ``TELEGRAM_BOT_TOKEN`` also the outbox dispatcher, so
    users hear from this process too (the updates still go to ``nexus run``)."""
    async with bootstrap(settings) as nexus:
        await _check_hold_store(nexus)
        async with (
            nexus.serving(nexus.create_web_app(), host, port, reuse_port) as base_url,
            _telegram_dispatcher(nexus) as telling,
        ):
            nexus.start_scheduler()
            also = ", telling users on Telegram" if telling else ""
            print(f"NEXUS tool server on {base_url}, with the scheduler{also}. Ctrl+C stops it.")
            await _until_stopped()
    return 0


async def _check_hold_store(nexus: Nexus) -> None:
    """Refuse to start when the shared hold store is unreachable: every process must see the same holds."""
    url = nexus.settings.redis_url
    if not url:
        return
    try:
        await asyncio.wait_for(nexus.ports.holds.ping(), HOLD_STORE_TIMEOUT_SECONDS)
    except Exception as exc:  # whatever the client raises, the sentence is the same
        raise redis_unreachable(url, exc) from exc


@asynccontextmanager
async def _telegram_dispatcher(nexus: Nexus) -> AsyncIterator[bool]:
    """Deliver the outbox through the Bot API while inside, when this process has the bot token."""
    settings = nexus.settings
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        yield False
        return
    from telegram import Bot

    from bot.telegram import TelegramNotifier
    from bot.telegram.app import api_urls

    token = settings.telegram_bot_token.get_secret_value()
    if settings.telegram_base_url:
        api, files = api_urls(settings.telegram_base_url)
        bot = Bot(token, base_url=api, base_file_url=files)
    else:
        bot = Bot(token)
    async with bot:
        sink = TelegramNotifier(bot, nexus.outbox_uow, nexus.ports.clock, budget=_budget(settings))
        dispatcher = nexus.start_dispatcher(sink, drop_superseded=True)
        try:
            yield True
        finally:
            await nexus.stop_dispatcher(dispatcher)


def _budget(settings: Settings) -> SendBudget:
    from bot.telegram import SendBudget

    return SendBudget(settings.telegram_messages_per_second)


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
