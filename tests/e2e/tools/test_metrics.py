"""``/metrics``: tool latency by tool and status, the deployment's state read from the database at scrape
time (on SQLite and PostgreSQL), the outbox once its table exists, and outside services' errors by kind."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain.models import CallStatus
from domain.notifications import CallsChanged
from tests.e2e.tools.server import NOW, ToolServer, migrated_postgres_database, running_tool_server


@asynccontextmanager
async def serving(database: str, sqlite_database: str, postgres_url: str) -> AsyncIterator[ToolServer]:
    if database == "sqlite":
        async with running_tool_server(sqlite_database) as server:
            yield server
    else:
        async with migrated_postgres_database(postgres_url) as url, running_tool_server(url) as server:
            yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request: pytest.FixtureRequest, sqlite_database: str) -> AsyncIterator[ToolServer]:
    postgres_url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    async with serving(request.param, sqlite_database, postgres_url) as running:
        yield running


async def scrape(server: ToolServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with server.http.get(f"{server.base_url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_tool_latency_is_counted_by_tool_and_status(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")
    assert (await server.call("check-availability", {"date": "Tuesday", "time": "15:00"}, token=token)).status == 200
    assert (await server.call("check-availability", {"date": "Tuesday", "time": "16:00"}, token=token)).status == 200
    assert (await server.call("check-availability", {"date": "Tuesday", "time": "15:00"}, token=None)).status == 401

    metrics = await scrape(server)

    ok = ("status", "200"), ("tool", "check_availability")
    refused = ("status", "401"), ("tool", "check_availability")
    assert metrics[("nexus_tool_request_seconds_count", ok)] == 2
    assert metrics[("nexus_tool_request_seconds_count", refused)] == 1
    assert metrics[("nexus_tool_request_seconds_sum", ok)] > 0
    assert ("nexus_tool_request_seconds_count", (("status", "200"), ("tool", "end_call"))) not in metrics


async def test_calls_and_campaigns_come_from_the_database_at_scrape_time(server: ToolServer) -> None:
    before = await scrape(server)
    assert before[("nexus_calls_in_flight", ())] == 0
    assert before[("nexus_campaigns", (("status", "NEGOTIATING"),))] == 0

    campaign = await server.start_campaign()
    async with server.nexus.ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign.id)
    in_flight = sum(1 for c in calls if c.status in (CallStatus.DIALING, CallStatus.IN_PROGRESS))
    assert in_flight > 0

    after = await scrape(server)
    assert after[("nexus_calls_in_flight", ())] == in_flight
    assert after[("nexus_campaigns", (("status", str(campaign.status)),))] == 1
    assert sum(v for (name, _), v in after.items() if name == "nexus_campaigns") == 1


async def test_the_outbox_backlog_and_lag_are_read_from_the_outbox(server: ToolServer) -> None:
    before = await scrape(server)
    async with server.nexus.ports.uow() as uow:
        await uow.outbox.add(7, CallsChanged("campaign-a"), NOW - timedelta(seconds=90))
        await uow.outbox.add(8, CallsChanged("campaign-b"), NOW - timedelta(seconds=5))
        await uow.commit()

    metrics = await scrape(server)

    assert metrics[("nexus_outbox_backlog", ())] == before[("nexus_outbox_backlog", ())] + 2
    assert metrics[("nexus_outbox_delivery_lag_seconds", ())] == 90  # the oldest message still waiting


async def test_outside_services_errors_are_counted_by_dependency_and_kind(server: ToolServer) -> None:
    logging.getLogger("integrations.google.calendar").warning("Calendar of user %s failed (%s)", 7, "ReadTimeout")
    logging.getLogger("integrations.elevenlabs.gateway").warning("ElevenLabs answered HTTP %s to call %s", 503, "c1")
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        logging.getLogger("bot.telegram.notifier").exception("telling user %s failed", 7)
    logging.getLogger("integrations.google.places").info("not an error")
    logging.getLogger("domain.services.campaigns").warning("not an outside service")

    metrics = await scrape(server)

    errors = {labels: value for (name, labels), value in metrics.items() if name == "nexus_dependency_errors_total"}
    assert errors == {
        (("dependency", "google"), ("kind", "ReadTimeout")): 1,
        (("dependency", "voice"), ("kind", "http_503")): 1,
        (("dependency", "telegram"), ("kind", "ConnectionResetError")): 1,
    }


async def test_call_slots_held_are_read_from_the_slot_store_at_scrape_time(server: ToolServer) -> None:
    slots = server.nexus.ports.slots
    held_before = await slots.in_use()
    await slots.acquire("metrics-call-1")
    await slots.acquire("metrics-call-2")

    during = await scrape(server)
    await slots.release("metrics-call-1")
    await slots.release("metrics-call-2")
    after = await scrape(server)

    assert during[("nexus_call_slots_held", ())] == held_before + 2
    assert after[("nexus_call_slots_held", ())] == held_before
