"""``nexus run``: the Telegram bot, the tool server and the scheduler in one process.
``nexus serve``: only the tool server and the scheduler (what extra replicas run).

The bot uses long polling unless ``TELEGRAM_WEBHOOK_URL`` is set; then Telegram posts updates to
``/telegram/webhook`` on the tool server, with ``TELEGRAM_WEBHOOK_SECRET`` in a header.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from nexus.logs import configure_logging
from nexus.settings import Settings

SETUP_HINT = (
    "nexus run needs TELEGRAM_BOT_TOKEN (from @BotFather) to start the Telegram bot.\n"
    "To try NEXUS without Telegram, run `nexus chat`; to run only the tool server and the scheduler, "
    "run `nexus serve`."
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    run = subparsers.add_parser("run", help="run the Telegram bot, the tool server and the scheduler")
    _add_server_options(run)
    run.add_argument(
        "--world",
        type=Path,
        help="offline world file: its providers, receptionists and clock; every chat gets its user's calendar",
    )
    run.set_defaults(handler=handle_run)
    serve = subparsers.add_parser("serve", help="run only the tool server and the scheduler")
    _add_server_options(serve)
    serve.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other nexus serve processes on this machine (SO_REUSEPORT, Linux)",
    )
    serve.set_defaults(handler=handle_serve)


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default NEXUS_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default NEXUS_PORT, 8000; 0 picks a free one)")


def handle_run(args: argparse.Namespace) -> int:
    """Start everything and run until Ctrl+C or SIGTERM."""
    settings = Settings()
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        print(SETUP_HINT, file=sys.stderr)
        return 2
    from integrations.simulation.world import WorldError
    from nexus.runtime import read_world, run_all

    try:
        world = read_world(args.world)
    except WorldError as exc:
        print(f"nexus run: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings, args)
    host = args.host or settings.nexus_host
    port = args.port if args.port is not None else settings.nexus_port  # 0 picks a free port
    return asyncio.run(run_all(settings, host, port, world))


def handle_serve(args: argparse.Namespace) -> int:
    """Serve the tool endpoints and run the scheduler until Ctrl+C or SIGTERM."""
    settings = Settings()
    _configure_logging(settings, args)
    host = args.host or settings.nexus_host
    port = args.port if args.port is not None else settings.nexus_port  # 0 picks a free port
    from nexus.runtime import serve

    return asyncio.run(serve(settings, host, port, reuse_port=args.reuse_port))


def _configure_logging(settings: Settings, args: argparse.Namespace) -> None:
    configure_logging(settings.log_level, settings.log_format, verbose=args.verbose, secrets=settings.secret_values())
