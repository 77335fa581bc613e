"""What a search costs, shown before it starts, and the monthly call minutes that stop new searches."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import MinutesExhausted, QuotaExceeded
from domain.models import CallStatus, TimeWindow
from domain.services.campaigns import StartCampaign, create_campaign, run_campaign
from domain.services.context import Policy
from domain.services.costs import estimate_search, month_start
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
WINDOW = TimeWindow(datetime(2026, 12, 10, 8, tzinfo=BERLIN), datetime(2026, 12, 10, 12, tzinfo=BERLIN))


def test_the_estimate_counts_every_provider_once_and_the_booking_call() -> None:
    policy = Policy(expected_call_minutes=2.5, call_cost_per_minute=0.12, call_cost_currency="EUR")

    full = estimate_search(policy, 15)
    small = estimate_search(policy, 3)

    assert (full.calls, full.minutes, full.cost) == (15, 40, 4.8)
    assert (small.calls, small.minutes, small.cost) == (3, 10, 1.2)
    assert estimate_search(Policy(calls_per_campaign=5), 15).calls == 5  # never more than the policy allows
    assert full.in_words("en") == "About 40 call minutes (≈ 4.80 EUR) for up to 15 calls."
    assert full.in_words("de") == "Etwa 40 Anrufminuten (≈ 4,80 EUR) für bis zu 15 Anrufe."


def test_the_month_starts_at_midnight_of_the_first_in_the_users_timezone() -> None:
    late_on_the_31st_utc = datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))  # already January in Berlin
    assert month_start(late_on_the_31st_utc, "Europe/Berlin") == datetime(2027, 1, 1, tzinfo=BERLIN)
    assert month_start(NOW, "Europe/Berlin") == datetime(2026, 11, 1, tzinfo=BERLIN)


async def _search(world: FakeWorld, language: str = "en") -> str:
    command = StartCampaign(7, "dentist", [WINDOW], ALEXANDERPLATZ, language=language)
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


async def _talk(world: FakeWorld, minutes: float) -> None:
    """Every call placed so far is picked up now and ends ``minutes`` later."""
    for request in world.voice.placed:
        async with world.ports.uow() as uow:
            call = await uow.calls.get(request.call.id)
            assert call is not None
            if call.status.is_ended:
                continue
            call.advance(CallStatus.IN_PROGRESS, world.clock.now())
            call.end(CallStatus.COMPLETED, world.clock.now() + timedelta(minutes=minutes))
            await uow.calls.save(call)
            await uow.commit()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "en",
            "Your 10 call minutes for this month are used up (12 used), so I cannot start a new search until the "
            "1st of next month.",
        ),
        (
            "de",
            "Deine 10 Anrufminuten für diesen Monat sind aufgebraucht (12 verbraucht), deshalb kann ich bis zum 1. "
            "des nächsten Monats keine neue Suche starten.",
        ),
    ],
)
async def test_used_up_call_minutes_stop_new_searches_until_next_month(language: str, message: str) -> None:
    world = FakeWorld(
        clock=FakeClock(NOW),
        providers=[make_provider("a"), make_provider("b", lng=13.41)],
        policy=Policy(call_minutes_per_month=10, campaigns_per_hour=100),
    )
    await _search(world)
    await _talk(world, 4)  # 8 minutes: below the limit, the next search may start (and run over it)
    await _search(world)
    await _talk(world, 2)

    with pytest.raises(MinutesExhausted) as refused:
        await _search(world, language)

    assert str(refused.value) == message
    assert isinstance(refused.value, QuotaExceeded)
    world.clock.advance(timedelta(days=2))  # 2 December: a new month
    await _search(world, language)


async def test_no_limit_means_no_check() -> None:
    world = FakeWorld(clock=FakeClock(NOW), providers=[make_provider("a")], policy=Policy(call_minutes_per_month=None))
    await _search(world)
    await _talk(world, 10_000)
    await _search(world)
