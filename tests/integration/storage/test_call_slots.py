"""One contract for both kinds of call slots (in-process and Redis, real, with a key prefix per test), and
what only Redis does: one limit for several processes, leases that run out when their process dies."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as redis

from domain.models import CallStatus, CallTask, TimeWindow
from domain.ports import CallSlots
from domain.services.campaigns import StartCampaign, create_campaign, end_call_task, run_campaign
from domain.services.context import Ports
from domain.services.sweeps import sweep
from storage.slots import InMemoryCallSlots, RedisCallSlots
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld
from tests.integration.storage.builders import NOW, USER_ID
from tests.support.db import Database
from tests.support.slots import call_slots

LIMIT = 2
WINDOW = TimeWindow(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=5))


@pytest.fixture
def redis_prefix() -> str:
    return f"nexus-test:{uuid.uuid4().hex}"


@pytest.fixture
async def redis_client(redis_url: str, redis_prefix: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        async for key in client.scan_iter(match=f"{redis_prefix}:*"):
            await client.delete(key)
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def slots(request: pytest.FixtureRequest) -> AsyncIterator[CallSlots]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async with call_slots(request.param, LIMIT, redis_url) as store:
        yield store


async def pending(task: asyncio.Task[None]) -> bool:
    """Whether ``task`` is still waiting after everything ready to run has run."""
    for _ in range(20):
        await asyncio.sleep(0)
    return not task.done()


async def eventually_claimed(slots: CallSlots, call_id: str) -> bool:
    """Whether ``call_id`` shows as claimed within a hundred round trips (a waiter registers itself first)."""
    for _ in range(100):
        if call_id in await slots.claimed([call_id]):
            return True
    return False


async def test_a_call_beyond_the_limit_waits_and_takes_the_first_place_given_back(slots: CallSlots) -> None:
    await slots.acquire("a")
    await slots.acquire("b")
    waiting = asyncio.create_task(slots.acquire("c"))
    assert await pending(waiting)
    assert await slots.in_use() == LIMIT
    assert await eventually_claimed(slots, "c")  # a waiting call is somebody's business
    assert await slots.claimed(["a", "c", "unknown"]) == {"a", "c"}

    await slots.release("a")

    await asyncio.wait_for(waiting, 5)
    assert await slots.claimed(["a", "b", "c"]) == {"b", "c"}
    assert await slots.held_here() == {"b", "c"}


async def test_taking_a_place_twice_or_giving_one_back_twice_counts_once(slots: CallSlots) -> None:
    await slots.acquire("a")
    await slots.acquire("a")
    assert await slots.in_use() == 1

    await slots.release("a")
    await slots.release("a")
    await slots.release("never-took-one")

    assert await slots.in_use() == 0
    await slots.acquire("b")
    await slots.acquire("c")
    extra = asyncio.create_task(slots.acquire("d"))
    assert await pending(extra)  # the extra releases did not make room for a third call
    extra.cancel()
    with pytest.raises(asyncio.CancelledError):
        await extra


async def test_a_running_call_found_at_start_is_adopted_even_past_the_limit(slots: CallSlots) -> None:
    await slots.acquire("a")
    await slots.acquire("b")

    await slots.adopt("running-since-before")

    assert await slots.in_use() == LIMIT + 1
    assert await slots.claimed(["running-since-before"]) == {"running-since-before"}


@pytest.mark.redis
async def test_two_processes_share_one_limit(redis_url: str, redis_client: redis.Redis, redis_prefix: str) -> None:
    other_client = redis.Redis.from_url(redis_url)
    first = RedisCallSlots(redis_client, LIMIT, prefix=redis_prefix, poll_seconds=0.05)
    second = RedisCallSlots(other_client, LIMIT, prefix=redis_prefix, poll_seconds=0.05)
    try:
        await first.acquire("a")
        await second.acquire("b")
        waiting = asyncio.create_task(second.acquire("c"))
        assert await pending(waiting)

        await first.release("a")  # another process gives a place back

        await asyncio.wait_for(waiting, 5)
        assert await first.in_use() == await second.in_use() == LIMIT
    finally:
        await first.aclose()
        await second.aclose()
        await other_client.aclose()


@pytest.mark.redis
async def test_the_places_of_a_process_that_died_come_back_when_their_leases_run_out(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    doomed = RedisCallSlots(redis_client, 1, prefix=redis_prefix, lease_seconds=0.5)
    survivor = RedisCallSlots(redis_client, 1, prefix=redis_prefix, lease_seconds=0.5, poll_seconds=0.05)
    await doomed.acquire("a")
    await doomed.aclose()  # it stops renewing without giving anything back, as a killed process would

    await asyncio.wait_for(survivor.acquire("b"), 5)

    assert await survivor.claimed(["a", "b"]) == {"b"}
    await survivor.aclose()


@pytest.mark.redis
async def test_a_living_process_keeps_its_places_beyond_one_lease(redis_client: redis.Redis, redis_prefix: str) -> None:
    holder = RedisCallSlots(redis_client, 1, prefix=redis_prefix, lease_seconds=0.3)
    other = RedisCallSlots(redis_client, 1, prefix=redis_prefix, lease_seconds=0.3, poll_seconds=0.05)
    await holder.acquire("a")
    try:
        # Three leases long, the place stays taken: the holder renews it while the call lives.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(other.acquire("b"), 0.9)
        assert await other.claimed(["a"]) == {"a"}
    finally:
        await holder.aclose()
        await other.aclose()


@pytest.mark.redis
async def test_a_call_ended_by_another_process_is_not_renewed_back(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    placer = RedisCallSlots(redis_client, LIMIT, prefix=redis_prefix)
    ender = RedisCallSlots(redis_client, LIMIT, prefix=redis_prefix)
    await placer.acquire("a")

    await ender.release("a")
    await placer.renew()

    assert await placer.claimed(["a"]) == set()
    assert await placer.held_here() == set()
    await placer.aclose()


async def test_the_sweep_gives_back_places_of_calls_another_process_ended(database: Database) -> None:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a"), make_provider("b")])
    ports = dataclasses.replace(world.ports, uow=database.uow_factory, slots=InMemoryCallSlots(LIMIT))
    command = StartCampaign(user_id=USER_ID, service="dentist", windows=[WINDOW], location=ALEXANDERPLATZ)
    campaign = await run_campaign(ports, (await create_campaign(ports, command)).id)
    calls = await _calls(ports, campaign.id)
    assert await ports.slots.held_here() == {c.id for c in calls}
    # Another process (with slots of its own) ends the first call; this process never hears of it.
    elsewhere = dataclasses.replace(ports, slots=InMemoryCallSlots(LIMIT))
    await end_call_task(elsewhere, calls[0].id, CallStatus.NO_ANSWER, reason="Nobody answered.")

    report = await sweep(ports)

    assert report.slots_freed == 1
    assert await ports.slots.held_here() == {calls[1].id}


async def _calls(ports: Ports, campaign_id: str) -> list[CallTask]:
    async with ports.uow() as uow:
        return await uow.calls.list_for_campaign(campaign_id)
