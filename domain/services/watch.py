"""Watch for an earlier slot after booking, swap it in, and replace an appointment safely.

"Tell me if something earlier opens" keeps a light search alive until a deadline the user picks: its own
campaign waits between rounds (``domain.services.rounds``) that call, at most daily each, only the providers
that would rank above the booked one at the same time. An earlier slot found is offered with "Swap" (book the
new one by phone, then cancel the old one by phone; never the other way round) and "Keep mine".

Replacing is restart-safe: once a follow-up's own search has booked, the old appointment's cancellation call
is placed by whichever process sees it first (right after the booking, or the next sweep).
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain.errors import NotAllowed, NotFound
from domain.follow_ups import FollowUp, FollowUpKind, FollowUpStatus, PlannedCall, PlanReason
from domain.models import (
    Appointment,
    AppointmentStatus,
    CallPurpose,
    Campaign,
    CampaignStatus,
    Offer,
    OfferStatus,
    TimeWindow,
)
from domain.notifications import RoundEvent, RoundNews
from domain.ports import UnitOfWork
from domain.scoring import score_slot
from domain.services.booked import own_booked, search_like
from domain.services.context import Ports
from domain.services.rounds import next_daily_call
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)


async def watch_for_earlier(ports: Ports, user_id: int, appointment_id: str, until: datetime) -> Campaign:
    """Start watching for a slot earlier than the booked appointment, until ``until`` (at the latest the
    appointment itself). Returns the watching search; watching twice is refused."""
    from domain.services.campaigns import create_campaign

    now = ports.clock.now()
    async with ports.uow() as uow:
        appointment, booked_in = await own_booked(uow, user_id, appointment_id, now)
        if await uow.follow_ups.list_for_appointment(appointment.id):
            raise NotAllowed("I am already watching for an earlier slot for that appointment.")
        calls = await uow.calls.list_for_campaign(booked_in.id)
        booked_offer = await uow.offers.get(appointment.offer_id)
    windows = [
        TimeWindow(max(w.start, now), min(w.end, appointment.start))
        for w in booked_in.windows
        if min(w.end, appointment.start) > max(w.start, now)
    ]
    if not windows:
        raise NotAllowed("Nothing earlier is possible: your appointment is at the earliest time you asked for.")
    booked_score = booked_offer.score if booked_offer is not None else 0.0
    better = []
    seen: set[str] = set()
    for call in calls:
        provider = call.provider
        if call.purpose is not CallPurpose.DISCOVER or provider.id in seen or provider.id == appointment.provider.id:
            continue
        seen.add(provider.id)
        distance = booked_in.location.distance_km(provider.location)
        same_time = score_slot(
            appointment.start, booked_in.span, provider.rating, distance, booked_in.radius_km, booked_in.weights
        )
        if same_time.total > booked_score:
            better.append(provider)
    if not better:
        raise NotAllowed("No provider I called ranks above the one you booked, so there is nobody to watch.")
    until = min(until, appointment.start)
    campaign = await create_campaign(
        ports, search_like(booked_in, windows, max_calls=max(1, min(len(better), booked_in.max_calls)))
    )

    async def work(uow: UnitOfWork) -> Campaign:
        fresh = await uow.campaigns.get(campaign.id)
        if fresh is None:
            raise NotFound("That search does not exist.")
        plan = []
        for provider in better:
            when = next_daily_call(provider, now, until, fresh.timezone)
            if when is not None:
                plan.append(PlannedCall(provider, when, PlanReason.NEXT_OPENING))
        if not plan:
            raise NotAllowed("None of the better providers can be called before your deadline.")
        follow_up = FollowUp(
            campaign_id=fresh.id,
            user_id=user_id,
            kind=FollowUpKind.WATCH,
            until=until,
            created_at=now,
            max_rounds=ports.policy.follow_up_rounds,
            plan=plan,
            appointment_id=appointment.id,
        )
        fresh.transition(CampaignStatus.WAITING, now)
        await uow.campaigns.save(fresh)
        await uow.follow_ups.save(follow_up)
        news = RoundNews(RoundEvent.LOOKING, fresh, tag="watch", appointment=appointment, at=follow_up.next_due_at)
        await uow.outbox.add(user_id, news, now)
        return fresh

    return await in_transaction(ports.uow, work)


async def earlier_than_booked(uow: UnitOfWork, follow_up: FollowUp, offers: list[Offer]) -> list[Offer]:
    """The offers that start before the watched appointment (while it is still booked)."""
    appointment = await uow.appointments.get(follow_up.appointment_id or "")
    if appointment is None or appointment.status is not AppointmentStatus.BOOKED:
        return []
    return [o for o in offers if o.start < appointment.start]


async def keep_mine(ports: Ports, user_id: int, campaign_id: str) -> None:
    """The user keeps the booked appointment: the earlier slots found are set aside and the watch goes on
    (until its deadline) or, with nobody left to call, ends."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> None:
        campaign = await uow.campaigns.get(campaign_id)
        follow_up = await uow.follow_ups.get(campaign_id)
        if campaign is None or follow_up is None or campaign.user_id != user_id:
            raise NotFound("That search does not exist.")
        if campaign.status is not CampaignStatus.RANKING:
            return
        for offer in await uow.offers.list_for_campaign(campaign_id):
            if offer.status is OfferStatus.OFFERED:
                offer.status = OfferStatus.UNAVAILABLE
                await uow.offers.save(offer)
        if follow_up.status is FollowUpStatus.ACTIVE and follow_up.plan and now < follow_up.until:
            campaign.transition(CampaignStatus.WAITING, now)
        else:
            follow_up.status = FollowUpStatus.DONE
            await uow.follow_ups.save(follow_up)
            campaign.transition(CampaignStatus.CANCELLED, now)
        await uow.campaigns.save(campaign)

    await in_transaction(ports.uow, work)


async def finish_replacements(ports: Ports) -> int:
    """Cancel by phone every appointment that a follow-up's newly booked one replaces (the sweep's step, and
    right after a booking); returns how many cancellation calls were placed."""
    async with ports.uow() as uow:
        replacing = await uow.follow_ups.list_replacing()
    placed = 0
    for follow_up in replacing:
        placed += await finish_replacement(ports, follow_up.campaign_id)
    return placed


async def finish_replacement(ports: Ports, campaign_id: str) -> int:
    """When ``campaign_id``'s follow-up replaces an appointment and the campaign has booked: phone to cancel
    the old one, then end the follow-up. Placing the call twice is refused by ``cancel_appointment``."""
    from domain.services.appointments import cancel_appointment

    async with ports.uow() as uow:
        follow_up = await uow.follow_ups.get(campaign_id)
        campaign = await uow.campaigns.get(campaign_id)
    if follow_up is None or campaign is None or follow_up.appointment_id is None:
        return 0
    if follow_up.status is not FollowUpStatus.ACTIVE or campaign.status is not CampaignStatus.CONFIRMED:
        return 0
    placed = 0
    try:
        await cancel_appointment(ports, follow_up.user_id, follow_up.appointment_id)
        placed = 1
    except (NotAllowed, NotFound) as exc:  # cancelled, being cancelled, or over: nothing left to do
        log.info("appointment %s needs no cancellation call: %s", follow_up.appointment_id, exc)

    async def done(uow: UnitOfWork) -> None:
        fresh = await uow.follow_ups.get(campaign_id)
        if fresh is not None and fresh.status is FollowUpStatus.ACTIVE:
            fresh.status = FollowUpStatus.DONE
            fresh.plan = []
            await uow.follow_ups.save(fresh)

    await in_transaction(ports.uow, done)
    return placed


async def after_booking(ports: Ports, appointment: Appointment) -> None:
    """A booking in a search that replaces another appointment (a swap, a reschedule's search): cancel the
    old one now, after the new one is booked."""
    await finish_replacement(ports, appointment.campaign_id)
