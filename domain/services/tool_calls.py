"""What a voice agent may do during a call. The call is identified by its secret token, never by what the
agent says, and every answer carries a sentence telling the agent what to do next."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.calendar import conflicts, fits, free_windows, merge, next_free_start, widen
from domain.errors import (
    CalendarUnavailable,
    CallClosed,
    DependencyUnavailable,
    NotAllowed,
    NotAuthorized,
    NotFound,
    SlotConflict,
)
from domain.models import (
    Appointment,
    AppointmentStatus,
    CallOutcome,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    GeoPoint,
    Hold,
    Offer,
    OfferStatus,
    TimeWindow,
)
from domain.notifications import Booked
from domain.ports import UnitOfWork
from domain.scoring import score_slot
from domain.services.booked import add_reminders, put_in_calendar
from domain.services.campaigns import (
    after_call_ended,
    calls_changed,
    end_call_task,
    hang_up_all,
    is_open_for,
    release_holds,
)
from domain.services.citizenship import note_call_end
from domain.services.context import Ports
from domain.services.tokens import hash_token
from domain.services.transactions import in_transaction
from domain.wording import slot_in_words, time_in_words, windows_in_words

log = logging.getLogger(__name__)

CLOSE_POLITELY = "Thank the receptionist, say goodbye and end the call."


@dataclass(frozen=True, slots=True)
class CallContext:
    """The call a tool request belongs to, as it stood when the request arrived."""

    call: CallTask
    campaign: Campaign
    conversation_id: str | None = None


async def open_call(ports: Ports, token: str | None, conversation_id: str | None = None) -> CallContext:
    """Find the call by its secret token; refuse unknown tokens and calls that are over."""
    if not token:
        raise NotAuthorized("The request carries no call token.")
    async with ports.uow() as uow:
        call = await uow.calls.get_by_token_hash(hash_token(token))
        if call is None:
            raise NotAuthorized("The call token is not valid.")
        campaign = await uow.campaigns.get(call.campaign_id)
    if campaign is None:
        raise NotAuthorized("The call token is not valid.")
    return CallContext(call, campaign, conversation_id)


async def _live(uow: UnitOfWork, ctx: CallContext, now: datetime) -> tuple[CallTask, Campaign]:
    """Reload the call and campaign in this transaction, refuse if over, and mark the call as talking."""
    call = await uow.calls.get(ctx.call.id)
    campaign = await uow.campaigns.get(ctx.campaign.id)
    if call is None or campaign is None:
        raise NotAuthorized("The call token is not valid.")
    if not is_open_for(call, campaign):
        raise CallClosed(f"This call is over for NEXUS. {CLOSE_POLITELY}")
    changed = False
    if call.status is CallStatus.QUEUED:
        call.advance(CallStatus.DIALING, now)
    if call.status is CallStatus.DIALING:
        call.advance(CallStatus.IN_PROGRESS, now)
        changed = True
    if ctx.conversation_id and call.conversation_id != ctx.conversation_id and call.conversation_id is None:
        call.conversation_id = ctx.conversation_id
        changed = True
    if changed:
        await uow.calls.save(call)
        await calls_changed(uow, campaign.id, now, campaign.user_id)
    return call, campaign


# --- the user's busy time --------------------------------------------------------------------------


async def _busy(ports: Ports, uow: UnitOfWork, campaign: Campaign) -> list[TimeWindow]:
    """Booked appointments (with the buffer) inside the campaign's span, from our own database."""
    span = campaign.span
    booked = await uow.appointments.overlapping(campaign.user_id, span)
    return merge(widen((a.window for a in booked), ports.policy.buffer))


async def _calendar_busy(ports: Ports, campaign: Campaign) -> list[TimeWindow]:
    """Busy time from the user's own calendar; raises ``CalendarUnavailable`` (fail closed)."""
    return await ports.calendar.busy(campaign.user_id, campaign.span)


def _slot(campaign: Campaign, start: datetime, duration_minutes: int | None) -> TimeWindow:
    minutes = duration_minutes or campaign.duration_minutes
    return TimeWindow(start, start + timedelta(minutes=minutes))


def too_short(campaign: Campaign, slot: TimeWindow) -> str | None:
    """What to tell the agent when ``slot`` is shorter than the appointment needs, else ``None``."""
    needed = campaign.duration_minutes
    given = int(slot.duration.total_seconds() // 60)
    if given >= needed:
        return None
    return (
        f"The appointment needs {needed} minutes, but this slot is only {given}. Ask the receptionist for "
        f"{needed} minutes starting {slot_in_words(slot, campaign.timezone)}, or for another time with {needed} "
        "minutes free, and report that with duration_minutes "
        f"{needed}."
    )


def _open_windows(campaign: Campaign, now: datetime) -> list[TimeWindow]:
    """The campaign's windows from now on."""
    return [TimeWindow(max(w.start, now), w.end) for w in campaign.windows if w.end > now]


# --- check-availability ----------------------------------------------------------------------------


class AvailabilityStatus(enum.StrEnum):
    AVAILABLE = "available"
    CONFLICT = "conflict"
    SOFT_CONFLICT = "soft_conflict"
    OUTSIDE_WINDOW = "outside_window"
    CANNOT_VERIFY = "cannot_verify"
    TOO_SHORT = "too_short"


@dataclass(frozen=True, slots=True)
class Availability:
    status: AvailabilityStatus
    message: str
    slot: TimeWindow
    free_windows: list[TimeWindow] = field(default_factory=list)
    next_free: datetime | None = None


async def check_availability(
    ports: Ports, ctx: CallContext, start: datetime, duration_minutes: int | None = None
) -> Availability:
    """Would the user be free at ``start``? A free slot is held for this campaign while the calls go on."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[Campaign, list[TimeWindow]]:
        _, campaign = await _live(uow, ctx, now)
        return campaign, await _busy(ports, uow, campaign)

    campaign, busy = await in_transaction(ports.uow, work)
    slot = _slot(campaign, start, duration_minutes)
    tz, lang = campaign.timezone, "en"
    shortfall = too_short(campaign, slot)
    if shortfall is not None:
        return Availability(AvailabilityStatus.TOO_SHORT, shortfall, slot)
    windows = _open_windows(campaign, now)

    def answer(status: AvailabilityStatus, message: str, blocked: list[TimeWindow]) -> Availability:
        free = free_windows(windows, blocked, slot.duration)
        nxt = next_free_start(free, slot.duration, slot.start)
        hint = (
            f" The user is free {windows_in_words(free, tz, lang)}; the earliest fitting start after the asked "
            f"time is {slot_in_words(TimeWindow(nxt, nxt + slot.duration), tz, lang)}."
            if nxt
            else " No time inside the user's windows is free any more."
        )
        return Availability(status, message + hint, slot, free, nxt)

    try:
        calendar_busy: list[TimeWindow] | None = await _calendar_busy(ports, campaign)
    except CalendarUnavailable:
        calendar_busy = None
    # The free time suggested instead of a refused slot leaves out the calendar's busy time as well.
    busy = merge(busy + (calendar_busy or []))
    if slot.start < now:
        return answer(AvailabilityStatus.OUTSIDE_WINDOW, "That time has already passed.", busy)
    if not fits(slot, windows):
        return answer(
            AvailabilityStatus.OUTSIDE_WINDOW,
            f"{slot_in_words(slot, tz, lang)} is outside the times the user asked for.",
            busy,
        )
    if calendar_busy is None:
        return Availability(
            AvailabilityStatus.CANNOT_VERIFY,
            "I cannot check the user's calendar right now. Ask the receptionist to note the time, "
            "report it with report-slot-offer, and do not promise it.",
            slot,
        )
    if conflicts(slot, busy):
        return answer(AvailabilityStatus.CONFLICT, "The user is busy at that time. Ask for another time.", busy)
    hold = Hold(campaign.user_id, campaign.id, slot, now + ports.policy.hold_ttl)
    try:
        others = await ports.holds.acquire(hold, now)
    except DependencyUnavailable:
        return Availability(
            AvailabilityStatus.CANNOT_VERIFY,
            "I cannot reserve the time for the user right now. Ask the receptionist to note the time and "
            "report it with report-slot-offer, without promising it.",
            slot,
        )
    if others:
        return answer(
            AvailabilityStatus.SOFT_CONFLICT,
            "The user is tentatively holding that time for another appointment search. Prefer another time.",
            merge(busy + [h.window for h in others]),
        )
    return Availability(
        AvailabilityStatus.AVAILABLE,
        f"The user is free {slot_in_words(slot, tz, lang)} until {time_in_words(slot.end, tz)}. "
        "Ask the receptionist to keep it for us and report it with report-slot-offer.",
        slot,
        free_windows(windows, busy, slot.duration),
        slot.start,
    )


# --- report-slot-offer -----------------------------------------------------------------------------


class OfferAnswerStatus(enum.StrEnum):
    RECORDED = "recorded"
    REJECTED_CONFLICT = "rejected_conflict"
    REJECTED_OUTSIDE_WINDOW = "rejected_outside_window"
    REJECTED_TOO_SHORT = "rejected_too_short"
    CANNOT_VERIFY = "cannot_verify"


@dataclass(frozen=True, slots=True)
class OfferAnswer:
    status: OfferAnswerStatus
    message: str
    offer: Offer | None = None
    rank: int | None = None
    total: int | None = None


async def report_offer(
    ports: Ports, ctx: CallContext, start: datetime, duration_minutes: int | None = None, notes: str | None = None
) -> OfferAnswer:
    """Record a slot the provider offered, scored for the user; the same slot twice is the same offer."""
    now = ports.clock.now()
    try:
        calendar_busy = await _calendar_busy(ports, ctx.campaign)
    except CalendarUnavailable:
        return OfferAnswer(
            OfferAnswerStatus.CANNOT_VERIFY,
            "I cannot check the user's calendar right now, so I cannot take this offer. "
            f"Tell the receptionist we will call back. {CLOSE_POLITELY}",
        )

    async def work(uow: UnitOfWork) -> OfferAnswer:
        call, campaign = await _live(uow, ctx, now)
        slot = _slot(campaign, start, duration_minutes)
        tz = campaign.timezone
        existing = await uow.offers.find(call.id, slot.start)
        if existing is None:
            shortfall = too_short(campaign, slot)
            if shortfall is not None:
                return OfferAnswer(OfferAnswerStatus.REJECTED_TOO_SHORT, shortfall)
            if slot.start < now or not fits(slot, campaign.windows):
                return OfferAnswer(
                    OfferAnswerStatus.REJECTED_OUTSIDE_WINDOW,
                    f"{slot_in_words(slot, tz)} is outside the times the user asked for "
                    f"({windows_in_words(campaign.windows, tz)}). Ask for a time inside them.",
                )
            busy = merge(await _busy(ports, uow, campaign) + calendar_busy)
            if conflicts(slot, busy):
                free = free_windows(_open_windows(campaign, now), busy, slot.duration)
                return OfferAnswer(
                    OfferAnswerStatus.REJECTED_CONFLICT,
                    f"The user is busy at {slot_in_words(slot, tz)}. "
                    f"Ask for a time when the user is free: {windows_in_words(free, tz)}.",
                )
            existing = _score_offer(campaign, call, slot, notes, now)
            # Read before the writes: it is a read ahead of the transaction, not one more statement inside it.
            position, total = await uow.offers.standing(existing)
            await uow.offers.add(existing)
            await calls_changed(uow, campaign.id, now, campaign.user_id)
        else:
            position, total = await uow.offers.standing(existing)
        return OfferAnswer(
            OfferAnswerStatus.RECORDED,
            f"Offer recorded: {slot_in_words(existing.window, tz)} is number {position} of {total} so far. "
            "If a time earlier in the user's windows could fit, you may ask for it; otherwise "
            f"tell the receptionist we will call back to confirm. {CLOSE_POLITELY}",
            existing,
            position,
            total,
        )

    return await in_transaction(ports.uow, work)


def _score_offer(campaign: Campaign, call: CallTask, slot: TimeWindow, notes: str | None, now: datetime) -> Offer:
    provider = call.provider
    distance = campaign.location.distance_km(provider.location)
    score = score_slot(slot.start, campaign.span, provider.rating, distance, campaign.radius_km, campaign.weights)
    return Offer(
        campaign_id=campaign.id,
        call_task_id=call.id,
        provider_id=provider.id,
        provider_name=provider.name,
        start=slot.start,
        end=slot.end,
        score=score.total,
        rating=provider.rating,
        distance_km=distance,  # rounded only where shown: rounding twice can shift the last digit shown
        created_at=now,
        notes=(notes or None) and notes[:500],
    )


# --- book-slot -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingAnswer:
    appointment: Appointment
    message: str


async def book_slot(ports: Ports, ctx: CallContext, start: datetime) -> BookingAnswer:
    """Book the slot the user chose, in a confirmation call only. Booking twice returns the same booking, also
    when the two requests arrive at once (the database lets one booking per offer through)."""
    if ctx.call.purpose is CallPurpose.RESCHEDULE:
        from domain.services.reschedule import move_booked

        return await move_booked(ports, ctx, start)
    if ctx.call.purpose is not CallPurpose.CONFIRM:
        raise NotAllowed(
            "The user has not chosen yet, so nothing may be booked in this call; report the offer instead "
            "with report-slot-offer."
        )
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[Appointment, bool]:
        offer = await uow.offers.get(ctx.call.target_offer_id or "")
        if offer is None:
            raise NotFound("The chosen offer no longer exists.")
        already = await uow.appointments.get_by_offer(offer.id)
        if already is not None and already.status is AppointmentStatus.BOOKED:
            return already, False
        call, campaign = await _live(uow, ctx, now)
        if start != offer.start:
            tz = campaign.timezone
            raise NotAllowed(
                f"The user chose {slot_in_words(offer.window, tz)}; book exactly that time, not "
                f"{slot_in_words(TimeWindow(start, start + offer.window.duration), tz)}."
            )
        appointment = Appointment(
            user_id=campaign.user_id,
            campaign_id=campaign.id,
            offer_id=offer.id,
            provider=call.provider,
            start=offer.start,
            end=offer.end,
            created_at=now,
        )
        await uow.appointments.add(appointment)  # the database refuses an overlap: SlotConflict
        offer.status = OfferStatus.BOOKED
        await uow.offers.save(offer)
        campaign.transition(CampaignStatus.CONFIRMED, now)
        await uow.campaigns.save(campaign)
        await uow.outbox.add(campaign.user_id, Booked(campaign, appointment), now)
        await add_reminders(uow, ports, appointment, now)
        return appointment, True

    try:
        appointment, new = await in_transaction(ports.uow, work)
    except (SlotConflict, CallClosed) as exc:
        # The overlap may be this very offer, booked by an identical request a moment earlier: the same booking.
        # So may a call that closed in the meantime (that booking confirmed the campaign).
        async with ports.uow() as uow:
            same = await uow.appointments.get_by_offer(ctx.call.target_offer_id or "")
        if same is None or same.status is not AppointmentStatus.BOOKED:
            if isinstance(exc, CallClosed):
                raise
            raise SlotConflict(
                f"The user already has an appointment that overlaps this time, so it cannot be booked. ({exc}) "
                "Apologise, do not book, and end the call."
            ) from exc
        appointment, new = same, False
    if new:
        await _after_booking(ports, appointment)
    tz = ctx.campaign.timezone
    return BookingAnswer(
        appointment,
        f"Booked: {appointment.provider.name}, {slot_in_words(appointment.window, tz)}. "
        f"Confirm the time with the receptionist, then end the call with outcome booked. {CLOSE_POLITELY}",
    )


async def _after_booking(ports: Ports, appointment: Appointment) -> None:
    from domain.services.watch import after_booking

    await release_holds(ports, appointment.user_id, appointment.campaign_id)
    await put_in_calendar(ports, appointment)
    async with ports.uow() as uow:
        open_calls = [c for c in await uow.calls.list_for_campaign(appointment.campaign_id) if not c.status.is_ended]
    # Discovery calls still running for this campaign have nothing left to do.
    stragglers = [c for c in open_calls if c.purpose is CallPurpose.DISCOVER]
    for call in stragglers:
        await end_call_task(ports, call.id, CallStatus.CANCELLED, reason="The user booked elsewhere.")
    await hang_up_all(ports, stragglers)
    await after_booking(ports, appointment)  # a swap or a new time: only now is the old appointment cancelled


# --- end-call --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndAnswer:
    call: CallTask
    message: str


async def end_call(
    ports: Ports,
    ctx: CallContext,
    outcome: CallOutcome,
    summary: str | None = None,
    call_back_at: datetime | None = None,
    *,
    earliest_free: datetime | None = None,
) -> EndAnswer:
    """The agent is done; the last call of a campaign to end moves the campaign on. ``call_back_at``: with
    ``call_back_later``, when the desk asked to be called again. An ``opted_out`` practice is never called
    again; ``earliest_free`` (the practice has nothing free before it) is shared knowledge."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> CallTask:
        call = await uow.calls.get(ctx.call.id)
        if call is None:
            raise NotAuthorized("The call token is not valid.")
        if call.status.is_ended:
            raise CallClosed(f"This call has already ended. {CLOSE_POLITELY}")
        if call.status is CallStatus.QUEUED:
            call.advance(CallStatus.DIALING, now)
        if ctx.conversation_id and call.conversation_id is None:
            call.conversation_id = ctx.conversation_id
        call.end(CallStatus.COMPLETED, now, outcome=outcome, summary=(summary or None) and summary[:2000])
        if outcome is CallOutcome.CALL_BACK_LATER and call_back_at is not None and call_back_at > now:
            call.call_back_at = call_back_at
        await uow.calls.save(call)
        await note_call_end(uow, call, now, ports.policy.fact_ttl, campaign=ctx.campaign, earliest_free=earliest_free)
        await calls_changed(uow, call.campaign_id, now, ctx.campaign.user_id)
        return call

    call = await in_transaction(ports.uow, work)
    await after_call_ended(ports, call)
    return EndAnswer(call, "The call is closed on our side. Say goodbye and hang up.")


# --- get-distance ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistanceAnswer:
    known: bool
    message: str
    km: float | None = None


async def get_distance(ports: Ports, ctx: CallContext, address: str | None = None) -> DistanceAnswer:
    """How far the provider (or an address the receptionist named) is from where the user searched."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[CallTask, Campaign]:
        return await _live(uow, ctx, now)

    call, campaign = await in_transaction(ports.uow, work)
    origin = campaign.location
    target: GeoPoint | None = call.provider.location
    what = call.provider.name
    if address:
        what = address
        target = None
        if ports.geocoder is None:
            return DistanceAnswer(False, f"I cannot look up addresses now, so the distance to {address} is unknown.")
        try:
            target = await ports.geocoder.geocode(address, near=origin)
        except DependencyUnavailable:
            target = None
    if target is None:
        return DistanceAnswer(False, f"I could not find {address}, so the distance is unknown.")
    km = round(origin.distance_km(target), 2)
    place = origin.label or "where the user searched"
    return DistanceAnswer(True, f"{what} is {km:.1f} km from {place} in a straight line.", km)
