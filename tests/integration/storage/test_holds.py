"""One contract for both hold stores: the in-process one and Redis (real, with a key prefix per test)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from domain.errors import DependencyUnavailable
from domain.models import Hold, TimeWindow
from domain.ports import HoldStore
from storage.holds import InMemoryHoldStore, RedisHoldStore
from tests.integration.storage.builders import NOW, USER_ID

TTL = timedelta(minutes=30)
SLOT = TimeWindow(NOW + timedelta(days=1), NOW + timedelta(days=1, minutes=30))


def hold(campaign_id: str, window: TimeWindow = SLOT, user_id: int = USER_ID, ttl: timedelta = TTL) -> Hold:
    return Hold(user_id, campaign_id, window, NOW + ttl)


def shifted(window: TimeWindow, minutes: int) -> TimeWindow:
    return TimeWindow(window.start + timedelta(minutes=minutes), window.end + timedelta(minutes=minutes))


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test alone, so parallel runs never see each other's holds."""
    return f"nexus-test:{uuid.uuid4().hex}"


@pytest.fixture
async def redis_store(redis_client: redis.Redis, redis_prefix: str) -> AsyncIterator[RedisHoldStore]:
    try:
        yield RedisHoldStore(redis_client, prefix=redis_prefix)
    finally:
        async for key in redis_client.scan_iter(match=f"{redis_prefix}:*"):
            await redis_client.delete(key)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> HoldStore:
    if request.param == "memory":
        return InMemoryHoldStore()
    redis_store: RedisHoldStore = request.getfixturevalue("redis_store")
    return redis_store


async def test_a_free_slot_is_held_against_other_campaigns_only(store: HoldStore) -> None:
    assert await store.acquire(hold("A"), NOW) == []
    assert await store.conflicting(USER_ID, SLOT, "B", NOW) == [hold("A")]
    assert await store.conflicting(USER_ID, SLOT, "A", NOW) == []
    assert await store.conflicting(USER_ID + 1, SLOT, "B", NOW) == []


async def test_an_overlapping_hold_of_another_campaign_is_refused_and_not_stored(store: HoldStore) -> None:
    await store.acquire(hold("A"), NOW)
    overlapping = shifted(SLOT, 15)
    assert await store.acquire(hold("B", overlapping), NOW) == [hold("A")]
    assert await store.conflicting(USER_ID, overlapping, "C", NOW) == [hold("A")]


async def test_one_campaign_may_hold_overlapping_slots(store: HoldStore) -> None:
    assert await store.acquire(hold("A"), NOW) == []
    assert await store.acquire(hold("A", shifted(SLOT, 10)), NOW) == []
    assert await store.conflicting(USER_ID, SLOT, "B", NOW) == [hold("A"), hold("A", shifted(SLOT, 10))]


async def test_back_to_back_holds_and_other_users_do_not_clash(store: HoldStore) -> None:
    assert await store.acquire(hold("A"), NOW) == []
    assert await store.acquire(hold("B", shifted(SLOT, 30)), NOW) == []
    assert await store.acquire(hold("B", shifted(SLOT, -30)), NOW) == []
    assert await store.acquire(hold("C", user_id=USER_ID + 1), NOW) == []


async def test_expired_holds_are_gone(store: HoldStore) -> None:
    await store.acquire(hold("A", ttl=timedelta(minutes=1)), NOW)
    expiry = NOW + timedelta(minutes=1)
    assert await store.conflicting(USER_ID, SLOT, "B", expiry - timedelta(microseconds=1)) == [
        hold("A", ttl=timedelta(minutes=1))
    ]
    assert await store.conflicting(USER_ID, SLOT, "B", expiry) == []
    assert await store.acquire(hold("B"), expiry) == []


async def test_acquiring_again_renews_a_hold(store: HoldStore) -> None:
    await store.acquire(hold("A", ttl=timedelta(minutes=1)), NOW)
    assert await store.acquire(hold("A", ttl=timedelta(minutes=10)), NOW + timedelta(seconds=30)) == []
    assert await store.conflicting(USER_ID, SLOT, "B", NOW + timedelta(minutes=5)) == [
        hold("A", ttl=timedelta(minutes=10))
    ]


async def test_releasing_a_campaign_frees_its_time(store: HoldStore) -> None:
    await store.acquire(hold("A"), NOW)
    await store.acquire(hold("A", shifted(SLOT, 60)), NOW)
    await store.acquire(hold("B", shifted(SLOT, 120)), NOW)
    await store.acquire(hold("A", user_id=USER_ID + 1), NOW)

    assert await store.release_campaign(USER_ID, "A") == 2
    assert await store.release_campaign(USER_ID, "A") == 0
    assert await store.acquire(hold("C"), NOW) == []
    assert await store.conflicting(USER_ID, shifted(SLOT, 120), "C", NOW) == [hold("B", shifted(SLOT, 120))]
    assert await store.conflicting(USER_ID + 1, SLOT, "C", NOW) == [hold("A", user_id=USER_ID + 1)]


async def test_purging_drops_only_expired_holds(store: HoldStore) -> None:
    await store.acquire(hold("A", ttl=timedelta(minutes=1)), NOW)
    await store.acquire(hold("B", shifted(SLOT, 60), ttl=timedelta(minutes=1)), NOW)
    await store.acquire(hold("C", user_id=USER_ID + 1, ttl=timedelta(minutes=1)), NOW)
    await store.acquire(hold("D", shifted(SLOT, 120)), NOW)

    assert await store.purge_expired(NOW + timedelta(minutes=2)) == 3
    assert await store.purge_expired(NOW + timedelta(minutes=2)) == 0
    assert await store.release_campaign(USER_ID, "A") == 0
    assert await store.conflicting(USER_ID, shifted(SLOT, 120), "E", NOW) == [hold("D", shifted(SLOT, 120))]


@pytest.mark.parametrize("campaigns", [2, 10])
async def test_concurrent_acquires_for_the_same_time_have_one_winner(store: HoldStore, campaigns: int) -> None:
    contenders = [hold(f"campaign-{i}", shifted(SLOT, i)) for i in range(campaigns)]
    results = await asyncio.gather(*(store.acquire(h, NOW) for h in contenders))
    winners = [h for h, conflicts in zip(contenders, results, strict=True) if not conflicts]
    assert len(winners) == 1
    assert all(conflicts == winners for conflicts in results if conflicts)


async def test_ping_succeeds_when_the_store_is_there(store: HoldStore) -> None:
    await store.ping()


@pytest.mark.redis
async def test_redis_keys_expire_with_their_last_hold(
    redis_store: RedisHoldStore, redis_client: redis.Redis, redis_prefix: str
) -> None:
    await redis_store.acquire(hold("A", ttl=timedelta(minutes=5)), NOW)
    await redis_store.acquire(hold("B", shifted(SLOT, 60), ttl=timedelta(minutes=20)), NOW)
    await redis_store.acquire(hold("C", shifted(SLOT, 120), ttl=timedelta(minutes=10)), NOW)
    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}:*")]
    assert len(keys) == 1
    ttl_ms = await redis_client.pttl(keys[0])
    assert timedelta(minutes=19) < timedelta(milliseconds=ttl_ms) <= timedelta(minutes=20)


@pytest.fixture
async def unreachable_store() -> AsyncIterator[RedisHoldStore]:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        yield RedisHoldStore(client)
    finally:
        await client.aclose()


async def test_an_unreachable_redis_is_reported_as_unavailable(unreachable_store: RedisHoldStore) -> None:
    message = "The hold store \\(Redis\\) cannot be reached right now"
    with pytest.raises(DependencyUnavailable, match=message):
        await unreachable_store.ping()
    with pytest.raises(DependencyUnavailable, match=message):
        await unreachable_store.acquire(hold("A"), NOW)
    with pytest.raises(DependencyUnavailable, match=message):
        await unreachable_store.conflicting(USER_ID, SLOT, "A", NOW)
    with pytest.raises(DependencyUnavailable, match=message):
        await unreachable_store.release_campaign(USER_ID, "A")
    with pytest.raises(DependencyUnavailable, match=message):
        await unreachable_store.purge_expired(NOW)
