"""A good citizen on the phone network, through the use cases: opt-outs, the call budget and shared facts."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.models import CallOutcome, CallStatus, CampaignStatus, TimeWindow
from domain.notifications import CampaignFailed
from domain.opening_hours import opening_hours_from_spec
from domain.practices import CallBudget, FactKind, practice_day
from domain.services.campaigns import StartCampaign, create_campaign, dial_due_calls, run_campaign
from domain.services.citizenship import add_opt_out, learn_fact, list_opt_outs, purge_practice_records, remove_opt_out
from domain.services.context import Policy
from domain.services.provider_gate import SkipReason, read_skip_note
from domain.services.reconcile import ConversationInfo, record_conversation
from domain.services.tool_calls import end_call, open_call
from tests.factories import ALEXANDERPLATZ, make_provider
from tests.fakes import FakeClock, FakeWorld

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 12, 3, 14, tzinfo=UTC), datetime(2026, 12, 3, 19, tzinfo=UTC))
BUDGET = CallBudget(per_day=3, min_gap=timedelta(minutes=20))


@pytest.fixture
def world() -> FakeWorld:
    providers = [make_provider(name, lat=52.5220 + i / 1000) for i, name in enumerate(("a", "b", "c", "d"))]
    return FakeWorld(
        clock=FakeClock(NOW), providers=providers, policy=Policy(call_budget=BUDGET, campaigns_per_hour=99)
    )


def phone(world: FakeWorld, name: str) -> str:
    return next(p.phone for p in world.providers if p.id == name)


async def search(
    world: FakeWorld, *, user_id: int = 7, max_calls: int = 15, windows: list[TimeWindow] | None = None
) -> str:
    command = StartCampaign(
        user_id=user_id,
        service="dentist",
        windows=windows or [WINDOW],
        location=ALEXANDERPLATZ,
        max_calls=max_calls,
        request_text="dentist for my root canal, Frau Geheim",
    )
    campaign = await create_campaign(world.ports, command)
    await run_campaign(world.ports, campaign.id)
    return campaign.id


def dialled(world: FakeWorld, campaign_id: str) -> list[str]:
    return sorted(r.call.provider.id for r in world.voice.placed if r.call.campaign_id == campaign_id)


async def calls_of(world: FakeWorld, campaign_id: str) -> dict[str, tuple[CallStatus, CallOutcome | None, str | None]]:
    async with world.ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
    return {c.provider.id: (c.status, c.outcome, c.failure_reason) for c in calls}


async def test_a_practice_that_opts_out_in_a_call_is_never_called_again_by_anyone(world: FakeWorld) -> None:
    first = await search(world)
    ctx = await open_call(world.ports, world.voice.token_for("a"))
    await end_call(world.ports, ctx, CallOutcome.OPTED_OUT, "Asked not to be called again.")
    assert [o.phone for o in await list_opt_outs(world.ports.uow)] == [phone(world, "a")]
    world.clock.advance(timedelta(hours=1))
    second = await search(world, user_id=8)  # another user
    assert dialled(world, second) == ["b", "c", "d"]
    status, outcome, note = (await calls_of(world, second))["a"]
    assert (status, outcome) == (CallStatus.CANCELLED, CallOutcome.OPTED_OUT)
    assert read_skip_note(note) == (SkipReason.OPTED_OUT, None)
    assert dialled(world, first) == ["a", "b", "c", "d"]


async def test_an_opt_out_the_post_call_analysis_collected_counts_too(world: FakeWorld) -> None:
    await search(world)
    call = next(r.call for r in world.voice.placed if r.call.provider.id == "b")
    info = ConversationInfo(f"conv-{call.id}", over=True, outcome=CallOutcome.OPTED_OUT)
    assert (await record_conversation(world.ports, info)).ended_now
    assert [o.phone for o in await list_opt_outs(world.ports.uow)] == [phone(world, "b")]


async def test_an_opted_out_practice_makes_room_for_the_next_one_in_the_ranking(world: FakeWorld) -> None:
    await add_opt_out(world.ports.uow, phone(world, "a"), NOW)
    campaign_id = await search(world, max_calls=2)
    assert dialled(world, campaign_id) == ["b", "c"]


async def test_the_operator_list_takes_numbers_as_people_write_them(world: FakeWorld) -> None:
    written = phone(world, "a")[:3] + " " + phone(world, "a")[3:5] + "-" + phone(world, "a")[5:]
    assert await add_opt_out(world.ports.uow, written, NOW) == (phone(world, "a"), True)
    assert await add_opt_out(world.ports.uow, phone(world, "a"), NOW) == (phone(world, "a"), False)
    assert await remove_opt_out(world.ports.uow, written) == (phone(world, "a"), True)
    assert await remove_opt_out(world.ports.uow, written) == (phone(world, "a"), False)
    assert await list_opt_outs(world.ports.uow) == []
    campaign_id = await search(world)
    assert "a" in dialled(world, campaign_id)  # removed from the list: called again


async def test_no_practice_gets_more_calls_a_day_than_the_budget(world: FakeWorld) -> None:
    searches = []
    for n in range(5):
        searches.append(await search(world, user_id=100 + n, max_calls=2))
        world.clock.advance(timedelta(minutes=30))
    calls = [dialled(world, s) for s in searches]
    assert calls[:4] == [["a", "b"], ["a", "b"], ["a", "b"], ["c", "d"]]  # a and b had their three today
    assert calls[4] == ["c", "d"]
    status, outcome, note = (await calls_of(world, searches[3]))["a"]
    assert (status, outcome) == (CallStatus.CANCELLED, CallOutcome.SKIPPED)
    assert read_skip_note(note) == (SkipReason.OVER_BUDGET, None)


async def test_two_searches_a_moment_apart_do_not_call_the_same_practice(world: FakeWorld) -> None:
    first = await search(world, max_calls=2)
    world.clock.advance(timedelta(minutes=5))
    second = await search(world, user_id=8, max_calls=2)
    assert (dialled(world, first), dialled(world, second)) == (["a", "b"], ["c", "d"])
    assert read_skip_note((await calls_of(world, second))["a"][2]) == (SkipReason.TOO_SOON, None)


async def test_the_budget_starts_again_on_the_practices_next_day(world: FakeWorld) -> None:
    late = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    world.clock.current = late
    for n in range(3):
        await search(world, user_id=100 + n, max_calls=1)
        world.clock.advance(timedelta(minutes=21))
    # 00:03 in Berlin: a new day there, though still Nov 30 in UTC
    assert practice_day(world.clock.now(), "Europe/Berlin") != practice_day(late, "Europe/Berlin")
    assert dialled(world, await search(world, user_id=200, max_calls=1)) == ["a"]


async def test_a_closed_practice_costs_no_call_of_its_budget(world: FakeWorld) -> None:
    closed = opening_hours_from_spec({"sat": ["09:00-12:00"]})
    world.providers[0] = replace(world.providers[0], opening_hours=closed)
    await search(world, max_calls=2)  # a (closed the whole search, so never dialled) and b
    async with world.ports.uow() as uow:
        states = await uow.practices.budget_states([phone(world, "a"), phone(world, "b")], practice_day(NOW, "UTC"))
    assert phone(world, "a") not in states
    assert states[phone(world, "b")].calls_today == 1


async def test_what_a_call_learned_spares_the_next_search_a_call(world: FakeWorld) -> None:
    await search(world)
    ctx = await open_call(world.ports, world.voice.token_for("a"))
    await end_call(world.ports, ctx, CallOutcome.NO_AVAILABILITY, earliest_free=datetime(2026, 12, 14, 8, tzinfo=UTC))
    world.clock.advance(timedelta(hours=1))
    second = await search(world, user_id=8)
    assert "a" not in dialled(world, second)
    assert read_skip_note((await calls_of(world, second))["a"][2]) == (
        SkipReason.KNOWN_FULL,
        datetime(2026, 12, 14, 8, tzinfo=UTC),
    )
    # a search for later times still calls it, and after the fact's two hours every search does
    after = TimeWindow(datetime(2026, 12, 15, 9, tzinfo=UTC), datetime(2026, 12, 15, 12, tzinfo=UTC))
    world.clock.advance(timedelta(minutes=30))
    assert "a" in dialled(world, await search(world, user_id=9, windows=[after]))
    world.clock.advance(timedelta(hours=1))
    assert "a" in dialled(world, await search(world, user_id=10))


async def test_a_desk_that_asks_to_be_called_back_tomorrow_is_not_called_by_todays_other_searches(
    world: FakeWorld,
) -> None:
    await search(world)
    ctx = await open_call(world.ports, world.voice.token_for("a"))
    tomorrow_at_eight = datetime(2026, 12, 1, 8, tzinfo=UTC)
    await end_call(world.ports, ctx, CallOutcome.CALL_BACK_LATER, "Call back tomorrow at 8.", tomorrow_at_eight)

    world.clock.advance(timedelta(hours=1))
    second = await search(world, user_id=8)  # its deadline is today: the desk would not talk to it
    assert "a" not in dialled(world, second)
    assert read_skip_note((await calls_of(world, second))["a"][2]) == (SkipReason.CALL_BACK_LATER, tomorrow_at_eight)
    world.clock.advance(tomorrow_at_eight - world.clock.now())
    assert "a" in dialled(world, await search(world, user_id=9))  # from 8 on it is called again


async def test_a_shared_fact_keeps_nothing_about_the_user_who_learned_it(world: FakeWorld) -> None:
    await search(world)
    ctx = await open_call(world.ports, world.voice.token_for("a"))
    earliest = datetime(2026, 12, 14, 8, tzinfo=UTC)
    await end_call(world.ports, ctx, CallOutcome.NO_AVAILABILITY, "Frau Geheim has nothing", earliest_free=earliest)
    (fact,) = world.store.tables["facts"].values()
    assert fact.phone == phone(world, "a")
    assert (fact.kind, fact.start, fact.until) == (FactKind.FULLY_BOOKED, WINDOW.start, earliest)
    stored = repr(fact)
    for personal in ("7", ctx.campaign.id, ctx.call.id, "Geheim", "root canal", "Alexanderplatz", "52.52"):
        assert personal not in stored.replace(fact.phone, "")
    assert set(vars(type(fact))["__slots__"]) == {
        "phone",
        "kind",
        "learned_at",
        "expires_at",
        "until",
        "start",
        "detail",
    }


async def test_a_search_that_can_call_nobody_says_why(world: FakeWorld) -> None:
    for provider in world.providers:
        await add_opt_out(world.ports.uow, provider.phone, NOW)
    campaign_id = await search(world)
    assert dialled(world, campaign_id) == []
    async with world.ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    assert campaign is not None and campaign.status is CampaignStatus.FAILED
    assert "did not call any of the 4 providers" in (campaign.failure_reason or "")
    assert world.outbox.of_type(CampaignFailed)


async def test_a_scheduled_call_to_a_practice_that_opted_out_meanwhile_is_not_placed(world: FakeWorld) -> None:
    opens_at_noon = opening_hours_from_spec({d: ["12:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")})
    world.providers[0] = replace(world.providers[0], opening_hours=opens_at_noon)
    world.policy = replace(world.policy, campaign_deadline=timedelta(hours=3))
    campaign_id = await search(world)
    assert "a" not in dialled(world, campaign_id)  # scheduled for noon (it is 10:00 in Berlin)
    await add_opt_out(world.ports.uow, phone(world, "a"), NOW)
    world.clock.advance(timedelta(hours=2))
    await dial_due_calls(world.ports)
    assert "a" not in dialled(world, campaign_id)
    assert (await calls_of(world, campaign_id))["a"][1] is CallOutcome.OPTED_OUT


async def test_facts_run_out_and_old_counts_are_purged(world: FakeWorld) -> None:
    async with world.ports.uow() as uow:
        await learn_fact(
            uow, phone(world, "a"), FactKind.OPENING_HOURS, NOW, world.policy.fact_ttl, detail="Mo-Fr 8-18"
        )
        await learn_fact(
            uow, phone(world, "a"), FactKind.CALL_BACK_AFTER, NOW, world.policy.fact_ttl, until=NOW + timedelta(hours=1)
        )
        await uow.commit()
    campaign_id = await search(world)
    assert "a" not in dialled(world, campaign_id)  # asked to be called after the search's deadline
    world.clock.advance(timedelta(days=3))
    assert await purge_practice_records(world.ports) == 2 + 3  # both facts, the three counted calls
    assert world.store.tables["facts"] == {}
