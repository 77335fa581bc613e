"""Call slots for tests: the in-process ones, or Redis ones under a key prefix of their own (deleted after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis

from domain.ports import CallSlots
from storage.slots import InMemoryCallSlots, RedisCallSlots


@asynccontextmanager
async def call_slots(kind: str, limit: int, redis_url: str | None = None) -> AsyncIterator[CallSlots]:
    """``kind`` is ``"memory"`` or ``"redis"`` (which needs ``redis_url``)."""
    if kind == "memory":
        yield InMemoryCallSlots(limit)
        return
    assert redis_url is not None
    prefix = f"nexus-test:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    store = RedisCallSlots(client, limit, prefix=prefix)
    try:
        yield store
    finally:
        await store.aclose()
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
        await client.aclose()
