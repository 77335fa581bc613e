"""NEXUS as a good citizen on the phone network: practices that opted out are never dialled again, no
practice gets more calls a day than the budget allows (across every user and process), and what one call
learned about a practice's availability spares the next searches a pointless call.

``choose_providers`` runs at a campaign's start: it reads opt-outs, the budget and the shared facts, lets
the pure ``provider_gate.gate`` decide, and counts a call in the budget for every provider it keeps.
``note_call_end`` runs in the transaction that ends a call: an ``opted_out`` outcome stores the opt-out, and
a reported "nothing free before" becomes a shared fact. ``learn_fact`` is the one way to store a fact (also
for other outcomes, such as a call-back time).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from domain.models import CallOutcome, CallPurpose, CallTask, Campaign, Provider
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.practices import (
    AvailabilityFact,
    BudgetState,
    FactKind,
    FactTtl,
    OptOut,
    OptOutSource,
    mask_phone,
    normalise_phone,
    over_budget,
    practice_day,
)
from domain.services.context import Ports
from domain.services.provider_gate import GateDecision, gate
from domain.services.scheduling import first_call_time
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

# Call counts are kept this many days (the budget only ever reads today's and the latest call).
KEEP_CALL_COUNTS_DAYS = 2


# --- choosing whom to call ---------------------------------------------------------------------------


async def choose_providers(ports: Ports, campaign: Campaign, ranked: Sequence[Provider]) -> GateDecision:
    """Which of ``ranked`` (best first) this campaign calls, and which it skips and why; a call is counted in
    the budget of each practice kept that will be dialled (a practice closed for the whole search is not).

    Each count is a transaction of its own, so a search never holds one practice's count while it waits for
    another's (two searches counting the same practices in another order cannot deadlock). When another
    process took a practice's last call of the day between reading and counting, the practice is skipped
    after all and the next one in the ranking takes its place."""
    now = ports.clock.now()
    day = practice_day(now, campaign.timezone)
    budget = ports.policy.call_budget
    phones = {p.phone for p in ranked}
    async with ports.uow() as uow:
        opted_out = await uow.practices.opted_out(phones)
        states = await uow.practices.budget_states(phones, day)
        facts = await uow.practices.facts(phones, now)
    counted: set[str] = set()
    while True:
        decision = gate(
            ranked,
            campaign.max_calls,
            campaign.windows,
            now,
            opted_out=opted_out,
            budget=budget,
            budget_states=states,
            facts=facts,
            deadline=campaign.deadline_at,
        )
        refused = None
        for provider in decision.call:
            if provider.phone in counted:
                continue
            if first_call_time(provider, now, campaign.deadline_at, campaign.timezone) is None:
                continue  # never dialled in this search (closed until its deadline): nothing to count
            if not await _count_call(ports, provider.phone, day, now):
                refused = provider.phone
                break
            counted.add(provider.phone)
        if refused is None:
            break
        async with ports.uow() as uow:
            fresh = (await uow.practices.budget_states([refused], day)).get(refused, BudgetState())
        if over_budget(fresh, budget, now) is None:  # refused a moment ago, so at least too soon now
            fresh = BudgetState(fresh.calls_today, now)
        states = {**states, refused: fresh}
    if decision.skipped:
        log.info(
            "campaign %s skips %s",
            campaign.id,
            ", ".join(f"{mask_phone(s.provider.phone)} ({s.reason})" for s in decision.skipped),
        )
    return decision


async def _count_call(ports: Ports, phone: str, day: date, now: datetime) -> bool:
    async def work(uow: UnitOfWork) -> bool:
        return await uow.practices.reserve_call(phone, day, now, ports.policy.call_budget)

    return await in_transaction(ports.uow, work)


# --- what a call's end teaches ------------------------------------------------------------------------


async def note_call_end(
    uow: UnitOfWork,
    call: CallTask,
    now: datetime,
    ttl: FactTtl,
    *,
    campaign: Campaign | None = None,
    earliest_free: datetime | None = None,
) -> None:
    """In the transaction that ended ``call``: remember an opt-out, when the desk asked to be called back
    (``call_back_later``), and that the practice has nothing free from the start of the search's first window
    (from now, if later) until ``earliest_free``.

    Only the practice's number and the facts are stored: nothing of the user, the search or the call."""
    opting_out = call.outcome is CallOutcome.OPTED_OUT
    if opting_out and await uow.practices.add_opt_out(OptOut(call.provider.phone, now, OptOutSource.CALL)):
        log.info("practice %s opted out of automated calls", mask_phone(call.provider.phone))
    if call.outcome is CallOutcome.CALL_BACK_LATER and call.call_back_at is not None and call.call_back_at > now:
        # "call back tomorrow at 8" holds for every search: one that must end before then need not call
        await learn_fact(uow, call.provider.phone, FactKind.CALL_BACK_AFTER, now, ttl, until=call.call_back_at)
    if earliest_free is None or call.purpose is not CallPurpose.DISCOVER:
        return
    campaign = campaign or await uow.campaigns.get(call.campaign_id)
    if campaign is None:
        return
    start = max(campaign.windows[0].start, now)
    if earliest_free > start:
        await learn_fact(uow, call.provider.phone, FactKind.FULLY_BOOKED, now, ttl, start=start, until=earliest_free)


async def learn_fact(
    uow: UnitOfWork,
    phone: str,
    kind: FactKind,
    now: datetime,
    ttl: FactTtl,
    *,
    until: datetime | None = None,
    start: datetime | None = None,
    detail: str = "",
) -> AvailabilityFact:
    """Store a non-personal fact about the practice at ``phone`` for as long as ``ttl`` says for its kind (a
    call-back time is believed at most until it has come). Pass only what the practice said about itself."""
    expires_at = now + ttl.of(kind)
    if kind is FactKind.CALL_BACK_AFTER and until is not None:
        expires_at = min(expires_at, max(until, now + timedelta(seconds=1)))
    fact = AvailabilityFact(
        phone=normalise_phone(phone),
        kind=kind,
        learned_at=now,
        expires_at=expires_at,
        until=until,
        start=start,
        detail=detail[:200],
    )
    await uow.practices.add_fact(fact)
    return fact


async def purge_practice_records(ports: Ports) -> int:
    """Delete facts that ran out and call counts nobody reads any more; returns how many rows went."""
    now = ports.clock.now()
    before = practice_day(now, "UTC") - timedelta(days=KEEP_CALL_COUNTS_DAYS)

    async def work(uow: UnitOfWork) -> int:
        return await uow.practices.purge(now, before)

    return await in_transaction(ports.uow, work)


# --- the operator's list -------------------------------------------------------------------------------


async def add_opt_out(uow: UnitOfWorkFactory, phone: str, now: datetime) -> tuple[str, bool]:
    """Opt ``phone`` out (an operator's wish); returns the number as stored and whether it is new."""
    number = normalise_phone(phone)

    async def work(unit: UnitOfWork) -> bool:
        return await unit.practices.add_opt_out(OptOut(number, now, OptOutSource.OPERATOR))

    return number, await in_transaction(uow, work)


async def remove_opt_out(uow: UnitOfWorkFactory, phone: str) -> tuple[str, bool]:
    """Let NEXUS call ``phone`` again; returns the number and whether it had opted out."""
    number = normalise_phone(phone)

    async def work(unit: UnitOfWork) -> bool:
        return await unit.practices.remove_opt_out(number)

    return number, await in_transaction(uow, work)


async def list_opt_outs(uow: UnitOfWorkFactory) -> list[OptOut]:
    async with uow() as unit:
        return await unit.practices.list_opt_outs()
