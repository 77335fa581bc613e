"""Every way a call ends gives its place under the call limit back, exactly once for the limit."""

from collections.abc import Awaitable, Callable

import pytest

from domain.models import CallOutcome, CallStatus, CallTask
from domain.services.campaigns import cancel_campaign
from domain.services.reconcile import ConversationInfo, record_call_failure, record_conversation
from domain.services.sweeps import sweep
from domain.services.tool_calls import end_call, open_call
from tests.fakes import FakeWorld
from tests.unit.domain.test_campaign_flow import start, world

__all__ = ["world"]

Ending = Callable[[FakeWorld, str, CallTask], Awaitable[object]]


async def by_end_call(world: FakeWorld, campaign_id: str, call: CallTask) -> object:
    return await end_call(
        world.ports, await open_call(world.ports, world.voice.token_for(call.provider.id)), CallOutcome.OTHER
    )


async def by_timeout(world: FakeWorld, campaign_id: str, call: CallTask) -> object:
    world.clock.advance(world.policy.call_timeout)
    return await sweep(world.ports)


async def by_cancelling(world: FakeWorld, campaign_id: str, call: CallTask) -> object:
    return await cancel_campaign(world.ports, 7, campaign_id)


async def by_post_call_report(world: FakeWorld, campaign_id: str, call: CallTask) -> object:
    return await record_conversation(world.ports, ConversationInfo(call.conversation_id or "", over=True))


async def by_initiation_failure(world: FakeWorld, campaign_id: str, call: CallTask) -> object:
    return await record_call_failure(world.ports, call.conversation_id or "", CallStatus.BUSY)


@pytest.mark.parametrize("ending", [by_end_call, by_timeout, by_cancelling, by_post_call_report, by_initiation_failure])
async def test_a_call_gives_its_place_back_however_it_ends(world: FakeWorld, ending: Ending) -> None:
    campaign_id = await start(world)
    call = next(c for c in world.store.tables["calls"].values() if c.provider.id == "near")
    assert call.id in await world.slots.held_here()

    await ending(world, campaign_id, call)

    assert call.id in world.slots.released
    assert call.id not in await world.slots.held_here()
    assert await world.slots.claimed([call.id]) == set()
