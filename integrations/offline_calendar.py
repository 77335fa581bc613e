"""The user's calendar when no outside calendar is connected: a fixed list of busy times per user."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.models import Appointment, TimeWindow


class StaticCalendar:
    """Busy times given up front (a world file's ``busy``, or nothing); events are not written anywhere.

    ``everyone`` is the busy time of every user not named in ``busy`` (``nexus run --world``: whoever chats
    has the world's calendar).
    """

    def __init__(
        self, busy: Mapping[int, Sequence[TimeWindow]] | None = None, *, everyone: Sequence[TimeWindow] = ()
    ) -> None:
        self._busy = {user: list(windows) for user, windows in (busy or {}).items()}
        self._everyone = list(everyone)

    def set_busy(self, user_id: int, windows: Sequence[TimeWindow]) -> None:
        self._busy[user_id] = list(windows)

    async def busy(self, user_id: int, window: TimeWindow) -> list[TimeWindow]:
        return [b for b in self._busy.get(user_id, self._everyone) if b.overlaps(window)]

    async def add_event(self, appointment: Appointment) -> str | None:
        return None

    async def remove_event(self, appointment: Appointment) -> None:
        return None
