"""A campaign from request to shortlist: create it, find providers, dial them, settle when calls end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
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
    CallOutcome,
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
    ConfirmationRetrying,
    ShortlistReady,
    SlotGone,
    TranscriptChanged,
)
from domain.ports import CallRequest, UnitOfWork
from domain.scoring import rank
from domain.services.citizenship import choose_providers
from domain.services.context import Policy, Ports
from domain.services.costs import check_minutes_left
from domain.services.fanout import first_wave, next_wave
from domain.services.grounding import ground_call_offers
from domain.services.provider_gate import Skipped, SkipReason, passed_over, skip_note, was_skipped
from domain.services.scheduling import first_call_time, retry_call_id, retry_time
from domain.services.tokens import hash_token, new_call_token
from domain.services.transactions import in_transaction
from domain.wording import failure_reason, service_in_words

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
    answers: dict[str, str] | None = None  # the expert's questions answered before calling


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
        timezone = command.timezone or user.timezone
        await check_minutes_left(uow, ports.policy, command.user_id, now, timezone, command.language)
        campaign = Campaign(
            id=command.campaign_id or new_id(),
            user_id=command.user_id,
            service=command.service,
            windows=windows,
            location=command.location,
            timezone=timezone,
            created_at=now,
            deadline_at=now + ports.policy.campaign_deadline,
            request_text=command.request_text,
            language=command.language,
            duration_minutes=command.duration_minutes,
            radius_km=command.radius_km or user.radius_km,
            weights=(command.weights or user.weights).normalised(),
            max_calls=min(command.max_calls, ports.policy.calls_per_campaign),
            updated_at=now,
            answers=dict(command.answers or {}),
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
            campaign.service, campaign.location, campaign.radius_km, campaign.max_calls + ports.policy.spare_providers
        )
    except DependencyUnavailable as exc:
        log.warning("provider search for campaign %s failed: %s", campaign_id, exc)
        return await fail_campaign(ports, campaign_id, failure_reason("search_failed", campaign.language))
    if not providers:
        place = campaign.location.label or ("deinem Ort" if campaign.language == "de" else "your location")
        reason = failure_reason(
            "no_providers",
            campaign.language,
            service=service_in_words(campaign.service, campaign.language, count=2),
            radius=f"{campaign.radius_km:g}",
            place=place,
        )
        return await fail_campaign(ports, campaign_id, reason)
    # Opted out, over its call budget or known to be full: the next provider in the ranking is called instead.
    # The fan-out then orders what the gate allows (adaptive: a first wave now, the rest kept for later waves).
    chosen = await choose_providers(ports, campaign, providers)
    calling, reserve = first_wave(
        chosen.call, campaign, ports.clock.now(), ports.policy.fan_out, ports.policy.fan_out_wave
    )
    tokens = await _create_calls(ports, campaign_id, calling, CallPurpose.DISCOVER, reserve, chosen.skipped)
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
    ports: Ports,
    campaign_id: str,
    providers: list[Provider],
    purpose: CallPurpose,
    reserve: list[Provider] | None = None,
    skipped: Sequence[Skipped] = (),
) -> dict[str, str]:
    """Create one call task per provider and move the campaign to ``DIALING``; returns call id -> token of
    the calls to place now. A provider closed now gets a call scheduled for when it opens (the sweep dials
    it), or, when it opens only after the deadline, a call that ends ``closed`` without being dialled.
    ``reserve``: the providers an adaptive fan-out keeps for later waves; ``skipped``: providers the gate
    passed over, stored as calls never dialled so every view can say why."""
    now = ports.clock.now()
    tokens: dict[str, str] = {}

    async def work(uow: UnitOfWork) -> None:
        tokens.clear()
        campaign = await _require_campaign(uow, campaign_id)
        campaign.transition(CampaignStatus.DIALING, now)
        campaign.reserve = list(reserve or [])
        await uow.campaigns.save(campaign)
        for provider in providers:
            call, token = new_call(ports, campaign_id, provider, purpose, now)
            when = first_call_time(provider, now, campaign.deadline_at, campaign.timezone)
            if when is None:
                call.end(CallStatus.CANCELLED, now, CallOutcome.CLOSED, reason=CLOSED_UNTIL_DEADLINE)
            elif when > now:
                _schedule(ports, call, when)
            else:
                tokens[call.id] = token
            await uow.calls.add(call)
        for skip in skipped:  # never dialled; stored so the live view says why
            call, _ = new_call(ports, campaign_id, skip.provider, purpose, now)
            outcome = CallOutcome.OPTED_OUT if skip.reason is SkipReason.OPTED_OUT else CallOutcome.SKIPPED
            call.end(CallStatus.CANCELLED, now, outcome, reason=skip_note(skip))
            await uow.calls.add(call)

    await in_transaction(ports.uow, work)
    return tokens


async def dial(ports: Ports, campaign: Campaign, tokens: dict[str, str], target: TimeWindow | None = None) -> None:
    """Place the calls in ``tokens`` at once; a call that cannot be placed fails alone."""
    async with ports.uow() as uow:
        calls = [c for c in await uow.calls.list_for_campaign(campaign.id) if c.id in tokens]
    await asyncio.gather(*(_place(ports, campaign, call, tokens[call.id], target) for call in calls))


async def _place(ports: Ports, campaign: Campaign, call: CallTask, token: str, target: TimeWindow | None) -> None:
    """Dial one call once it has a place under the provider's limit (waiting for one rather than failing)."""

    async def mark_dialing(uow: UnitOfWork) -> bool:
        fresh = await uow.calls.get(call.id)
        if fresh is None or fresh.status is not CallStatus.QUEUED:
            return False
        now = ports.clock.now()
        fresh.advance(CallStatus.DIALING, now)
        await uow.calls.save(fresh)
        await calls_changed(uow, campaign.id, now, campaign.user_id)
        return True

    if not await _take_slot(ports, call):
        return
    try:
        if not await in_transaction(ports.uow, mark_dialing):
            await ports.slots.release(call.id)  # ended (cancelled, timed out) while it waited for a place
            return
    except BaseException:
        await ports.slots.release(call.id)
        raise
    await _start_call(ports, campaign, call, token, target)


async def _place_claimed(ports: Ports, campaign: Campaign, call: CallTask, token: str) -> None:
    """Dial a scheduled call this process claimed (already ``DIALING``) once it has a place under the limit."""
    if not await _take_slot(ports, call):
        return
    async with ports.uow() as uow:
        fresh = await uow.calls.get(call.id)
    if fresh is None or fresh.status.is_ended:  # ended (cancelled, timed out) while it waited for a place
        await ports.slots.release(call.id)
        return
    await _start_call(ports, campaign, call, token, None)


async def _take_slot(ports: Ports, call: CallTask) -> bool:
    """Wait for a place for ``call``; when the slots cannot be reached the call fails alone."""
    try:
        await ports.slots.acquire(call.id)
    except DependencyUnavailable as exc:
        log.warning("call %s got no call slot: %s", call.id, exc)
        await end_call_task(ports, call.id, CallStatus.FAILED, reason=f"The call could not be placed: {exc}")
        return False
    return True


async def _start_call(ports: Ports, campaign: Campaign, call: CallTask, token: str, target: TimeWindow | None) -> None:
    """Hand a call marked ``DIALING`` and holding a place to the voice gateway and remember what it says."""
    try:
        request = CallRequest(call=call, campaign=campaign, token=token, target_slot=target)
        placed = await ports.voice.place_call(request)
    except DependencyUnavailable as exc:
        log.warning("call %s could not be placed: %s", call.id, exc)
        await ports.slots.release(call.id)
        await end_call_task(ports, call.id, CallStatus.FAILED, reason=f"The call could not be placed: {exc}")
        return
    except BaseException:
        await ports.slots.release(call.id)
        raise

    async def remember(uow: UnitOfWork) -> CallTask | None:
        fresh = await uow.calls.get(call.id)
        if fresh is None:
            return None
        if placed.conversation_id or placed.call_sid:
            fresh.conversation_id = fresh.conversation_id or placed.conversation_id
            fresh.call_sid = fresh.call_sid or placed.call_sid
            await uow.calls.save(fresh)
        return fresh

    fresh = await in_transaction(ports.uow, remember)
    if fresh is not None and fresh.status is CallStatus.CANCELLED:
        # Cancelled while the provider was still placing it: stop it now that it can be stopped.
        await hang_up_all(ports, [fresh])


# --- calls for later: closed providers and voicemail boxes ----------------------------------------

CLOSED_UNTIL_DEADLINE = "The provider is closed until after the search's deadline, so it was not called."


def _schedule(ports: Ports, call: CallTask, when: datetime) -> None:
    call.not_before = when
    call.timeout_at = when + ports.policy.call_timeout


async def dial_due_calls(ports: Ports) -> int:
    """Place every scheduled call whose time has come; returns how many were placed.

    Each call is claimed in its own transaction (``QUEUED -> DIALING`` with a fresh token, the old one was
    never handed out), so two processes sweeping at once place it once; a process dying after the claim
    leaves a ``DIALING`` call that its timeout ends.
    """
    now = ports.clock.now()
    async with ports.uow() as uow:
        due = await uow.calls.list_due(now)
    claimed = [c for c in [await _claim_scheduled(ports, call.id, now) for call in due] if c is not None]
    await asyncio.gather(*(_place_claimed(ports, campaign, call, token) for call, campaign, token in claimed))
    return len(claimed)


async def _claim_scheduled(ports: Ports, call_id: str, now: datetime) -> tuple[CallTask, Campaign, str] | None:
    stale: list[CallTask] = []

    async def work(uow: UnitOfWork) -> tuple[CallTask, Campaign, str] | None:
        stale.clear()
        call = await uow.calls.get(call_id)
        if call is None or call.status is not CallStatus.QUEUED or call.not_before is None or call.not_before > now:
            return None
        campaign = await _require_campaign(uow, call.campaign_id)
        await calls_changed(uow, campaign.id, now, campaign.user_id)  # whichever way it goes, the view changes
        if campaign.deadline_at <= now:  # nobody swept in time: placing it now would only be hung up
            call.end(CallStatus.FAILED, now, reason="The search reached its deadline.")
            await uow.calls.save(call)
            stale.append(call)
            return None
        if not is_open_for(call, campaign) or campaign.status is CampaignStatus.RANKING:
            call.end(CallStatus.CANCELLED, now, reason="The search moved on before this call was due.")
            await uow.calls.save(call)
            stale.append(call)
            return None
        if await uow.practices.opted_out([call.provider.phone]):  # opted out in another call meanwhile
            call.end(
                CallStatus.CANCELLED,
                now,
                CallOutcome.OPTED_OUT,
                reason=skip_note(Skipped(call.provider, SkipReason.OPTED_OUT)),
            )
            await uow.calls.save(call)
            stale.append(call)
            return None
        token = new_call_token()
        call.token_hash = hash_token(token)
        call.advance(CallStatus.DIALING, now)
        await uow.calls.save(call)
        return call, campaign, token

    claimed = await in_transaction(ports.uow, work)
    for call in stale:
        await after_call_ended(ports, call)
    return claimed


def _voicemail_retries(ports: Ports, campaign: Campaign, discovering: list[CallTask]) -> list[CallTask]:
    """The retries still owed to providers whose voicemail box answered: one call each, the policy's delay after
    the voicemail call ended (at the next opening if closed then), only before the deadline and only as often
    as the policy allows. Each retry has an id fixed by the call it retries, so it is created once."""
    known = {c.id for c in discovering}
    owed = []
    for call in discovering:
        if call.outcome is not CallOutcome.VOICEMAIL or retry_call_id(call.id) in known or call.ended_at is None:
            continue
        attempts = sum(1 for c in discovering if c.provider.id == call.provider.id)
        if attempts > ports.policy.voicemail_retries:
            continue
        earliest = call.ended_at + ports.policy.voicemail_retry_after
        when = retry_time(call.provider, earliest, campaign.deadline_at, campaign.timezone)
        if when is None:
            continue
        retry, _ = new_call(ports, campaign.id, call.provider, CallPurpose.DISCOVER, call.ended_at)
        retry.id = retry_call_id(call.id)
        _schedule(ports, retry, when)
        owed.append(retry)
    return owed


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
    """Store what was said in a call (and the agent's summary), whether or not the call has ended, and check
    the call's offers against it."""

    async def work(uow: UnitOfWork) -> None:
        call = await uow.calls.get(call_id)
        if call is None:
            return
        call.transcript = list(turns)
        await uow.turns.replace(call_id, turns)  # the full transcript replaces the turns stored live
        listener = await uow.turns.listener(call_id)
        if listener is not None:  # somebody follows the call: their view shows the whole transcript
            await uow.outbox.add(listener[0], TranscriptChanged(call_id), ports.clock.now())
        if summary:
            call.summary = summary
        await uow.calls.save(call)
        await ground_call_offers(uow, call)

    await in_transaction(ports.uow, work)


async def after_call_ended(ports: Ports, call: CallTask) -> None:
    """What a call's end means: its place under the call limit comes back; for discovery, maybe the shortlist;
    for confirmation, maybe a lost slot.

    The transaction that ended the call queued the live view's refresh (``calls_changed``)."""
    await ports.slots.release(call.id)
    if call.purpose is CallPurpose.CANCEL:
        from domain.services.appointments import settle_cancellation

        await settle_cancellation(ports, call)
        return
    if call.purpose is CallPurpose.RESCHEDULE:
        from domain.services.reschedule import settle_reschedule

        await settle_reschedule(ports, call)
        return
    await settle_campaign(ports, call.campaign_id)


async def settle_campaign(ports: Ports, campaign_id: str, deadline_passed: bool = False) -> None:
    """Move the campaign on when its calls allow it. Safe to run from any process, any number of times."""
    now = ports.clock.now()
    wave: list[CallTask] = []

    async def work(uow: UnitOfWork) -> bool:
        wave.clear()
        campaign = await _require_campaign(uow, campaign_id)
        calls = await uow.calls.list_for_campaign(campaign_id)
        offers = await uow.offers.list_for_campaign(campaign_id)
        if campaign.status is CampaignStatus.NEGOTIATING and any(c.round_no for c in calls):
            from domain.services.rounds import settle_round  # a later round (keep looking, watch) settles there

            return await settle_round(ports, uow, campaign, calls, offers, now, deadline_passed)
        if campaign.status in _OPEN_FOR_DISCOVERY:
            discovering = [c for c in calls if c.purpose is CallPurpose.DISCOVER]
            retries = [] if deadline_passed else _voicemail_retries(ports, campaign, discovering)
            if retries:
                # Saving the campaign first makes two processes settling at once conflict on its version (the
                # loser starts again and finds the retry), so a retry is added once.
                campaign.updated_at = now
                await uow.campaigns.save(campaign)
                for retry in retries:
                    await uow.calls.add(retry)
                await calls_changed(uow, campaign.id, now, campaign.user_id)  # the live view says when
                return False
            if not deadline_passed and any(not c.status.is_ended for c in discovering):
                return False
            if campaign.status is CampaignStatus.DIALING and not deadline_passed:
                return False  # still placing calls; the dialer settles when it is done
            if not deadline_passed and campaign.reserve and (widened := _widen(ports, campaign, offers, now)):
                wave.extend(widened)
                # Saved first for the same reason as a retry: two processes ending the last two calls at once
                # conflict on the campaign's version, and the loser finds the wave already there.
                await uow.campaigns.save(campaign)
                for call in wave:
                    await uow.calls.add(call)
                discovering.extend(wave)
                if any(not c.status.is_ended for c in wave):
                    await calls_changed(uow, campaign.id, now, campaign.user_id)
                    return False
            shortlist = shortlist_of(offers, ports.policy.shortlist_size)
            if shortlist:
                if campaign.status is CampaignStatus.DIALING:
                    campaign.transition(CampaignStatus.NEGOTIATING, now)
                campaign.transition(CampaignStatus.RANKING, now)
                ready = ShortlistReady(campaign, shortlist, passed_over(discovering))
                await uow.outbox.add(campaign.user_id, ready, now)
            else:
                campaign.transition(CampaignStatus.FAILED, now, _no_offer_reason(campaign, discovering))
                await uow.outbox.add(campaign.user_id, CampaignFailed(campaign), now)
            await uow.campaigns.save(campaign)
            return True
        elif campaign.status is CampaignStatus.CONFIRMING:
            confirm = current_confirmation(campaign, calls)
            if confirm is None or not confirm.status.is_ended:
                return False
            chosen = next((o for o in offers if o.id == campaign.chosen_offer_id), None)
            if chosen is None or chosen.status is OfferStatus.BOOKED:
                return False
            retry_at = confirmation_retry_at(ports.policy, chosen, calls, now)
            if retry_at is not None:
                attempt = len(confirmations_of(chosen, calls)) + 1
                notice = ConfirmationRetrying(campaign, chosen, attempt, retry_at)
                await uow.outbox.add(campaign.user_id, notice, now)
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
    elif due := [c for c in wave if c.not_before is not None and c.not_before <= now and not c.status.is_ended]:
        if ports.background is not None:
            # Whoever ended the last call (a tool request) is answered now; placing may wait for call slots.
            ports.background(_dial_now(ports, due, now), f"wave-{campaign_id}")
        else:
            await _dial_now(ports, due, now)


def _widen(ports: Ports, campaign: Campaign, offers: list[Offer], now: datetime) -> list[CallTask]:
    """The calls of an adaptive fan-out's next wave (taken out of ``campaign.reserve``): none when no provider
    left could beat the best offer or the deadline has passed. A provider closed until the deadline gets a call
    ended ``closed`` and the next one is taken in its place."""
    calls: list[CallTask] = []
    while campaign.reserve and now < campaign.deadline_at:
        best = shortlist_of(offers, 1)
        providers = next_wave(
            campaign.reserve, campaign, best[0].score if best else None, now, ports.policy.fan_out_wave
        )
        if not providers:
            break
        taken = {p.id for p in providers}
        campaign.reserve = [p for p in campaign.reserve if p.id not in taken]
        campaign.updated_at = now
        for provider in providers:
            call, _ = new_call(ports, campaign.id, provider, CallPurpose.DISCOVER, now)
            when = first_call_time(provider, now, campaign.deadline_at, campaign.timezone)
            if when is None:
                call.end(CallStatus.CANCELLED, now, CallOutcome.CLOSED, reason=CLOSED_UNTIL_DEADLINE)
            else:
                _schedule(ports, call, when)  # due now or at opening: the sweep places it if we cannot
            calls.append(call)
        if any(not c.status.is_ended for c in calls):
            break
    return calls


async def _dial_now(ports: Ports, calls: list[CallTask], now: datetime) -> None:
    """Place a new wave's due calls from this process right away (each claimed once, as the sweep would)."""
    claimed = [c for c in [await _claim_scheduled(ports, call.id, now) for call in calls] if c is not None]
    await asyncio.gather(*(_place_claimed(ports, campaign, call, token) for call, campaign, token in claimed))


_TRANSIENT_FAILURES = frozenset({CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED})


def confirmations_of(offer: Offer, calls: list[CallTask]) -> list[CallTask]:
    """The confirmation calls placed for ``offer``, oldest first."""
    return [c for c in calls if c.purpose is CallPurpose.CONFIRM and c.target_offer_id == offer.id]


def confirmation_retry_at(policy: Policy, offer: Offer, calls: list[CallTask], now: datetime) -> datetime | None:
    """When to try the confirmation of ``offer`` again, or ``None`` when it is over: its latest call did not get
    through (busy, no answer, failed; not an answer such as "slot gone"), tries are left, and a call placed
    then could still end before the slot starts."""
    tries = confirmations_of(offer, calls)
    if not tries or len(tries) >= policy.confirm_attempts:
        return None
    latest = tries[-1]
    if latest.status not in _TRANSIENT_FAILURES or latest.ended_at is None:
        return None
    backoff = policy.confirm_backoff[min(len(tries), len(policy.confirm_backoff)) - 1]
    retry_at = latest.ended_at + backoff
    if max(retry_at, now) + policy.call_timeout >= offer.start:
        return None
    return retry_at


def current_confirmation(campaign: Campaign, calls: list[CallTask]) -> CallTask | None:
    """The latest confirmation call for the offer the user chose, if any."""
    confirms = [c for c in calls if c.purpose is CallPurpose.CONFIRM and c.target_offer_id == campaign.chosen_offer_id]
    return confirms[-1] if confirms else None


def _no_offer_reason(campaign: Campaign, calls: list[CallTask]) -> str:
    providers = {c.provider.id: c for c in calls}  # a retried provider counts once, by its last call
    latest = [c for c in providers.values() if not was_skipped(c)]
    if not latest:
        return failure_reason("all_skipped", campaign.language, total=len(providers))
    total = len(latest)
    closed = sum(1 for c in latest if c.outcome is CallOutcome.CLOSED)
    unanswered = sum(
        1 for c in latest if c.status in (CallStatus.NO_ANSWER, CallStatus.BUSY) or c.outcome is CallOutcome.VOICEMAIL
    )
    # A call counts as reached once someone picked up, even if the deadline cut it short afterwards.
    reached = sum(
        1
        for c in latest
        if (c.status is CallStatus.COMPLETED or c.started_at is not None)
        and c.outcome not in (CallOutcome.VOICEMAIL, CallOutcome.CLOSED)
    )
    if closed == total:
        return failure_reason("all_closed", campaign.language, total=total)
    if unanswered + closed == total:
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
        for call in stopped:
            await ports.slots.release(call.id)
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
    if campaign.status.is_terminal or campaign.status is CampaignStatus.WAITING:  # waiting: until the next round
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
