"""An in-memory unit of work with just the calendar links, for the Google Calendar and OAuth tests.

Writes are staged and reach ``FakeCalendarStore.links`` only on ``commit()``, as with a real transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self, cast

from domain.models import CalendarLink
from domain.ports import UnitOfWork


class FakeCalendarLinks:
    def __init__(self, rows: dict[int, CalendarLink]) -> None:
        self.rows = rows

    async def get(self, user_id: int) -> CalendarLink | None:
        return self.rows.get(user_id)

    async def save(self, link: CalendarLink) -> None:
        self.rows[link.user_id] = link

    async def delete(self, user_id: int) -> bool:
        return self.rows.pop(user_id, None) is not None


class FakeUnitOfWork:
    def __init__(self, store: FakeCalendarStore) -> None:
        self._store = store
        self.calendar_links = FakeCalendarLinks(dict(store.links))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self._store.links = dict(self.calendar_links.rows)
        self._store.commits += 1

    async def rollback(self) -> None:
        self.calendar_links.rows = dict(self._store.links)


class FakeCalendarStore:
    """The committed calendar links; ``uow`` is the unit-of-work factory over them."""

    def __init__(self, *links: CalendarLink) -> None:
        self.links: dict[int, CalendarLink] = {link.user_id: link for link in links}
        self.commits = 0

    def uow(self) -> UnitOfWork:
        # Only calendar_links is implemented; that is all the code under test may touch.
        return cast(UnitOfWork, FakeUnitOfWork(self))
