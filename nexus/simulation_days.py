"""``nexus simulate --days N``: one world over several simulated days.

Each day runs in a fresh NEXUS process on the same database (so every round after the first is started by a
process that did not plan it: restart-safety is part of every run). The day's sweeps start the rounds that are
due; the simulated user acts on what NEXUS tells it, as the world's ``script`` says: keep looking when nothing
fits, book the best new offer, watch for an earlier slot, swap it in, move the appointment on a given day.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import DomainError, InvalidRequest
from domain.follow_ups import FollowUpKind, FollowUpStatus
from domain.models import AppointmentStatus, Campaign, CampaignStatus, Offer
from domain.notifications import (
    AppointmentCancelled,
    Booked,
    CampaignFailed,
    CampaignProgress,
    Notification,
    RoundEvent,
    RoundNews,
    ShortlistReady,
    SlotGone,
)
from domain.scoring import rank
from domain.services.campaigns import run_campaign
from domain.services.confirmation import choose_offer
from domain.services.context import Ports
from domain.services.reschedule import reschedule_appointment
from domain.services.rounds import KeepLooking, keep_looking
from domain.services.sweeps import sweep
from domain.services.watch import keep_mine, watch_for_earlier
from integrations.clock import FixedClock
from integrations.directory import BundledDirectory
from integrations.offline_calendar import StaticCalendar
from integrations.simulation.days import DayWorld
from integrations.simulation.gateway import SimulatedVoiceGateway
from integrations.simulation.world import World
from nexus.bootstrap import Nexus, bootstrap
from nexus.settings import Mode, Settings
from nexus.simulation import SIMULATED_USER, create_requested, world_campaign_id
from storage.schema import upgrade

_KINDS = {FollowUpKind.KEEP_LOOKING: "search", FollowUpKind.WATCH: "watch", FollowUpKind.REPLACE: "reschedule"}
USER_TAKES = timedelta(minutes=1)
# A day's sweeps stop after this many steps (a guard; a day needs a handful).
MAX_STEPS_PER_DAY = 50


class TickingClock(FixedClock):
    """A fixed clock that moves on a second each time it is read, so that what happens one after another in
    a simulated day (a booking, then the old appointment's cancellation call) has times in that order."""

    def now(self) -> datetime:
        moment = super().now()
        self.advance(TICK)
        return moment


TICK = timedelta(seconds=1)

_LIVE = (CampaignStatus.DIALING, CampaignStatus.NEGOTIATING)  # when a chat shows the calls as they run
_TOLD = (ShortlistReady, CampaignFailed, Booked, SlotGone, AppointmentCancelled, RoundNews)


class Inbox:
    """The simulated user's chat: every message NEXUS delivers, in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[datetime, Notification]] = []
        self.live_views: list[datetime] = []  # the calls shown while they run (the first search only)
        self.read = 0
        self.clock: FixedClock | None = None

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, _TOLD):
            self.messages.append((self._now(), notification))
        elif isinstance(notification, CampaignProgress) and notification.campaign.status in _LIVE:
            self.live_views.append(self._now())

    def _now(self) -> datetime:
        assert self.clock is not None
        return self.clock.now()

    def unread(self) -> list[Notification]:
        fresh = [n for _, n in self.messages[self.read :]]
        self.read = len(self.messages)
        return fresh


@dataclass
class DayRun:
    world: World
    days: DayWorld
    inbox: Inbox
    seed: int
    campaign_id: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    watched: bool = False


@asynccontextmanager
async def _process(url: str, clock: TickingClock, run: DayRun, world: World) -> AsyncIterator[tuple[Nexus, Any]]:
    """One NEXUS process for one simulated day, on the simulation's database."""
    settings = Settings(
        _env_file=None, database_url=url, nexus_mode=Mode.MOCK_AI, redis_url=None, campaigns_per_hour=1000
    )
    gateway = SimulatedVoiceGateway(behaviours=run.days.behaviours(), seed=run.seed)
    async with (
        bootstrap(
            settings,
            clock=clock,
            voice=gateway,
            directory=BundledDirectory(world.directory_providers()),
            calendar=StaticCalendar({SIMULATED_USER: world.busy()}),
        ) as nexus,
        nexus.serving(nexus.create_web_app(), "127.0.0.1", 0),
    ):
        nexus.notifications.subscribe(run.inbox)
        nexus.start_dispatcher(nexus.notifications, live_view_interval=timedelta(0))
        try:
            yield nexus, gateway
            await gateway.wait_idle()
        finally:
            nexus.notifications.unsubscribe(run.inbox)


async def simulate_days(world: World, world_text: str, days: int, seed: int = 0) -> dict[str, Any]:
    """Run ``world`` over ``days`` simulated days and describe what the user was told and what was booked."""
    if days < 1:
        raise InvalidRequest("Simulate at least one day.")
    clock = TickingClock(world.now)
    inbox = Inbox()
    inbox.clock = clock
    run = DayRun(world, DayWorld(world, clock.now), inbox, seed, world_campaign_id(world_text, seed))
    with tempfile.TemporaryDirectory(prefix="nexus-days-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'simulation.db'}"
        await upgrade(url)
        for day in range(1, days + 1):
            start = run.days.day_start(day)
            if start > clock.now():
                clock.advance(start - clock.now())
            async with _process(url, clock, run, world) as (nexus, gateway):
                await _sync_taken(nexus.ports, run)
                if day == 1:
                    await _start(nexus, run)
                await _live_day(nexus, gateway, run, clock, day)
        async with _process(url, clock, run, world) as (nexus, _):
            return await _describe(nexus.ports, run, days)


async def _start(nexus: Nexus, run: DayRun) -> None:
    world = run.world
    now = nexus.ports.clock.now()
    user, location = world.user_profile(SIMULATED_USER), world.user.location.point()
    campaign = await create_requested(nexus, user, world.request, location, now=now, campaign_id=run.campaign_id)
    _act(run, now, "search", world.request)
    await run_campaign(nexus.ports, campaign.id)


async def _live_day(nexus: Nexus, gateway: SimulatedVoiceGateway, run: DayRun, clock: TickingClock, day: int) -> None:
    """Sweep, let the calls run, act on the messages, and move the clock to the next due round, until the day
    ends."""
    ports = nexus.ports
    day_end = run.days.day_start(day + 1)
    rescheduled = False
    for _ in range(MAX_STEPS_PER_DAY):
        await sweep(ports)
        await gateway.wait_idle()
        await nexus.deliver_outbox()
        await _sync_taken(ports, run)
        acted = await _react(nexus, gateway, run)
        script = run.world.script.reschedule
        if script is not None and script.day == day and not rescheduled:
            rescheduled = await _reschedule(nexus, gateway, run, script.request)
            acted = True
        if acted:
            continue
        upcoming = await _next_due(ports)
        if upcoming is None or upcoming >= day_end:
            return
        if upcoming > clock.now():
            clock.advance(upcoming - clock.now())
    raise InvalidRequest(f"Day {day} of the simulation did not settle in {MAX_STEPS_PER_DAY} steps.")


async def _react(nexus: Nexus, gateway: SimulatedVoiceGateway, run: DayRun) -> bool:
    """The simulated user reads its new messages and taps what the script says. ``True`` when it acted."""
    ports = nexus.ports
    script = run.world.script
    acted = False
    for message in run.inbox.unread():
        clock = ports.clock
        if isinstance(clock, FixedClock):
            clock.advance(USER_TAKES)  # reading and tapping take the user a minute
        now = clock.now()
        try:
            if isinstance(message, CampaignFailed) and script.keep_looking:
                await keep_looking(ports, KeepLooking(SIMULATED_USER, message.campaign.id, script.widen))
                _act(run, now, "keep_looking", script.widen or "")
                acted = True
            elif isinstance(message, RoundNews) and message.event is RoundEvent.FOUND and script.book:
                await _book(ports, gateway, nexus, message.offers, run, "book")
                acted = True
            elif isinstance(message, ShortlistReady) and script.book:
                await _book(ports, gateway, nexus, message.shortlist, run, "book")
                acted = True
            elif isinstance(message, RoundNews) and message.event is RoundEvent.EARLIER:
                if script.swap:
                    await _book(ports, gateway, nexus, message.offers, run, "swap")
                else:
                    await keep_mine(ports, SIMULATED_USER, message.campaign.id)
                    _act(run, now, "keep_mine", "")
                acted = True
            elif isinstance(message, Booked) and script.watch_for_earlier and not run.watched:
                appointment = message.appointment
                run.watched = True  # once: the swapped-in appointment is the earliest the script wants
                await watch_for_earlier(ports, SIMULATED_USER, appointment.id, appointment.start)
                _act(run, now, "watch_for_earlier", appointment.provider.name)
                acted = True
        except DomainError as exc:
            _act(run, now, "refused", str(exc))
    return acted


async def _book(
    ports: Ports, gateway: SimulatedVoiceGateway, nexus: Nexus, offers: list[Offer], run: DayRun, action: str
) -> None:
    best = rank(offers)[0]
    _act(run, ports.clock.now(), action, f"{best.provider_name} {_iso(best.start, run.world.timezone)}")
    await choose_offer(ports, SIMULATED_USER, best.id)
    await gateway.wait_idle()
    await nexus.deliver_outbox()


async def _reschedule(nexus: Nexus, gateway: SimulatedVoiceGateway, run: DayRun, request: str) -> bool:
    ports = nexus.ports
    now = ports.clock.now()
    async with ports.uow() as uow:
        booked = await uow.appointments.list_for_user(
            SIMULATED_USER, statuses=[AppointmentStatus.BOOKED], ending_after=now
        )
    if not booked:
        _act(run, now, "refused", "There is no appointment to move.")
        return True
    parsed = await nexus.intent.parse(request, now, run.world.timezone)
    _act(run, now, "reschedule", f"{booked[0].provider.name}: {request}")
    try:
        await reschedule_appointment(ports, SIMULATED_USER, booked[0].id, parsed.windows, request)
    except DomainError as exc:
        _act(run, now, "refused", str(exc))
    await gateway.wait_idle()
    await nexus.deliver_outbox()
    return True


async def _next_due(ports: Ports) -> datetime | None:
    """The next time something is due: a round, a scheduled call."""
    now = ports.clock.now()
    far = now + timedelta(days=400)
    async with ports.uow() as uow:
        rounds = await uow.follow_ups.list_due(far)
        calls = await uow.calls.list_due(far)
    times = [f.next_due_at for f in rounds if f.next_due_at is not None and f.status is FollowUpStatus.ACTIVE]
    times += [c.not_before for c in calls if c.not_before is not None]
    return min(times, default=None)


async def _sync_taken(ports: Ports, run: DayRun) -> None:
    async with ports.uow() as uow:
        appointments = await uow.appointments.list_for_user(SIMULATED_USER, statuses=[AppointmentStatus.BOOKED])
    taken: dict[str, set[datetime]] = {}
    for appointment in appointments:
        taken.setdefault(appointment.provider.id, set()).add(appointment.start)
    run.days.booked_by_nexus(taken)


def _act(run: DayRun, now: datetime, action: str, detail: str) -> None:
    run.actions.append(
        {"day": run.days.day(now), "at": _iso(now, run.world.timezone), "action": action, "detail": detail}
    )


def _iso(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def _told(day: int, at: datetime, notification: Notification, timezone: str) -> dict[str, Any]:
    told: dict[str, Any] = {"day": day, "at": _iso(at, timezone)}
    match notification:
        case RoundNews(
            event=event, offers=offers, appointment=appointment, waitlisted=waitlisted, reason=reason, at=next_round
        ):
            told["message"] = f"round_{event.value}"
            if next_round is not None:
                told["next_round"] = _iso(next_round, timezone)
            if offers:
                told["offers"] = [f"{o.provider_name} {_iso(o.start, timezone)}" for o in offers]
            if appointment is not None:
                told["appointment"] = f"{appointment.provider.name} {_iso(appointment.start, timezone)}"
            if waitlisted:
                told["waitlisted"] = waitlisted
            if reason:
                told["reason"] = reason
        case ShortlistReady(shortlist=offers):
            told["message"] = "shortlist"
            told["offers"] = [f"{o.provider_name} {_iso(o.start, timezone)}" for o in offers]
        case CampaignFailed(campaign=campaign):
            told["message"] = "failed"
            told["reason"] = campaign.failure_reason
        case Booked(appointment=appointment):
            told["message"] = "booked"
            told["appointment"] = f"{appointment.provider.name} {_iso(appointment.start, timezone)}"
        case AppointmentCancelled(appointment=appointment):
            told["message"] = "cancelled"
            told["appointment"] = f"{appointment.provider.name} {_iso(appointment.start, timezone)}"
        case SlotGone(offer=offer):
            told["message"] = "slot_gone"
            told["offers"] = [f"{offer.provider_name} {_iso(offer.start, timezone)}"]
    return told


async def _describe(ports: Ports, run: DayRun, days: int) -> dict[str, Any]:
    tz = run.world.timezone
    async with ports.uow() as uow:
        appointments = await uow.appointments.list_for_user(SIMULATED_USER)
        campaigns: list[Campaign] = await uow.campaigns.list_for_user(SIMULATED_USER, limit=100)
        calls = []
        labels: dict[str, str] = {}
        for campaign in sorted(campaigns, key=lambda c: c.created_at):
            follow_up = await uow.follow_ups.get(campaign.id)
            kind = "search" if follow_up is None or campaign.id == run.campaign_id else _KINDS[follow_up.kind]
            labels[campaign.id] = f"{kind} {sum(1 for v in labels.values() if v.startswith(kind)) + 1}"
            for call in await uow.calls.list_for_campaign(campaign.id):
                calls.append((campaign, call))
    return {
        "days": days,
        "told": [_told(run.days.day(at), at, n, tz) for at, n in run.inbox.messages],
        "actions": run.actions,
        "live_view_days": sorted({run.days.day(at) for at in run.inbox.live_views}),
        "calls": [
            {
                "day": run.days.day(call.created_at),
                "at": _iso(call.started_at or call.created_at, tz),
                "search": labels[campaign.id],
                "provider_id": call.provider.id,
                "provider_name": call.provider.name,
                "purpose": str(call.purpose),
                "round": call.round_no,
                "status": str(call.status),
                "outcome": str(call.outcome) if call.outcome else None,
                **({"call_back_at": _iso(call.call_back_at, tz)} if call.call_back_at else {}),
            }
            for campaign, call in calls
        ],
        "appointments": [
            {
                "provider_id": a.provider.id,
                "provider_name": a.provider.name,
                "start": _iso(a.start, tz),
                "status": str(a.status),
                "sequence": a.sequence,
            }
            for a in appointments
        ],
        "campaigns": [
            {"search": labels[c.id], "status": str(c.status), "windows": len(c.windows)}
            for c in sorted(campaigns, key=lambda c: c.created_at)
        ],
    }


def days_summary(result: dict[str, Any]) -> str:
    """The days in a few lines each: what the user did, which calls were made, what the user was told."""
    lines: list[str] = []
    events: list[tuple[int, str, int, str]] = []
    for action in result["actions"]:
        events.append((action["day"], action["at"], 0, f"you: {action['action'].replace('_', ' ')} {action['detail']}"))
    for call in result["calls"]:
        outcome = call["outcome"] or call["status"].lower()
        later = f" (call back {_clock(call['call_back_at'])})" if call.get("call_back_at") else ""
        round_no = f", round {call['round']}" if call["round"] else ""
        what = f"call: {call['purpose'].lower()} {call['provider_name']}: {outcome.replace('_', ' ')}{later}"
        events.append((call["day"], call["at"], 1, f"{what} [{call['search']}{round_no}]"))
    for told in result["told"]:
        detail = "; ".join(told.get("offers", [])) or told.get("appointment", "") or told.get("reason", "")
        if told.get("next_round"):
            detail += f" (next round {_clock(told['next_round'])})"
        if told.get("waitlisted"):
            detail += f" (on the waiting list of {', '.join(told['waitlisted'])}; they may phone you)"
        events.append((told["day"], told["at"], 2, f"told: {told['message'].replace('_', ' ')} {detail}".rstrip()))
    day = 0
    for event_day, at, _, text in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        if event_day != day:
            day = event_day
            lines.append(f"Day {day}")
        lines.append(f"  {_clock(at)}  {text}")
    lines.append("Appointments:")
    for appointment in result["appointments"]:
        moved = f", moved {appointment['sequence']}x" if appointment["sequence"] else ""
        lines.append(
            f"  {appointment['provider_name']}, {appointment['start']}: {appointment['status'].lower()}{moved}"
        )
    return _ISO_TIME.sub(lambda m: _clock(m.group()), "\n".join(lines))


_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?[+-]\d\d:\d\d")


def _clock(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%a %d %b %H:%M")


__all__ = ["days_summary", "simulate_days"]
