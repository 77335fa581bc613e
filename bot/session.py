"""Where a chat stands, stored as JSON in the database (``uow.chat_sessions``), never in process memory.

The conversation owns every key but ``live``; the notifier owns ``live`` (which message shows the calls of
which search). Each writes only its own keys on top of a fresh read, so neither undoes the other.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.intent import Doubt, DoubtOption
from domain.models import ChatSession, GeoPoint, TimeWindow
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.transactions import in_transaction

LIVE_KEY = "live"


class Step(StrEnum):
    """What the conversation is waiting for."""

    IDLE = "idle"
    SERVICE = "service"
    TIME = "time"
    PLACE = "place"
    CHOICE = "choice"  # one of the draft's doubts, answered with a button
    HOME = "home"
    TIMEZONE = "timezone"
    RESCHEDULE = "reschedule"  # new times for a booked appointment (bot.rounds)

    @property
    def asks_about_the_draft(self) -> bool:
        return self in (Step.SERVICE, Step.TIME, Step.PLACE, Step.CHOICE)


@dataclass(slots=True)
class Draft:
    """A request being put together, before it becomes a campaign."""

    text: str
    language: str
    duration_minutes: int
    radius_km: float
    service: str | None = None
    windows: list[TimeWindow] = field(default_factory=list)
    place: GeoPoint | None = None
    doubts: list[Doubt] = field(default_factory=list)  # asked one at a time, before the summary card
    id: str = field(default_factory=lambda: secrets.token_hex(4))
    answers: dict[str, str] = field(default_factory=dict)  # the expert's questions, by key ("" = skipped)

    @property
    def complete(self) -> bool:
        return bool(self.service and self.windows and self.place)

    def renew(self) -> None:
        """A new id, so buttons on cards that showed an older version of this draft expire."""
        self.id = secrets.token_hex(4)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "language": self.language,
            "duration_minutes": self.duration_minutes,
            "radius_km": self.radius_km,
            "service": self.service,
            "windows": _windows_to_json(self.windows),
            "doubts": [
                {
                    "question": d.question,
                    "options": [{"label": o.label, "windows": _windows_to_json(o.windows)} for o in d.options],
                }
                for d in self.doubts
            ],
            "place": None
            if self.place is None
            else {"lat": self.place.lat, "lng": self.place.lng, "label": self.place.label},
            "answers": dict(self.answers),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        place = data.get("place")
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            language=str(data["language"]),
            duration_minutes=int(data["duration_minutes"]),
            radius_km=float(data["radius_km"]),
            service=data.get("service"),
            windows=_windows_from_json(data.get("windows", [])),
            doubts=[
                Doubt(
                    str(d["question"]),
                    [DoubtOption(str(o["label"]), _windows_from_json(o["windows"])) for o in d["options"]],
                )
                for d in data.get("doubts", [])
            ],
            place=None if place is None else GeoPoint(float(place["lat"]), float(place["lng"]), place.get("label")),
            answers={str(k): str(v) for k, v in data.get("answers", {}).items()},
        )


def _windows_to_json(windows: list[TimeWindow]) -> list[list[str]]:
    return [[w.start.isoformat(), w.end.isoformat()] for w in windows]


def _windows_from_json(data: list[list[str]]) -> list[TimeWindow]:
    return [TimeWindow(datetime.fromisoformat(start), datetime.fromisoformat(end)) for start, end in data]


@dataclass(slots=True)
class ChatState:
    """The conversation's part of the session."""

    step: Step = Step.IDLE
    draft: Draft | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "draft": None if self.draft is None else self.draft.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatState:
        draft = data.get("draft")
        return cls(
            step=Step(str(data.get("step", Step.IDLE))),
            draft=None if not isinstance(draft, dict) else Draft.from_json(draft),
        )


async def load_state(uow_factory: UnitOfWorkFactory, user_id: int) -> ChatState:
    async with uow_factory() as uow:
        session = await uow.chat_sessions.get(user_id)
    if session is None:
        return ChatState()
    try:
        return ChatState.from_json(session.state)
    except (KeyError, TypeError, ValueError):
        return ChatState()  # a state from an older version of the bot: start afresh


async def save_state(uow_factory: UnitOfWorkFactory, user_id: int, state: ChatState, now: datetime) -> None:
    def apply(stored: dict[str, Any]) -> None:
        live = stored.get(LIVE_KEY)
        stored.clear()
        stored.update(state.to_json())
        if live is not None:
            stored[LIVE_KEY] = live

    await update_session(uow_factory, user_id, apply, now)


async def update_session(
    uow_factory: UnitOfWorkFactory, user_id: int, change: Callable[[dict[str, Any]], None], now: datetime
) -> dict[str, Any]:
    """Read the stored JSON afresh, let ``change`` edit it, and store it, in one transaction."""

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        session = await uow.chat_sessions.get(user_id)
        state: dict[str, Any] = dict(session.state) if session is not None else {}
        change(state)
        version = session.version if session is not None else 0
        # A writer that got there first makes this save raise ConcurrentUpdate; in_transaction then
        # reads afresh and applies ``change`` again, so neither writer's keys are lost.
        await uow.chat_sessions.save(ChatSession(user_id=user_id, state=state, updated_at=now, version=version))
        return state

    return await in_transaction(uow_factory, work)


async def read_session(uow_factory: UnitOfWorkFactory, user_id: int) -> dict[str, Any]:
    async with uow_factory() as uow:
        session = await uow.chat_sessions.get(user_id)
    return dict(session.state) if session is not None else {}
