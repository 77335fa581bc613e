"""What the conversation says, as data: text (HTML) with buttons, not tied to Telegram or a terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Telegram refuses callback data longer than this many bytes.
MAX_CALLBACK_BYTES = 64


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button; ``data`` comes back when it is tapped."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data {self.data!r} is longer than {MAX_CALLBACK_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class Key:
    """A reply-keyboard key: tapping it sends ``label`` as text, or the user's location when ``shares_location``."""

    label: str
    shares_location: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message. ``text`` is HTML whose outside-supplied parts are already escaped.

    ``replace`` asks to edit the message whose button was tapped instead of sending a new one.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    keys: tuple[Key, ...] = ()
    replace: bool = False
    document: Document | None = None

    def button_data(self) -> list[str]:
        return [b.data for row in self.buttons for b in row]


@dataclass(frozen=True, slots=True)
class Person:
    """Who wrote: the chat's user (``user_id`` is also the private chat's id)."""

    user_id: int
    name: str = ""
    language: str | None = None


class Chat(Protocol):
    """Where replies go: a Telegram chat, the terminal, or a test's recorder.

    ``typed``: choices are typed as numbers and no location can be shared (the terminal), so the wording
    never says "tap" or "share your location".
    """

    typed: bool

    async def send(self, reply: Reply) -> None: ...

    async def typing(self) -> None:
        """Show that an answer is being worked on."""
        ...


@dataclass
class RecordingChat:
    """A ``Chat`` that keeps what was said (the terminal chat and tests read it back)."""

    replies: list[Reply] = field(default_factory=list)
    typed: bool = False
    typing_shown: int = 0

    async def send(self, reply: Reply) -> None:
        self.replies.append(reply)

    async def typing(self) -> None:
        self.typing_shown += 1
