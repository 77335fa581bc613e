"""A NEXUS process dies (SIGKILL) in the middle of its campaigns; the sweep of any other process, once the
deadline has passed, brings every campaign to a sound state and leaves booked appointments alone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as redis

from benchmarks.processes import nexus_server
from benchmarks.seeding import RecordingVoiceGateway, confirming_calls, search_window, seeding_ports
from domain.models import AppointmentStatus, CampaignStatus, TimeWindow
from domain.services import tool_calls
from domain.services.campaigns import get_shortlist
from domain.services.sweeps import sweep
from integrations.clock import FixedClock
from storage.engine import create_engine
from storage.holds import RedisHoldStore
from storage.uow import make_uow_factory
from tests.reliability.conftest import TOOL_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BOOKED_USER = 7
FIRST_CRASHED_USER = 100
CAMPAIGNS = 3
# 0.05 wall seconds per simulated second: a call lasts 2-8 s, long enough to die in the middle of it.
TIME_SCALE = "0.05"


async def test_sweep_after_a_crash_settles_every_campaign_and_keeps_appointments(
    shared_database: str, redis_url: str, holds_prefix: str
) -> None:
    engine = create_engine(shared_database)
    client = redis.from_url(redis_url)
    try:
        gateway = RecordingVoiceGateway()
        ports = seeding_ports(make_uow_factory(engine), gateway)
        now = datetime.now(UTC)
        slot_start = search_window(now).start + timedelta(hours=1)
        [(confirm, slot)] = await confirming_calls(
            ports, gateway, BOOKED_USER, [TimeWindow(slot_start, slot_start + timedelta(minutes=30))]
        )
        booking = await tool_calls.book_slot(ports, await tool_calls.open_call(ports, confirm.token), slot.start)

        args = ["--holds-prefix", holds_prefix, "--campaigns", str(CAMPAIGNS), "--first-user", str(FIRST_CRASHED_USER)]
        async with nexus_server(shared_database, TOOL_SECRET, redis_url, [*args, "--time-scale", TIME_SCALE]) as doomed:
            dialled: list[str] = []
            offers = 0
            while len(dialled) < CAMPAIGNS or offers == 0:
                event, _, campaign_id = (await doomed.next_line()).partition(" ")
                if event == "dialled":
                    dialled.append(campaign_id)
                elif event == "offer":
                    offers += 1
            async with ports.uow() as uow:
                assert await uow.calls.list_open(), "the process should die while calls are still running"
            doomed.kill()
            assert await doomed.process.wait() == -9

        later = FixedClock(now + timedelta(hours=1))  # past every call timeout and campaign deadline
        survivor = dataclasses.replace(ports, clock=later, holds=RedisHoldStore(client, prefix=holds_prefix))
        report = await sweep(survivor)
        assert report.calls_timed_out > 0

        async with ports.uow() as uow:
            campaigns = [await uow.campaigns.get(campaign_id) for campaign_id in dialled]
            open_calls = await uow.calls.list_open()
            appointments = await uow.appointments.list_for_user(BOOKED_USER)
            booked_campaign = await uow.campaigns.get(booking.appointment.campaign_id)
        assert open_calls == []
        ranked = 0
        for campaign in campaigns:
            assert campaign is not None
            if campaign.status is CampaignStatus.RANKING:
                assert await get_shortlist(survivor, campaign.id)
                ranked += 1
            else:
                assert campaign.status is CampaignStatus.FAILED
                assert campaign.failure_reason
        assert ranked >= 1  # at least one offer was reported before the crash
        assert [(a.id, a.status, a.window) for a in appointments] == [
            (booking.appointment.id, AppointmentStatus.BOOKED, slot)
        ]
        assert booked_campaign is not None and booked_campaign.status is CampaignStatus.CONFIRMED
        again = await sweep(survivor)  # settled once, for good
        assert (again.calls_timed_out, again.campaigns_settled) == (0, 0)
    finally:
        await client.aclose()
        await engine.dispose()
