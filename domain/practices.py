"""What NEXUS knows about a practice's phone line, shared by every user: whether it asked not to be called
by NEXUS (an opt-out), how often NEXUS called it today (the call budget), and short-lived facts about its
availability that one call learned (``AvailabilityFact``).

All of it is keyed by the practice's phone number in E.164 form, never by a directory's id, so it survives a
directory refresh. None of it names a user: a fact carries the practice's number, what is known, and when
it was learned and runs out; never who asked, for which search, or why.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.errors import InvalidRequest
from domain.models import TimeWindow, ensure_aware, is_e164

_SEPARATORS = re.compile(r"[\s\-./()]")


def normalise_phone(text: str) -> str:
    """``text`` as an E.164 number (``+4930 1234-567`` and ``0049 30 1234567`` are ``+49301234567``).

    A national number (one leading ``0``) is refused: which country it belongs to is not known here."""
    number = _SEPARATORS.sub("", text.strip())
    if number.startswith("00"):
        number = "+" + number[2:]
    if not is_e164(number):
        raise InvalidRequest(
            f"{text.strip() or 'An empty text'} is not a phone number in international form; "
            "write it with its country code, like +49 30 1234567."
        )
    return number


def mask_phone(number: str) -> str:
    """A phone number with its middle hidden (``+49301*****67``), for lines that are logged."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]


class OptOutSource(enum.StrEnum):
    CALL = "call"  # the practice said so in a call
    OPERATOR = "operator"  # an operator added it (``nexus providers opt-out add``)


@dataclass(frozen=True, slots=True)
class OptOut:
    phone: str
    created_at: datetime
    source: OptOutSource = OptOutSource.CALL


# --- the call budget -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallBudget:
    """At most ``per_day`` NEXUS calls to one practice per calendar day of the practice (in its timezone),
    and at least ``min_gap`` between two of them. ``per_day`` 0: no limit."""

    per_day: int = 3
    min_gap: timedelta = timedelta(minutes=20)


NO_BUDGET = CallBudget(per_day=0, min_gap=timedelta(0))  # nothing is counted or refused


@dataclass(frozen=True, slots=True)
class BudgetState:
    """What the ledger says about one practice: calls counted on ``day`` and when the latest call was placed."""

    calls_today: int = 0
    last_call_at: datetime | None = None


def practice_day(moment: datetime, timezone: str) -> date:
    """The calendar day ``moment`` falls on where the practice is (its budget is counted per such day)."""
    return ensure_aware(moment).astimezone(ZoneInfo(timezone)).date()


def over_budget(state: BudgetState, budget: CallBudget, now: datetime) -> str | None:
    """``"calls_per_day"`` or ``"too_soon"`` when one more call now would break ``budget``, else ``None``."""
    if budget.per_day and state.calls_today >= budget.per_day:
        return "calls_per_day"
    if state.last_call_at is not None and now - state.last_call_at < budget.min_gap:
        return "too_soon"
    return None


# --- shared availability knowledge ------------------------------------------------------------------


class FactKind(enum.StrEnum):
    NO_SLOT_BEFORE = "no_slot_before"  # nothing free before ``until``
    FULLY_BOOKED = "fully_booked"  # nothing free from ``start`` to ``until`` (a day, or hours of one)
    OPENING_HOURS = "opening_hours"  # what the desk said about its hours (``detail``), for the agents to know
    CALL_BACK_AFTER = "call_back_after"  # the desk asked to be called again from ``until`` on


@dataclass(frozen=True, slots=True)
class AvailabilityFact:
    """One non-personal fact about a practice, true until ``expires_at``.

    ``until`` is the moment a ``NO_SLOT_BEFORE``/``CALL_BACK_AFTER`` fact names, or the end of a
    ``FULLY_BOOKED`` interval that starts at ``start``. ``detail`` is a short text (opening hours as said)."""

    phone: str
    kind: FactKind
    learned_at: datetime
    expires_at: datetime
    until: datetime | None = None
    start: datetime | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        ensure_aware(self.learned_at, "learned_at")
        ensure_aware(self.expires_at, "expires_at")
        if self.until is not None:
            ensure_aware(self.until, "until")
        if self.start is not None:
            ensure_aware(self.start, "start")
        if self.kind in (FactKind.NO_SLOT_BEFORE, FactKind.CALL_BACK_AFTER) and self.until is None:
            raise InvalidRequest(f"A {self.kind} fact needs the moment it names.")
        if self.kind is FactKind.FULLY_BOOKED and (
            self.start is None or self.until is None or self.until <= self.start
        ):
            raise InvalidRequest("A fully booked fact needs a start and an end after it.")

    def live(self, now: datetime) -> bool:
        return now < self.expires_at

    def blocks(self) -> TimeWindow | None:
        """The time this fact says has nothing free, if it says so."""
        if self.kind is FactKind.FULLY_BOOKED and self.start is not None and self.until is not None:
            return TimeWindow(self.start, self.until)
        if self.kind is FactKind.NO_SLOT_BEFORE and self.until is not None and self.until > self.learned_at:
            return TimeWindow(self.learned_at, self.until)
        return None


@dataclass(frozen=True, slots=True)
class FactTtl:
    """How long each kind of fact is believed after it was learned."""

    no_slots: timedelta = timedelta(hours=2)  # NO_SLOT_BEFORE and FULLY_BOOKED
    opening_hours: timedelta = timedelta(days=1)
    call_back: timedelta = timedelta(hours=12)  # at most; a call-back time past is no longer news

    def of(self, kind: FactKind) -> timedelta:
        if kind is FactKind.OPENING_HOURS:
            return self.opening_hours
        if kind is FactKind.CALL_BACK_AFTER:
            return self.call_back
        return self.no_slots


def known_nothing_free(windows: list[TimeWindow], facts: list[AvailabilityFact], now: datetime) -> datetime | None:
    """When the live ``facts`` together cover every part of ``windows`` that is still ahead, the moment the
    practice is known to have nothing free before (the end of the last covering fact); else ``None``."""
    blocked = sorted((b for f in facts if f.live(now) and (b := f.blocks()) is not None), key=lambda w: w.start)
    if not blocked:
        return None
    latest = None
    for window in windows:
        start = max(window.start, now)
        if start >= window.end:
            continue
        cursor = start
        for block in blocked:
            if block.start <= cursor < block.end:
                cursor = block.end
                latest = cursor if latest is None else max(latest, cursor)
            if cursor >= window.end:
                break
        if cursor < window.end:
            return None
    return latest
