"""``nexus chat``: the Telegram conversation in the terminal, on the offline defaults, no token needed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus.settings import Settings

if TYPE_CHECKING:
    from integrations.simulation.world import World

TERMINAL_USER = 1


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("chat", help="talk to NEXUS in the terminal (buttons are numbered choices)")
    parser.add_argument(
        "--world", type=Path, help="offline world file: its providers, receptionists, clock and user's calendar"
    )
    parser.add_argument("--language", choices=("en", "de"), default="en", help="language of the welcome")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Chat until /quit, Ctrl-C or Ctrl-D."""
    from integrations.simulation.world import WorldError
    from nexus.runtime import read_world

    try:
        world = read_world(args.world)
    except WorldError as exc:
        print(f"nexus chat: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(chat(Settings(), world, args.language))
    except KeyboardInterrupt:
        return 130  # Ctrl-C while an answer was being worked on: leave at once, quietly
    return 0


async def chat(settings: Settings, world: World | None, language: str) -> None:
    from prompt_toolkit.patch_stdout import patch_stdout

    from bot.replies import Person
    from bot.terminal import TerminalChat, TerminalNotifier, piped_reader, prompt_reader, run_terminal
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
        person = Person(TERMINAL_USER, "", language)
        conversation = conversation_for(nexus, world)
        try:
            if sys.stdin.isatty():
                # Messages printed while the prompt waits appear above it, and the prompt is drawn again below.
                with patch_stdout(raw=True):
                    await run_terminal(conversation, terminal, person, prompt_reader())
            else:
                await run_terminal(conversation, terminal, person, piped_reader())
        finally:
            await conversation.background.aclose()
