"""Running NEXUS as a service: the bot, the tool server and the scheduler (``nexus run`` / ``serve`` / ``chat``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.conversation import Conversation
from nexus.bootstrap import Nexus, bootstrap
from nexus.settings import Settings
from tools_server.oauth_routes import calendar_connect_configured, calendar_connect_link

if TYPE_CHECKING:
    from bot.telegram import SendBudget

log = logging.getLogger(__name__)


def conversation_for(nexus: Nexus) -> Conversation:
    """The conversation on this NEXUS's use cases (shared by the bot and the terminal chat)."""
    settings = nexus.settings
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
    )


@asynccontextmanager
async def opened(settings: Settings, world: Path | None = None) -> AsyncIterator[Nexus]:
    """``bootstrap``, with a world file's providers, receptionists and clock when ``world`` is given."""
    if world is None:
        async with bootstrap(settings) as nexus:
            yield nexus
        return
    from integrations.clock import FixedClock
    from integrations.directory import BundledDirectory
    from integrations.simulation.gateway import SimulatedVoiceGateway
    from integrations.simulation.world import load_world

    loaded = load_world(world)
    gateway = SimulatedVoiceGateway(max_concurrent_calls=settings.max_concurrent_calls, behaviours=loaded.behaviours())
    directory = BundledDirectory(loaded.directory_providers())
    async with bootstrap(settings, clock=FixedClock(loaded.now), voice=gateway, directory=directory) as nexus:
        yield nexus


async def run_all(settings: Settings, host: str, port: int, world: Path | None) -> int:
    from bot.telegram import TelegramNotifier, Webhook, build_application, running, webhook_routes

    token = settings.telegram_bot_token
    assert token is not None
    async with opened(settings, world) as nexus:
        webhook: Webhook | None = None
        conversation = conversation_for(nexus)
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
        async with nexus.serving(nexus.create_web_app(), host, port) as base_url:
            nexus.start_scheduler()
            async with running(application, webhook):
                sink = TelegramNotifier(application.bot, nexus.outbox_uow, nexus.ports.clock, budget=_budget(settings))
                dispatcher = nexus.start_dispatcher(sink, drop_superseded=True)
                try:
                    how = "webhook" if webhook else "long polling"
                    print(f"NEXUS is running: tool server on {base_url}, Telegram bot by {how}. Ctrl+C stops it.")
                    await _until_stopped()
                finally:
                    await nexus.stop_dispatcher(dispatcher)  # before the bot it sends through stops
                    await conversation.background.aclose()  # campaigns still being dialled
    return 0


async def serve(settings: Settings, host: str, port: int) -> int:
    """The tool server and the scheduler; with ``TELEGRAM_BOT_TOKEN`` also the outbox dispatcher, so
    users hear from this process too (the updates still go to ``nexus run``)."""
    async with (
        bootstrap(settings) as nexus,
        nexus.serving(nexus.create_web_app(), host, port) as base_url,
        _telegram_dispatcher(nexus) as telling,
    ):
        nexus.start_scheduler()
        also = ", telling users on Telegram" if telling else ""
        print(f"NEXUS tool server on {base_url}, with the scheduler{also}. Ctrl+C stops it.")
        await _until_stopped()
    return 0


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
