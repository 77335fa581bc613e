"""A whole discover -> rank -> confirm -> book path, driven only through the tool endpoints over HTTP.

The user's part (starting the search, choosing an offer) goes through the domain use cases; everything an
agent does is an HTTP request with the headers and JSON a live voice agent sends.

Scores, by the documented formula (span 12:00-17:00 = 300 minutes; weights 0.5 / 0.3 / 0.2; every
provider sits where the user searches, so the distance part is 1):
    p1 at 14:30, rating 4.7: 0.5 * (1 - 150/300) + 0.3 * 4.7/5 + 0.2 * 1 = 0.25 + 0.282 + 0.2 = 0.732
    p2 at 14:00, rating 4.0: 0.5 * (1 - 120/300) + 0.3 * 4.0/5 + 0.2 * 1 = 0.30 + 0.240 + 0.2 = 0.740
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import func, select

from domain.models import AppointmentStatus, CallOutcome, CallStatus, Campaign, CampaignStatus, OfferStatus
from domain.services.campaigns import get_shortlist
from domain.services.confirmation import choose_offer
from storage.orm import Base
from tests.e2e.tools.server import (
    USER_ID,
    ToolServer,
    at,
    berlin,
    migrated_postgres_database,
    redis_hold_store,
    running_tool_server,
)


@pytest.fixture(
    params=[
        "sqlite+memory",
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
async def any_server(request: pytest.FixtureRequest, sqlite_database: str) -> AsyncIterator[ToolServer]:
    """The server on SQLite with in-process holds, and on PostgreSQL with Redis holds (as at scale)."""
    if request.param == "sqlite+memory":
        async with running_tool_server(sqlite_database) as running:
            yield running
        return
    async with (
        migrated_postgres_database(request.getfixturevalue("postgres_url")) as url,
        redis_hold_store(request.getfixturevalue("redis_url")) as holds,
        running_tool_server(url, holds=holds) as running,
    ):
        yield running


async def _count(server: ToolServer, table: str) -> int:
    async with server.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(Base.metadata.tables[table])) or 0)


async def test_discover_rank_confirm_and_book_through_the_tool_endpoints(any_server: ToolServer) -> None:
    server = any_server
    campaign = await server.start_campaign()
    assert campaign.status is CampaignStatus.NEGOTIATING
    assert sorted(r.call.provider.id for r in server.voice.placed) == ["p1", "p2", "p3"]
    p1, p2, p3 = (server.token(campaign, p) for p in ("p1", "p2", "p3"))

    # p1 first offers lunchtime, when the user is busy: the answer says when the user is free instead.
    busy = await server.call("check-availability", {"date": "Tuesday", "time": "12:30"}, token=p1)
    assert busy.status == 200
    assert busy.body["status"] == "conflict"
    assert busy.body["free_windows"] == [{"start": berlin(1, 14), "end": berlin(1, 17)}]
    assert busy.body["next_free"] == berlin(1, 14)
    assert "busy" in busy.body["message"] and "14:00" in busy.body["message"]

    free = await server.call(
        "check-availability", {"date": "Dec 1", "time": "2:30 pm", "duration_minutes": 30}, token=p1
    )
    assert free.body["status"] == "available"
    assert free.body["slot"] == {"start": berlin(1, 14, 30), "end": berlin(1, 15)}
    assert await server.held_by_anyone()

    offer = await server.call(
        "report-slot-offer",
        {"date": "2026-12-01", "time": "14:30", "notes": "Dr. Weiss", "conversation_id": "conv_p1"},
        token=p1,
    )
    assert offer.status == 200
    assert offer.body["status"] == "recorded"
    assert (offer.body["rank"], offer.body["total_offers"]) == (1, 1)
    assert offer.body["score"] == pytest.approx(0.732, abs=1e-6)

    distance = await server.call("get-distance", {}, token=p1)
    assert distance.body == {
        "status": "known",
        "message": "Smile Dental Mitte is 0.0 km from Alexanderplatz in a straight line.",
        "distance_km": 0.0,
    }
    ended = await server.call("end-call", {"outcome": "offer_made", "summary": "Tuesday 14:30."}, token=p1)
    assert ended.status == 200 and ended.body["status"] == "ended"
    assert (await server.campaign(campaign.id)).status is CampaignStatus.NEGOTIATING  # p2 and p3 still talk

    assert (await server.call("check-availability", {"date": "1 December", "time": "14:00"}, token=p2)).body[
        "status"
    ] == "available"
    second = await server.call("report-slot-offer", {"date": "Tuesday", "time": "2 pm"}, token=p2)
    assert second.body["status"] == "recorded"
    assert (second.body["rank"], second.body["total_offers"]) == (1, 2)  # earlier, so ahead of p1's
    assert second.body["score"] == pytest.approx(0.74, abs=1e-6)
    await server.call("end-call", {"outcome": "offer_made"}, token=p2)
    await server.call("end-call", {"outcome": "no_availability", "summary": "Fully booked."}, token=p3)

    # The last call ended: the shortlist is ready.
    assert (await server.campaign(campaign.id)).status is CampaignStatus.RANKING
    shortlist = await get_shortlist(server.nexus.ports, campaign.id)
    assert [(o.provider_id, o.start, round(o.score, 4)) for o in shortlist] == [
        ("p2", at(1, 14), 0.74),
        ("p1", at(1, 14, 30), 0.732),
    ]
    async with server.nexus.ports.uow() as uow:
        calls = {c.provider.id: c for c in await uow.calls.list_for_campaign(campaign.id)}
    assert {p: (c.status, c.outcome) for p, c in calls.items()} == {
        "p1": (CallStatus.COMPLETED, CallOutcome.OFFER_MADE),
        "p2": (CallStatus.COMPLETED, CallOutcome.OFFER_MADE),
        "p3": (CallStatus.COMPLETED, CallOutcome.NO_AVAILABILITY),
    }

    # The user taps the best offer: a confirmation call to p2, whose agent books it.
    await choose_offer(server.nexus.ports, USER_ID, shortlist[0].id)
    assert (await server.campaign(campaign.id)).status is CampaignStatus.CONFIRMING
    confirm = server.token(campaign, "p2", "CONFIRM")
    booked = await server.call("book-slot", {"date": "Tuesday", "time": "14:00"}, token=confirm)
    assert booked.status == 200
    assert booked.body["status"] == "booked"
    assert booked.body["provider_name"] == "Praxis am Markt"
    assert booked.body["slot"] == {"start": berlin(1, 14), "end": berlin(1, 14, 30)}
    assert (await server.call("end-call", {"outcome": "booked"}, token=confirm)).status == 200

    assert (await server.campaign(campaign.id)).status is CampaignStatus.CONFIRMED
    async with server.nexus.ports.uow() as uow:
        appointments = await uow.appointments.list_for_user(USER_ID)
        offers = {o.provider_id: o.status for o in await uow.offers.list_for_campaign(campaign.id)}
    assert [(a.provider.id, a.start, a.status) for a in appointments] == [("p2", at(1, 14), AppointmentStatus.BOOKED)]
    assert offers == {"p1": OfferStatus.OFFERED, "p2": OfferStatus.BOOKED}
    assert await _count(server, "reminders") == 2  # a day and an hour before
    assert not await server.held_by_anyone()  # the booking released the campaign's holds

    # The campaign is over: a discovery agent that calls again is told to close politely.
    late = await server.call("check-availability", {"date": "Tuesday", "time": "15:00"}, token=p1)
    assert late.status == 200
    assert late.body["status"] == "call_closed"
    assert "goodbye" in late.body["message"]


async def test_report_slot_offer_is_idempotent(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")
    body = {"date": "2026-12-01", "time": "15:00"}

    first = await server.call("report-slot-offer", body, token=token)
    again = await server.call("report-slot-offer", {"date": "Tuesday", "time": "3 pm"}, token=token)

    assert first.status == again.status == 200
    assert again.body["offer_id"] == first.body["offer_id"]
    assert (again.body["rank"], again.body["total_offers"]) == (1, 1)
    assert await _count(server, "offers") == 1


async def test_book_slot_is_idempotent(server: ToolServer) -> None:
    _, confirm = await _chosen(server, "15:00")

    first = await server.call("book-slot", {"date": "2026-12-01", "time": "15:00"}, token=confirm)
    again = await server.call("book-slot", {"date": "Dec 1", "time": "3:00 pm"}, token=confirm)

    assert first.status == again.status == 200
    assert again.body["appointment_id"] == first.body["appointment_id"]
    assert await _count(server, "appointments") == 1
    assert await _count(server, "reminders") == 2


async def test_book_slot_in_a_discovery_call_is_not_allowed(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    before = await server.snapshot()

    reply = await server.call("book-slot", {"date": "2026-12-01", "time": "15:00"}, token=server.token(campaign, "p1"))

    assert reply.status == 200
    assert reply.body["status"] == "not_allowed"
    assert "report the offer instead" in reply.body["message"]
    assert await server.snapshot() == before


async def test_book_slot_books_only_the_time_the_user_chose(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")
    await server.call("report-slot-offer", {"date": "2026-12-01", "time": "15:00"}, token=token)
    for provider in ("p1", "p2", "p3"):
        await server.call("end-call", {"outcome": "offer_made"}, token=server.token(campaign, provider))
    [offer] = await get_shortlist(server.nexus.ports, campaign.id)
    await choose_offer(server.nexus.ports, USER_ID, offer.id)
    before = await server.snapshot()

    reply = await server.call(
        "book-slot", {"date": "2026-12-01", "time": "16:00"}, token=server.token(campaign, "p1", "CONFIRM")
    )

    assert reply.status == 200
    assert reply.body["status"] == "not_allowed"
    assert "15:00" in reply.body["message"] and "16:00" in reply.body["message"]
    assert await server.snapshot() == before


@pytest.mark.parametrize("hold_store", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_time_held_by_another_search_of_the_user_is_a_soft_conflict(
    hold_store: str, sqlite_database: str, request: pytest.FixtureRequest
) -> None:
    async with AsyncExitStack() as stack:
        holds = None
        if hold_store == "redis":
            holds = await stack.enter_async_context(redis_hold_store(request.getfixturevalue("redis_url")))
        server = await stack.enter_async_context(running_tool_server(sqlite_database, holds=holds))
        first = await server.start_campaign()
        second = await server.start_campaign()
        body = {"date": "2026-12-01", "time": "15:00"}

        held = await server.call("check-availability", body, token=server.token(first, "p1"))
        same_campaign = await server.call("check-availability", body, token=server.token(first, "p2"))
        other_campaign = await server.call("check-availability", body, token=server.token(second, "p1"))

    assert held.body["status"] == same_campaign.body["status"] == "available"
    assert other_campaign.status == 200
    assert other_campaign.body["status"] == "soft_conflict"
    assert other_campaign.body["next_free"] == berlin(1, 15, 30)
    assert other_campaign.body["free_windows"] == [
        {"start": berlin(1, 14), "end": berlin(1, 15)},
        {"start": berlin(1, 15, 30), "end": berlin(1, 17)},
    ]


async def test_a_time_outside_the_users_windows_is_refused_with_the_windows(server: ToolServer) -> None:
    campaign = await server.start_campaign()
    token = server.token(campaign, "p1")

    outside = await server.call("check-availability", {"date": "2026-12-01", "time": "17:00"}, token=token)
    offered = await server.call("report-slot-offer", {"date": "Wednesday", "time": "10:00"}, token=token)

    assert outside.body["status"] == "outside_window"
    assert outside.body["next_free"] == berlin(1, 14)
    assert offered.body["status"] == "rejected_outside_window"
    assert "Tuesday 1 December between 12:00 and 17:00" in offered.body["message"]
    assert await _count(server, "offers") == 0


async def test_twenty_identical_book_slot_requests_at_once_all_answer_booked_with_one_appointment(
    any_server: ToolServer,
) -> None:
    campaign, confirm = await _chosen(any_server, "15:00")
    # The agent has spoken before (the call is in progress), so nothing but the booking itself is written.
    assert (await any_server.call("get-distance", {}, token=confirm)).status == 200

    replies = await asyncio.gather(
        *(any_server.call("book-slot", {"date": "2026-12-01", "time": "15:00"}, token=confirm) for _ in range(20))
    )

    assert [(r.status, r.body.get("status")) for r in replies] == [(200, "booked")] * 20
    assert len({r.body["appointment_id"] for r in replies}) == 1
    assert await _count(any_server, "appointments") == 1
    assert await _count(any_server, "reminders") == 2
    assert (await any_server.campaign(campaign.id)).status is CampaignStatus.CONFIRMED


async def _chosen(server: ToolServer, time: str) -> tuple[Campaign, str]:
    """A campaign whose only offer (p1 at ``time`` on Tuesday) the user chose, and the confirm call's token."""
    campaign = await server.start_campaign()
    await server.call("report-slot-offer", {"date": "2026-12-01", "time": time}, token=server.token(campaign, "p1"))
    for provider in ("p1", "p2", "p3"):
        await server.call("end-call", {"outcome": "offer_made"}, token=server.token(campaign, provider))
    [offer] = await get_shortlist(server.nexus.ports, campaign.id)
    await choose_offer(server.nexus.ports, USER_ID, offer.id)
    return campaign, server.token(campaign, "p1", "CONFIRM")


async def test_booking_over_an_appointment_booked_meanwhile_is_a_refusal_the_agent_hears(server: ToolServer) -> None:
    # Two searches of one user found the same time; the first is booked while the second confirms.
    (_, first), (_, second) = await _chosen(server, "15:00"), await _chosen(server, "15:00")
    assert (await server.call("book-slot", {"date": "2026-12-01", "time": "15:00"}, token=first)).status == 200
    before = await server.snapshot()

    reply = await server.call("book-slot", {"date": "2026-12-01", "time": "15:00"}, token=second)

    assert (reply.status, reply.body["status"]) == (200, "conflict")
    assert "Apologise, do not book" in reply.body["message"]
    assert await server.snapshot() == before


@pytest.mark.parametrize(
    ("date", "time", "start"),
    [
        pytest.param("2026-12-01T18:30:00+05:00", "18:30", "2026-12-01T14:30:00+01:00", id="offset-in-the-date"),
        pytest.param("2026-12-01", "13:30Z", "2026-12-01T14:30:00+01:00", id="offset-in-the-time"),
        pytest.param("2026-12-01T14:30:00", "14:30", "2026-12-01T14:30:00+01:00", id="local-date-time"),
    ],
)
async def test_a_time_with_an_offset_is_told_in_the_campaigns_timezone(
    server: ToolServer, date: str, time: str, start: str
) -> None:
    campaign = await server.start_campaign()

    reply = await server.call("check-availability", {"date": date, "time": time}, token=server.token(campaign, "p1"))

    assert reply.body["status"] == "available"
    assert reply.body["slot"]["start"] == start
