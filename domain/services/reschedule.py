"""Move a booked appointment: first one ``RESCHEDULE`` call to the same provider (ask for a time in the new
windows, check it, book it and release the old one in the same call); only if that fails, a normal search
among the others that keeps the old appointment until a new one is booked (then cancels it by phone, see
``domain.services.watch``).

A moved appointment keeps its id (the ``.ics`` UID) with a higher ``sequence``; its calendar event and
reminders move with it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from domain.errors import NotAllowed, NotFound
from domain.follow_ups import FollowUp, FollowUpKind, FollowUpStatus
from domain.models import (
    Appointment,
    AppointmentStatus,
    CallOutcome,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    TimeWindow,
)
from domain.notifications import RoundEvent, RoundNews
from domain.ports import UnitOfWork
from domain.services.booked import add_reminders, call_about, own_booked, put_in_calendar, search_like
from domain.services.context import Ports
from domain.services.transactions import in_transaction
from domain.wording import slot_in_words

if TYPE_CHECKING:
    from domain.services.tool_calls import BookingAnswer, CallContext

log = logging.getLogger(__name__)

# CREATED -> ... -> CONFIRMED: a reschedule's campaign books without a shortlist of its own
_TO_CONFIRMED = (
    CampaignStatus.PROVIDER_LOOKUP,
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
    CampaignStatus.RANKING,
    CampaignStatus.CONFIRMING,
    CampaignStatus.CONFIRMED,
)


async def reschedule_appointment(
    ports: Ports, user_id: int, appointment_id: str, windows: list[TimeWindow], request_text: str = ""
) -> tuple[Campaign, CallTask]:
    """Phone the provider of ``appointment_id`` to move it into ``windows``. Returns the new search (it books
    nothing of its own unless the provider cannot move the appointment) and the call."""
    from domain.services.campaigns import create_campaign, dial

    now = ports.clock.now()
    async with ports.uow() as uow:
        appointment, booked_in = await own_booked(uow, user_id, appointment_id, now)
    minutes = int(appointment.window.duration.total_seconds() // 60)
    text = request_text or booked_in.request_text
    campaign = await create_campaign(
        ports, search_like(booked_in, windows, request_text=text, duration_minutes=minutes)
    )

    async def work(uow: UnitOfWork) -> tuple[CallTask, str]:
        for open_follow_up in await uow.follow_ups.list_for_appointment(appointment.id):
            if open_follow_up.kind is FollowUpKind.REPLACE:
                raise NotAllowed("I am already finding a new time for that appointment.")
        follow_up = FollowUp(
            campaign_id=campaign.id,
            user_id=user_id,
            kind=FollowUpKind.REPLACE,
            until=campaign.span.end,
            created_at=now,
            max_rounds=0,
            appointment_id=appointment.id,
        )
        await uow.follow_ups.save(follow_up)
        call, token = call_about(ports, campaign.id, appointment, CallPurpose.RESCHEDULE, now)
        await uow.calls.add(call)
        return call, token

    call, token = await in_transaction(ports.uow, work)
    await dial(ports, campaign, {call.id: token}, target=appointment.window)
    return campaign, call


async def move_booked(ports: Ports, ctx: CallContext, start: datetime) -> BookingAnswer:
    """``book-slot`` in a ``RESCHEDULE`` call: move the appointment to ``start`` (its length kept) if the user is
    free then and it lies in the new windows. Moving twice to the same time is the same move."""
    from domain.calendar import fits
    from domain.services.tool_calls import CLOSE_POLITELY, BookingAnswer, _live

    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[Appointment, bool]:
        appointment = await uow.appointments.get(ctx.call.target_appointment_id or "")
        if appointment is None or appointment.status is not AppointmentStatus.BOOKED:
            raise NotFound("The appointment to move no longer exists.")
        new_window = TimeWindow(start, start + appointment.window.duration)
        if appointment.window == new_window:
            return appointment, False
        _, campaign = await _live(uow, ctx, now)
        if start < now or not fits(new_window, campaign.windows):
            raise NotAllowed(
                f"{slot_in_words(new_window, campaign.timezone)} is outside the new times the user asked for; "
                "ask for a time inside them."
            )
        appointment.start, appointment.end = new_window.start, new_window.end
        appointment.sequence += 1
        await uow.appointments.save(appointment)  # the database refuses an overlap with another appointment
        await uow.reminders.cancel_for_appointment(appointment.id)
        await add_reminders(uow, ports, appointment, now)
        for target in _TO_CONFIRMED:
            campaign.transition(target, now)
        await uow.campaigns.save(campaign)
        follow_up = await uow.follow_ups.get(campaign.id)
        if follow_up is not None:
            follow_up.status = FollowUpStatus.DONE
            await uow.follow_ups.save(follow_up)
        news = RoundNews(RoundEvent.MOVED, campaign, tag=str(appointment.sequence), appointment=appointment)
        await uow.outbox.add(appointment.user_id, news, now)
        return appointment, True

    appointment, moved = await in_transaction(ports.uow, work)
    if moved:
        await put_in_calendar(ports, appointment, replacing=True)
    tz = ctx.campaign.timezone
    return BookingAnswer(
        appointment,
        f"Moved: {appointment.provider.name}, now {slot_in_words(appointment.window, tz)}. Ask the receptionist "
        f"to release the old time, then end the call with outcome booked. {CLOSE_POLITELY}",
    )


async def settle_reschedule(ports: Ports, call: CallTask) -> None:
    """A ``RESCHEDULE`` call ended. Moved: done. Otherwise the search looks among the other providers while
    the old appointment stays booked; the user is told so."""
    from domain.services.campaigns import run_campaign

    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> Campaign | None:
        campaign = await uow.campaigns.get(call.campaign_id)
        appointment = await uow.appointments.get(call.target_appointment_id or "")
        if campaign is None or campaign.status is not CampaignStatus.CREATED:
            return None  # moved (CONFIRMED), or the search already started
        if appointment is None or appointment.status is not AppointmentStatus.BOOKED:
            campaign.transition(CampaignStatus.CANCELLED, now)
            await uow.campaigns.save(campaign)
            return None
        campaign.deadline_at = now + ports.policy.campaign_deadline
        campaign.updated_at = now
        await uow.campaigns.save(campaign)
        news = RoundNews(RoundEvent.RESCHEDULE_SEARCH, campaign, tag=call.id, appointment=appointment)
        await uow.outbox.add(campaign.user_id, news, now)
        return campaign

    if call.status is CallStatus.COMPLETED and call.outcome is CallOutcome.BOOKED:
        async with ports.uow() as uow:
            campaign = await uow.campaigns.get(call.campaign_id)
        if campaign is not None and campaign.status is CampaignStatus.CONFIRMED:
            return
    searching = await in_transaction(ports.uow, work)
    if searching is not None:
        log.info("reschedule call %s did not move the appointment; searching others", call.id)
        await run_campaign(ports, searching.id)


__all__ = ["move_booked", "reschedule_appointment", "settle_reschedule"]
