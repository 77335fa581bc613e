"""Liveness, readiness and the published description of the tool API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from storage.holds import RedisHoldStore
from tests.e2e.tools.server import ToolServer, running_tool_server
from tests.support.db import sqlite_url

TOOL_PATHS = {
    "/api/check-availability": "check_availability",
    "/api/report-slot-offer": "report_slot_offer",
    "/api/book-slot": "book_slot",
    "/api/end-call": "end_call",
    "/api/get-distance": "get_distance",
    "/api/ask-user": "ask_user",
    "/api/get-instructions": "get_instructions",
    "/api/request-handover": "request_handover",
}


@pytest.fixture
async def unreachable_redis_holds() -> AsyncIterator[RedisHoldStore]:
    """A ``RedisHoldStore`` whose server is down: its port is closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        yield RedisHoldStore(client)
    finally:
        await client.aclose()


async def test_health_answers_while_the_process_serves(server: ToolServer) -> None:
    reply = await server.get("/health")

    assert (reply.status, reply.body) == (200, {"status": "ok"})


async def test_ready_when_the_database_and_the_hold_store_answer(server: ToolServer) -> None:
    reply = await server.get("/ready")

    assert (reply.status, reply.body) == (200, {"status": "ready", "checks": {"database": "ok", "holds": "ok"}})


async def test_not_ready_names_the_hold_store_when_redis_is_down(
    sqlite_database: str, unreachable_redis_holds: RedisHoldStore
) -> None:
    async with running_tool_server(sqlite_database, holds=unreachable_redis_holds) as server:
        reply = await server.get("/ready")
        alive = await server.get("/health")

    assert reply.status == 503
    assert reply.body["status"] == "not_ready"
    assert reply.body["checks"]["database"] == "ok"
    assert reply.body["checks"]["holds"].startswith("The hold store (Redis) cannot be reached right now")
    assert alive.status == 200  # liveness does not depend on what the process needs


async def test_not_ready_names_the_database_when_it_lacks_the_migrations(tmp_path: Path) -> None:
    async with running_tool_server(sqlite_url(tmp_path), check_schema=False) as server:
        reply = await server.get("/ready")

    assert reply.status == 503
    assert reply.body["checks"]["holds"] == "ok"
    assert "nexus db upgrade" in reply.body["checks"]["database"]


async def test_openapi_describes_every_tool_and_its_headers(server: ToolServer) -> None:
    reply = await server.get("/openapi.json")

    assert reply.status == 200
    document = reply.body
    assert {path: item["post"]["operationId"] for path, item in document["paths"].items()} == TOOL_PATHS
    schemes = document["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"X-Nexus-Tool-Secret", "X-Nexus-Call-Token"}
    slot_request = document["components"]["schemas"]["SlotRequest"]
    assert slot_request["additionalProperties"] is False  # unknown fields are refused, as documented
    assert set(slot_request["required"]) == {"date", "time"}
