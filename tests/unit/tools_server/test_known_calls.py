"""Known calls: a remembered token needs no lookup, but an ended call is still refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.errors import CallClosed, NotAuthorized
from domain.models import CallOutcome, TimeWindow
from domain.services import tool_calls
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.context import Ports
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeUnitOfWork, FakeWorld
from tools_server.known_calls import KnownCalls

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 12, 1, 11, tzinfo=UTC), datetime(2026, 12, 1, 16, tzinfo=UTC))


async def _world() -> FakeWorld:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a"), make_provider("b", lat=52.53)])
    campaign = await create_campaign(world.ports, StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ))
    await run_campaign(world.ports, campaign.id)
    return world


def _counting(world: FakeWorld) -> tuple[Ports, list[FakeUnitOfWork]]:
    """The world's ports, with every unit of work they open kept in the list returned."""
    opened: list[FakeUnitOfWork] = []

    def counting_uow() -> FakeUnitOfWork:
        opened.append(FakeUnitOfWork(world.store))
        return opened[-1]

    return replace(world.ports, uow=counting_uow), opened


async def test_a_known_token_is_answered_without_a_lookup_and_carries_this_requests_conversation() -> None:
    world = await _world()
    ports, opened = _counting(world)
    known = KnownCalls()
    token = world.voice.token_for("a")
    first = await known.open(ports, token, "conv-1")
    assert len(opened) == 1
    second = await known.open(ports, token, "conv-2")
    assert len(opened) == 1  # no second lookup
    assert (second.call.id, second.conversation_id, first.conversation_id) == (first.call.id, "conv-2", "conv-1")


async def test_a_remembered_call_that_ended_is_still_refused() -> None:
    world = await _world()
    known = KnownCalls()
    token = world.voice.token_for("a")
    ctx = await known.open(world.ports, token, None)
    await tool_calls.end_call(world.ports, ctx, CallOutcome.NO_AVAILABILITY)
    again = await known.open(world.ports, token, None)
    with pytest.raises(CallClosed):
        await tool_calls.check_availability(world.ports, again, WINDOW.start)


async def test_unknown_tokens_are_refused_and_not_remembered() -> None:
    world = await _world()
    known = KnownCalls(size=1)
    for _ in range(2):
        with pytest.raises(NotAuthorized):
            await known.open(world.ports, "forged", None)
    await known.open(world.ports, world.voice.token_for("a"), None)
    await known.open(world.ports, world.voice.token_for("b"), None)
    assert len(known._contexts) == 1  # bounded: the older one was dropped


async def test_an_ended_call_is_forgotten_and_looked_up_again_if_it_comes_back() -> None:
    # The end-call endpoint forgets the call's token, so a server's memory does not grow with calls that are over.
    world = await _world()
    ports, opened = _counting(world)
    known = KnownCalls()
    token = world.voice.token_for("a")
    await known.open(ports, token, None)
    known.forget(token)
    known.forget(None)  # a request without a token has nothing to forget
    assert known._contexts == {}
    await known.open(ports, token, None)
    assert len(opened) == 2
