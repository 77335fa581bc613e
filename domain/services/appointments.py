"""Booked appointments: listing, cancelling through a call to the provider, and reminders."""

from __future__ import annotations

import logging
from datetime import timedelta

from domain.errors import DependencyUnavailable, NotAllowed, NotFound
from domain.models import (
    Appointment,
    AppointmentStatus,
    CallOutcome,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    Reminder,
)
from domain.notifications import AppointmentCancelled, AppointmentReminder
from domain.ports import UnitOfWork
from domain.services.booked import call_about
from domain.services.campaigns import dial
from domain.services.context import Ports
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)


async def upcoming_appointments(ports: Ports, user_id: int) -> list[Appointment]:
    """The user's booked appointments that have not ended yet, earliest first."""
    async with ports.uow() as uow:
        return await uow.appointments.list_for_user(
            user_id, statuses=[AppointmentStatus.BOOKED], ending_after=ports.clock.now()
        )


async def cancel_appointment(ports: Ports, user_id: int, appointment_id: str) -> CallTask:
    """Phone the provider to cancel; the appointment is marked cancelled when that call succeeds."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[CallTask, str, Campaign, Appointment]:
        appointment = await uow.appointments.get(appointment_id)
        campaign = await uow.campaigns.get(appointment.campaign_id) if appointment else None
        if appointment is None or campaign is None or appointment.user_id != user_id:
            raise NotFound("That appointment does not exist.")
        if appointment.status is not AppointmentStatus.BOOKED:
            raise NotAllowed("That appointment is already cancelled.")
        if appointment.end <= now:
            raise NotAllowed("That appointment is already over.")
        for other in await uow.calls.list_for_campaign(appointment.campaign_id):
            cancelling = other.purpose is CallPurpose.CANCEL and other.target_appointment_id == appointment.id
            if cancelling and not other.status.is_ended:
                raise NotAllowed("I am already calling to cancel that appointment.")
        call, token = call_about(ports, appointment.campaign_id, appointment, CallPurpose.CANCEL, now)
        await uow.calls.add(call)
        return call, token, campaign, appointment

    call, token, campaign, appointment = await in_transaction(ports.uow, work)
    await dial(ports, campaign, {call.id: token}, target=appointment.window)
    return call


async def settle_cancellation(ports: Ports, call: CallTask) -> None:
    """A ``CANCEL`` call ended: when the provider agreed, the appointment is cancelled everywhere."""
    if call.status is not CallStatus.COMPLETED or call.outcome is not CallOutcome.CANCELLED_APPOINTMENT:
        log.info("cancellation call %s ended without cancelling (%s)", call.id, call.outcome or call.status)
        return
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> Appointment | None:
        appointment = await uow.appointments.get(call.target_appointment_id or "")
        if appointment is None or appointment.status is AppointmentStatus.CANCELLED:
            return None
        appointment.status = AppointmentStatus.CANCELLED
        await uow.appointments.save(appointment)
        await uow.reminders.cancel_for_appointment(appointment.id)
        await uow.outbox.add(appointment.user_id, AppointmentCancelled(appointment), now)
        return appointment

    appointment = await in_transaction(ports.uow, work)
    if appointment is None:
        return
    try:
        await ports.calendar.remove_event(appointment)
    except DependencyUnavailable as exc:
        log.warning("calendar event of appointment %s not removed: %s", appointment.id, exc)


async def send_due_reminders(ports: Ports, limit: int = 100) -> int:
    """Queue every reminder that is due in the outbox, in the transaction that marks it sent: each is
    claimed once (two processes never queue it twice) and, once queued, delivered and retried by the
    outbox, never lost to a failed send."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> int:
        # Of several reminders due for one appointment (after downtime) only the nearest is worth sending.
        nearest: dict[str, Reminder] = {}
        for reminder in await uow.reminders.claim_due(now, limit):
            kept = nearest.get(reminder.appointment_id)
            if kept is None or reminder.lead_minutes < kept.lead_minutes:
                nearest[reminder.appointment_id] = reminder
        queued = 0
        for reminder in nearest.values():
            appointment = await uow.appointments.get(reminder.appointment_id)
            if appointment is None or appointment.status is not AppointmentStatus.BOOKED or appointment.start <= now:
                continue
            lead = timedelta(minutes=reminder.lead_minutes)
            await uow.outbox.add(reminder.user_id, AppointmentReminder(appointment, lead), now)
            queued += 1
        return queued

    return await in_transaction(ports.uow, work)
