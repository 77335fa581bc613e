"""The same conversation in a terminal: replies as plain text, buttons as numbered choices.

Typing a number picks that choice; the commands work as in Telegram (``/start``, ``/help``, ``/settings``,
``/appointments``, ``/cancel``…); ``/quit``, Ctrl-C or Ctrl-D leave at once. Messages that arrive while the
prompt waits (how the calls went, the shortlist) are printed above it and the prompt is drawn again
(prompt_toolkit's ``patch_stdout``). Calendar files are saved in the current directory.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from prompt_toolkit import PromptSession

from bot import views
from bot.conversation import Conversation
from bot.replies import Button, Document, Key, Person, Reply
from bot.texts import plain, say
from domain.models import CallStatus, CampaignStatus, User
from domain.notifications import CallTranscript, CampaignProgress, Notification
from domain.ports import Clock, UnitOfWorkFactory

_TAG = re.compile(r"</?(?:b|i|u|s|code|pre)>|</?a(?: [^>]*)?>")
QUIT = ("/quit", "/exit")
PROMPT = "> "
# The calls of a search are shown once they are over; booking and cancelling calls are told in their own words.
_SEARCHING = (
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
    CampaignStatus.RANKING,
    CampaignStatus.FAILED,
    CampaignStatus.CANCELLED,
)

Write = Callable[[str], None]
Read = Callable[[], Awaitable[str | None]]


def plain_text(text: str) -> str:
    """HTML of a reply as terminal text."""
    return html.unescape(_TAG.sub("", text))


def _free_path(path: Path) -> Path:
    """``path``, or ``name-2.ics``, ``name-3.ics``… when a file of that name is already there."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


class TerminalChat:
    """A ``Chat`` that prints; remembers the last choices so a number can pick one."""

    typed = True

    def __init__(self, write: Write, files: Path | None = None) -> None:
        self._write = write
        self._files = files
        self.choices: list[Button | Key] = []

    async def send(self, reply: Reply) -> None:
        lines = [plain_text(reply.text)]
        choices: list[Button | Key] = [b for row in reply.buttons for b in row]
        choices += [k for k in reply.keys if not k.shares_location]  # a terminal has no location to share
        if choices:
            self.choices = choices
            lines += self._choice_lines()
        if reply.document is not None:
            path = await asyncio.to_thread(self._save, reply.document)
            lines.append(f"  (saved {path})")
        self._write("\n".join(lines) + "\n")

    def _save(self, document: Document) -> Path:
        path = _free_path((self._files or Path.cwd()) / document.filename)
        path.write_bytes(document.content)
        return path

    def _choice_lines(self) -> list[str]:
        return [f"  [{number}] {choice.label}" for number, choice in enumerate(self.choices, 1)]

    def show_choices(self, note: str) -> None:
        """Say ``note`` and list the current choices again."""
        self._write("\n".join([plain_text(note), *self._choice_lines()]) + "\n")

    async def typing(self) -> None:
        return None

    def say_line(self, text: str) -> None:
        """Print one line without touching the choices (a followed call's new turn)."""
        self._write(text + "\n")


class TerminalNotifier:
    """Prints what the domain tells the terminal's user; the calls are shown once they are over."""

    def __init__(self, chat: TerminalChat, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._chat = chat
        self._uow = uow
        self._clock = clock
        self._shown: set[str] = set()
        self._heard: dict[str, int] = {}  # turns of each followed call printed so far
        self._running: set[str] = set()  # searches whose running calls were shown

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, CampaignProgress):
            campaign = notification.campaign
            searching = campaign.status in _SEARCHING
            if searching and views.live_view_is_final(notification) and campaign.id not in self._shown:
                self._shown.add(campaign.id)
                await self._chat.send(views.live_view(notification))
            elif searching and campaign.id not in self._running and _talking(notification):
                # once, while calls talk: its numbered choices let the user listen in or tell the calls
                self._running.add(campaign.id)
                await self._chat.send(views.live_view(notification))
            return
        if isinstance(notification, CallTranscript):
            await self._follow(notification)
            return
        async with self._uow() as uow:
            user = await uow.users.get(user_id) or User(id=user_id)
        reply = views.notification_reply(notification, user, self._clock.now())
        if reply is not None:
            await self._chat.send(reply)

    async def _follow(self, view: CallTranscript) -> None:
        """A followed call in the terminal: its new turns as lines, then its buttons while it runs."""
        call_id = view.call.id
        if call_id not in self._heard:
            self._heard[call_id] = 0
            await self._chat.send(views.listen_view(view))
            self._heard[call_id] = len(view.turns)
            return
        fresh = view.turns[self._heard[call_id] :]
        self._heard[call_id] = len(view.turns)
        lang = view.campaign.language
        for turn in fresh:
            who = plain(lang, "speaker_agent" if turn.speaker == "agent" else "speaker_provider")
            self._chat.say_line(f"👂 {view.call.provider.name} · {who}: {turn.text}")
        if view.call.status.is_ended:
            await self._chat.send(views.listen_view(view))


def _talking(progress: CampaignProgress) -> bool:
    return any(c.status is CallStatus.IN_PROGRESS for c in progress.calls)


async def run_terminal(conversation: Conversation, chat: TerminalChat, person: Person, read: Read) -> None:
    """Talk until ``/quit`` or the end of input (``read`` gives ``None`` for Ctrl-C and Ctrl-D too)."""
    commands = {f"/{name}": command for name, command in conversation.commands.items()}
    await conversation.start(chat, person)
    while (line := await read()) is not None:
        line = line.strip()
        if line.lower() in QUIT:
            return
        command = commands.get(line.split(maxsplit=1)[0].lower()) if line.startswith("/") else None
        if command is not None:
            await command(chat, person)
        elif line.isdigit() and chat.choices:
            await _choose(conversation, chat, person, int(line))
        elif line:
            await conversation.text(chat, person, line)


async def _choose(conversation: Conversation, chat: TerminalChat, person: Person, number: int) -> None:
    """Pick choice ``number``; one that is not on offer shows the choices again and changes nothing."""
    if not 1 <= number <= len(chat.choices):
        chat.show_choices(say(await conversation.language(person), "no_such_choice", typed=True, number=number))
        return
    choice = chat.choices[number - 1]
    if isinstance(choice, Button):
        notice = await conversation.tap(chat, person, choice.data)
        if notice:
            await chat.send(Reply(notice))
    else:
        await conversation.text(chat, person, choice.label)


def prompt_reader(session: PromptSession[str] | None = None) -> Read:
    """Lines from the keyboard through prompt_toolkit; ``None`` at Ctrl-C or Ctrl-D (leave at once).

    Use it inside ``prompt_toolkit.patch_stdout.patch_stdout()``, so messages printed meanwhile appear above
    the prompt, which is drawn again below them.
    """
    prompt: PromptSession[str] = session or PromptSession()

    async def read() -> str | None:
        try:
            return await prompt.prompt_async(PROMPT)
        except (EOFError, KeyboardInterrupt):
            return None

    return read


def piped_reader() -> Read:
    """Lines from a standard input that is not a terminal (a file or a pipe), without prompts or redrawing."""

    async def read() -> str | None:
        line = await asyncio.to_thread(sys.stdin.readline)
        return line or None  # "" only at the end of the input

    return read
