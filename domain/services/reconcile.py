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
from datetime import timedelta

from domain.errors import DependencyUnavailable, NotFound
from domain.models import CallOutcome, CallStatus, CallTask, Turn
from domain.ports import UnitOfWork
from domain.services.campaigns import after_call_ended, calls_changed
from domain.services.context import Ports
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

    ``over``: the phone call itself has ended. ``failed``: it ended without a proper conversation (it broke
    off or never connected). Transcript, summary and outcome are filled once the provider has analysed it.
    """

    conversation_id: str
    over: bool
    failed: bool = False
    transcript: tuple[Turn, ...] = ()
    summary: str | None = None
    outcome: CallOutcome | None = None


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    asked: int
    ended: int
    unreachable: int


ConversationFetcher = Callable[[str], Awaitable[ConversationInfo]]


async def record_conversation(ports: Ports, info: ConversationInfo, call_token: str | None = None) -> CallTask | None:
    """Store what the provider reports about a conversation and, when it is over, end its call if still open.

    The call is found by ``info.conversation_id``, else by the plain ``call_token`` the conversation carried.
    An open call ends ``COMPLETED`` with the reported outcome (``other`` when none), or ``FAILED`` when the
    conversation failed; its campaign moves on as with any other ending. Returns the call as it is now, or
    ``None`` when no call of ours matches.
    """
    found = await _record(ports, info, call_token)
    return found[0] if found else None


async def _record(ports: Ports, info: ConversationInfo, call_token: str | None) -> tuple[CallTask, bool] | None:
    """``record_conversation``; also says whether this report ended the call."""
    now = ports.clock.now()
    summary = info.summary[:_SUMMARY_LIMIT] if info.summary else None

    async def work(uow: UnitOfWork) -> tuple[CallTask, bool] | None:
        call = await _find(uow, info.conversation_id, call_token)
        if call is None:
            return None
        if call.conversation_id is None:
            call.conversation_id = info.conversation_id
        if info.transcript:
            call.transcript = list(info.transcript)
        if summary and not call.summary:  # the agent's own summary (from end_call) is the one we show
            call.summary = summary
        ended_now = info.over and not call.status.is_ended
        if ended_now and info.failed:
            call.end(CallStatus.FAILED, now, summary=summary, reason="The call broke off.")
        elif ended_now:
            call.end(CallStatus.COMPLETED, now, outcome=info.outcome, summary=summary)
        await uow.calls.save(call)
        if ended_now:
            await calls_changed(uow, call.campaign_id, now)
        return call, ended_now

    found = await in_transaction(ports.uow, work)
    if found is not None and found[1]:
        await after_call_ended(ports, found[0])
    return found


async def record_call_failure(
    ports: Ports, conversation_id: str, status: CallStatus, call_token: str | None = None
) -> CallTask | None:
    """End the call whose phone never connected with ``status`` (``NO_ANSWER``, ``BUSY`` or ``FAILED``).

    Returns the call as it is now, or ``None`` when no call of ours matches.
    """
    if status not in _FAILURE_REASONS:
        raise ValueError(f"{status} does not say why a call did not connect.")
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[CallTask, bool] | None:
        call = await _find(uow, conversation_id, call_token)
        if call is None:
            return None
        if call.status.is_ended:
            return call, False
        call.conversation_id = call.conversation_id or conversation_id
        call.end(status, now, reason=_FAILURE_REASONS[status])
        await uow.calls.save(call)
        await calls_changed(uow, call.campaign_id, now)
        return call, True

    found = await in_transaction(ports.uow, work)
    if found is None:
        return None
    call, ended_now = found
    if ended_now:
        await after_call_ended(ports, call)
    return call


async def reconcile_silent_calls(ports: Ports, fetch: ConversationFetcher, quiet_for: timedelta) -> ReconcileReport:
    """Ask the provider about open calls placed more than ``quiet_for`` ago and end those it says are over.

    Calls without a conversation id cannot be asked about; the timeout sweep ends them. A provider that
    cannot answer (or does not know the conversation) is asked again next round.
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
        found = await _record(ports, info, None)
        if found is not None and found[1]:
            ended += 1
    return ReconcileReport(asked=len(silent), ended=ended, unreachable=unreachable)


async def _find(uow: UnitOfWork, conversation_id: str, call_token: str | None) -> CallTask | None:
    call = await uow.calls.get_by_conversation_id(conversation_id)
    if call is None and call_token:
        call = await uow.calls.get_by_token_hash(hash_token(call_token))
    return call
