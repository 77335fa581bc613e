"""Which of a search's providers NEXUS may call: a pure decision, no ports.

Given the providers in the search's ranking (best first), the practices that opted out, the call budget's
state and what is known about availability, ``gate`` keeps the first ``max_calls`` providers that may be
called and says, for every other one it passed over, why. A skipped provider's place goes to the next one
in the ranking. The fan-out (``domain.services.fanout``) orders and widens among the providers kept.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.models import CallOutcome, CallStatus, CallTask, Provider, TimeWindow
from domain.notifications import PassedOver
from domain.practices import AvailabilityFact, BudgetState, CallBudget, FactKind, known_nothing_free, over_budget


class SkipReason(enum.StrEnum):
    OPTED_OUT = "opted_out"  # the practice does not want automated calls
    OVER_BUDGET = "over_budget"  # called as often today as the budget allows
    TOO_SOON = "too_soon"  # called a moment ago (the minimum gap between two calls)
    KNOWN_FULL = "known_full"  # known to have nothing free in the search's windows
    CALL_BACK_LATER = "call_back_later"  # asked to be called again only after the search's deadline


@dataclass(frozen=True, slots=True)
class Skipped:
    provider: Provider
    reason: SkipReason
    until: datetime | None = None  # KNOWN_FULL: nothing free before then; CALL_BACK_LATER: call after then


@dataclass(frozen=True, slots=True)
class GateDecision:
    call: list[Provider] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def gate(
    ranked: Sequence[Provider],
    max_calls: int,
    windows: Sequence[TimeWindow],
    now: datetime,
    *,
    opted_out: Collection[str] = (),
    budget: CallBudget | None = None,
    budget_states: Mapping[str, BudgetState] | None = None,
    facts: Mapping[str, list[AvailabilityFact]] | None = None,
    deadline: datetime | None = None,
) -> GateDecision:
    """Keep the first ``max_calls`` providers of ``ranked`` that may be called now; skip the rest of those
    looked at with a reason. Providers after the last one kept are neither called nor reported (a search
    only says what changed its choice). A phone number is called once per search, however many entries of
    the directory share it."""
    call: list[Provider] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    states = budget_states or {}
    known = facts or {}
    for provider in ranked:
        if len(call) >= max_calls:
            break
        if provider.phone in seen:
            continue
        seen.add(provider.phone)
        reason, until = _refusal(provider, windows, now, opted_out, budget, states, known, deadline)
        if reason is None:
            call.append(provider)
        else:
            skipped.append(Skipped(provider, reason, until))
    return GateDecision(call, skipped)


def _refusal(
    provider: Provider,
    windows: Sequence[TimeWindow],
    now: datetime,
    opted_out: Collection[str],
    budget: CallBudget | None,
    states: Mapping[str, BudgetState],
    known: Mapping[str, list[AvailabilityFact]],
    deadline: datetime | None,
) -> tuple[SkipReason | None, datetime | None]:
    if provider.phone in opted_out:
        return SkipReason.OPTED_OUT, None
    facts = known.get(provider.phone, [])
    full_until = known_nothing_free(list(windows), facts, now)
    if full_until is not None:
        return SkipReason.KNOWN_FULL, full_until
    call_back = max(
        (f.until for f in facts if f.kind is FactKind.CALL_BACK_AFTER and f.live(now) and f.until), default=None
    )
    if call_back is not None and deadline is not None and call_back >= deadline:
        return SkipReason.CALL_BACK_LATER, call_back
    if budget is not None:
        over = over_budget(states.get(provider.phone, BudgetState()), budget, now)
        if over == "calls_per_day":
            return SkipReason.OVER_BUDGET, None
        if over == "too_soon":
            return SkipReason.TOO_SOON, None
    return None, None


# --- a skipped provider's call, as stored ---------------------------------------------------------------

_NOTE_PREFIX = "Not called: "
_NOTE_WORDS = {
    SkipReason.OPTED_OUT: "the practice does not want automated calls.",
    SkipReason.OVER_BUDGET: "called as often today as NEXUS calls one practice.",
    SkipReason.TOO_SOON: "called a moment ago by another search.",
    SkipReason.KNOWN_FULL: "known to have nothing free before {until}.",
    SkipReason.CALL_BACK_LATER: "asked to be called again only after {until}.",
}


def skip_note(skip: Skipped) -> str:
    """The reason stored on the call task of a provider that was not called; ``read_skip_note`` reads it back
    (the live view says it in the user's language)."""
    until = skip.until.isoformat() if skip.until is not None else ""
    return f"{_NOTE_PREFIX}[{skip.reason.value}{' ' + until if until else ''}] " + _NOTE_WORDS[skip.reason].format(
        until=until or "then"
    )


def read_skip_note(note: str | None) -> tuple[SkipReason, datetime | None] | None:
    """What ``skip_note`` wrote: the reason and the moment a ``KNOWN_FULL`` practice has nothing free before."""
    if not note or not note.startswith(_NOTE_PREFIX + "["):
        return None
    inside = note[len(_NOTE_PREFIX) + 1 : note.find("]")]
    code, _, until = inside.partition(" ")
    try:
        return SkipReason(code), datetime.fromisoformat(until) if until else None
    except ValueError:
        return None


def was_skipped(call: CallTask) -> bool:
    """Whether ``call`` stands for a provider the gate passed over (never dialled)."""
    return call.status is CallStatus.CANCELLED and read_skip_note(call.failure_reason) is not None


def passed_over(calls: Sequence[CallTask]) -> tuple[PassedOver, ...]:
    """The providers of a search that were not called, or did not want the call, for the shortlist to name."""
    found = []
    for call in calls:
        skipped = read_skip_note(call.failure_reason) if call.status is CallStatus.CANCELLED else None
        if skipped is not None:
            found.append(PassedOver(call.provider.name, skipped[0].value, skipped[1]))
        elif call.outcome is CallOutcome.OPTED_OUT:
            found.append(PassedOver(call.provider.name, SkipReason.OPTED_OUT.value))
    return tuple(found)
