"""Match quality: seeded random worlds run through the whole system (campaign, simulated calls, the reference
agent, the real tool endpoints, scoring); a brute-force oracle finds the best feasible slot by the same formula.

The same worlds run once per fan-out mode (``domain.services.fanout``): calls per search and the oracle share
of each mode side by side.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.seeding import TIMEZONE, UNLIMITED
from domain.calendar import fits, merge
from domain.errors import DependencyUnavailable
from domain.models import CallPurpose, Campaign, CampaignStatus, GeoPoint, Offer, Provider, TimeWindow, Weights
from domain.scoring import score_slot
from domain.services.campaigns import StartCampaign, create_campaign, get_shortlist, run_campaign
from domain.services.fanout import FanOut
from integrations.clock import FixedClock
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.behaviour import ProviderBehaviour
from integrations.simulation.gateway import SimulatedVoiceGateway
from nexus.bootstrap import bootstrap
from nexus.settings import Mode, Settings
from nexus.simulation import CampaignWatcher
from storage.schema import upgrade

USER = 1
CENTRE = GeoPoint(52.5219, 13.4132, "Alexanderplatz")
WORLDS_AT_ONCE = 4
SETTLE_SECONDS = 60.0
BUSY_ATTEMPTS = 3


@dataclass(frozen=True)
class World:
    now: datetime
    windows: list[TimeWindow]
    busy: list[TimeWindow]
    weights: Weights
    radius_km: float
    providers: list[Provider]
    behaviours: dict[str, ProviderBehaviour]


def generate(seed: int) -> World:
    """A reproducible world: 3-15 providers around the centre with random ratings and open slots, a few
    busy times, one or two windows on the coming days, some providers that never answer."""
    rng = random.Random(seed)
    zone = ZoneInfo(TIMEZONE)
    now = datetime(2026, 3, 2, 8, 0, tzinfo=zone) + timedelta(days=rng.randrange(60), minutes=rng.randrange(120))
    first_day = now.date() + timedelta(days=1)
    windows = []
    for offset in rng.sample(range(5), rng.choice((1, 2))):
        day = first_day + timedelta(days=offset)
        start_hour = rng.choice((8, 9, 12, 13, 14))
        windows.append(
            TimeWindow(
                datetime.combine(day, time(start_hour), tzinfo=zone),
                datetime.combine(day, time(min(20, start_hour + rng.choice((3, 4, 6)))), tzinfo=zone),
            )
        )
    busy = []
    for window in windows:
        for _ in range(rng.randrange(3)):
            start = window.start + timedelta(minutes=30 * rng.randrange(int(window.duration.total_seconds() // 1800)))
            busy.append(TimeWindow(start, start + timedelta(minutes=rng.choice((30, 60, 90)))))
    providers, behaviours = [], {}
    for index in range(rng.randint(3, 15)):
        provider = Provider(
            id=f"w{seed}p{index}",
            name=f"Praxis {seed}-{index}",
            service="dentist",
            phone=f"+4930555{seed % 1000:03d}{index:02d}",
            location=GeoPoint(CENTRE.lat + rng.uniform(-0.06, 0.06), CENTRE.lng + rng.uniform(-0.09, 0.09)),
            rating=None if rng.random() < 0.15 else round(rng.uniform(2.5, 5.0), 1),
        )
        slots = []
        for day_offset in range(7):
            for half_hour in range(24):
                start = datetime.combine(first_day + timedelta(days=day_offset), time(8), tzinfo=zone)
                start += timedelta(minutes=30 * half_hour)
                if rng.random() < 0.15:
                    slots.append(start)
        providers.append(provider)
        behaviours[provider.id] = ProviderBehaviour(
            open_slots=tuple(slots),
            slot_minutes=30,
            answers=rng.random() < 0.85,
            offers_per_turn=rng.choice((1, 2, 3)),
            call_seconds=90.0,
        )
    weights = rng.choice((Weights(), Weights(0.8, 0.1, 0.1), Weights(0.2, 0.7, 0.1), Weights(0.2, 0.1, 0.7)))
    return World(now, windows, busy, weights, rng.choice((5.0, 8.0, 10.0)), providers, behaviours)


def oracle(world: World, campaign: Campaign) -> tuple[float, Provider, datetime] | None:
    """The best feasible slot of all providers that answer, by brute force over every open slot."""
    best: tuple[float, Provider, datetime] | None = None
    windows = merge(campaign.windows)
    for provider in world.providers:
        if provider.location.distance_km(campaign.location) > campaign.radius_km:
            continue  # the directory would not return it, so nobody calls it
        behaviour = world.behaviours[provider.id]
        if not behaviour.answers:
            continue
        for start in behaviour.open_slots:
            slot = TimeWindow(start, start + timedelta(minutes=behaviour.slot_minutes))
            if start < world.now or not fits(slot, windows) or any(b.overlaps(slot) for b in world.busy):
                continue
            distance = campaign.location.distance_km(provider.location)
            score = score_slot(
                start, campaign.span, provider.rating, distance, campaign.radius_km, campaign.weights
            ).total
            if best is None or (score, -start.timestamp()) > (best[0], -best[2].timestamp()):
                best = (score, provider, start)
    return best


@dataclass(frozen=True)
class Outcome:
    oracle_score: float | None
    top: Offer | None
    conflicts: int
    offers: tuple[Offer, ...] = ()
    shortlist: tuple[Offer, ...] = ()
    invented: frozenset[tuple[str, datetime]] = frozenset()  # (call id, start) a faulty agent made up
    calls: int = 0  # discovery calls placed or scheduled (a voicemail retry counts)


def with_faulty_agents(world: World, seed: int, share: float) -> World:
    """The same world, with the agent of about ``share`` of the providers reporting a time nobody said."""
    rng = random.Random(f"faults:{seed}")
    behaviours = {
        pid: replace(b, agent_fault="invent_time") if rng.random() < share else b for pid, b in world.behaviours.items()
    }
    return replace(world, behaviours=behaviours)


async def run_world(
    seed: int, template: Path, folder: Path, fan_out: FanOut = FanOut.PARALLEL, faulty_share: float = 0.0
) -> Outcome:
    world = generate(seed)
    if faulty_share:
        world = with_faulty_agents(world, seed, faulty_share)
    database = folder / f"world-{seed}-{fan_out}.db"
    shutil.copyfile(template, database)
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{database}", nexus_mode=Mode.MOCK_AI)
    gateway = SimulatedVoiceGateway(behaviours=lambda p: world.behaviours[p.id], seed=seed)
    async with (
        bootstrap(
            settings,
            clock=FixedClock(world.now),
            voice=gateway,
            directory=BundledDirectory(world.providers),
            calendar=StaticCalendar({USER: world.busy}),
            policy=replace(UNLIMITED, fan_out=fan_out),
        ) as nexus,
        nexus.serving(nexus.create_web_app(), "127.0.0.1", 0),
    ):
        nexus.start_dispatcher(nexus.notifications, live_view_interval=timedelta(0))
        ports = nexus.ports
        campaign = await create_campaign(
            ports,
            StartCampaign(
                USER,
                "dentist",
                world.windows,
                CENTRE,
                radius_km=world.radius_km,
                weights=world.weights,
                timezone=TIMEZONE,
            ),
        )
        watcher = CampaignWatcher(ports, campaign.id)
        nexus.notifications.subscribe(watcher)
        await run_campaign(ports, campaign.id)
        async with asyncio.timeout(SETTLE_SECONDS):
            await watcher.wait_until(lambda s: s in (CampaignStatus.RANKING, CampaignStatus.FAILED))
        await gateway.wait_idle()
        async with ports.uow() as uow:
            stored = await uow.campaigns.get(campaign.id)
            calls = await uow.calls.list_for_campaign(campaign.id)
        shortlist = await get_shortlist(ports, campaign.id)
        async with ports.uow() as uow:
            offers = await uow.offers.list_for_campaign(campaign.id)
    assert stored is not None
    best = oracle(world, stored)
    conflicts = sum(1 for offer in shortlist for b in world.busy if b.overlaps(offer.window))
    invented = frozenset(gateway.invented.items())
    discovery = sum(1 for c in calls if c.purpose is CallPurpose.DISCOVER)
    top = shortlist[0] if shortlist else None
    return Outcome(best[0] if best else None, top, conflicts, tuple(offers), tuple(shortlist), invented, discovery)


class _Runner:
    """Runs seeded worlds a few at a time, each on its own copy of one migrated SQLite file, and runs a world
    again when SQLite's writer turn timed out on a busy machine."""

    def __init__(self, folder: Path, template: Path) -> None:
        self._folder, self._template = folder, template
        self._limit = asyncio.Semaphore(WORLDS_AT_ONCE)
        self.retried = 0

    async def one(self, seed: int, fan_out: FanOut = FanOut.PARALLEL, faulty_share: float = 0.0) -> Outcome:
        async with self._limit:
            for attempt in range(BUSY_ATTEMPTS):
                try:
                    return await run_world(seed, self._template, self._folder, fan_out, faulty_share)
                except (DependencyUnavailable, TimeoutError):
                    # SQLite's writer turn timed out on a machine busy with other work (in a tool request
                    # that would have settled the campaign, the world then never settles: the sweep that
                    # rescues such a campaign at its deadline does not run here). The world is seeded, so
                    # running it again on a fresh copy measures the same thing.
                    if attempt == BUSY_ATTEMPTS - 1:
                        raise
                    self.retried += 1
            raise AssertionError("unreachable")


async def run_worlds(worlds: int, faulty_share: float = 0.0) -> list[Outcome]:
    """The outcomes of the seeded worlds ``0 .. worlds-1``, a few at a time, each on its own SQLite file."""
    with tempfile.TemporaryDirectory(prefix="nexus-quality-") as name:
        folder = Path(name)
        template = folder / "template.db"
        await upgrade(f"sqlite+aiosqlite:///{template}")
        runner = _Runner(folder, template)
        return list(await asyncio.gather(*(runner.one(seed, faulty_share=faulty_share) for seed in range(worlds))))


async def run_quality(worlds: int, emit: Callable[[str, str], None]) -> None:
    """Run ``worlds`` seeded worlds per fan-out mode and emit ``quality.*`` lines (parallel, the default, under
    the plain names) and ``quality.fan_out.<mode>.*``."""
    with tempfile.TemporaryDirectory(prefix="nexus-quality-") as name:
        folder = Path(name)
        template = folder / "template.db"
        await upgrade(f"sqlite+aiosqlite:///{template}")
        runner = _Runner(folder, template)
        by_mode = {
            mode: await asyncio.gather(*(runner.one(seed, mode) for seed in range(worlds)))
            for mode in (FanOut.PARALLEL, FanOut.ADAPTIVE)
        }
    emit("quality.worlds_run_again_after_a_busy_database", str(runner.retried))  # a rerun gives the same figures
    _emit_quality(list(by_mode[FanOut.PARALLEL]), worlds, emit)
    shares = {}
    for mode, results in by_mode.items():
        feasible = [o for o in results if o.oracle_score is not None]
        matched = [o for o in feasible if o.top is not None and abs(o.top.score - (o.oracle_score or 0)) < 1e-6]
        shares[mode] = len(matched) / len(feasible) if feasible else 0.0
        emit(f"quality.fan_out.{mode}.calls_per_search", f"{sum(o.calls for o in results) / len(results):.2f}")
        emit(f"quality.fan_out.{mode}.top_is_oracle_share", f"{shares[mode]:.3f}")
    parallel_calls = sum(o.calls for o in by_mode[FanOut.PARALLEL])
    adaptive_calls = sum(o.calls for o in by_mode[FanOut.ADAPTIVE])
    saved = 1 - adaptive_calls / parallel_calls if parallel_calls else 0.0
    emit("quality.fan_out.adaptive.fewer_calls_than_parallel", f"{saved:.3f}")
    points = 100 * (shares[FanOut.PARALLEL] - shares[FanOut.ADAPTIVE])
    emit("quality.fan_out.adaptive.oracle_share_points_below_parallel", f"{points:.1f}")


def _emit_quality(outcomes: list[Outcome], worlds: int, emit: Callable[[str, str], None]) -> None:
    feasible = [o for o in outcomes if o.oracle_score is not None]
    matched = [o for o in feasible if o.top is not None and abs(o.top.score - (o.oracle_score or 0)) < 1e-6]
    regrets = [(o.oracle_score or 0) - (o.top.score if o.top else 0) for o in feasible]
    emit("quality.worlds", str(worlds))
    emit("quality.worlds_with_a_feasible_slot", str(len(feasible)))
    emit("quality.worlds_without_offer_when_one_existed", str(sum(1 for o in feasible if o.top is None)))
    emit("quality.offers_without_a_feasible_slot", str(sum(1 for o in outcomes if o.oracle_score is None and o.top)))
    emit("quality.top_is_oracle_share", f"{len(matched) / len(feasible):.3f}" if feasible else "n/a")
    emit("quality.mean_regret", f"{sum(regrets) / len(regrets):.4f}" if regrets else "n/a")
    emit("quality.max_regret", f"{max(regrets):.4f}" if regrets else "n/a")
    emit("quality.calendar_conflicts", str(sum(o.conflicts for o in outcomes)))
