"""The offline demo: one whole campaign on the bundled directory, with a live view of the calls.

It speaks the request's language (a German request gets German tables and sentences). In a terminal the
calls table updates live; without one (piped to a file) every table is printed once, plain and aligned.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from domain.models import (
    CallOutcome,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    GeoPoint,
    Offer,
    User,
)
from domain.notifications import CampaignProgress, Notification
from domain.services.campaigns import get_shortlist
from domain.wording import counted, day_in_words, service_in_words, slot_in_words, time_in_words
from integrations.clock import SystemClock
from integrations.simulation.behaviour import generated_behaviour
from nexus.simulation import SimulationRun, book, offline_nexus, start_and_settle

DEMO_USER = 1
TIME_SCALE = 0.02  # a 90-second call takes about two seconds

_STATE_WORDS = {
    "en": {
        CallStatus.QUEUED: "waiting",
        CallStatus.DIALING: "ringing",
        CallStatus.IN_PROGRESS: "talking",
        CallStatus.NO_ANSWER: "no answer",
        CallStatus.BUSY: "busy",
        CallStatus.FAILED: "failed",
        CallStatus.CANCELLED: "hung up",
    },
    "de": {
        CallStatus.QUEUED: "wartet",
        CallStatus.DIALING: "klingelt",
        CallStatus.IN_PROGRESS: "im Gespräch",
        CallStatus.NO_ANSWER: "keine Antwort",
        CallStatus.BUSY: "besetzt",
        CallStatus.FAILED: "fehlgeschlagen",
        CallStatus.CANCELLED: "aufgelegt",
    },
}

_TEXTS = {
    "en": {
        "request": "Request: [bold]{request}[/bold]",
        "around": "Searching around [bold]{place}[/bold]",
        "unknown_place": "I don't know the place {place!r}. Try Alexanderplatz, Kreuzberg or Marienplatz.",
        "calling": "Calling {providers}: {done} done, {offers}",
        "provider": "Provider",
        "call": "Call",
        "offer": "offer {slot}",
        "no_fit": "no fitting time",
        "booked_call": "booked",
        "closed": "closed",
        "voicemail": "voicemail",
        "voicemail_again": "voicemail, calling again at {time}",
        "calls_at": "calls at {time}",
        "pretend": "The practices are closed now; the demo runs as if it were {when}.",
        "shortlist": "Your shortlist",
        "columns": ("#", "Provider", "When", "Rating", "Distance", "Score"),
        "no_offers": "The search ended without offers.",
        "hint_book": "Run with --book to confirm the best offer by phone.",
        "booking": "Calling {provider} to book {slot} …",
        "booked": "Booked: {provider}, {slot}.",
        "gone": "{provider} could no longer offer that time.",
    },
    "de": {
        "request": "Anfrage: [bold]{request}[/bold]",
        "around": "Suche rund um [bold]{place}[/bold]",
        "unknown_place": "Den Ort {place!r} kenne ich nicht. Versuch Alexanderplatz, Kreuzberg oder Marienplatz.",
        "calling": "Anrufe bei {providers} ({service}): {done} fertig, {offers}",
        "provider": "Anbieter",
        "call": "Anruf",
        "offer": "Angebot {slot}",
        "no_fit": "keine passende Zeit",
        "booked_call": "gebucht",
        "closed": "geschlossen",
        "voicemail": "Mailbox",
        "voicemail_again": "Mailbox, rufe um {time} wieder an",
        "calls_at": "ruft um {time} an",
        "pretend": "Die Praxen haben gerade zu; die Demo läuft, als wäre es {when}.",
        "shortlist": "Deine Auswahl",
        "columns": ("#", "Anbieter", "Wann", "Bewertung", "Entfernung", "Punkte"),
        "no_offers": "Die Suche endete ohne Angebote.",
        "hint_book": "Mit --book buche ich das beste Angebot telefonisch.",
        "booking": "Rufe {provider} an und buche {slot} …",
        "booked": "Gebucht: {provider}, {slot}.",
        "gone": "{provider} kann diese Zeit nicht mehr anbieten.",
    },
}


def _say(language: str, key: str, **values: object) -> str:
    text = _TEXTS["de" if language == "de" else "en"][key]
    assert isinstance(text, str)
    return text.format(**values)


def _table(title: str, plain: bool) -> Table:
    """A table that, without a terminal, is plain text columns under a title of its own line."""
    if plain:
        table = Table(box=None, show_edge=False, pad_edge=False)
        table.caption = title  # kept for ``_shown``, which puts it on a line of its own
        return table
    return Table(title=title)


def _shown(table: Table) -> RenderableType:
    """What to print for ``table``: its plain title is a line of its own, not padded to the table's width."""
    if table.caption is None:
        return table
    title, table.caption = str(table.caption), None
    return Group(Text(title), table)


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

    def __init__(self, live: Live | None, timezone: str, language: str = "en", plain: bool = False) -> None:
        self._live = live
        self._tz = timezone
        self._language = "de" if language == "de" else "en"
        self._plain = plain
        self.last: Table | None = None

    async def notify(self, user_id: int, notification: Notification) -> None:
        if isinstance(notification, CampaignProgress):
            self.last = self.table(notification.campaign, notification.calls, notification.offers)
            if self._live is not None:
                self._live.update(_shown(self.last))

    def table(self, campaign: Campaign, calls: list[CallTask], offers: list[Offer]) -> Table:
        lang = self._language
        discovery = [c for c in calls if c.purpose is CallPurpose.DISCOVER]
        retried = {c.provider.id for c in discovery if c.outcome is CallOutcome.VOICEMAIL}
        calls = list({c.provider.id: c for c in discovery}.values())  # one row per provider: its latest call
        done = sum(1 for c in calls if c.status.is_ended)
        service = campaign.service
        if lang == "de":
            providers = counted(len(calls), "Anbieter", "Anbietern")
            title = _say(lang, "calling", providers=providers, service=service_in_words(service, "de"), done=done,
                         offers=counted(len(offers), "Angebot", "Angebote"))  # fmt: skip
        else:
            providers = counted(len(calls), service_in_words(service), service_in_words(service, count=2))
            offers_said = counted(len(offers), "offer", "offers")
            title = _say(lang, "calling", providers=providers, done=done, offers=offers_said)
        table = _table(title, self._plain)
        table.add_column(_say(lang, "provider"), no_wrap=True)
        table.add_column(_say(lang, "call"), no_wrap=True)
        for call in calls:
            state = self._call_state(call, offers)
            if call.provider.id in retried and call.status is CallStatus.QUEUED:
                again = time_in_words(call.not_before or campaign.created_at, self._tz)
                state = _say(lang, "voicemail_again", time=again)
            table.add_row(call.provider.name, state)
        return table

    def _call_state(self, call: CallTask, offers: list[Offer]) -> str:
        lang = self._language
        offer = next((o for o in offers if o.call_task_id == call.id), None)
        if offer is not None:
            return f"[green]{_say(lang, 'offer', slot=slot_in_words(offer.window, self._tz, lang))}[/green]"
        if call.outcome is CallOutcome.CLOSED:
            return _say(lang, "closed")
        if call.outcome is CallOutcome.VOICEMAIL:
            return _say(lang, "voicemail")
        if call.status is CallStatus.COMPLETED:
            booked = call.outcome is CallOutcome.BOOKED
            return f"[green]{_say(lang, 'booked_call')}[/green]" if booked else _say(lang, "no_fit")
        if call.status is CallStatus.QUEUED and call.not_before is not None:
            return _say(lang, "calls_at", time=time_in_words(call.not_before, self._tz))
        return _STATE_WORDS[lang].get(call.status, call.status.lower())


def shortlist_table(offers: list[Offer], timezone: str, language: str = "en", plain: bool = False) -> Table:
    table = _table(_say(language, "shortlist"), plain)
    columns = _TEXTS["de" if language == "de" else "en"]["columns"]
    for index, column in enumerate(columns):
        # Numbers line up on the right: the rank, the rating, the distance and the score.
        table.add_column(column, no_wrap=True, justify="right" if index in (0, 3, 4, 5) else "left")
    for rank, offer in enumerate(offers, 1):
        rating = f"{offer.rating:.1f}" if offer.rating is not None else "–"
        table.add_row(
            str(rank),
            offer.provider_name,
            slot_in_words(offer.window, timezone, language),
            rating,
            f"{offer.distance_km:.1f} km",
            f"{offer.score:.3f}",
        )
    return table


async def _place(run: SimulationRun, named: str | None, near: str) -> tuple[GeoPoint | None, str]:
    """Where to search: the place the request names if it is known, else ``--near``."""
    if named:
        found = await run.nexus.geocoder.geocode(named)
        if found is not None:
            return found, named
    return await run.nexus.geocoder.geocode(near), near


async def run_demo(
    console: Console,
    request: str,
    near: str,
    confirm: bool,
    seed: int,
    timezone: str,
    time_scale: float = TIME_SCALE,
    real_now: datetime | None = None,
) -> None:
    """Run the demo at ``real_now`` (the system clock when not given), moved to office hours if need be."""
    real_now = real_now or SystemClock().now()
    now = office_hours_start(real_now, timezone)
    plain = not console.is_terminal
    async with offline_nexus(
        now=now,
        seed=seed,
        time_scale=time_scale,
        timezone=timezone,
        behaviours=generated_behaviour(now, timezone, seed),
    ) as run:
        parsed = await run.nexus.intent.parse(request, now, timezone)
        lang = "de" if parsed.language == "de" else "en"
        place, asked = await _place(run, parsed.location, near)
        if place is None:
            console.print(f"[red]{_say(lang, 'unknown_place', place=asked)}[/red]")
            return
        user = User(id=DEMO_USER, timezone=timezone, home=place)
        console.print(_say(lang, "request", request=escape(request)))
        console.print(_say(lang, "around", place=escape(place.label or asked)))
        if now != real_now:
            pretend = f"{day_in_words(now, timezone, lang)} {time_in_words(now, timezone)}"
            console.print(_say(lang, "pretend", when=pretend))
        view = LiveView(None, timezone, lang, plain)
        if plain:
            run.nexus.notifications.subscribe(view)
            campaign = await start_and_settle(run, user, request, place, now=now)
            run.nexus.notifications.unsubscribe(view)
            if view.last is not None:
                console.print(_shown(view.last))
        else:
            with Live(console=console, refresh_per_second=8, transient=False) as live:
                view = LiveView(live, timezone, lang, plain)
                run.nexus.notifications.subscribe(view)
                campaign = await start_and_settle(run, user, request, place, now=now)
                run.nexus.notifications.unsubscribe(view)
        console.print()
        if campaign.status is not CampaignStatus.RANKING:
            console.print(f"[red]{campaign.failure_reason or _say(lang, 'no_offers')}[/red]")
            return
        shortlist = await get_shortlist(run.nexus.ports, campaign.id)
        console.print(_shown(shortlist_table(shortlist, timezone, lang, plain)))
        console.print()
        if not confirm:
            console.print(_say(lang, "hint_book"))
            return
        best = shortlist[0]
        slot = slot_in_words(best.window, timezone, lang)
        console.print(_say(lang, "booking", provider=best.provider_name, slot=slot))
        campaign = await book(run, campaign, best)
        if campaign.status is CampaignStatus.CONFIRMED:
            console.print(f"[green]{_say(lang, 'booked', provider=best.provider_name, slot=slot)}[/green]")
        else:
            console.print(f"[yellow]{_say(lang, 'gone', provider=best.provider_name)}[/yellow]")
            remaining = await get_shortlist(run.nexus.ports, campaign.id)
            if remaining:
                console.print()
                console.print(_shown(shortlist_table(remaining, timezone, lang, plain)))
