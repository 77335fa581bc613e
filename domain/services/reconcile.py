"""Bringing our call tasks in line with what the voice provider says happened to the calls.

The provider tells us in two ways: a post-call report pushed as soon as a call is over (``record_conversation``,
``record_call_failure``) and, when that never arrives, the answer to our own question
(``reconcile_silent_calls``). Each ends a call task only if nobody ended it first (the agent's ``end_call``
tool, the timeout sweep), so every path is safe to run twice and from several processes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import DependencyUnavailable, NotFound
from domain.models import CallOutcome, CallStatus, CallTask, Turn
from domain.ports import UnitOfWork
from domain.services.campaigns import after_call_ended, calls_changed
from domain.services.citizenship import note_call_end
from domain.services.context import Ports
from domain.services.grounding import ground_call_offers
from domain.services.tokens import hash_token
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

_SUMMARY_LIMIT = 2000

_FAILURE_REASONS = {
    CallStatus.NO_ANSWER: "Nobody answered the phone.",
    CallStatus.BUSY: "The line was busy.",
    CallStatus.FAILED: "The call could not be connected.",
}


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    """What the voice provider knows about one conversation.

    ``over``: the provider is done with the conversation: the phone call has ended *and* its analysis is
    made (a call whose analysis is still running is not over yet, or its outcome would be lost). ``failed``:
    it ended without a proper conversation (it broke off or never connected). Transcript, summary and
    outcome are filled once the provider has analysed it.
    """

    conversation_id: str
    over: bool
    failed: bool = False
    transcript: tuple[Turn, ...] = ()
    summary: str | None = None
    outcome: CallOutcome | None = None
    call_back_at: datetime | None = None  # outcome call_back_later: when the desk asked to be called again


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    asked: int
    ended: int
    unreachable: int


ConversationFetcher = Callable[[str], Awaitable[ConversationInfo]]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one report of the provider did. ``call``: the call as it is now (``None`` when no call of ours
    matches); ``ended_now``: this report ended it; ``duplicate``: its ``event_key`` was processed before, so
    nothing was done at all."""

    call: CallTask | None
    ended_now: bool = False
    duplicate: bool = False


async def record_conversation(
    ports: Ports, info: ConversationInfo, call_token: str | None = None, event_key: str | None = None
) -> Recorded:
    """Store what the provider reports about a conversation and, when it is over, end its call if still open.

    The call is found by ``info.conversation_id``, else by the plain ``call_token`` the conversation carried.
    An open call ends ``COMPLETED`` with the reported outcome (``other`` when none), or ``FAILED`` when the
    conversation failed; its campaign moves on as with any other ending. ``event_key`` (a webhook delivery's
    replay key) is remembered in the same transaction as the change, so a report whose handling failed is
    not taken for a replay when it is delivered again.
    """
    now = ports.clock.now()
    summary = info.summary[:_SUMMARY_LIMIT] if info.summary else None

    async def work(uow: UnitOfWork) -> Recorded:
        if event_key is not None and not await uow.events.remember(event_key, now):
            return Recorded(None, duplicate=True)
        call = await _find(uow, info.conversation_id, call_token)
        if call is None:
            return Recorded(None)
        if call.conversation_id is None:
            call.conversation_id = info.conversation_id
        if info.transcript:
            call.transcript = list(info.transcript)
            await ground_call_offers(uow, call)  # before the call ends, so the shortlist it may bring is ranked
        if summary and not call.summary:  # the agent's own summary (from end_call) is the one we show
            call.summary = summary
        ended_now = info.over and not call.status.is_ended
        if ended_now and info.failed:
            call.end(CallStatus.FAILED, now, summary=summary, reason="The call broke off.")
        elif ended_now:
            call.end(CallStatus.COMPLETED, now, outcome=info.outcome, summary=summary)
            if info.outcome is CallOutcome.CALL_BACK_LATER and info.call_back_at and info.call_back_at > now:
                call.call_back_at = info.call_back_at
        await uow.calls.save(call)
        if ended_now:
            await note_call_end(uow, call, now, ports.policy.fact_ttl)  # an opt-out the analysis collected
        if ended_now:
            await calls_changed(uow, call.campaign_id, now)
        return Recorded(call, ended_now)

    recorded = await in_transaction(ports.uow, work)
    if recorded.ended_now and recorded.call is not None:
        await after_call_ended(ports, recorded.call)
    return recorded


async def record_call_failure(
    ports: Ports, conversation_id: str, status: CallStatus, call_token: str | None = None, event_key: str | None = None
) -> Recorded:
    """End the call whose phone never connected with ``status`` (``NO_ANSWER``, ``BUSY`` or ``FAILED``);
    ``event_key`` as for ``record_conversation``."""
    if status not in _FAILURE_REASONS:
        raise ValueError(f"{status} does not say why a call did not connect.")
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> Recorded:
        if event_key is not None and not await uow.events.remember(event_key, now):
            return Recorded(None, duplicate=True)
        call = await _find(uow, conversation_id, call_token)
        if call is None:
            return Recorded(None)
        if call.status.is_ended:
            return Recorded(call)
        call.conversation_id = call.conversation_id or conversation_id
        call.end(status, now, reason=_FAILURE_REASONS[status])
        await uow.calls.save(call)
        await calls_changed(uow, call.campaign_id, now)
        return Recorded(call, ended_now=True)

    recorded = await in_transaction(ports.uow, work)
    if recorded.ended_now and recorded.call is not None:
        await after_call_ended(ports, recorded.call)
    return recorded


async def reconcile_silent_calls(ports: Ports, fetch: ConversationFetcher, quiet_for: timedelta) -> ReconcileReport:
    """Ask the provider about open calls placed more than ``quiet_for`` ago and end those it says are over.

    Calls without a conversation id cannot be asked about; the timeout sweep ends them. A provider that
    cannot answer (or does not know the conversation, or is still analysing it) is asked again next round.
    """
    now = ports.clock.now()
    async with ports.uow() as uow:
        silent = [c for c in await uow.calls.list_open(started_before=now - quiet_for) if c.conversation_id]
    ended = unreachable = 0
    for call in silent:
        assert call.conversation_id is not None  # filtered above
        try:
            info = await fetch(call.conversation_id)
        except DependencyUnavailable as exc:
            log.warning("could not ask how call %s went: %s", call.id, exc)
            unreachable += 1
            continue
        except NotFound:
            log.warning("the voice provider knows no conversation for call %s; the timeout will end it", call.id)
            continue
        if not info.over:
            continue
        if (await record_conversation(ports, info)).ended_now:
            ended += 1
    return ReconcileReport(asked=len(silent), ended=ended, unreachable=unreachable)


async def _find(uow: UnitOfWork, conversation_id: str, call_token: str | None) -> CallTask | None:
    call = await uow.calls.get_by_conversation_id(conversation_id)
    if call is None and call_token:
        call = await uow.calls.get_by_token_hash(hash_token(call_token))
    return call
