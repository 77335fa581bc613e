"""``nexus chat``: the Telegram conversation in the terminal, on the offline defaults, no token needed."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from nexus.settings import Settings

TERMINAL_USER = 1


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("chat", help="talk to NEXUS in the terminal (buttons are numbered choices)")
    parser.add_argument("--world", type=Path, help="use a world file's providers, behaviour and clock")
    parser.add_argument("--language", choices=("en", "de"), default="en", help="language of the welcome")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Chat until /quit or end of input."""
    asyncio.run(chat(Settings(), args.world, args.language))
    return 0


async def chat(settings: Settings, world: Path | None, language: str) -> None:
    from bot.replies import Person
    from bot.terminal import TerminalChat, TerminalNotifier, read_stdin, run_terminal
    from nexus.runtime import conversation_for, opened
    from storage.schema import upgrade

    if settings.is_sqlite:
        await upgrade(settings.database_url)  # the embedded database is created on first use
    async with opened(settings, world) as nexus, nexus.serving(nexus.create_web_app(), "127.0.0.1", 0):
        nexus.start_scheduler()
        terminal = TerminalChat(lambda text: print(text, flush=True))
        notifier = TerminalNotifier(terminal, nexus.outbox_uow, nexus.ports.clock)
        # The terminal reaches its own user only: other users' messages wait for a process that reaches them.
        nexus.start_dispatcher(notifier, users={TERMINAL_USER}, live_view_interval=timedelta(0))
        conversation = conversation_for(nexus)
        try:
            await run_terminal(conversation, terminal, Person(TERMINAL_USER, "", language), read_stdin)
        finally:
            await conversation.background.aclose()
