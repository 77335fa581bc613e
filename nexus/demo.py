"""The offline demo: one whole campaign on the bundled directory, with a live view of the calls."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.live import Live
from rich.table import Table

from domain.models import CallOutcome, CallPurpose, CallStatus, CallTask, Campaign, CampaignStatus, Offer, User
from domain.notifications import CampaignProgress, Notification
from domain.services.campaigns import get_shortlist
from domain.wording import day_in_words, slot_in_words, time_in_words
from integrations.clock import SystemClock
from integrations.simulation.behaviour import generated_behaviour
from nexus.simulation import book, offline_nexus, start_and_settle

DEMO_USER = 1
TIME_SCALE = 0.02  # a 90-second call takes about two seconds


_STATE_WORDS = {
    CallStatus.QUEUED: "waiting",
    CallStatus.DIALING: "ringing",
    CallStatus.IN_PROGRESS: "talking",
    CallStatus.NO_ANSWER: "no answer",
    CallStatus.BUSY: "busy",
    CallStatus.FAILED: "failed",
    CallStatus.CANCELLED: "hung up",
}


def _call_state(call: CallTask, offers: list[Offer], timezone: str) -> str:
    offer = next((o for o in offers if o.call_task_id == call.id), None)
    if offer is not None:
        return f"[green]offer {slot_in_words(offer.window, timezone)}[/green]"
    if call.outcome is CallOutcome.CLOSED:
        return "closed"
    if call.outcome is CallOutcome.VOICEMAIL:
        return "voicemail"
    if call.status is CallStatus.COMPLETED:
        return "[green]booked[/green]" if call.outcome is CallOutcome.BOOKED else "no fitting time"
    if call.status is CallStatus.QUEUED and call.not_before is not None:
        return f"calls at {time_in_words(call.not_before, timezone)}"
    return _STATE_WORDS.get(call.status, call.status.lower())


def office_hours_start(now: datetime, timezone: str) -> datetime:
    """``now`` on a Tuesday to Friday morning between 10:00 and 11:30 (local), else the next such day at
    10:00. The demo's practices keep opening hours: at night, at lunch or on a Monday (when hairdressers
    close) most of them would be closed, and a demo should show calls."""
    local = now.astimezone(ZoneInfo(timezone))
    if 1 <= local.weekday() <= 4 and time(10) <= local.time() < time(11, 30):
        return now
    day = local.date() + timedelta(days=0 if local.time() < time(10) else 1)
    while not 1 <= day.weekday() <= 4:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=ZoneInfo(timezone))


class LiveView:
    """Keeps a table of the calls up to date as progress notifications arrive."""

    def __init__(self, live: Live, timezone: str) -> None:
        self._live = live
        self._tz = timezone

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, CampaignProgress):
            self._live.update(self.table(notification.campaign, notification.calls, notification.offers))

    def table(self, campaign: Campaign, calls: list[CallTask], offers: list[Offer]) -> Table:
        discovery = [c for c in calls if c.purpose is CallPurpose.DISCOVER]
        retried = {c.provider.id for c in discovery if c.outcome is CallOutcome.VOICEMAIL}
        calls = list({c.provider.id: c for c in discovery}.values())  # one row per provider: its latest call
        done = sum(1 for c in calls if c.status.is_ended)
        table = Table(title=f"Calling {len(calls)} {campaign.service} providers: {done} done, {len(offers)} offers")
        table.add_column("Provider")
        table.add_column("Call")
        for call in calls:
            state = _call_state(call, offers, self._tz)
            if call.provider.id in retried and call.status is CallStatus.QUEUED:
                state = f"voicemail, calling again at {time_in_words(call.not_before or campaign.created_at, self._tz)}"
            table.add_row(call.provider.name, state)
        return table


def shortlist_table(offers: list[Offer], timezone: str) -> Table:
    table = Table(title="Your shortlist")
    for column in ("#", "Provider", "When", "Rating", "Distance", "Score"):
        table.add_column(column)
    for rank, offer in enumerate(offers, 1):
        rating = f"{offer.rating:.1f}" if offer.rating is not None else "–"
        table.add_row(
            str(rank),
            offer.provider_name,
            slot_in_words(offer.window, timezone),
            rating,
            f"{offer.distance_km:.1f} km",
            f"{offer.score:.3f}",
        )
    return table


async def run_demo(
    console: Console,
    request: str,
    near: str,
    confirm: bool,
    seed: int,
    timezone: str,
    time_scale: float = TIME_SCALE,
) -> None:
    real_now = SystemClock().now()
    now = office_hours_start(real_now, timezone)
    async with offline_nexus(
        now=now,
        seed=seed,
        time_scale=time_scale,
        timezone=timezone,
        behaviours=generated_behaviour(now, timezone, seed),
    ) as run:
        place = await run.nexus.geocoder.geocode(near)
        if place is None:
            console.print(f"[red]I don't know the place {near!r}. Try Alexanderplatz, Kreuzberg or Marienplatz.[/red]")
            return
        user = User(id=DEMO_USER, timezone=timezone, home=place)
        console.print(f"Request: [bold]{request}[/bold] near [bold]{place.label or near}[/bold]")
        if now != real_now:
            pretend = day_in_words(now, timezone) + " " + time_in_words(now, timezone)
            console.print(f"The practices are closed now; the demo runs as if it were {pretend}.")
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            view = LiveView(live, timezone)
            run.nexus.notifications.subscribe(view)
            campaign = await start_and_settle(run, user, request, place, now=now)
            run.nexus.notifications.unsubscribe(view)
        if campaign.status is not CampaignStatus.RANKING:
            console.print(f"[red]{campaign.failure_reason or 'The search ended without offers.'}[/red]")
            return
        shortlist = await get_shortlist(run.nexus.ports, campaign.id)
        console.print(shortlist_table(shortlist, timezone))
        if not confirm:
            console.print("Run with --book to confirm the best offer by phone.")
            return
        best = shortlist[0]
        console.print(f"Calling {best.provider_name} to book {slot_in_words(best.window, timezone)} …")
        campaign = await book(run, campaign, best)
        if campaign.status is CampaignStatus.CONFIRMED:
            console.print(f"[green]Booked: {best.provider_name}, {slot_in_words(best.window, timezone)}.[/green]")
        else:
            console.print(f"[yellow]{best.provider_name} could no longer offer that time.[/yellow]")
            remaining = await get_shortlist(run.nexus.ports, campaign.id)
            if remaining:
                console.print(shortlist_table(remaining, timezone))
