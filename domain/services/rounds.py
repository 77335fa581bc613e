"""Keep looking: rounds of calls after a search's first one, planned and started from the database.

A round is the set of call tasks (``round_no`` > 0) started together for one reason: providers whose desk
said "call back at X" are called then, waitlisted providers first in every round, the others at their next
opening, at most once a day each, until the user's windows pass or the rounds run out. A round adds to the
same shortlist and tells the user only when something new fits. Watching for an earlier slot after booking
(``domain.services.watch``) runs on the same rounds.

Every step is a conditional update (the follow-up's and the campaign's versions), so the sweeps of several
processes start each round once, and a restart in between loses nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import NotAllowed, NotFound, QuotaExceeded
from domain.follow_ups import FollowUp, FollowUpKind, FollowUpStatus, PlannedCall, PlanReason
from domain.models import (
    AppointmentStatus,
    CallOutcome,
    CallPurpose,
    CallTask,
    Campaign,
    CampaignStatus,
    Offer,
    OfferStatus,
    Provider,
    TimeWindow,
)
from domain.notifications import RoundEvent, RoundNews
from domain.ports import UnitOfWork
from domain.scoring import rank
from domain.services.context import Ports
from domain.services.costs import check_minutes_left
from domain.services.scheduling import first_call_time
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

# A provider's desk is called at most once a day; without known opening hours, at this local time.
DAILY_CALL_TIME = time(8, 0)
# Outcomes after which the provider is not called again in this search.
_NOT_AGAIN = frozenset({CallOutcome.DECLINED, CallOutcome.WRONG_NUMBER, CallOutcome.BOOKED})


class Widen(enum.StrEnum):
    """How "Widen" changes a search: a week more, 5 km more, or any time of day."""

    WEEK = "week"
    KM = "km"
    ANY_TIME = "any_time"


WIDENINGS = (Widen.WEEK, Widen.KM, Widen.ANY_TIME)
WIDEN_KM = 5.0


# --- planning --------------------------------------------------------------------------------------


def next_daily_call(provider: Provider, after: datetime, until: datetime, timezone: str) -> datetime | None:
    """The provider's first opening on the local day after ``after`` (at ``DAILY_CALL_TIME`` when its hours
    are unknown), or ``None`` when that is not before ``until``."""
    zone = ZoneInfo(timezone)
    next_day = after.astimezone(zone).date() + timedelta(days=1)
    return first_call_time(provider, datetime.combine(next_day, DAILY_CALL_TIME, tzinfo=zone), until, timezone)


def plan_after(call: CallTask, waitlisted: bool, until: datetime, timezone: str, now: datetime) -> PlannedCall | None:
    """When to call ``call``'s provider again after ``call`` (its latest call in this search), and why; ``None``
    for a provider not to call again (it declined, the number was wrong, the time left is over)."""
    if call.outcome in _NOT_AGAIN:
        return None
    provider = call.provider
    last = call.ended_at or call.started_at or now
    if call.outcome is CallOutcome.CALL_BACK_LATER and call.call_back_at is not None:
        when = first_call_time(provider, max(call.call_back_at, now), until, timezone)
        reason = PlanReason.CALL_BACK
    else:
        when = next_daily_call(provider, last, until, timezone)
        reason = PlanReason.WAITLIST if waitlisted else PlanReason.NEXT_OPENING
    if when is None:
        return None
    return PlannedCall(provider, when, reason, waitlisted)


def latest_calls(calls: list[CallTask]) -> dict[str, CallTask]:
    """Each provider's latest discovery call (the calls are in creation order)."""
    latest: dict[str, CallTask] = {}
    for call in calls:
        if call.purpose is CallPurpose.DISCOVER:
            latest[call.provider.id] = call
    return latest


def waitlisted_ids(calls: list[CallTask]) -> set[str]:
    return {c.provider.id for c in calls if c.outcome is CallOutcome.WAITLISTED}


def waitlisted_words(calls: list[CallTask]) -> list[str]:
    """The providers whose waiting list the user is on, as "name, phone" (they may phone the user directly)."""
    seen: dict[str, str] = {}
    for call in calls:
        if call.outcome is CallOutcome.WAITLISTED:
            seen[call.provider.id] = f"{call.provider.name}, {call.provider.phone}"
    return list(seen.values())


def _replan(
    follow_up: FollowUp, campaign: Campaign, calls: list[CallTask], offers: list[Offer], now: datetime
) -> list[PlannedCall]:
    """The plan after a round: providers still planned, plus each provider of the round's calls again."""
    open_offer = {o.provider_id for o in offers if o.status in (OfferStatus.OFFERED, OfferStatus.CHOSEN)}
    waiting = waitlisted_ids(calls)
    planned = {p.provider.id: p for p in follow_up.plan}
    for provider_id, call in latest_calls(calls).items():
        if provider_id in planned or not call.status.is_ended:
            continue
        if follow_up.kind is not FollowUpKind.WATCH and provider_id in open_offer:
            continue  # its offer is on the shortlist already
        planned_call = plan_after(call, provider_id in waiting, follow_up.until, campaign.timezone, now)
        if planned_call is not None:
            planned[provider_id] = planned_call
    return [p for p in planned.values() if p.due_at < follow_up.until]


# --- keep looking ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeepLooking:
    """Command: look again for the search ``campaign_id`` in later rounds, optionally widened."""

    user_id: int
    campaign_id: str
    widen: str | None = None


async def keep_looking(ports: Ports, command: KeepLooking) -> FollowUp:
    """Plan later rounds for a search that found nothing fitting (``FAILED``) or whose shortlist the user set
    aside (``RANKING``); the campaign waits (``WAITING``) and the sweep starts the rounds. Asking twice is
    harmless: the second time returns the plan of the first (a widening is applied once per tap)."""
    now = ports.clock.now()
    extra: list[Provider] = []
    if command.widen == Widen.KM:
        async with ports.uow() as uow:
            campaign = await _own_campaign(uow, command.user_id, command.campaign_id)
        extra = await ports.directory.search(
            campaign.service, campaign.location, campaign.radius_km + WIDEN_KM, campaign.max_calls
        )

    async def work(uow: UnitOfWork) -> FollowUp:
        campaign = await _own_campaign(uow, command.user_id, command.campaign_id)
        existing = await uow.follow_ups.get(campaign.id)
        if campaign.status is CampaignStatus.WAITING and existing is not None and command.widen is None:
            return existing
        if campaign.status not in (CampaignStatus.FAILED, CampaignStatus.RANKING, CampaignStatus.WAITING):
            raise NotAllowed(f"This search is {campaign.status.lower()}; there is nothing to keep looking for.")
        if existing is not None and existing.kind is FollowUpKind.WATCH:
            raise NotAllowed("This search watches for an earlier slot already.")
        _widen(campaign, command.widen, now)
        windows = [w for w in campaign.windows if w.end > now]
        if not windows:
            raise NotAllowed("Every time you asked for has passed, so there is nothing left to look for.")
        await check_minutes_left(uow, ports.policy, campaign.user_id, now, campaign.timezone, campaign.language)
        calls = await uow.calls.list_for_campaign(campaign.id)
        offers = await uow.offers.list_for_campaign(campaign.id)
        follow_up = existing or FollowUp(
            campaign_id=campaign.id,
            user_id=campaign.user_id,
            kind=FollowUpKind.KEEP_LOOKING,
            until=campaign.span.end,
            created_at=now,
            max_rounds=ports.policy.follow_up_rounds,
        )
        follow_up.until = campaign.span.end
        follow_up.status = FollowUpStatus.ACTIVE
        if existing is not None and existing.status is not FollowUpStatus.ACTIVE:
            follow_up.max_rounds = follow_up.rounds_done + ports.policy.follow_up_rounds
        follow_up.plan = _replan(follow_up, campaign, calls, offers, now)
        known = {p.provider.id for p in follow_up.plan} | set(latest_calls(calls))
        for provider in extra:
            when = first_call_time(provider, now, follow_up.until, campaign.timezone)
            if provider.id not in known and when is not None:
                follow_up.plan.append(PlannedCall(provider, when, PlanReason.NEXT_OPENING))
        if not follow_up.plan:
            raise NotAllowed("None of the providers can be called again before your times pass.")
        if campaign.status is not CampaignStatus.WAITING:
            campaign.transition(CampaignStatus.WAITING, now)
        campaign.updated_at = now
        await uow.campaigns.save(campaign)
        await uow.follow_ups.save(follow_up)
        news = RoundNews(
            RoundEvent.LOOKING,
            campaign,
            tag=f"{follow_up.rounds_done}:{command.widen or ''}:{follow_up.version}",
            at=follow_up.next_due_at,
            waitlisted=waitlisted_words(calls),
        )
        await uow.outbox.add(campaign.user_id, news, now)
        return follow_up

    follow_up = await in_transaction(ports.uow, work)
    from domain.services.campaigns import release_holds

    await release_holds(ports, command.user_id, command.campaign_id)  # a set-aside shortlist holds no time
    return follow_up


def _widen(campaign: Campaign, widen: str | None, now: datetime) -> None:
    """Apply one widening to the campaign's windows or radius (the new providers of "+5 km" come from the
    directory)."""
    if widen is None:
        return
    if widen == Widen.WEEK:
        later = [TimeWindow(w.start + timedelta(days=7), w.end + timedelta(days=7)) for w in campaign.windows]
        campaign.windows = _merged(campaign.windows + later)
    elif widen == Widen.KM:
        campaign.radius_km += WIDEN_KM
    elif widen == Widen.ANY_TIME:
        zone = ZoneInfo(campaign.timezone)
        days = sorted({d for w in campaign.windows for d in _local_days(w, zone)})
        whole = [
            TimeWindow(
                max(now, datetime.combine(day, time(7), tzinfo=zone)), datetime.combine(day, time(20), tzinfo=zone)
            )
            for day in days
            if datetime.combine(day, time(20), tzinfo=zone) > now
        ]
        campaign.windows = _merged(campaign.windows + whole)
    else:
        raise NotAllowed(f"I do not know how to widen a search by {widen!r}.")


def _local_days(window: TimeWindow, zone: ZoneInfo) -> list[date]:
    first, last = window.start.astimezone(zone).date(), (window.end - timedelta(seconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _merged(windows: list[TimeWindow]) -> list[TimeWindow]:
    merged: list[TimeWindow] = []
    for window in sorted(windows, key=lambda w: w.start):
        if merged and window.start <= merged[-1].end:
            merged[-1] = TimeWindow(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return merged


async def stop_looking(ports: Ports, user_id: int, campaign_id: str) -> None:
    """The user does not want more rounds: the follow-up ends; a waiting search ends as it was."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> None:
        campaign = await _own_campaign(uow, user_id, campaign_id)
        follow_up = await uow.follow_ups.get(campaign.id)
        if follow_up is None or follow_up.status is not FollowUpStatus.ACTIVE:
            return
        follow_up.status = FollowUpStatus.DONE
        follow_up.plan = []
        await uow.follow_ups.save(follow_up)
        if campaign.status is CampaignStatus.WAITING:
            campaign.transition(CampaignStatus.CANCELLED, now)
            await uow.campaigns.save(campaign)

    await in_transaction(ports.uow, work)


# --- starting a round ------------------------------------------------------------------------------


async def start_due_rounds(ports: Ports) -> int:
    """Start every round whose time has come (the sweep's step); returns how many calls were placed."""
    from domain.services.campaigns import dial

    now = ports.clock.now()
    async with ports.uow() as uow:
        due = await uow.follow_ups.list_due(now)
    placed = 0
    for follow_up in due:
        started = await _start_round(ports, follow_up.campaign_id, now)
        if started is None:
            continue
        campaign, tokens = started
        await dial(ports, campaign, tokens)
        placed += len(tokens)
    return placed


async def _start_round(ports: Ports, campaign_id: str, now: datetime) -> tuple[Campaign, dict[str, str]] | None:
    from domain.services.campaigns import calls_changed, new_call

    async def work(uow: UnitOfWork) -> tuple[Campaign, dict[str, str]] | None:
        follow_up = await uow.follow_ups.get(campaign_id)
        campaign = await uow.campaigns.get(campaign_id)
        if follow_up is None or campaign is None or follow_up.status is not FollowUpStatus.ACTIVE:
            return None
        if campaign.status is CampaignStatus.CONFIRMED and follow_up.appointment_id is not None:
            return None  # booked: the old appointment is cancelled by ``finish_replacements``
        if campaign.status.is_terminal:
            follow_up.status = FollowUpStatus.DONE  # cancelled, failed, or booked meanwhile: nothing to look for
            await uow.follow_ups.save(follow_up)
            return None
        if campaign.status is not CampaignStatus.WAITING:
            return None  # a round is running, or the user has a shortlist to look at
        due = follow_up.due(now)
        if not due:
            return None
        stop = _why_stop(follow_up, now, campaign.language)
        if stop is None and follow_up.kind is FollowUpKind.WATCH:
            watched = await uow.appointments.get(follow_up.appointment_id or "")
            if watched is None or watched.status is not AppointmentStatus.BOOKED or watched.start <= now:
                stop = _say(campaign.language, "watch_gone")
        if stop is None:
            try:
                await check_minutes_left(uow, ports.policy, campaign.user_id, now, campaign.timezone, campaign.language)
            except QuotaExceeded as exc:
                stop = str(exc)
        if stop is not None:
            await _stop(uow, follow_up, campaign, now, stop)
            return None
        follow_up.rounds_done += 1
        chosen = {p.provider.id for p in due[: campaign.max_calls]}
        follow_up.plan = [p for p in follow_up.plan if p.provider.id not in chosen]
        tokens: dict[str, str] = {}
        for planned in due[: campaign.max_calls]:
            call, token = new_call(ports, campaign.id, planned.provider, CallPurpose.DISCOVER, now)
            call.round_no = follow_up.rounds_done
            await uow.calls.add(call)
            tokens[call.id] = token
        campaign.transition(CampaignStatus.NEGOTIATING, now)
        campaign.deadline_at = now + ports.policy.campaign_deadline
        await uow.campaigns.save(campaign)  # the versions make a second process's start of this round fail
        await uow.follow_ups.save(follow_up)
        await calls_changed(uow, campaign.id, now, campaign.user_id)
        log.info("round %d of campaign %s: %d calls", follow_up.rounds_done, campaign.id, len(tokens))
        return campaign, tokens

    return await in_transaction(ports.uow, work)


def _why_stop(follow_up: FollowUp, now: datetime, language: str) -> str | None:
    if now >= follow_up.until:
        if follow_up.kind is FollowUpKind.WATCH:
            return _say(language, "watch_over")
        return _say(language, "windows_passed")
    if follow_up.rounds_done >= follow_up.max_rounds:
        return _say(language, "rounds_used", rounds=follow_up.max_rounds)
    return None


_STOP_WORDS = {
    "en": {
        "windows_passed": "The times you asked for have passed, so I stopped looking.",
        "watch_over": "I stopped watching for an earlier slot: the time you gave me is up. Your appointment stays.",
        "rounds_used": "I called around {rounds} more times without finding anything that fits, so I stopped.",
        "nobody_left": "No provider can be called again before your times pass, so I stopped looking.",
        "watch_gone": "I stopped watching for an earlier slot: the appointment is cancelled or under way.",
    },
    "de": {
        "windows_passed": "Die gewünschten Zeiten sind vorbei, deshalb suche ich nicht weiter.",
        "watch_over": "Ich halte nicht mehr nach einem früheren Termin Ausschau: die Frist ist um. Dein Termin bleibt.",
        "rounds_used": "Ich habe noch {rounds} Mal herumtelefoniert, ohne etwas Passendes zu finden, und höre auf.",
        "nobody_left": "Vor Ablauf deiner Zeiten kann ich niemanden mehr anrufen, deshalb suche ich nicht weiter.",
        "watch_gone": "Ich halte nicht mehr nach einem früheren Termin Ausschau: der Termin ist abgesagt oder läuft.",
    },
}


def _say(language: str, key: str, **values: object) -> str:
    return _STOP_WORDS["de" if language == "de" else "en"][key].format(**values)


async def _stop(uow: UnitOfWork, follow_up: FollowUp, campaign: Campaign, now: datetime, reason: str) -> None:
    """No more rounds: the follow-up ends, the waiting search fails with ``reason``, the user is told once."""
    follow_up.status = FollowUpStatus.DONE
    follow_up.plan = []
    await uow.follow_ups.save(follow_up)
    if campaign.status in (CampaignStatus.WAITING, CampaignStatus.NEGOTIATING):
        campaign.transition(CampaignStatus.FAILED, now, reason)
        await uow.campaigns.save(campaign)
    calls = await uow.calls.list_for_campaign(campaign.id)
    news = RoundNews(
        RoundEvent.STOPPED, campaign, tag=str(follow_up.rounds_done), reason=reason, waitlisted=waitlisted_words(calls)
    )
    await uow.outbox.add(campaign.user_id, news, now)


# --- a round ending --------------------------------------------------------------------------------


def is_round(calls: list[CallTask]) -> bool:
    """Whether the campaign's calls are those of a later round (its settling is this module's)."""
    return any(c.round_no for c in calls)


async def settle_round(
    ports: Ports,
    uow: UnitOfWork,
    campaign: Campaign,
    calls: list[CallTask],
    offers: list[Offer],
    now: datetime,
    deadline_passed: bool,
) -> bool:
    """Inside ``settle_campaign``'s transaction: when the round's calls are over, tell the user what is new
    (keep looking: the shortlist; watch: the earlier slot) or wait for the next round silently. Returns
    whether the campaign changed."""
    follow_up = await uow.follow_ups.get(campaign.id)
    if follow_up is None or campaign.status is not CampaignStatus.NEGOTIATING:
        return False
    this_round = max(c.round_no for c in calls)
    round_calls = [c for c in calls if c.round_no == this_round and c.purpose is CallPurpose.DISCOVER]
    if not deadline_passed and any(not c.status.is_ended for c in round_calls):
        return False
    round_ids = {c.id for c in round_calls}
    new = [o for o in offers if o.call_task_id in round_ids and o.status is OfferStatus.OFFERED]
    if follow_up.kind is FollowUpKind.WATCH:
        from domain.services.watch import earlier_than_booked

        new = await earlier_than_booked(uow, follow_up, new)
    if follow_up.status is FollowUpStatus.ACTIVE:
        follow_up.plan = _replan(follow_up, campaign, calls, offers, now)
    if new:
        campaign.transition(CampaignStatus.RANKING, now)
        await uow.campaigns.save(campaign)
        await uow.follow_ups.save(follow_up)
        if follow_up.kind is FollowUpKind.WATCH:
            appointment = await uow.appointments.get(follow_up.appointment_id or "")
            best = rank(new)[0]
            news = RoundNews(RoundEvent.EARLIER, campaign, tag=best.id, offers=[best], appointment=appointment)
        else:
            from domain.services.campaigns import shortlist_of

            shortlist = shortlist_of(offers, ports.policy.shortlist_size)
            news = RoundNews(
                RoundEvent.FOUND,
                campaign,
                tag=str(this_round),
                offers=shortlist,
                waitlisted=waitlisted_words(calls),
            )
        await uow.outbox.add(campaign.user_id, news, now)
        return True
    if follow_up.status is not FollowUpStatus.ACTIVE:
        return False
    campaign.transition(CampaignStatus.WAITING, now)
    await uow.campaigns.save(campaign)
    if not follow_up.plan:
        await _stop(uow, follow_up, campaign, now, _say(campaign.language, "nobody_left"))
        return True
    stop = _why_stop(follow_up, now, campaign.language)
    if stop is not None:
        await _stop(uow, follow_up, campaign, now, stop)
        return True
    await uow.follow_ups.save(follow_up)
    return True


async def _own_campaign(uow: UnitOfWork, user_id: int, campaign_id: str) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None or campaign.user_id != user_id:
        raise NotFound("That search does not exist.")
    return campaign


__all__ = [
    "WIDENINGS",
    "KeepLooking",
    "Widen",
    "keep_looking",
    "plan_after",
    "settle_round",
    "start_due_rounds",
    "stop_looking",
]
