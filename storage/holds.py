"""Hold stores (``domain.ports.HoldStore``): tentative claims on a user's time while calls negotiate.

``RedisHoldStore`` is shared by every NEXUS process; ``InMemoryHoldStore`` serves a single process (the
default without ``REDIS_URL``, and tests). Both follow one contract: a hold of one campaign never overlaps
a live hold of another campaign of the same user; holds of the same campaign may overlap; a hold whose
``expires_at`` is at or before ``now`` is gone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.errors import DependencyUnavailable
from domain.models import Hold, TimeWindow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class InMemoryHoldStore:
    """Holds in this process's memory; lost on restart and invisible to other processes."""

    def __init__(self) -> None:
        # user id -> (campaign id, start, end) -> expires_at
        self._holds: dict[int, dict[tuple[str, datetime, datetime], datetime]] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, hold: Hold, now: datetime) -> list[Hold]:
        async with self._lock:
            self._prune(hold.user_id, now)
            conflicts = self._conflicts(hold.user_id, hold.window, hold.campaign_id)
            if not conflicts:
                entries = self._holds.setdefault(hold.user_id, {})
                entries[(hold.campaign_id, hold.window.start, hold.window.end)] = hold.expires_at
            return conflicts

    async def conflicting(self, user_id: int, window: TimeWindow, campaign_id: str, now: datetime) -> list[Hold]:
        async with self._lock:
            self._prune(user_id, now)
            return self._conflicts(user_id, window, campaign_id)

    async def release_campaign(self, user_id: int, campaign_id: str) -> int:
        async with self._lock:
            entries = self._holds.get(user_id, {})
            doomed = [key for key in entries if key[0] == campaign_id]
            for key in doomed:
                del entries[key]
            return len(doomed)

    async def purge_expired(self, now: datetime) -> int:
        async with self._lock:
            return sum(self._prune(user_id, now) for user_id in list(self._holds))

    async def ping(self) -> None:
        return None

    def _prune(self, user_id: int, now: datetime) -> int:
        entries = self._holds.get(user_id, {})
        expired = [key for key, expires_at in entries.items() if expires_at <= now]
        for key in expired:
            del entries[key]
        if not entries:
            self._holds.pop(user_id, None)
        return len(expired)

    def _conflicts(self, user_id: int, window: TimeWindow, campaign_id: str) -> list[Hold]:
        return sorted(
            (
                Hold(user_id, other_campaign, TimeWindow(start, end), expires_at)
                for (other_campaign, start, end), expires_at in self._holds.get(user_id, {}).items()
                if other_campaign != campaign_id and start < window.end and window.start < end
            ),
            key=_hold_order,
        )


# One Redis hash per user: field "<start µs>:<end µs>:<campaign id>" -> "<expires µs>" (µs since the epoch,
# exact in Lua's doubles). The key's TTL follows its latest expiry, so a forgotten user's holds vanish.
_FIELD = re.compile(r"^(-?\d+):(-?\d+):(.*)$", re.DOTALL)

_ACQUIRE = """
local now, campaign = tonumber(ARGV[1]), ARGV[2]
local start_at, end_at, expires_at = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local entries = redis.call('HGETALL', KEYS[1])
local conflicts, latest = {}, expires_at
for i = 1, #entries, 2 do
  local field, until_at = entries[i], tonumber(entries[i + 1])
  if until_at <= now then
    redis.call('HDEL', KEYS[1], field)
  else
    local s, e, c = string.match(field, '^(%-?%d+):(%-?%d+):(.*)$')
    if c ~= campaign and tonumber(s) < end_at and start_at < tonumber(e) then
      table.insert(conflicts, field)
      table.insert(conflicts, entries[i + 1])
    end
    if until_at > latest then latest = until_at end
  end
end
if #conflicts == 0 then
  redis.call('HSET', KEYS[1], ARGV[3] .. ':' .. ARGV[4] .. ':' .. campaign, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((latest - now) / 1000)))
end
return conflicts
"""

_RELEASE = """
local dropped = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.match(field, '^%-?%d+:%-?%d+:(.*)$') == ARGV[1] then
    redis.call('HDEL', KEYS[1], field)
    dropped = dropped + 1
  end
end
return dropped
"""

_PURGE = """
local now, purged = tonumber(ARGV[1]), 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) <= now then
    redis.call('HDEL', KEYS[1], entries[i])
    purged = purged + 1
  end
end
return purged
"""


class RedisHoldStore:
    """Holds in Redis, shared by every NEXUS process; ``acquire`` is one atomic Lua script."""

    def __init__(self, client: redis.Redis, prefix: str = "nexus:holds") -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._purge = client.register_script(_PURGE)

    async def acquire(self, hold: Hold, now: datetime) -> list[Hold]:
        window = hold.window
        args: list[str | int] = [
            _micros(now),
            hold.campaign_id,
            _micros(window.start),
            _micros(window.end),
            _micros(hold.expires_at),
        ]
        async with _reachable():
            flat = await self._acquire(keys=[self._key(hold.user_id)], args=args)
        return _holds_from(hold.user_id, flat)

    async def conflicting(self, user_id: int, window: TimeWindow, campaign_id: str, now: datetime) -> list[Hold]:
        async with _reachable():
            entries: dict[Any, Any] = await self._client.hgetall(self._key(user_id))
        flat = [item for pair in entries.items() for item in pair]
        return [
            hold
            for hold in _holds_from(user_id, flat)
            if hold.campaign_id != campaign_id and hold.expires_at > now and hold.window.overlaps(window)
        ]

    async def release_campaign(self, user_id: int, campaign_id: str) -> int:
        async with _reachable():
            return int(await self._release(keys=[self._key(user_id)], args=[campaign_id]))

    async def purge_expired(self, now: datetime) -> int:
        purged = 0
        async with _reachable():
            async for key in self._client.scan_iter(match=f"{_glob_escape(self._prefix)}:user:*", count=500):
                purged += int(await self._purge(keys=[key], args=[_micros(now)]))
        return purged

    async def ping(self) -> None:
        async with _reachable():
            await self._client.ping()

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}:user:{user_id}"


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise DependencyUnavailable(
            "The hold store (Redis) cannot be reached right now, so no time can be held; please try again shortly."
        ) from error


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _holds_from(user_id: int, flat: list[Any]) -> list[Hold]:
    """Holds from a flat ``[field, expires, field, expires, ...]`` answer."""
    holds = []
    for field, expires in zip(flat[::2], flat[1::2], strict=True):
        match = _FIELD.match(_text(field))
        if match is None:
            continue  # not written by this store; leave it alone
        start, end, campaign_id = match.groups()
        window = TimeWindow(_from_micros(int(start)), _from_micros(int(end)))
        holds.append(Hold(user_id, campaign_id, window, _from_micros(int(_text(expires)))))
    return sorted(holds, key=_hold_order)


def _hold_order(hold: Hold) -> tuple[datetime, datetime, str]:
    return (hold.window.start, hold.window.end, hold.campaign_id)


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
