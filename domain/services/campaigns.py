"""A campaign from request to shortlist: create it, find providers, dial them, settle when calls end."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import (
    DependencyUnavailable,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
)
from domain.models import (
    MAX_CALLS_PER_CAMPAIGN,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    GeoPoint,
    Offer,
    OfferStatus,
    Provider,
    TimeWindow,
    Turn,
    User,
    Weights,
    new_id,
)
from domain.notifications import (
    CallsChanged,
    CampaignCancelled,
    CampaignFailed,
    ShortlistReady,
    SlotGone,
)
from domain.ports import CallRequest, UnitOfWork
from domain.scoring import rank
from domain.services.context import Ports
from domain.services.tokens import hash_token, new_call_token
from domain.services.transactions import in_transaction
from domain.wording import failure_reason

log = logging.getLogger(__name__)

_OPEN_FOR_DISCOVERY = frozenset({CampaignStatus.DIALING, CampaignStatus.NEGOTIATING})


@dataclass(frozen=True, slots=True)
class StartCampaign:
    """Command: look for ``service`` in ``windows`` near ``location`` for ``user_id``."""

    user_id: int
    service: str
    windows: list[TimeWindow]
    location: GeoPoint
    request_text: str = ""
    language: str = "en"
    duration_minutes: int = 30
    radius_km: float | None = None
    weights: Weights | None = None
    max_calls: int = MAX_CALLS_PER_CAMPAIGN
    timezone: str | None = None
    campaign_id: str | None = None  # chosen by the caller only for reproducible simulations


# --- users -----------------------------------------------------------------------------------------


async def get_or_create_user(ports: Ports, user_id: int, **defaults: object) -> User:
    """The user's profile, created with ``defaults`` on first contact."""

    async def work(uow: UnitOfWork) -> User:
        user = await uow.users.get(user_id)
        if user is None:
            user = User(id=user_id, **defaults)  # type: ignore[arg-type]
            await uow.users.save(user)
        return user

    return await in_transaction(ports.uow, work)


async def save_user(ports: Ports, user: User) -> None:
    async def work(uow: UnitOfWork) -> None:
        await uow.users.save(user)

    await in_transaction(ports.uow, work)


# --- creating and running --------------------------------------------------------------------------


async def create_campaign(ports: Ports, command: StartCampaign) -> Campaign:
    """Store a new campaign in ``CREATED``; refuses when the user is over the hourly quota."""
    now = ports.clock.now()
    if not command.service:
        raise InvalidRequest("Tell me which kind of provider to call.")
    windows = [w for w in command.windows if w.end > now]
    if not windows:
        raise InvalidRequest("Every time you gave is already in the past.")

    async def work(uow: UnitOfWork) -> Campaign:
        user = await uow.users.get(command.user_id) or User(id=command.user_id)
        recent = await uow.campaigns.count_created_since(command.user_id, now - timedelta(hours=1))
        if recent >= ports.policy.campaigns_per_hour:
            raise QuotaExceeded(
                f"You have started {recent} searches in the last hour, the most I run per hour. "
                "Please try again a little later."
            )
        campaign = Campaign(
            id=command.campaign_id or new_id(),
            user_id=command.user_id,
            service=command.service,
            windows=windows,
            location=command.location,
            timezone=command.timezone or user.timezone,
            created_at=now,
            deadline_at=now + ports.policy.campaign_deadline,
            request_text=command.request_text,
            language=command.language,
            duration_minutes=command.duration_minutes,
            radius_km=command.radius_km or user.radius_km,
            weights=(command.weights or user.weights).normalised(),
            max_calls=min(command.max_calls, ports.policy.calls_per_campaign),
            updated_at=now,
        )
        await uow.users.save(user)
        await uow.campaigns.add(campaign)
        return campaign

    return await in_transaction(ports.uow, work)


async def run_campaign(ports: Ports, campaign_id: str) -> Campaign:
    """Find providers and place one call to each; returns once every call is placed (not answered).

    What happens next arrives through the tool endpoints: the last call to end settles the campaign.
    """
    campaign = await _transition(ports, campaign_id, CampaignStatus.PROVIDER_LOOKUP)
    try:
        providers = await ports.directory.search(
            campaign.service, campaign.location, campaign.radius_km, campaign.max_calls
        )
    except DependencyUnavailable as exc:
        log.warning("provider search for campaign %s failed: %s", campaign_id, exc)
        return await fail_campaign(ports, campaign_id, failure_reason("search_failed", campaign.language))
    if not providers:
        place = campaign.location.label or ("deinem Ort" if campaign.language == "de" else "your location")
        reason = failure_reason(
            "no_providers", campaign.language, service=campaign.service, radius=f"{campaign.radius_km:g}", place=place
        )
        return await fail_campaign(ports, campaign_id, reason)
    tokens = await _create_calls(ports, campaign_id, providers, CallPurpose.DISCOVER)
    campaign = await _get_campaign(ports, campaign_id)
    if campaign.status is not CampaignStatus.DIALING:
        return campaign  # cancelled while we looked providers up
    await dial(ports, campaign, tokens)
    await _advance_after_dialing(ports, campaign_id)
    await settle_campaign(ports, campaign_id)
    return await _get_campaign(ports, campaign_id)


def new_call(
    ports: Ports,
    campaign_id: str,
    provider: Provider,
    purpose: CallPurpose,
    now: datetime,
    *,
    target_offer_id: str | None = None,
    target_appointment_id: str | None = None,
) -> tuple[CallTask, str]:
    """A call task and its plain secret token: only the gateway ever sees the token, the call keeps its hash."""
    token = new_call_token()
    call = CallTask(
        campaign_id=campaign_id,
        provider=provider,
        purpose=purpose,
        token_hash=hash_token(token),
        created_at=now,
        timeout_at=now + ports.policy.call_timeout,
        target_offer_id=target_offer_id,
        target_appointment_id=target_appointment_id,
    )
    return call, token


async def _create_calls(
    ports: Ports, campaign_id: str, providers: list[Provider], purpose: CallPurpose
) -> dict[str, str]:
    """Create one call task per provider and move the campaign to ``DIALING``; returns call id -> token."""
    now = ports.clock.now()
    tokens: dict[str, str] = {}

    async def work(uow: UnitOfWork) -> None:
        tokens.clear()
        campaign = await _require_campaign(uow, campaign_id)
        campaign.transition(CampaignStatus.DIALING, now)
        await uow.campaigns.save(campaign)
        for provider in providers:
            call, token = new_call(ports, campaign_id, provider, purpose, now)
            await uow.calls.add(call)
            tokens[call.id] = token

    await in_transaction(ports.uow, work)
    return tokens


async def dial(ports: Ports, campaign: Campaign, tokens: dict[str, str], target: TimeWindow | None = None) -> None:
    """Place the calls in ``tokens`` at once; a call that cannot be placed fails alone."""
    async with ports.uow() as uow:
        calls = [c for c in await uow.calls.list_for_campaign(campaign.id) if c.id in tokens]
    await asyncio.gather(*(_place(ports, campaign, call, tokens[call.id], target) for call in calls))


async def _place(ports: Ports, campaign: Campaign, call: CallTask, token: str, target: TimeWindow | None) -> None:
    now = ports.clock.now()

    async def mark_dialing(uow: UnitOfWork) -> bool:
        fresh = await uow.calls.get(call.id)
        if fresh is None or fresh.status is not CallStatus.QUEUED:
            return False
        fresh.advance(CallStatus.DIALING, now)
        await uow.calls.save(fresh)
        await calls_changed(uow, campaign.id, now, campaign.user_id)
        return True

    if not await in_transaction(ports.uow, mark_dialing):
        return
    try:
        request = CallRequest(call=call, campaign=campaign, token=token, target_slot=target)
        placed = await ports.voice.place_call(request)
    except DependencyUnavailable as exc:
        log.warning("call %s could not be placed: %s", call.id, exc)
        await end_call_task(ports, call.id, CallStatus.FAILED, reason=f"The call could not be placed: {exc}")
        return

    async def remember(uow: UnitOfWork) -> None:
        fresh = await uow.calls.get(call.id)
        if fresh is not None and (placed.conversation_id or placed.call_sid):
            fresh.conversation_id = fresh.conversation_id or placed.conversation_id
            fresh.call_sid = fresh.call_sid or placed.call_sid
            await uow.calls.save(fresh)

    await in_transaction(ports.uow, remember)


async def _advance_after_dialing(ports: Ports, campaign_id: str) -> None:
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> None:
        campaign = await _require_campaign(uow, campaign_id)
        if campaign.status is CampaignStatus.DIALING:
            campaign.transition(CampaignStatus.NEGOTIATING, now)
            await uow.campaigns.save(campaign)

    await in_transaction(ports.uow, work)


# --- calls ending and the campaign moving on -------------------------------------------------------


async def end_call_task(
    ports: Ports,
    call_id: str,
    status: CallStatus,
    reason: str | None = None,
    summary: str | None = None,
) -> CallTask | None:
    """End a call that is still open (no answer, busy, failed, timed out); an ended call is left alone.
    Settles its campaign afterwards."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> CallTask | None:
        call = await uow.calls.get(call_id)
        if call is None or call.status.is_ended:
            return None
        call.end(status, now, summary=summary, reason=reason)
        await uow.calls.save(call)
        await calls_changed(uow, call.campaign_id, now)
        return call

    call = await in_transaction(ports.uow, work)
    if call is not None:
        await after_call_ended(ports, call)
    return call


async def record_transcript(ports: Ports, call_id: str, turns: list[Turn], summary: str | None = None) -> None:
    """Store what was said in a call (and the agent's summary), whether or not the call has ended."""

    async def work(uow: UnitOfWork) -> None:
        call = await uow.calls.get(call_id)
        if call is None:
            return
        call.transcript = list(turns)
        if summary:
            call.summary = summary
        await uow.calls.save(call)

    await in_transaction(ports.uow, work)


async def after_call_ended(ports: Ports, call: CallTask) -> None:
    """What a call's end means: for discovery, maybe the shortlist; for confirmation, maybe a lost slot.

    The transaction that ended the call queued the live view's refresh (``calls_changed``)."""
    ports.voice.call_ended(call.id)
    if call.purpose is CallPurpose.CANCEL:
        from domain.services.appointments import settle_cancellation

        await settle_cancellation(ports, call)
        return
    await settle_campaign(ports, call.campaign_id)


async def settle_campaign(ports: Ports, campaign_id: str, deadline_passed: bool = False) -> None:
    """Move the campaign on when its calls allow it. Safe to run from any process, any number of times."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> bool:
        campaign = await _require_campaign(uow, campaign_id)
        calls = await uow.calls.list_for_campaign(campaign_id)
        offers = await uow.offers.list_for_campaign(campaign_id)
        if campaign.status in _OPEN_FOR_DISCOVERY:
            discovering = [c for c in calls if c.purpose is CallPurpose.DISCOVER]
            if not deadline_passed and any(not c.status.is_ended for c in discovering):
                return False
            if campaign.status is CampaignStatus.DIALING and not deadline_passed:
                return False  # still placing calls; the dialer settles when it is done
            shortlist = shortlist_of(offers, ports.policy.shortlist_size)
            if shortlist:
                if campaign.status is CampaignStatus.DIALING:
                    campaign.transition(CampaignStatus.NEGOTIATING, now)
                campaign.transition(CampaignStatus.RANKING, now)
                await uow.outbox.add(campaign.user_id, ShortlistReady(campaign, shortlist), now)
            else:
                campaign.transition(CampaignStatus.FAILED, now, _no_offer_reason(campaign, discovering))
                await uow.outbox.add(campaign.user_id, CampaignFailed(campaign), now)
            await uow.campaigns.save(campaign)
            return True
        elif campaign.status is CampaignStatus.CONFIRMING:
            confirm = _current_confirmation(campaign, calls)
            if confirm is None or not confirm.status.is_ended:
                return False
            chosen = next((o for o in offers if o.id == campaign.chosen_offer_id), None)
            if chosen is None or chosen.status is OfferStatus.BOOKED:
                return False
            chosen.status = OfferStatus.UNAVAILABLE
            await uow.offers.save(chosen)
            campaign.chosen_offer_id = None
            campaign.transition(CampaignStatus.RANKING, now)
            remaining = shortlist_of(offers, ports.policy.shortlist_size)
            if remaining:
                await uow.outbox.add(campaign.user_id, SlotGone(campaign, chosen, remaining), now)
            else:
                reason = failure_reason("slot_gone", campaign.language, provider=chosen.provider_name)
                campaign.transition(CampaignStatus.FAILED, now, reason)
                await uow.outbox.add(campaign.user_id, SlotGone(campaign, chosen, []), now)
            await uow.campaigns.save(campaign)
            return True
        return False

    if await in_transaction(ports.uow, work):
        await _release_holds_if_done(ports, campaign_id)


def _current_confirmation(campaign: Campaign, calls: list[CallTask]) -> CallTask | None:
    confirms = [c for c in calls if c.purpose is CallPurpose.CONFIRM and c.target_offer_id == campaign.chosen_offer_id]
    return confirms[-1] if confirms else None


def _no_offer_reason(campaign: Campaign, calls: list[CallTask]) -> str:
    total = len(calls)
    unanswered = sum(1 for c in calls if c.status in (CallStatus.NO_ANSWER, CallStatus.BUSY))
    # A call counts as reached once someone picked up, even if the deadline cut it short afterwards.
    reached = sum(1 for c in calls if c.status is CallStatus.COMPLETED or c.started_at is not None)
    if unanswered == total:
        return failure_reason("nobody_answered", campaign.language, total=total)
    if reached == 0:
        return failure_reason("no_offer", campaign.language, total=total)
    return failure_reason("nothing_fits", campaign.language, reached=reached, total=total)


def shortlist_of(offers: list[Offer], size: int) -> list[Offer]:
    """The best open offer of each provider, best first, at most ``size``."""
    best: dict[str, Offer] = {}
    for offer in rank(o for o in offers if o.status in (OfferStatus.OFFERED, OfferStatus.CHOSEN)):
        best.setdefault(offer.provider_id, offer)
    return rank(best.values())[:size]


async def get_shortlist(ports: Ports, campaign_id: str) -> list[Offer]:
    async with ports.uow() as uow:
        offers = await uow.offers.list_for_campaign(campaign_id)
    return shortlist_of(offers, ports.policy.shortlist_size)


async def calls_changed(uow: UnitOfWork, campaign_id: str, now: datetime, user_id: int | None = None) -> None:
    """Queue a refresh of the campaign's live view in this transaction (it is drawn at delivery, so a
    burst of changes becomes one edit). ``user_id`` saves reading the campaign when the caller knows it."""
    if user_id is None:
        campaign = await uow.campaigns.get(campaign_id)
        if campaign is None:
            return
        user_id = campaign.user_id
    await uow.outbox.add(user_id, CallsChanged(campaign_id), now)


# --- cancelling and failing ------------------------------------------------------------------------


async def cancel_campaign(ports: Ports, user_id: int, campaign_id: str) -> Campaign:
    """Stop a running campaign: calls are hung up, holds released. Cancelling twice is harmless."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[Campaign, list[CallTask], bool]:
        campaign = await _require_campaign(uow, campaign_id)
        if campaign.user_id != user_id:
            raise NotFound("That search does not exist.")
        if campaign.status is CampaignStatus.CANCELLED:
            return campaign, [], False
        if campaign.status.is_terminal:
            raise IllegalTransition(f"That search has already ended ({campaign.status.lower()}).")
        campaign.transition(CampaignStatus.CANCELLED, now)
        await uow.campaigns.save(campaign)
        await uow.outbox.add(campaign.user_id, CampaignCancelled(campaign), now)
        stopped = []
        for call in await uow.calls.list_for_campaign(campaign_id):
            if not call.status.is_ended:
                call.end(CallStatus.CANCELLED, now, reason="The search was cancelled.")
                await uow.calls.save(call)
                stopped.append(call)
        return campaign, stopped, True

    campaign, stopped, cancelled_now = await in_transaction(ports.uow, work)
    if cancelled_now:
        await hang_up_all(ports, stopped)
        await release_holds(ports, campaign.user_id, campaign.id)
    return campaign


async def hang_up_all(ports: Ports, calls: list[CallTask]) -> None:
    """Hang up calls; a gateway failure is logged, never raised (the call is over for us either way)."""

    async def one(call: CallTask) -> None:
        try:
            await ports.voice.hang_up(call)
        except DependencyUnavailable as exc:
            log.warning("could not hang up call %s: %s", call.id, exc)

    await asyncio.gather(*(one(c) for c in calls))


async def fail_campaign(ports: Ports, campaign_id: str, reason: str) -> Campaign:
    """End the campaign ``FAILED`` with ``reason`` (a sentence for the user), unless it already ended."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> Campaign:
        campaign = await _require_campaign(uow, campaign_id)
        if not campaign.status.is_terminal:
            campaign.transition(CampaignStatus.FAILED, now, reason)
            await uow.campaigns.save(campaign)
            await uow.outbox.add(campaign.user_id, CampaignFailed(campaign), now)
        return campaign

    return await in_transaction(ports.uow, work)


async def release_holds(ports: Ports, user_id: int, campaign_id: str) -> None:
    """Give back the campaign's holds; when the hold store is down they simply expire."""
    try:
        await ports.holds.release_campaign(user_id, campaign_id)
    except DependencyUnavailable as exc:
        log.warning("holds of campaign %s not released now (they expire): %s", campaign_id, exc)


async def _release_holds_if_done(ports: Ports, campaign_id: str) -> None:
    campaign = await _get_campaign(ports, campaign_id)
    if campaign.status.is_terminal:
        await release_holds(ports, campaign.user_id, campaign_id)


# --- small helpers ---------------------------------------------------------------------------------


async def _transition(ports: Ports, campaign_id: str, target: CampaignStatus) -> Campaign:
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> Campaign:
        campaign = await _require_campaign(uow, campaign_id)
        campaign.transition(target, now)
        await uow.campaigns.save(campaign)
        return campaign

    return await in_transaction(ports.uow, work)


async def _require_campaign(uow: UnitOfWork, campaign_id: str) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFound("That search does not exist.")
    return campaign


async def _get_campaign(ports: Ports, campaign_id: str) -> Campaign:
    async with ports.uow() as uow:
        return await _require_campaign(uow, campaign_id)


def is_open_for(call: CallTask, campaign: Campaign) -> bool:
    """Whether an agent in ``call`` may still act: the call is open and its campaign still wants it."""
    if call.status.is_ended:
        return False
    if call.purpose is CallPurpose.DISCOVER:
        return campaign.status in (CampaignStatus.DIALING, CampaignStatus.NEGOTIATING, CampaignStatus.RANKING)
    if call.purpose is CallPurpose.CONFIRM:
        return campaign.status is CampaignStatus.CONFIRMING and campaign.chosen_offer_id == call.target_offer_id
    return True
