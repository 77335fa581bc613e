"""What a search costs in phone minutes and money, and the monthly allowance of call minutes per user.

The estimate is shown on the summary card before the user starts a search; the allowance is checked when a
search is created. Minutes used are the real lengths of the user's calls this month (in the user's timezone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from domain.errors import MinutesExhausted
from domain.ports import UnitOfWork
from domain.services.context import Policy


@dataclass(frozen=True, slots=True)
class CostEstimate:
    calls: int
    minutes: int
    cost: float
    currency: str

    def in_words(self, language: str = "en") -> str:
        """``About 40 call minutes (≈ 4.00 EUR) for up to 15 calls.`` / German with a decimal comma."""
        if language == "de":
            amount = f"{self.cost:.2f}".replace(".", ",")
            return f"Etwa {self.minutes} Anrufminuten (≈ {amount} {self.currency}) für bis zu {self.calls} Anrufe."
        return f"About {self.minutes} call minutes (≈ {self.cost:.2f} {self.currency}) for up to {self.calls} calls."


def estimate_search(policy: Policy, max_calls: int) -> CostEstimate:
    """The most a search with ``max_calls`` discovery calls is expected to take: every provider called once,
    plus the call that books the chosen offer."""
    calls = max(1, min(max_calls, policy.calls_per_campaign))
    minutes = math.ceil((calls + 1) * policy.expected_call_minutes)
    return CostEstimate(calls, minutes, round(minutes * policy.call_cost_per_minute, 2), policy.call_cost_currency)


def month_start(now: datetime, timezone: str) -> datetime:
    """Midnight of the first day of ``now``'s month in ``timezone``."""
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=ZoneInfo(timezone))


async def minutes_used_this_month(uow: UnitOfWork, user_id: int, now: datetime, timezone: str) -> float:
    return await uow.calls.talk_seconds_since(user_id, month_start(now, timezone)) / 60


async def check_minutes_left(
    uow: UnitOfWork, policy: Policy, user_id: int, now: datetime, timezone: str, language: str
) -> None:
    """Raise ``MinutesExhausted`` (a sentence in ``language``) when the user's call minutes of this month are
    used up. A search that starts below the limit may run over it: calls are never cut off mid-search."""
    limit = policy.call_minutes_per_month
    if limit is None:
        return
    used = await minutes_used_this_month(uow, user_id, now, timezone)
    if used < limit:
        return
    if language == "de":
        raise MinutesExhausted(
            f"Deine {limit} Anrufminuten für diesen Monat sind aufgebraucht ({math.floor(used)} verbraucht), "
            "deshalb kann ich bis zum 1. des nächsten Monats keine neue Suche starten."
        )
    raise MinutesExhausted(
        f"Your {limit} call minutes for this month are used up ({math.floor(used)} used), so I cannot start "
        "a new search until the 1st of next month."
    )
