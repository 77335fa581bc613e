"""The user in the loop during calls: live transcripts, questions the agent asks the user, instructions the
user gives running calls, and handing a call over to the user.

Everything crosses processes through the database: a question is a row and an outbox message; the agent's
request waits for the answer by reading the row again (any process may take the user's button), at most
``policy.ask_user_wait``, well below the tool's timeout.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import ConcurrentUpdate, InvalidRequest, NotAllowed, NotFound
from domain.loop import Instruction, UserProfile, UserQuestion, profile_answer, question_topic
from domain.models import CallStatus, CallTask, Campaign, CampaignStatus, TimeWindow, Turn
from domain.notifications import CallTranscript, HandoverStarting, QuestionAsked, TranscriptChanged
from domain.ports import UnitOfWork
from domain.services.campaigns import calls_changed, end_call_task, hang_up_all
from domain.services.context import Ports
from domain.services.tool_calls import CallContext
from domain.services.tool_calls import _live as live_call
from domain.services.transactions import in_transaction

log = logging.getLogger(__name__)

# A question asked longer ago than this is not taken as the one a free-text message answers.
ANSWER_BY_TEXT_WITHIN = timedelta(minutes=15)
MAX_CHOICES = 6


# --- live transcripts ------------------------------------------------------------------------------


async def append_turns(ports: Ports, call_id: str, turns: Sequence[Turn]) -> None:
    """Store what was just said in a call; whoever follows the call gets their view refreshed."""
    if not turns:
        return
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> None:
        await uow.turns.append(call_id, turns)
        listener = await uow.turns.listener(call_id)
        if listener is not None:
            await uow.outbox.add(listener[0], TranscriptChanged(call_id), now)

    await in_transaction(ports.uow, work)


async def refresh_listener(ports: Ports, call_id: str) -> None:
    """Redraw the call's "Listen" view if somebody follows it (the call ended: its view loses its buttons)."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> None:
        listener = await uow.turns.listener(call_id)
        if listener is not None:
            await uow.outbox.add(listener[0], TranscriptChanged(call_id), now)

    await in_transaction(ports.uow, work)


async def _note(uow: UnitOfWork, call_id: str, text: str, now: datetime) -> None:
    """What the agent says through a tool, as a turn of the live transcript (a live call's spoken turns only
    arrive with the post-call transcript, which replaces these)."""
    await uow.turns.append(call_id, [Turn("agent", text, now)])
    listener = await uow.turns.listener(call_id)
    if listener is not None:
        await uow.outbox.add(listener[0], TranscriptChanged(call_id), now)


async def _owned_call(uow: UnitOfWork, user_id: int, call_id: str) -> tuple[CallTask, Campaign]:
    call = await uow.calls.get(call_id)
    campaign = await uow.campaigns.get(call.campaign_id) if call is not None else None
    if call is None or campaign is None or campaign.user_id != user_id:
        raise NotFound("There is no such call.")
    return call, campaign


async def listen(ports: Ports, user_id: int, call_id: str, message_id: int | None = None) -> CallTranscript:
    """Follow a call of the user's: what was said so far; later turns refresh the view (in ``message_id``)."""

    async def work(uow: UnitOfWork) -> CallTranscript:
        call, campaign = await _owned_call(uow, user_id, call_id)
        await uow.turns.listen(call_id, user_id, message_id)
        if message_id is None:  # the view is drawn and sent by the outbox, which then knows its message
            await uow.outbox.add(user_id, TranscriptChanged(call_id), ports.clock.now())
        return CallTranscript(campaign, call, await uow.turns.list_for_call(call_id), message_id)

    return await in_transaction(ports.uow, work)


async def stop_call(ports: Ports, user_id: int, call_id: str) -> CallTask:
    """End one call of the user's search (the others go on)."""
    async with ports.uow() as uow:
        call, _ = await _owned_call(uow, user_id, call_id)
    if call.status.is_ended:
        raise NotAllowed("That call has already ended.")
    ended = await end_call_task(ports, call_id, CallStatus.CANCELLED, reason="The user stopped this call.")
    await hang_up_all(ports, [ended or call])
    await refresh_listener(ports, call_id)
    return ended or call


# --- the profile -----------------------------------------------------------------------------------


async def get_profile(ports: Ports, user_id: int) -> UserProfile:
    async with ports.uow() as uow:
        return await uow.profiles.get(user_id) or UserProfile(user_id)


async def save_profile(ports: Ports, profile: UserProfile) -> None:
    async def work(uow: UnitOfWork) -> None:
        await uow.profiles.save(profile)

    await in_transaction(ports.uow, work)


# --- ask_user ---------------------------------------------------------------------------------------


class AskStatus(enum.StrEnum):
    KNOWN = "known"  # the profile or an earlier answer in this search answers it
    ANSWERED = "answered"  # the user answered while the agent waited
    NO_ANSWER = "no_answer"  # not in time: the agent says it will call back


@dataclass(frozen=True, slots=True)
class AskAnswer:
    status: AskStatus
    message: str
    answer: str | None = None
    question_id: str | None = None


def _clean_choices(choices: Sequence[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for choice in choices:
        text = " ".join(choice.split())[:60]
        if text and text not in seen:
            seen.append(text)
    return tuple(seen[:MAX_CHOICES])


def _tell(answer: str, known: bool) -> str:
    source = "The client's answer (from what they told us before)" if known else "The client answers"
    return f'{source}: "{answer}". Pass it on to the receptionist in your own words and carry on.'


async def ask_user(
    ports: Ports, ctx: CallContext, question: str, choices: Sequence[str] = (), why: str = ""
) -> AskAnswer:
    """Ask the user something the receptionist wants to know. Answered at once from the user's profile or an
    earlier answer in this search; otherwise the question goes to the user's chat and the answer is awaited
    for at most ``policy.ask_user_wait``."""
    question = " ".join(question.split())
    if not question:
        raise InvalidRequest("Say what the receptionist wants to know in question.")
    topic = question_topic(question)
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> AskAnswer | UserQuestion:
        call, campaign = await live_call(uow, ctx, now)
        known = profile_answer(await uow.profiles.get(campaign.user_id), topic, campaign.language)
        if known is not None:
            return AskAnswer(AskStatus.KNOWN, _tell(known, True), known)
        earlier = await uow.questions.answered(campaign.id, topic)
        if earlier is not None and earlier.answer is not None:
            return AskAnswer(AskStatus.KNOWN, _tell(earlier.answer, True), earlier.answer, earlier.id)
        await _note(uow, call.id, f"(asks the client) {question}", now)
        pending = await uow.questions.open_in_campaign(campaign.id, topic)
        if pending is not None:  # another call asked the same (or this one retried): the user is asked once
            return pending
        asked = UserQuestion(
            call_id=call.id,
            campaign_id=campaign.id,
            user_id=campaign.user_id,
            provider_name=call.provider.name,
            question=question[:500],
            topic=topic,
            asked_at=now,
            choices=_clean_choices(choices),
            why=" ".join(why.split())[:300],
        )
        if not await uow.questions.add(asked):
            # another call asked it a moment ago: start again from a fresh read, which finds that question
            raise ConcurrentUpdate("The same question was asked by another call at the same time.")
        await uow.outbox.add(campaign.user_id, QuestionAsked(asked, campaign.language), now)
        return asked

    result = await in_transaction(ports.uow, work)
    if isinstance(result, AskAnswer):
        return result
    answer = await wait_for_answer(ports, result.id, ports.policy.ask_user_wait)
    if answer is not None:
        said = answer

        async def note(uow: UnitOfWork) -> None:
            await _note(uow, ctx.call.id, f"(the client answers) {said}", ports.clock.now())

        await in_transaction(ports.uow, note)
        return AskAnswer(AskStatus.ANSWERED, _tell(answer, False), answer, result.id)
    return AskAnswer(
        AskStatus.NO_ANSWER,
        "No answer yet: the client cannot be reached right now. Say you will call back about this, and ask whether "
        "the receptionist can go on without it; if not, use request_handover when it is offered, else end the call "
        "politely.",
        None,
        result.id,
    )


async def wait_for_answer(ports: Ports, question_id: str, wait: timedelta) -> str | None:
    """The question's answer, as soon as one is stored (by this or any other process), or ``None`` after
    ``wait`` (wall time: the database is read again every ``policy.ask_user_poll``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait.total_seconds()
    poll = max(0.01, ports.policy.ask_user_poll.total_seconds())
    while True:
        async with ports.uow() as uow:
            stored = await uow.questions.get(question_id)
        if stored is not None and stored.answer is not None:
            return stored.answer
        left = deadline - loop.time()
        if left <= 0:
            return None
        await asyncio.sleep(min(poll, left))


async def answer_question(ports: Ports, user_id: int, question_id: str, answer: str) -> tuple[UserQuestion, bool]:
    """Store the user's answer; ``(question, True)`` when this answer is the one taken, ``False`` when the
    question had been answered already (a second tap, another device): the first answer stands."""
    answer = " ".join(answer.split())[:500]
    if not answer:
        raise InvalidRequest("An answer needs some words.")
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[UserQuestion, bool]:
        question = await uow.questions.get(question_id)
        if question is None or question.user_id != user_id:
            raise NotFound("There is no such question.")
        if question.answer is not None:
            return question, False
        question.answer = answer
        question.answered_at = now
        await uow.questions.save(question)
        return question, True

    return await in_transaction(ports.uow, work)


async def open_question(ports: Ports, user_id: int) -> UserQuestion | None:
    """The user's latest unanswered question whose call still runs (what a typed reply answers)."""
    since = ports.clock.now() - ANSWER_BY_TEXT_WITHIN
    async with ports.uow() as uow:
        question = await uow.questions.latest_open_for_user(user_id, since)
        call = await uow.calls.get(question.call_id) if question is not None else None
    if question is None or call is None or call.status.is_ended:
        return None
    return question


# --- instructions -----------------------------------------------------------------------------------


async def instruct(
    ports: Ports,
    user_id: int,
    campaign_id: str,
    text: str,
    call_id: str | None = None,
    windows: Sequence[TimeWindow] = (),
) -> Instruction:
    """Tell one running call (``call_id``) or all of the search's calls, including those that start later,
    what the user wants now. ``windows``: times the user adds to the search (asked for from now on)."""
    text = " ".join(text.split())[:1000]
    if not text:
        raise InvalidRequest("An instruction needs some words.")
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> Instruction:
        campaign = await uow.campaigns.get(campaign_id)
        if campaign is None or campaign.user_id != user_id:
            raise NotFound("There is no such search.")
        if campaign.status not in (CampaignStatus.DIALING, CampaignStatus.NEGOTIATING):
            raise NotAllowed("The calls of this search are over.")
        if call_id is not None:
            call = await uow.calls.get(call_id)
            if call is None or call.campaign_id != campaign.id:
                raise NotFound("There is no such call.")
            if call.status.is_ended:
                raise NotAllowed("That call has already ended.")
        added = [w for w in windows if w.end > now and not any(o.contains(w) for o in campaign.windows)]
        if added and call_id is None:
            campaign.windows = sorted([*campaign.windows, *added], key=lambda w: w.start)
            campaign.updated_at = now
            await uow.campaigns.save(campaign)
        instruction = Instruction(campaign_id=campaign.id, text=text, created_at=now, call_id=call_id)
        await uow.instructions.add(instruction)
        await calls_changed(uow, campaign.id, now, campaign.user_id)
        return instruction

    return await in_transaction(ports.uow, work)


async def fetch_instructions(ports: Ports, ctx: CallContext) -> tuple[list[Instruction], Campaign]:
    """What the user told this call (or every call) that the agent has not heard yet; each is told once."""
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> tuple[list[Instruction], Campaign]:
        call, campaign = await live_call(uow, ctx, now)
        unread = await uow.instructions.unread(campaign.id, call.id)
        await uow.instructions.mark_read(call.id, [i.id for i in unread], now)
        return unread, campaign

    return await in_transaction(ports.uow, work)


# --- handover ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandoverAnswer:
    transfer: bool
    message: str
    phone: str | None = None


async def request_handover(ports: Ports, ctx: CallContext, about: str) -> HandoverAnswer:
    """The agent cannot go on without the user: when the user gave a phone number and agreed to handovers,
    the user is told first (the outbox) and the agent may put the call through; otherwise it may not."""
    about = " ".join(about.split())[:200] or "your appointment"
    now = ports.clock.now()

    async def work(uow: UnitOfWork) -> HandoverAnswer:
        call, campaign = await live_call(uow, ctx, now)
        profile = await uow.profiles.get(campaign.user_id)
        if profile is None or not profile.may_hand_over():
            return HandoverAnswer(
                False,
                "The client cannot take the call. Tell the receptionist the client will call back, then end the call "
                "with end_call.",
            )
        notice = HandoverStarting(call.id, call.provider.name, about, campaign.language)
        await uow.outbox.add(campaign.user_id, notice, now)
        await _note(uow, call.id, f"(puts the call through to the client: {about})", now)
        return HandoverAnswer(
            True,
            "The client is told and waits for the call. Tell the receptionist you are putting them through to your "
            "client now, call end_call with outcome handed_over, then use transfer_to_client.",
            profile.phone,
        )

    return await in_transaction(ports.uow, work)
