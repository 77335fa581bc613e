"""Call slots (``domain.ports.CallSlots``): the voice provider's limit on calls running at once.

The limit is per provider account, so ``RedisCallSlots`` keeps it for every NEXUS process together: one sorted
set whose members are call ids, scored by when their lease runs out. The process that placed a call renews its
lease while the call lives; a process that dies stops renewing, so its places come back after one lease.
Any process that ends a call gives its place back at once, whichever process placed it. ``InMemoryCallSlots``
serves a single process (the default without ``REDIS_URL``): a process that dies takes its places with it.

A call waits for a place rather than failing: a release in this process wakes the waiters at once, a release
elsewhere is seen within ``poll_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.errors import DependencyUnavailable

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0


class InMemoryCallSlots:
    """At most ``limit`` calls of this process at once."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("The call limit must be at least 1.")
        self._limit = limit
        self._holding: set[str] = set()
        self._waiting: set[str] = set()
        self._freed = asyncio.Condition()

    async def acquire(self, call_id: str) -> None:
        async with self._freed:
            self._waiting.add(call_id)
            try:
                await self._freed.wait_for(lambda: call_id in self._holding or len(self._holding) < self._limit)
            finally:
                self._waiting.discard(call_id)
            self._holding.add(call_id)

    async def adopt(self, call_id: str) -> None:
        async with self._freed:
            self._holding.add(call_id)

    async def release(self, call_id: str) -> None:
        async with self._freed:
            if call_id in self._holding:
                self._holding.discard(call_id)
                self._freed.notify_all()

    async def claimed(self, call_ids: Collection[str]) -> set[str]:
        return (self._holding | self._waiting) & set(call_ids)

    async def held_here(self) -> set[str]:
        return set(self._holding)

    async def in_use(self) -> int:
        return len(self._holding)


# Scores are lease ends in milliseconds of the Redis server's own clock, so the processes' clocks never matter.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"

_ACQUIRE = (
    _NOW
    + """
local lease, limit, adopt = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if adopt or redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  return 1
end
return 0
"""
)

# Renews only leases that are still there: a call another process ended (ZREM) must not come back.
_RENEW = (
    _NOW
    + """
local lease, kept = tonumber(ARGV[1]), {}
for i = 2, #ARGV do
  local until_at = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if until_at and tonumber(until_at) > now then
    redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i])
    table.insert(kept, ARGV[i])
  end
end
if #kept > 0 then redis.call('PEXPIRE', KEYS[1], lease * 2) end
return kept
"""
)

_CLAIMED = (
    _NOW
    + """
local live = {}
for i = 1, #ARGV do
  for _, key in ipairs(KEYS) do
    local until_at = redis.call('ZSCORE', key, ARGV[i])
    if until_at and tonumber(until_at) > now then table.insert(live, ARGV[i]) break end
  end
end
return live
"""
)

# A call waiting for a place is claimed too (its process lives), under a lease of its own.
_WAIT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""
)

_IN_USE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)


class RedisCallSlots:
    """At most ``limit`` calls at once across every process sharing ``prefix`` on the Redis server."""

    def __init__(
        self,
        client: redis.Redis,
        limit: int,
        *,
        prefix: str = "nexus:calls",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = 0.25,
    ) -> None:
        if limit < 1:
            raise ValueError("The call limit must be at least 1.")
        self._client = client
        self._key = f"{prefix}:slots"
        self._waiting_key = f"{prefix}:waiting"
        self._limit = limit
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._poll = poll_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._claimed = client.register_script(_CLAIMED)
        self._wait = client.register_script(_WAIT)
        self._in_use = client.register_script(_IN_USE)
        self._mine: set[str] = set()  # calls whose leases this process renews
        self._waiting: set[str] = set()  # calls of this process waiting for a place
        self._freed = asyncio.Condition()
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self, call_id: str) -> None:
        if await self._take(call_id, adopt=False):
            return
        self._waiting.add(call_id)
        try:
            async with _reachable():
                await self._wait(keys=[self._waiting_key], args=[call_id, self._lease_ms])
            self._start_renewing()
            while not await self._take(call_id, adopt=False):
                async with self._freed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._freed.wait(), self._poll)
        finally:
            self._waiting.discard(call_id)
            with contextlib.suppress(DependencyUnavailable):
                async with _reachable():
                    await self._client.zrem(self._waiting_key, call_id)

    async def adopt(self, call_id: str) -> None:
        await self._take(call_id, adopt=True)

    async def release(self, call_id: str) -> None:
        self._mine.discard(call_id)
        try:
            async with _reachable():
                await self._client.zrem(self._key, call_id)
        except DependencyUnavailable as exc:
            log.warning("call slot of %s not given back now (its lease runs out): %s", call_id, exc)
        async with self._freed:
            self._freed.notify_all()

    async def claimed(self, call_ids: Collection[str]) -> set[str]:
        if not call_ids:
            return set()
        async with _reachable():
            live = await self._claimed(keys=[self._key, self._waiting_key], args=list(call_ids))
        return {_text(member) for member in live}

    async def held_here(self) -> set[str]:
        return set(self._mine)

    async def in_use(self) -> int:
        async with _reachable():
            return int(await self._in_use(keys=[self._key]))

    async def renew(self) -> None:
        """Extend the leases of this process's calls and waiters; forget calls that ended elsewhere or expired."""
        mine, waiting = list(self._mine), list(self._waiting)
        async with _reachable():
            if mine:
                kept = {_text(m) for m in await self._renew(keys=[self._key], args=[self._lease_ms, *mine])}
                self._mine -= set(mine) - kept
            for call_id in waiting:
                await self._wait(keys=[self._waiting_key], args=[call_id, self._lease_ms])

    async def aclose(self) -> None:
        """Stop renewing (the places of calls still running run out with their leases)."""
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None

    async def _take(self, call_id: str, *, adopt: bool) -> bool:
        async with _reachable():
            taken = await self._acquire(
                keys=[self._key], args=[call_id, self._lease_ms, self._limit, "1" if adopt else "0"]
            )
        if taken:
            self._mine.add(call_id)
            self._start_renewing()
        return bool(taken)

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever(), name="call-slot-leases")

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                await self.renew()
            except DependencyUnavailable as exc:
                log.warning("call slot leases not renewed: %s", exc)


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise DependencyUnavailable("The call slots (Redis) cannot be reached right now.") from error


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
