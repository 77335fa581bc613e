"""Fixtures of the reliability suite: a throw-away PostgreSQL database and a private corner of Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from storage.schema import upgrade
from tests.support.db import fresh_postgres_database

TOOL_SECRET = "reliability-suite-secret"


@pytest.fixture
async def shared_database(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database that several processes share; dropped afterwards."""
    async with fresh_postgres_database(postgres_url) as url:
        await upgrade(url)
        yield url


@pytest.fixture
async def holds_prefix(redis_url: str) -> AsyncIterator[str]:
    """A Redis key prefix of this test alone for the hold store; its keys are deleted afterwards."""
    prefix = f"nexus-test:{uuid.uuid4().hex[:12]}:holds"
    yield prefix
    client = redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
