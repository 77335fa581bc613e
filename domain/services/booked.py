"""What booking, moving and replacing an appointment share: its reminders, its calendar event, the calls made
about it, and a new search like the one that booked it."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from domain.errors import DependencyUnavailable, NotAllowed, NotFound
from domain.models import Appointment, AppointmentStatus, CallPurpose, CallTask, Campaign, Reminder, TimeWindow
from domain.ports import UnitOfWork
from domain.services.context import Ports
from domain.services.transactions import in_transaction

if TYPE_CHECKING:
    from domain.services.campaigns import StartCampaign

log = logging.getLogger(__name__)


async def add_reminders(uow: UnitOfWork, ports: Ports, appointment: Appointment, now: datetime) -> None:
    """The appointment's reminders (the policy's leads still ahead), unless the user turned reminders off."""
    user = await uow.users.get(appointment.user_id)
    if user is not None and not user.reminders_enabled:
        return
    for lead in ports.policy.reminder_leads:
        if appointment.start - lead > now:
            await uow.reminders.add(
                Reminder(
                    appointment_id=appointment.id,
                    user_id=appointment.user_id,
                    due_at=appointment.start - lead,
                    lead_minutes=int(lead.total_seconds() // 60),
                )
            )


async def put_in_calendar(ports: Ports, appointment: Appointment, *, replacing: bool = False) -> None:
    """Add the appointment to the user's calendar and keep the event's id; ``replacing``: remove its old event
    first (a moved appointment; the calendar port cannot move one). An unreachable calendar only costs the
    event: the booking stands."""
    try:
        if replacing:
            await ports.calendar.remove_event(appointment)
        event_id = await ports.calendar.add_event(appointment)
    except DependencyUnavailable as exc:
        log.warning("calendar event of appointment %s not written: %s", appointment.id, exc)
        return
    if event_id:
        await remember_event(ports, appointment, event_id)


async def remember_event(ports: Ports, appointment: Appointment, event_id: str) -> None:
    """Store the id of the appointment's calendar event."""

    async def work(uow: UnitOfWork) -> None:
        stored = await uow.appointments.get(appointment.id)
        if stored is not None:
            stored.calendar_event_id = event_id
            await uow.appointments.save(stored)

    await in_transaction(ports.uow, work)
    appointment.calendar_event_id = event_id


async def own_booked(uow: UnitOfWork, user_id: int, appointment_id: str, now: datetime) -> tuple[Appointment, Campaign]:
    """The user's booked appointment that has not started yet, and the search that booked it."""
    appointment = await uow.appointments.get(appointment_id)
    booked_in = await uow.campaigns.get(appointment.campaign_id) if appointment else None
    if appointment is None or booked_in is None or appointment.user_id != user_id:
        raise NotFound("That appointment does not exist.")
    if appointment.status is not AppointmentStatus.BOOKED or appointment.start <= now:
        raise NotAllowed("That appointment is cancelled or already under way.")
    return appointment, booked_in


def search_like(booked_in: Campaign, windows: list[TimeWindow], **changes: object) -> StartCampaign:
    """A new search for what ``booked_in`` looked for, in ``windows`` (and with ``changes``)."""
    from domain.services.campaigns import StartCampaign

    command = StartCampaign(
        user_id=booked_in.user_id,
        service=booked_in.service,
        windows=windows,
        location=booked_in.location,
        request_text=booked_in.request_text,
        language=booked_in.language,
        duration_minutes=booked_in.duration_minutes,
        radius_km=booked_in.radius_km,
        weights=booked_in.weights,
        max_calls=booked_in.max_calls,
        timezone=booked_in.timezone,
    )
    return dataclasses.replace(command, **changes)  # type: ignore[arg-type]


def call_about(
    ports: Ports, campaign_id: str, appointment: Appointment, purpose: CallPurpose, now: datetime
) -> tuple[CallTask, str]:
    """A call to the appointment's provider about it (to cancel or to move it), and its token."""
    from domain.services.campaigns import new_call

    return new_call(
        ports,
        campaign_id,
        appointment.provider,
        purpose,
        now,
        target_offer_id=appointment.offer_id,
        target_appointment_id=appointment.id,
    )
