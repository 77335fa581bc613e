"""The user in the loop on SQLite and PostgreSQL: live turns, questions answered across processes, answers
reused, one question for two calls asking at once, instructions fetched once per call, handover."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from domain.errors import CallClosed, NotFound
from domain.loop import Insurance, UserProfile
from domain.models import CallOutcome, CallStatus, CallTask, Campaign, CampaignStatus, TimeWindow, Turn
from domain.notifications import HandoverStarting, Notification, QuestionAsked, TranscriptChanged
from domain.ports import UnitOfWorkFactory
from domain.services.context import Policy, Ports
from domain.services.tool_calls import CallContext
from domain.services.user_loop import (
    AskStatus,
    answer_question,
    append_turns,
    ask_user,
    fetch_instructions,
    instruct,
    listen,
    request_handover,
    save_profile,
)
from nexus.notifications import Dispatcher
from storage.engine import create_engine
from storage.uow import make_uow_factory
from tests.fakes import FakeCalendar, FakeCallSlots, FakeClock, FakeDirectory, FakeHoldStore, FakeVoiceGateway
from tests.integration.storage.builders import NOW, USER_ID, call, campaign, provider
from tests.support.db import Database


def ports_over(uow: UnitOfWorkFactory, wait: timedelta = timedelta(seconds=5)) -> Ports:
    return Ports(
        uow=uow,
        holds=FakeHoldStore(),
        calendar=FakeCalendar(),
        directory=FakeDirectory([]),
        voice=FakeVoiceGateway(),
        clock=FakeClock(NOW),
        slots=FakeCallSlots(),
        policy=Policy(ask_user_wait=wait, ask_user_poll=timedelta(milliseconds=20)),
    )


@dataclass
class Search:
    campaign: Campaign
    calls: list[CallTask]

    def ctx(self, index: int = 0) -> CallContext:
        return CallContext(self.calls[index], self.campaign)


async def running_search(uow: UnitOfWorkFactory, calls: int = 2) -> Search:
    search = campaign(status=CampaignStatus.NEGOTIATING)
    tasks = [
        call(search.id, provider=provider(id=f"prov-{n}", name=f"Praxis {n}"), status=CallStatus.IN_PROGRESS)
        for n in range(calls)
    ]
    async with uow() as work:
        await work.campaigns.add(search)
        for task in tasks:
            await work.calls.add(task)
        await work.commit()
    return Search(search, tasks)


async def queued(uow: UnitOfWorkFactory) -> list[Notification]:
    """Every message in the outbox, claimed (and so taken out of the way) in order."""
    async with uow() as work:
        entries = await work.outbox.claim(NOW, NOW + timedelta(minutes=1), 100)
        await work.commit()
    return [e.notification for e in entries]


class Answering:
    """Another process's dispatcher whose sink is the user: every question that reaches them is answered."""

    def __init__(self, ports: Ports, answers: dict[str, str]) -> None:
        self._ports, self._answers = ports, answers
        self.asked: list[str] = []

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, QuestionAsked):
            self.asked.append(notification.question.question)
            answer = self._answers.get(notification.question.topic)
            if answer is not None:
                await answer_question(self._ports, user_id, notification.question.id, answer)


@pytest.fixture
async def other_process(database: Database) -> AsyncIterator[UnitOfWorkFactory]:
    """A second engine on the same database: what another NEXUS process sees and writes."""
    engine = create_engine(database.url)
    try:
        yield make_uow_factory(engine)
    finally:
        await engine.dispose()


async def test_turns_are_stored_as_they_happen_and_read_by_call_id(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory)
    first, second = search.calls
    await append_turns(ports, first.id, [Turn("provider", "Praxis 0, hello.", NOW)])
    await append_turns(ports, second.id, [Turn("provider", "Praxis 1.", NOW)])
    said = Turn("agent", "Hello, I am calling for a client.", NOW + timedelta(seconds=3))
    await append_turns(ports, first.id, [said])

    async with uow_factory() as uow:
        turns = await uow.turns.list_for_call(first.id)
    assert turns == [
        Turn("provider", "Praxis 0, hello.", NOW),
        Turn("agent", "Hello, I am calling for a client.", NOW + timedelta(seconds=3)),
    ]
    assert await queued(uow_factory) == []  # nobody listens: no view to refresh


async def test_a_listened_call_refreshes_its_view_with_every_turn(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory)
    view = await listen(ports, USER_ID, search.calls[0].id)
    assert view.turns == [] and view.message_id is None
    await append_turns(ports, search.calls[0].id, [Turn("provider", "Hello.", NOW)])
    await append_turns(ports, search.calls[1].id, [Turn("provider", "Not followed.", NOW)])

    assert await queued(uow_factory) == [TranscriptChanged(search.calls[0].id)]
    with pytest.raises(NotFound):
        await listen(ports, USER_ID + 1, search.calls[0].id)  # somebody else's call


async def test_a_question_answered_through_another_process_reaches_the_waiting_agent(
    uow_factory: UnitOfWorkFactory, other_process: UnitOfWorkFactory
) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory)
    user = Answering(ports_over(other_process), {"insurance": "private"})
    dispatcher = Dispatcher(other_process, user, poll_interval=0.02)
    dispatcher.start()
    try:
        started = time.monotonic()
        answer = await ask_user(ports, search.ctx(), "Are you insured publicly or privately?", ["public", "private"])
    finally:
        await dispatcher.stop()

    assert answer.status is AskStatus.ANSWERED and answer.answer == "private"
    assert "private" in answer.message
    assert time.monotonic() - started < 4  # as soon as the user answered, not after the whole wait
    assert user.asked == ["Are you insured publicly or privately?"]


async def test_an_unanswered_question_ends_the_wait_and_its_late_answer_serves_the_next_call(
    uow_factory: UnitOfWorkFactory,
) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory, wait=timedelta(milliseconds=200))

    started = time.monotonic()
    silent = await ask_user(ports, search.ctx(0), "Is it a new or an existing patient?", ["new", "existing"])

    assert silent.status is AskStatus.NO_ANSWER and silent.answer is None
    assert silent.message.startswith("No answer yet") and "call back" in silent.message
    assert time.monotonic() - started < 2
    [message] = await queued(uow_factory)
    assert isinstance(message, QuestionAsked) and message.question.choices == ("new", "existing")

    assert silent.question_id is not None
    await answer_question(ports, USER_ID, silent.question_id, "new")
    again = await ask_user(ports, search.ctx(1), "Sind Sie neuer Patient bei uns?")

    assert again.status is AskStatus.KNOWN and again.answer == "new"
    assert await queued(uow_factory) == []  # the user is not asked again


async def test_two_calls_asking_the_same_at_once_make_one_question(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory, wait=timedelta(milliseconds=300))

    both = await asyncio.gather(
        ask_user(ports, search.ctx(0), "Which car is it, make and model?"),
        ask_user(ports, search.ctx(1), "Um welches Auto geht es?"),
    )

    assert {a.question_id for a in both} == {both[0].question_id}
    assert len(await queued(uow_factory)) == 1


async def test_the_profile_answers_without_asking_and_only_what_it_holds(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory, wait=timedelta(milliseconds=50))
    await save_profile(ports, UserProfile(USER_ID, name="Alex Kim", insurance=Insurance.PUBLIC))

    name = await ask_user(ports, search.ctx(), "Under what name shall I note it?")
    insurance = await ask_user(ports, search.ctx(), "Sind Sie gesetzlich oder privat versichert?")
    phone = await ask_user(ports, search.ctx(), "And a phone number for call-backs?")

    assert (name.status, name.answer) == (AskStatus.KNOWN, "Alex Kim")
    assert (insurance.status, insurance.answer) == (AskStatus.KNOWN, "public (statutory) insurance")
    assert phone.status is AskStatus.NO_ANSWER  # no phone in the profile: the user is asked, nothing invented
    assert [type(m) for m in await queued(uow_factory)] == [QuestionAsked]


async def test_instructions_reach_each_call_once_also_calls_that_start_later(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory)
    saturday = TimeWindow(NOW + timedelta(days=5), NOW + timedelta(days=5, hours=4))
    await instruct(ports, USER_ID, search.campaign.id, "also ask about Saturday morning", windows=[saturday])
    await instruct(ports, USER_ID, search.campaign.id, "only Dr. Weber", call_id=search.calls[1].id)

    first, _ = await fetch_instructions(ports, search.ctx(0))
    second, campaign_now = await fetch_instructions(ports, search.ctx(1))
    again, _ = await fetch_instructions(ports, search.ctx(0))
    later_call = call(search.campaign.id, provider=provider(id="prov-late"), status=CallStatus.IN_PROGRESS)
    async with uow_factory() as uow:
        await uow.calls.add(later_call)
        await uow.commit()
    later, _ = await fetch_instructions(ports, CallContext(later_call, search.campaign))

    assert [i.text for i in first] == ["also ask about Saturday morning"]
    assert [i.text for i in second] == ["also ask about Saturday morning", "only Dr. Weber"]
    assert again == []
    assert [i.text for i in later] == ["also ask about Saturday morning"]
    assert saturday in campaign_now.windows  # the search's own windows widened for the calls to come


async def test_handover_needs_a_phone_and_consent_and_tells_the_user_first(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory)

    refused = await request_handover(ports, search.ctx(), "insurance")
    await save_profile(ports, UserProfile(USER_ID, phone="+4915112345678", handover_consent=True))
    granted = await request_handover(ports, search.ctx(), "insurance")

    assert not refused.transfer and refused.phone is None and "call back" in refused.message
    assert granted.transfer and granted.phone == "+4915112345678" and "handed_over" in granted.message
    assert await queued(uow_factory) == [HandoverStarting(search.calls[0].id, "Praxis 0", "insurance", "en")]


async def test_a_call_that_is_over_asks_nothing(uow_factory: UnitOfWorkFactory) -> None:
    search = await running_search(uow_factory)
    ports = ports_over(uow_factory)
    async with uow_factory() as uow:
        ended = await uow.calls.get(search.calls[0].id)
        assert ended is not None
        ended.end(CallStatus.COMPLETED, NOW, outcome=CallOutcome.HANDED_OVER)
        await uow.calls.save(ended)
        await uow.commit()

    with pytest.raises(CallClosed):
        await ask_user(ports, search.ctx(), "Which stylist?")


async def test_two_answers_at_once_keep_the_first_and_the_tool_turns_show_in_the_transcript(
    uow_factory: UnitOfWorkFactory, other_process: UnitOfWorkFactory
) -> None:
    search = await running_search(uow_factory)
    ports, elsewhere = ports_over(uow_factory, wait=timedelta(milliseconds=100)), ports_over(other_process)
    silent = await ask_user(ports, search.ctx(), "Do you have a favourite stylist, Anna or Murat?", ["Anna", "Murat"])
    assert silent.question_id is not None

    taps = await asyncio.gather(
        answer_question(ports, USER_ID, silent.question_id, "Anna"),
        answer_question(elsewhere, USER_ID, silent.question_id, "Murat"),
    )

    assert sorted(first for _, first in taps) == [False, True]
    assert len({question.answer for question, _ in taps}) == 1  # the second tap is told the first answer
    async with uow_factory() as uow:
        stored = await uow.questions.get(silent.question_id)
        turns = await uow.turns.list_for_call(search.calls[0].id)
    kept = [question.answer for question, first in taps if first]
    assert stored is not None and [stored.answer] == kept
    assert [t.text for t in turns] == ["(asks the client) Do you have a favourite stylist, Anna or Murat?"]
