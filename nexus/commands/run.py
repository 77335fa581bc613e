"""``nexus run``: the Telegram bot, the tool server and the scheduler in one process.
``nexus serve``: only the tool server and the scheduler (what extra replicas run).

The bot uses long polling unless ``TELEGRAM_WEBHOOK_URL`` is set; then Telegram posts updates to
``/telegram/webhook`` on the tool server, with ``TELEGRAM_WEBHOOK_SECRET`` in a header.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.conversation import Conversation
from nexus.bootstrap import Nexus, bootstrap
from nexus.settings import Settings
from tools_server.oauth_routes import calendar_connect_configured, calendar_connect_link

log = logging.getLogger(__name__)

SETUP_HINT = (
    "nexus run needs TELEGRAM_BOT_TOKEN (from @BotFather) to start the Telegram bot.\n"
    "To try NEXUS without Telegram, run `nexus chat`; to run only the tool server and the scheduler, "
    "run `nexus serve`."
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    run = subparsers.add_parser("run", help="run the Telegram bot, the tool server and the scheduler")
    _add_server_options(run)
    run.add_argument("--world", type=Path, help="use a world file's providers, behaviour and clock (offline)")
    run.set_defaults(handler=handle_run)
    serve = subparsers.add_parser("serve", help="run only the tool server and the scheduler")
    _add_server_options(serve)
    serve.set_defaults(handler=handle_serve)


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default NEXUS_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default NEXUS_PORT, 8000)")


def handle_run(args: argparse.Namespace) -> int:
    """Start everything and run until Ctrl+C or SIGTERM."""
    settings = Settings()
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        print(SETUP_HINT, file=sys.stderr)
        return 2
    _configure_logging(settings)
    host, port = args.host or settings.nexus_host, args.port or settings.nexus_port
    return asyncio.run(_run(settings, host, port, args.world))


def handle_serve(args: argparse.Namespace) -> int:
    """Serve the tool endpoints and run the scheduler until Ctrl+C or SIGTERM."""
    settings = Settings()
    _configure_logging(settings)
    host, port = args.host or settings.nexus_host, args.port or settings.nexus_port
    return asyncio.run(_serve(settings, host, port))


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


async def _run(settings: Settings, host: str, port: int, world: Path | None) -> int:
    from bot.telegram import TelegramNotifier, Webhook, build_application, running, webhook_routes

    token = settings.telegram_bot_token
    assert token is not None
    async with opened(settings, world) as nexus:
        webhook: Webhook | None = None
        application = build_application(
            token.get_secret_value(),
            conversation_for(nexus),
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
        notifier = TelegramNotifier(application.bot, nexus.ports.uow, nexus.ports.clock)
        nexus.notifications.subscribe(notifier)
        try:
            async with nexus.serving(nexus.create_web_app(), host, port) as base_url:
                nexus.start_scheduler()
                async with running(application, webhook):
                    how = "webhook" if webhook else "long polling"
                    print(f"NEXUS is running: tool server on {base_url}, Telegram bot by {how}. Ctrl+C stops it.")
                    await _until_stopped()
        finally:
            nexus.notifications.unsubscribe(notifier)
            await notifier.aclose()
    return 0


async def _serve(settings: Settings, host: str, port: int) -> int:
    async with bootstrap(settings) as nexus, nexus.serving(nexus.create_web_app(), host, port) as base_url:
        nexus.start_scheduler()
        print(f"NEXUS tool server on {base_url}, with the scheduler. Ctrl+C stops it.")
        await _until_stopped()
    return 0


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


def _configure_logging(settings: Settings) -> None:
    logging.getLogger().setLevel(settings.log_level.upper())
    # httpx logs every request URL, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
