"""How many SQL statements and Redis commands one tool request costs, on SQLite and on PostgreSQL + Redis.

Round trips are what a tool request's latency and CPU are made of (see docs/BENCHMARKS.md), so their
number is held here: a change that adds one fails this test and has to raise the budget below on purpose.
Counted from the moment the request is sent until its answer arrives, over real HTTP against the real
server. Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) counts as a statement too when it reaches
the database: each is a round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import pytest
import redis.asyncio as redis
from asyncpg import transaction as asyncpg_transaction
from sqlalchemy import event
from sqlalchemy.engine import Engine

from domain.models import Campaign
from storage.holds import RedisHoldStore
from tests.e2e.tools.server import ToolServer, migrated_postgres_database, running_tool_server

# (SQL statements, Redis commands) per request, for each backend. Raise one only for a reason you can name.
BUDGET: dict[str, dict[str, tuple[int, int]]] = {
    # The call joined to its campaign and the user's appointments, read ahead of any transaction: a request
    # that only reads sends neither BEGIN nor COMMIT (storage.transaction).
    "sqlite": {
        "check-availability": (1, 0),
        "report-slot-offer existing": (2, 0),  # + the offer with its standing
        # + its standing (read ahead too), then BEGIN, inserting the offer, the live view's refresh (an outbox
        # row), COMMIT: on SQLite the writer's turn covers only these four
        "report-slot-offer new": (7, 0),
        "get-distance": (1, 0),
        # the call; BEGIN, its update and the live view's refresh (an outbox row), COMMIT; then a
        # transaction to settle the campaign
        "end-call": (10, 0),
    },
    "postgres+redis": {
        "check-availability": (1, 1),  # + the hold: one EVALSHA
        "report-slot-offer existing": (2, 0),
        "report-slot-offer new": (7, 0),
        "get-distance": (1, 0),
        "end-call": (10, 0),
    },
}


@dataclass
class Counter:
    """Statements sent to any database engine and commands sent to Redis, while ``counting``."""

    statements: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    counting: bool = False

    @contextmanager
    def measuring(self) -> Iterator[Counter]:
        self.statements.clear()
        self.commands.clear()
        self.counting = True
        try:
            yield self
        finally:
            self.counting = False


class CountingRedis(redis.Redis):
    """A Redis client that notes the name of every command it sends (scripts included)."""

    counter: Counter

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if _of_the_request(self.counter):
            self.counter.commands.append(str(args[0]))
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


def _of_the_request(counter: Counter) -> bool:
    """Whether a round trip now belongs to the request being measured."""
    return counter.counting


@contextmanager
def counting_statements(counter: Counter) -> Iterator[None]:
    """Count what reaches a database: every statement the driver executes (SQLite's ``BEGIN IMMEDIATE``
    included) or that goes to asyncpg directly, PostgreSQL's BEGIN, COMMIT and ROLLBACK where asyncpg sends
    them, and SQLite's COMMIT and
    ROLLBACK when a transaction is open. A COMMIT or ROLLBACK with no transaction open sends nothing (a
    unit of work that only read, see ``storage.transaction``), so it is not counted."""

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _of_the_request(counter):
            counter.statements.append(statement.split(None, 1)[0].upper())

    def sqlite_control(verb: str) -> Any:
        def note(conn: Any) -> None:
            if conn.dialect.name != "sqlite" or not _of_the_request(counter):
                return
            # The adapted aiosqlite connection, its aiosqlite connection, and that one's sqlite3 connection; or
            # a plain sqlite3 connection (the leading reads' reader, storage.sqlite_reads).
            dbapi = conn.connection.dbapi_connection
            adapted = getattr(dbapi, "_connection", None)
            if (dbapi if adapted is None else adapted._conn).in_transaction:
                counter.statements.append(verb)

        return note

    listeners = [
        ("before_cursor_execute", before),
        ("commit", sqlite_control("COMMIT")),
        ("rollback", sqlite_control("ROLLBACK")),
    ]
    originals = {name: getattr(asyncpg_transaction.Transaction, name) for name in ("start", "commit", "rollback")}

    def asyncpg_control(name: str, verb: str) -> Any:
        original = originals[name]

        async def sent(self: Any) -> Any:
            if _of_the_request(counter):
                counter.statements.append(verb)
            return await original(self)

        return sent

    # Leading reads on PostgreSQL go to the driver itself (storage.transaction.DriverStatement).
    driver_fetch = asyncpg.Connection.fetch

    async def fetch(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if _of_the_request(counter):
            counter.statements.append(query.split(None, 1)[0].upper())
        return await driver_fetch(self, query, *args, **kwargs)

    for name, listener in listeners:
        event.listen(Engine, name, listener)
    for name, verb in (("start", "BEGIN"), ("commit", "COMMIT"), ("rollback", "ROLLBACK")):
        setattr(asyncpg_transaction.Transaction, name, asyncpg_control(name, verb))
    asyncpg.Connection.fetch = fetch  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name, listener in listeners:
            event.remove(Engine, name, listener)
        for name, original in originals.items():
            setattr(asyncpg_transaction.Transaction, name, original)
        asyncpg.Connection.fetch = driver_fetch  # type: ignore[method-assign]


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
async def counted(
    request: pytest.FixtureRequest, sqlite_database: str
) -> AsyncIterator[tuple[str, ToolServer, Counter]]:
    counter = Counter()
    with counting_statements(counter):
        if request.param == "sqlite":
            async with running_tool_server(sqlite_database) as server:
                yield request.param, server, counter
            return
        async with (
            migrated_postgres_database(request.getfixturevalue("postgres_url")) as url,
            _counting_redis(request.getfixturevalue("redis_url"), counter) as holds,
            running_tool_server(url, holds=holds) as server,
        ):
            yield request.param, server, counter


@asynccontextmanager
async def _counting_redis(url: str, counter: Counter) -> AsyncIterator[RedisHoldStore]:
    client = cast(CountingRedis, CountingRedis.from_url(url))
    client.counter = counter
    prefix = f"nexus-e2e:{uuid.uuid4().hex}"
    try:
        yield RedisHoldStore(client, prefix=prefix)
    finally:
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
        await client.aclose()


async def _request(server: ToolServer, counter: Counter, tool: str, body: dict[str, Any], token: str) -> Counter:
    """One request, counted (the live view's refresh is a row it queues in its own transaction)."""
    with counter.measuring():
        reply = await server.call(tool, body, token=token)
    assert reply.status == 200, reply.body
    return Counter(list(counter.statements), list(counter.commands))


async def _warm(server: ToolServer, campaign: Campaign, provider: str) -> str:
    """The token of a call that has been used once, as every call is after its first tool request."""
    token = server.token(campaign, provider)
    reply = await server.call("get-distance", {}, token=token)
    assert reply.status == 200, reply.body
    return token


async def test_round_trips_per_tool_request_stay_within_budget(counted: tuple[str, ToolServer, Counter]) -> None:
    kind, server, counter = counted
    campaign = await server.start_campaign()
    token = await _warm(server, campaign, "p1")
    slot = {"date": "Dec 1", "time": "15:00"}
    seen = {
        "check-availability": await _request(server, counter, "check-availability", slot, token),
        "report-slot-offer new": await _request(server, counter, "report-slot-offer", slot, token),
        "report-slot-offer existing": await _request(server, counter, "report-slot-offer", slot, token),
        "get-distance": await _request(server, counter, "get-distance", {}, token),
        "end-call": await _request(server, counter, "end-call", {"outcome": "offer_made"}, token),
    }
    measured = {tool: (len(c.statements), len(c.commands)) for tool, c in seen.items()}
    detail = {tool: (c.statements, c.commands) for tool, c in seen.items()}
    for tool, (statements, commands) in measured.items():
        budget_statements, budget_commands = BUDGET[kind][tool]
        assert statements <= budget_statements, f"{kind} {tool}: {detail[tool]}"
        assert commands <= budget_commands, f"{kind} {tool}: {detail[tool]}"
