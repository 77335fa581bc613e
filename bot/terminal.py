"""The same conversation in a terminal: replies as plain text, buttons as numbered choices.

Typing a number taps that choice; ``/start``, ``/help``, ``/settings``, ``/appointments`` and ``/cancel``
work as in Telegram; ``/quit`` (or end of input) leaves.
"""

from __future__ import annotations

import asyncio
import html
import re
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import views
from bot.conversation import Conversation
from bot.replies import Button, Key, Person, Reply
from domain.models import User
from domain.notifications import CampaignProgress, Notification
from domain.ports import Clock, UnitOfWorkFactory

_TAG = re.compile(r"</?(?:b|i|u|s|code|pre)>")

Write = Callable[[str], None]
Read = Callable[[], Awaitable[str | None]]


def plain_text(text: str) -> str:
    """HTML of a reply as terminal text."""
    return html.unescape(_TAG.sub("", text))


class TerminalChat:
    """A ``Chat`` that prints; remembers the last choices so a number can pick one."""

    def __init__(self, write: Write, files: Path | None = None) -> None:
        self._write = write
        self._files = files or Path(tempfile.gettempdir())
        self.choices: list[Button | Key] = []

    async def send(self, reply: Reply) -> None:
        lines = [plain_text(reply.text)]
        choices: list[Button | Key] = [b for row in reply.buttons for b in row]
        choices += [k for k in reply.keys if not k.shares_location]  # a terminal has no location to share
        if choices:
            self.choices = choices
            lines += [f"  [{number}] {choice.label}" for number, choice in enumerate(choices, 1)]
        if reply.document is not None:
            path = self._files / reply.document.filename
            path.write_bytes(reply.document.content)
            lines.append(f"  (saved {path})")
        self._write("\n".join(lines) + "\n")

    async def typing(self) -> None:
        return None


class TerminalNotifier:
    """Prints what the domain tells the terminal's user; the calls are shown once they are over."""

    def __init__(self, chat: TerminalChat, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._chat = chat
        self._uow = uow
        self._clock = clock
        self._shown: set[str] = set()

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, CampaignProgress):
            campaign = notification.campaign
            if views.live_view_is_final(notification) and campaign.id not in self._shown:
                self._shown.add(campaign.id)
                await self._chat.send(views.live_view(notification))
            return
        async with self._uow() as uow:
            user = await uow.users.get(user_id) or User(id=user_id)
        reply = views.notification_reply(notification, user, self._clock.now())
        if reply is not None:
            await self._chat.send(reply)


async def run_terminal(conversation: Conversation, chat: TerminalChat, person: Person, read: Read) -> None:
    """Talk until ``/quit`` or the end of input."""
    commands = {
        "/start": conversation.start,
        "/help": conversation.help,
        "/settings": conversation.settings,
        "/appointments": conversation.appointments,
        "/cancel": conversation.cancel,
    }
    await conversation.start(chat, person)
    while (line := await read()) is not None:
        line = line.strip()
        if line in ("/quit", "/exit"):
            return
        if line in commands:
            await commands[line](chat, person)
        elif line.isdigit() and 1 <= int(line) <= len(chat.choices):
            choice = chat.choices[int(line) - 1]
            if isinstance(choice, Button):
                notice = await conversation.tap(chat, person, choice.data)
                if notice:
                    await chat.send(Reply(notice))
            else:
                await conversation.text(chat, person, choice.label)
        elif line:
            await conversation.text(chat, person, line)


async def read_stdin(prompt: str = "> ") -> str | None:
    """One line from the keyboard, without blocking the event loop (``None`` at end of input)."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None
