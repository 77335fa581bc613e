"""Running one whole campaign offline: for ``nexus simulate`` (world files) and ``nexus demo``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import InvalidRequest
from domain.expertise import answers_in_text, expert_agent_key, planned_minutes
from domain.models import CallStatus, CallTask, Campaign, CampaignStatus, GeoPoint, Offer, User
from domain.notifications import Notification
from domain.services.campaigns import (
    StartCampaign,
    create_campaign,
    dial_due_calls,
    get_shortlist,
    run_campaign,
    save_user,
)
from domain.services.confirmation import choose_offer
from domain.services.context import Ports
from domain.services.provider_gate import SkipReason, read_skip_note
from domain.services.user_loop import save_profile
from integrations.clock import FixedClock
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.gateway import SimulatedVoiceGateway
from integrations.simulation.history import seed_history
from integrations.simulation.world import World
from nexus.bootstrap import Nexus, bootstrap
from nexus.scripted_user import ScriptedUser
from nexus.settings import Mode, Settings
from storage.schema import upgrade

SIMULATED_USER = 1
SETTLE_TIMEOUT_SECONDS = 120.0


class CampaignWatcher:
    """A notification sink that wakes whoever waits for one campaign to change."""

    def __init__(self, ports: Ports, campaign_id: str) -> None:
        self._ports = ports
        self.campaign_id = campaign_id
        self._changed = asyncio.Event()
        self.seen: list[Notification] = []

    async def notify(self, user_id: int, notification: Notification) -> None:
        campaign = getattr(notification, "campaign", None)
        if isinstance(campaign, Campaign) and campaign.id == self.campaign_id:
            self.seen.append(notification)
            self._changed.set()

    async def status(self) -> CampaignStatus:
        async with self._ports.uow() as uow:
            campaign = await uow.campaigns.get(self.campaign_id)
        if campaign is None:
            raise InvalidRequest("The campaign disappeared.")
        return campaign.status

    async def wait_until(self, done: Callable[[CampaignStatus], bool]) -> CampaignStatus:
        """Wait for a notification after which the campaign's status satisfies ``done``."""
        async with asyncio.timeout(SETTLE_TIMEOUT_SECONDS):
            while True:
                self._changed.clear()
                status = await self.status()
                if done(status):
                    return status
                await self._changed.wait()


@dataclass
class SimulationRun:
    nexus: Nexus
    gateway: SimulatedVoiceGateway
    timezone: str


@asynccontextmanager
async def offline_nexus(
    *,
    now: datetime | None = None,
    providers: BundledDirectory | None = None,
    calendar: StaticCalendar | None = None,
    seed: int = 0,
    time_scale: float = 0.0,
    timezone: str = "Europe/Berlin",
    behaviours: Any = None,
    ask_user_wait_seconds: float = 2.0,
) -> AsyncIterator[SimulationRun]:
    """A throwaway NEXUS on its own SQLite file, in mock_ai mode, with its tool server on a free port."""
    with tempfile.TemporaryDirectory(prefix="nexus-sim-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'simulation.db'}"
        await upgrade(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            nexus_mode=Mode.MOCK_AI,
            redis_url=None,
            campaigns_per_hour=1000,
            # a question nobody answers holds a simulated call this long (wall time), not the live 20 s
            ask_user_wait_seconds=ask_user_wait_seconds,
            ask_user_poll_seconds=0.02,
        )
        gateway = SimulatedVoiceGateway(
            behaviours=behaviours,
            seed=seed,
            time_scale=time_scale,
        )
        async with (
            bootstrap(
                settings,
                clock=FixedClock(now) if now else None,
                voice=gateway,
                directory=providers,
                calendar=calendar,
            ) as nexus,
            nexus.serving(nexus.create_web_app(), "127.0.0.1", 0),
        ):
            # Everything this NEXUS tells its users goes to the listeners of this process.
            nexus.start_dispatcher(nexus.notifications, live_view_interval=timedelta(0))
            yield SimulationRun(nexus, gateway, timezone)
            await gateway.wait_idle()


def world_nexus(
    world: World, seed: int = 0, *, ask_user_wait_seconds: float = 2.0
) -> AbstractAsyncContextManager[SimulationRun]:
    """``offline_nexus`` with the world's clock, providers, their behaviour and the user's busy time."""
    return offline_nexus(
        now=world.now,
        providers=BundledDirectory(world.directory_providers()),
        calendar=StaticCalendar({SIMULATED_USER: world.busy()}),
        seed=seed,
        timezone=world.timezone,
        behaviours=world.behaviours(),
        ask_user_wait_seconds=ask_user_wait_seconds,
    )


def _discovery_over(status: CampaignStatus) -> bool:
    return status not in (
        CampaignStatus.CREATED,
        CampaignStatus.PROVIDER_LOOKUP,
        CampaignStatus.DIALING,
        CampaignStatus.NEGOTIATING,
    )


def _confirmation_over(status: CampaignStatus) -> bool:
    return status is not CampaignStatus.CONFIRMING


async def start_and_settle(
    run: SimulationRun,
    user: User,
    request: str,
    location: GeoPoint,
    *,
    now: datetime,
    campaign_id: str | None = None,
    on_watch: Callable[[CampaignWatcher], None] | None = None,
    answers: Mapping[str, str] | None = None,
) -> Campaign:
    """Parse ``request``, run the campaign and wait until its calls are over. The expert's questions are
    answered by the request's words and ``answers`` (the simulated user's answers to the intake's questions)."""
    ports = run.nexus.ports
    campaign = await create_requested(
        run.nexus, user, request, location, now=now, campaign_id=campaign_id, answers=answers
    )
    watcher = CampaignWatcher(ports, campaign.id)
    run.nexus.notifications.subscribe(watcher)
    if on_watch:
        on_watch(watcher)
    try:
        await run_campaign(ports, campaign.id)
        await _until_discovery_over(run, watcher)
        await run.gateway.wait_idle()
        await run.nexus.deliver_outbox()  # the live view shows the final state before we move on
    finally:
        run.nexus.notifications.unsubscribe(watcher)
    return await _campaign(ports, campaign.id)


async def create_requested(
    nexus: Nexus,
    user: User,
    request: str,
    location: GeoPoint,
    *,
    now: datetime,
    campaign_id: str | None = None,
    answers: Mapping[str, str] | None = None,
) -> Campaign:
    """Store ``user`` and the campaign ``request`` asks for (parsed as the chat would), not yet run. The
    expert's questions are answered by the request's words and ``answers``."""
    await save_user(nexus.ports, user)
    parsed = await nexus.intent.parse(request, now, user.timezone)
    if parsed.service is None:
        raise InvalidRequest(f"I could not tell which kind of provider '{request}' asks for.")
    answered = answers_in_text(parsed.service, request) | dict(answers or {})
    return await create_campaign(
        nexus.ports,
        StartCampaign(
            user_id=user.id,
            service=parsed.service,
            windows=parsed.windows,
            location=location,
            request_text=request,
            language=parsed.language,
            duration_minutes=planned_minutes(parsed.service, answered, parsed.duration_minutes),
            radius_km=user.radius_km,
            weights=user.weights,
            timezone=user.timezone,
            campaign_id=campaign_id,
            answers=answered,
        ),
    )


async def _until_discovery_over(run: SimulationRun, watcher: CampaignWatcher) -> None:
    """Wait for the campaign's calls; when only scheduled calls are left (providers that open later, voicemail
    retries), move the simulated clock on to the next one and dial it, as the sweep would at that time."""
    ports = run.nexus.ports
    clock = ports.clock
    while True:
        await run.gateway.wait_idle()
        if _discovery_over(await watcher.status()):
            return
        due = await _next_scheduled_call(ports, watcher.campaign_id)
        if due is None or not isinstance(clock, FixedClock):
            await watcher.wait_until(_discovery_over)
            return
        if due > clock.now():
            clock.advance(due - clock.now())
        await dial_due_calls(ports)


async def _next_scheduled_call(ports: Ports, campaign_id: str) -> datetime | None:
    async with ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign_id)
    waiting = [c.not_before for c in calls if c.status is CallStatus.QUEUED and c.not_before is not None]
    return min(waiting, default=None)


async def book(run: SimulationRun, campaign: Campaign, offer: Offer) -> Campaign:
    """Confirm ``offer`` by phone and wait until the confirmation call is over."""
    ports = run.nexus.ports
    watcher = CampaignWatcher(ports, campaign.id)
    run.nexus.notifications.subscribe(watcher)
    try:
        await choose_offer(ports, campaign.user_id, offer.id)
        await watcher.wait_until(_confirmation_over)
        await run.gateway.wait_idle()
        await run.nexus.deliver_outbox()
    finally:
        run.nexus.notifications.unsubscribe(watcher)
    return await _campaign(ports, campaign.id)


async def _campaign(ports: Ports, campaign_id: str) -> Campaign:
    async with ports.uow() as uow:
        campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise InvalidRequest("The campaign disappeared.")
    return campaign


def world_campaign_id(world_text: str, seed: int) -> str:
    """The same world and seed always give the same campaign id (so the output is reproducible)."""
    return "sim" + hashlib.sha256(f"{seed}\n{world_text}".encode()).hexdigest()[:29]


async def simulate_world(
    world: World, world_text: str, seed: int = 0, book_choice: str | None = None, *, transcripts: bool = False
) -> dict[str, Any]:
    """Run ``world`` and describe the result as the JSON ``nexus simulate`` prints."""
    user = world.user_profile(SIMULATED_USER)
    async with world_nexus(world, seed) as run:
        await save_profile(run.nexus.ports, world.profile(SIMULATED_USER))
        scripted = ScriptedUser(run.nexus.ports, world.user.answers)
        run.nexus.notifications.subscribe(scripted)
        await seed_history(run.nexus.ports, world)
        campaign = await start_and_settle(
            run,
            user,
            world.request,
            world.user.location.point(),
            now=world.now,
            campaign_id=world_campaign_id(world_text, seed),
            answers=world.expert_answers,
        )
        chosen: Offer | None = None
        if book_choice is not None and campaign.status is CampaignStatus.RANKING:
            shortlist = await get_shortlist(run.nexus.ports, campaign.id)
            rank = 1 if book_choice == "best" else int(book_choice)
            if not 1 <= rank <= len(shortlist):
                raise InvalidRequest(f"There is no offer ranked {rank}; the shortlist has {len(shortlist)}.")
            chosen = shortlist[rank - 1]
            campaign = await book(run, campaign, chosen)
        return await describe(run.nexus.ports, campaign, world.timezone, chosen, transcripts=transcripts)


def _iso(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


async def describe(
    ports: Ports, campaign: Campaign, timezone: str, chosen: Offer | None = None, *, transcripts: bool = False
) -> dict[str, Any]:
    """The campaign, its calls, its shortlist and its appointment, as plain JSON data. A call scheduled for
    later (a provider that opened later, a voicemail retry) says when (``scheduled_for``); with
    ``transcripts`` every call carries what was said (``"provider: ..."``, ``"agent: ..."``)."""
    async with ports.uow() as uow:
        calls = await uow.calls.list_for_campaign(campaign.id)
        offers = await uow.offers.list_for_campaign(campaign.id)
        appointments = await uow.appointments.list_for_user(campaign.user_id)
        asked = [q for c in calls for q in await uow.questions.list_for_call(c.id)]
    shortlist = await get_shortlist(ports, campaign.id)
    appointment = next((a for a in appointments if a.campaign_id == campaign.id), None)
    result: dict[str, Any] = {
        "campaign": {
            "id": campaign.id,
            "status": str(campaign.status),
            "service": campaign.service,
            "language": campaign.language,
            "timezone": timezone,
            "windows": [{"start": _iso(w.start, timezone), "end": _iso(w.end, timezone)} for w in campaign.windows],
            "duration_minutes": campaign.duration_minutes,
            "answers": dict(campaign.answers),
            "agent": expert_agent_key(campaign.service, campaign.language) or "general",
        },
        "calls": [
            _call_json(c, timezone, transcripts)
            for c in sorted(calls, key=lambda c: (c.purpose != "DISCOVER", c.purpose, c.provider.id))
        ],
        "shortlist": [
            {
                "rank": rank,
                "provider_id": o.provider_id,
                "provider_name": o.provider_name,
                "start": _iso(o.start, timezone),
                "end": _iso(o.end, timezone),
                "score": round(o.score, 4),
                "rating": o.rating,
                "distance_km": round(o.distance_km, 2),
                "grounding": str(o.grounding),
            }
            for rank, o in enumerate(shortlist, 1)
        ],
        "appointment": None,
    }
    if asked:
        # by topic: which call asked first may vary from run to run; what the user was asked and said does not
        result["questions"] = [
            {"topic": q.topic, "answer": q.answer} for q in sorted(asked, key=lambda q: (q.topic, q.answer or ""))
        ]
    if campaign.failure_reason:
        result["campaign"]["failure_reason"] = campaign.failure_reason
    if appointment is not None:
        result["appointment"] = {
            "provider_id": appointment.provider.id,
            "start": _iso(appointment.start, timezone),
            "end": _iso(appointment.end, timezone),
        }
    if chosen is not None:
        final = next((o for o in offers if o.id == chosen.id), chosen)
        result["chosen"] = {
            "provider_id": final.provider_id,
            "start": _iso(final.start, timezone),
            "status": str(final.status),
        }
    return result


def _call_json(call: CallTask, timezone: str, transcripts: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "provider_id": call.provider.id,
        "provider_name": call.provider.name,
        "purpose": str(call.purpose),
        "status": str(call.status),
        "outcome": str(call.outcome) if call.outcome else None,
        "turns": len(call.transcript),
    }
    if call.not_before is not None:
        data["scheduled_for"] = _iso(call.not_before, timezone)
    if (skipped := read_skip_note(call.failure_reason)) is not None and call.status is CallStatus.CANCELLED:
        data["not_called"] = skipped[0].value  # opted_out, over_budget, too_soon, known_full, call_back_later
        if skipped[1] is not None:
            key = "call_after" if skipped[0] is SkipReason.CALL_BACK_LATER else "nothing_free_before"
            data[key] = _iso(skipped[1], timezone)
    if transcripts:
        data["transcript"] = [f"{turn.speaker}: {turn.text}" for turn in call.transcript]
    return data


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
