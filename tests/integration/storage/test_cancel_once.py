"""Ten requests to cancel one appointment at once place exactly one cancellation call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from benchmarks.seeding import RecordingVoiceGateway, confirming_calls, search_window, seeding_ports
from domain.errors import NotAllowed
from domain.models import CallPurpose, CallTask, TimeWindow
from domain.services import tool_calls
from domain.services.appointments import cancel_appointment
from tests.support.db import Database

USER = 31
REQUESTS = 10
APPOINTMENTS = 8  # several races at once, so a lost one shows in every run, not one in three


async def test_concurrent_cancellations_of_one_appointment_place_one_call(database: Database) -> None:
    gateway = RecordingVoiceGateway()
    ports = seeding_ports(database.uow_factory, gateway)
    first = search_window(datetime.now(UTC)).start + timedelta(hours=1)
    slots = [
        TimeWindow(first + timedelta(hours=i), first + timedelta(hours=i, minutes=30)) for i in range(APPOINTMENTS)
    ]
    appointments = []
    for confirm, slot in await confirming_calls(ports, gateway, USER, slots):
        booking = await tool_calls.book_slot(ports, await tool_calls.open_call(ports, confirm.token), slot.start)
        appointments.append(booking.appointment)

    await _open_connections(database, 15)

    results = await asyncio.gather(
        *(cancel_appointment(ports, USER, a.id) for _ in range(REQUESTS) for a in appointments),
        return_exceptions=True,
    )

    placed = [r for r in results if isinstance(r, CallTask)]
    refused = [r for r in results if isinstance(r, NotAllowed)]
    assert (len(placed), len(refused)) == (APPOINTMENTS, APPOINTMENTS * (REQUESTS - 1)), results
    assert all("already calling to cancel" in str(r) for r in refused)
    assert sorted(c.target_appointment_id or "" for c in placed) == sorted(a.id for a in appointments)
    dialled = [r.call.id for r in gateway.requests.values() if r.call.purpose is CallPurpose.CANCEL]
    assert sorted(dialled) == sorted(c.id for c in placed)
    async with ports.uow() as uow:
        stored = [c for a in appointments for c in await uow.calls.list_for_campaign(a.campaign_id)]
    assert sorted(c.id for c in stored if c.purpose is CallPurpose.CANCEL) == sorted(c.id for c in placed)


async def _open_connections(database: Database, count: int) -> None:
    """Have ``count`` connections open in the pool, as in a server that has been running for a while (a cold
    pool connects one request at a time, which hides the race)."""
    together = asyncio.Barrier(count)

    async def one() -> None:
        async with database.uow_factory() as uow:
            await uow.campaigns.count_created_since(USER, datetime.now(UTC))
            await together.wait()

    if database.engine.dialect.name != "sqlite":  # SQLite runs one unit of work at a time anyway
        await asyncio.gather(*(one() for _ in range(count)))
