"""The practice repository: opt-outs, the per-practice call budget and shared availability facts
(``domain.ports.PracticeRepository``).

The budget is a ledger of numbered calls per practice and local day with the number in the primary key:
counting a call inserts number ``n + 1`` after reading ``n`` calls, and only while ``n + 1`` is within the
budget. Two processes counting at once insert the same number, so one of them finds it taken (``ON CONFLICT
DO NOTHING``; on PostgreSQL it waits for the other transaction to end first), reads again and decides anew.
No number past the budget is ever written, so the count of a day can never pass it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from domain.practices import (
    AvailabilityFact,
    BudgetState,
    CallBudget,
    FactKind,
    OptOut,
    OptOutSource,
    over_budget,
)
from storage.orm import PracticeCallRow, PracticeFactRow, PracticeOptOutRow
from storage.repositories import _Repository

# Besides losing its number to counted calls, a count may lose it this often to counts given up.
_COUNT_ATTEMPTS = 20


class SqlAlchemyPracticeRepository(_Repository):
    async def opted_out(self, phones: Collection[str]) -> set[str]:
        if not phones:
            return set()
        rows = await self._session.scalars(
            select(PracticeOptOutRow.phone).where(PracticeOptOutRow.phone.in_(list(phones)))
        )
        return set(rows.all())

    async def add_opt_out(self, opt_out: OptOut) -> bool:
        values = {"phone": opt_out.phone, "created_at": opt_out.created_at, "source": opt_out.source.value}
        statement = self._insert_if_absent(PracticeOptOutRow, values, "phone")
        inserted = await self._session.execute(statement.returning(PracticeOptOutRow.phone))
        return inserted.first() is not None

    async def remove_opt_out(self, phone: str) -> bool:
        result = await self._session.execute(
            delete(PracticeOptOutRow).where(PracticeOptOutRow.phone == phone).returning(PracticeOptOutRow.phone)
        )
        return result.first() is not None

    async def list_opt_outs(self) -> list[OptOut]:
        rows = await self._all(select(PracticeOptOutRow).order_by(PracticeOptOutRow.created_at))
        return [OptOut(r.phone, r.created_at, OptOutSource(r.source)) for r in rows]

    async def budget_states(self, phones: Collection[str], day: date) -> dict[str, BudgetState]:
        if not phones:
            return {}
        today = day.isoformat()
        statement = (
            select(
                PracticeCallRow.phone,
                func.count().filter(PracticeCallRow.day == today),
                func.max(PracticeCallRow.placed_at),
            )
            .where(PracticeCallRow.phone.in_(list(phones)))
            .group_by(PracticeCallRow.phone)
        )
        rows = (await self._session.execute(statement)).all()
        return {phone: BudgetState(int(count or 0), _aware(last)) for phone, count, last in rows}

    async def reserve_call(self, phone: str, day: date, at: datetime, budget: CallBudget) -> bool:
        if not budget.per_day and not budget.min_gap:
            return True  # no budget: nothing to count
        # Each number lost to another search means a call counted (or a count given up, rarely), so after the
        # budget's worth of losses the budget refuses by itself.
        for _ in range((budget.per_day or _COUNT_ATTEMPTS) + _COUNT_ATTEMPTS):
            state = (await self.budget_states([phone], day)).get(phone, BudgetState())
            if over_budget(state, budget, at) is not None:
                return False
            values = {"phone": phone, "day": day.isoformat(), "seq": state.calls_today + 1, "placed_at": at}
            statement = self._insert_if_absent_keys(values)
            if (await self._session.execute(statement.returning(PracticeCallRow.seq))).first() is not None:
                return True
        return False

    def _insert_if_absent_keys(self, values: dict[str, object]) -> Insert:
        keys = ["phone", "day", "seq"]
        if self._dialect() == "postgresql":
            return postgresql.insert(PracticeCallRow).values(values).on_conflict_do_nothing(index_elements=keys)
        return sqlite.insert(PracticeCallRow).values(values).on_conflict_do_nothing(index_elements=keys)

    async def add_fact(self, fact: AvailabilityFact) -> None:
        await self._session.execute(
            insert(PracticeFactRow).values(
                phone=fact.phone,
                kind=fact.kind.value,
                learned_at=fact.learned_at,
                expires_at=fact.expires_at,
                start_at=fact.start,
                until=fact.until,
                detail=fact.detail,
            )
        )

    async def facts(self, phones: Collection[str], now: datetime) -> dict[str, list[AvailabilityFact]]:
        if not phones:
            return {}
        rows = await self._all(
            select(PracticeFactRow)
            .where(PracticeFactRow.phone.in_(list(phones)), PracticeFactRow.expires_at > now)
            .order_by(PracticeFactRow.learned_at, PracticeFactRow.id)
        )
        found: dict[str, list[AvailabilityFact]] = {}
        for r in rows:
            fact = AvailabilityFact(
                phone=r.phone,
                kind=FactKind(r.kind),
                learned_at=r.learned_at,
                expires_at=r.expires_at,
                until=r.until,
                start=r.start_at,
                detail=r.detail,
            )
            found.setdefault(r.phone, []).append(fact)
        return found

    async def purge(self, now: datetime, counted_before: date) -> int:
        facts = await self._session.execute(delete(PracticeFactRow).where(PracticeFactRow.expires_at <= now))
        calls = await self._session.execute(
            delete(PracticeCallRow).where(PracticeCallRow.day < counted_before.isoformat())
        )
        return int(getattr(facts, "rowcount", 0) or 0) + int(getattr(calls, "rowcount", 0) or 0)


def _aware(moment: object) -> datetime | None:
    """``max()`` of the column, aware: read through the column's type, or (should a driver hand back the raw
    value) from SQLite's naive UTC text."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(moment)).replace(tzinfo=UTC)
