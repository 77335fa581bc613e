"""The reference negotiating agent: the policy the live agent's prompt describes, as code.

It talks to a receptionist and to NEXUS's real tool endpoints over HTTP with the same headers and JSON a
live ElevenLabs agent sends. It only hears the receptionist's words: it answers in the language the desk
speaks (English or German), understands the times offered from the words, presses the key a phone menu
names for appointments, and hangs up on a voicemail box without leaving a message (outcome ``voicemail``;
NEXUS calls again later). Discovery: ask for the earliest slot of the appointment's length inside the
user's windows, check each offered slot before accepting it, and when it does not fit ask for the next time
the user is free; report the first slot that fits; end the call. Never book in a discovery call. A bounded
number of turns.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from domain.models import CallOutcome, CallPurpose, Campaign, TimeWindow, Turn
from domain.wording import slot_in_words, windows_in_words
from integrations.simulation.receptionist import Receptionist
from integrations.simulation.speech import german_clock, german_date, is_german, understand_slots

log = logging.getLogger(__name__)

MAX_ROUNDS = 8
TOOL_SECRET_HEADER = "X-Nexus-Tool-Secret"  # noqa: S105 - a header name
CALL_TOKEN_HEADER = "X-Nexus-Call-Token"  # noqa: S105 - a header name


class CallOver(Exception):
    """The tool server says this call is over for NEXUS (``call_closed``, or 401); the agent says goodbye and
    stops."""


@dataclass
class ToolClient:
    """Calls the tool endpoints for one call."""

    session: aiohttp.ClientSession
    base_url: str
    tool_secret: str
    token: str
    conversation_id: str
    requests: int = 0

    async def call(self, tool: str, body: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        headers = {TOOL_SECRET_HEADER: self.tool_secret, CALL_TOKEN_HEADER: self.token}
        payload = {**body, "conversation_id": self.conversation_id}
        async with self.session.post(f"{self.base_url}/api/{tool}", json=payload, headers=headers) as response:
            data: dict[str, Any] = await response.json()
            over = response.status == 401 or data.get("status") == "call_closed"
            if over and tool != "book-slot":
                raise CallOver(data.get("message", "The call is over."))
            data["_status"] = response.status
            return data


_LINES = {
    "en": {
        "ask": (
            "Hello, I'm calling for a client who needs a {service} appointment of {minutes} minutes, ideally "
            "{wanted}. What is the earliest you could offer?"
        ),
        "fits": "{slot} works for my client.",
        "ask_on": "That doesn't fit my client. Do you have anything from {slot} on?",
        "fallback": "Then {slot} would be our best option.",
        "give_up": "Then it doesn't work this time, unfortunately.",
        "note": "Please note it for us; we will call back shortly to confirm.",
        "bye": "Thank you very much, goodbye.",
        "must_go": "I'm sorry, I have to go. Thank you, goodbye.",
        "book": "Hello again, my client would like to book {slot}, as discussed.",
        "cannot_after_all": "I'm sorry, my client can't make it after all.",
        "cancel": "Hello, I'm calling to cancel my client's appointment on {slot}.",
        "press": "(presses {digit})",
        "opted_out": "I understand, we will not call you again. Sorry for the trouble, goodbye.",
    },
    "de": {
        "ask": (
            "Guten Tag, ich rufe im Auftrag einer Kundin an. Sie braucht einen Termin von {minutes} Minuten, am "
            "liebsten {wanted}. Was wäre der früheste Termin, den Sie anbieten könnten?"
        ),
        "fits": "{slot} passt meiner Kundin.",
        "ask_on": "Das passt leider nicht. Hätten Sie etwas ab {slot_dative}?",
        "fallback": "Dann wäre {slot} unsere beste Möglichkeit.",
        "give_up": "Dann klappt es diesmal leider nicht.",
        "note": "Bitte notieren Sie das für uns; wir rufen gleich zurück, um es zu bestätigen.",
        "bye": "Vielen Dank, auf Wiederhören.",
        "must_go": "Entschuldigung, ich muss auflegen. Vielen Dank, auf Wiederhören.",
        "book": "Guten Tag noch einmal, meine Kundin möchte den Termin am {slot_dative} fest buchen, wie besprochen.",
        "cannot_after_all": "Entschuldigung, meine Kundin kann nun doch nicht.",
        "cancel": "Guten Tag, ich möchte den Termin meiner Kundin am {slot_dative} absagen.",
        "press": "(drückt die {digit})",
        "opted_out": "Verstanden, wir rufen Sie nicht mehr an. Entschuldigen Sie die Störung, auf Wiederhören.",
    },
}

_VOICEMAIL = re.compile(r"\b(voicemail|mailbox|anrufbeantworter|after the tone|nach dem signalton)\b", re.IGNORECASE)
_MENU_KEY = re.compile(
    r"(?:for appointments?,? press (?P<en>\d))|(?:für termin\w*,? drücken sie (?:die )?(?P<de>\d))", re.IGNORECASE
)


def menu_key_for_appointments(words: str) -> str | None:
    """The key a phone menu names for appointments (``For appointments, press 1`` / ``Für Termine drücken Sie
    die 1``), or ``None`` when the announcement is no such menu."""
    match = _MENU_KEY.search(words)
    return None if match is None else match.group("en") or match.group("de")


def is_voicemail(words: str) -> bool:
    return _VOICEMAIL.search(words) is not None


_OPT_OUT = re.compile(
    r"(do not|don't) call (us|here)\b.*\b(again|any ?more)|nicht mehr an(rufen)?\b|keine (automatischen )?anrufe",
    re.IGNORECASE,
)


def is_opt_out(words: str) -> bool:
    """Whether the desk asks not to be called (again) by an automated caller."""
    return _OPT_OUT.search(words) is not None


class ReferenceAgent:
    def __init__(
        self,
        tools: ToolClient,
        receptionist: Receptionist,
        campaign: Campaign,
        now: datetime,
        pause: Callable[[], Awaitable[None]],
        on_turn: Callable[[Turn], None],
        before_end: Callable[[], Awaitable[None]],
    ) -> None:
        self._tools = tools
        self._desk = receptionist
        self._campaign = campaign
        self._now = now
        self._pause = pause
        self._on_turn = on_turn
        self._before_end = before_end
        self._tz = campaign.timezone
        self._lang = "en"
        # what the desk said about itself: nothing free from the first time asked until its first offer
        self._earliest_free: dict[str, str] = {}

    def _line(self, key: str, slot: TimeWindow | None = None, **values: str) -> str:
        if slot is not None:
            values["slot"] = self._slot_words(slot)
            values["slot_dative"] = self._slot_words(slot, "dem")
        return _LINES[self._lang][key].format(**values)

    def _slot_words(self, slot: TimeWindow, article: str = "der") -> str:
        if self._lang == "de":
            return f"{german_date(slot.start, self._tz, article)}, um {german_clock(slot.start, self._tz)}"
        return slot_in_words(slot, self._tz)

    async def _say(self, speaker: str, text: str) -> None:
        self._on_turn(Turn(speaker, text, self._now))
        await self._pause()

    def _slot_body(self, slot: TimeWindow) -> dict[str, Any]:
        local = slot.start.astimezone(ZoneInfo(self._tz))
        minutes = int(slot.duration.total_seconds() // 60)
        return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M"), "duration_minutes": minutes}

    async def _end(self, outcome: CallOutcome, summary: str, *, farewell: bool = True) -> None:
        if farewell:
            await self._say("agent", self._line("bye"))
        await self._before_end()
        body = {"outcome": outcome.value, "summary": summary, **self._earliest_free}
        await self._tools.call("end-call", body)

    async def _get_through(self) -> bool:
        """Listen to who picks up: hang up on a voicemail box, press the appointments key of a menu.
        ``True`` when a person is on the line."""
        heard = self._desk.pick_up()
        await self._say("provider", heard)
        self._lang = "de" if is_german(heard) else "en"
        if is_voicemail(heard):
            await self._end(CallOutcome.VOICEMAIL, "Reached the voicemail box; left no message.", farewell=False)
            return False
        key = menu_key_for_appointments(heard)
        if key is not None:
            await self._say("agent", self._line("press", digit=key))
            heard = self._desk.press(key)
            await self._say("provider", heard)
            if menu_key_for_appointments(heard) is not None or not self._desk.put_through:
                await self._end(CallOutcome.OTHER, "The phone menu did not lead to the front desk.", farewell=False)
                return False
        return True

    async def run(self, purpose: CallPurpose, target: TimeWindow | None) -> None:
        try:
            if not await self._get_through():
                return
            if purpose is CallPurpose.DISCOVER:
                await self._discover()
            elif purpose is CallPurpose.CONFIRM and target is not None:
                await self._confirm(target)
            elif purpose is CallPurpose.CANCEL and target is not None:
                await self._cancel(target)
            else:
                await self._end(CallOutcome.OTHER, "Nothing to do in this call.")
        except CallOver as exc:
            await self._say("agent", self._line("must_go"))
            log.info("simulated call stopped by the tool server: %s", exc)

    async def _discover(self) -> None:
        campaign = self._campaign
        minutes = campaign.duration_minutes
        wanted = windows_in_words(campaign.windows, self._tz, self._lang)
        await self._say("agent", self._line("ask", service=campaign.service, minutes=str(minutes), wanted=wanted))
        ask_from = max(campaign.windows[0].start, self._now)
        span_end = campaign.span.end
        fallback: TimeWindow | None = None
        for _ in range(MAX_ROUNDS):
            heard = self._desk.offers_after(ask_from, minutes)
            await self._say("provider", heard)
            if is_opt_out(heard):
                await self._say("agent", self._line("opted_out"))
                await self._before_end()
                await self._tools.call("end-call", {"outcome": CallOutcome.OPTED_OUT.value, "summary": "Opted out."})
                return
            offered = understand_slots(heard, self._now, self._tz, minutes)
            if not offered:
                break
            if not self._earliest_free and offered[0].start > ask_from:
                first = self._slot_body(offered[0])
                self._earliest_free = {"earliest_free_date": first["date"], "earliest_free_time": first["time"]}
            hint: datetime | None = None
            for slot in offered:
                answer = await self._tools.call("check-availability", self._slot_body(slot))
                status = answer.get("status")
                if status == "available":
                    await self._say("agent", self._line("fits", slot))
                    await self._report(slot)
                    return
                if status == "soft_conflict" and fallback is None:
                    fallback = slot
                if status == "cannot_verify":
                    fallback = fallback or slot
                next_free = answer.get("next_free")
                if next_free:
                    hint = datetime.fromisoformat(next_free)
            ask_from = max(offered[-1].start + timedelta(minutes=1), hint or ask_from)
            if ask_from >= span_end:
                break
            from_when = TimeWindow(ask_from, ask_from + timedelta(minutes=1))
            await self._say("agent", self._line("ask_on", from_when))
        if fallback is not None:
            await self._say("agent", self._line("fallback", fallback))
            await self._report(fallback)
            return
        await self._say("agent", self._line("give_up"))
        await self._end(CallOutcome.NO_AVAILABILITY, "No time that fits the client.")

    async def _report(self, slot: TimeWindow) -> None:
        answer = await self._tools.call("report-slot-offer", self._slot_body(slot))
        if answer.get("status") == "recorded":
            await self._say("agent", self._line("note"))
            await self._say("provider", self._desk.noted())
            await self._end(CallOutcome.OFFER_MADE, f"Offered {slot_in_words(slot, self._tz)}.")
        else:
            await self._end(CallOutcome.NO_AVAILABILITY, "The offered time did not fit the client after all.")

    async def _confirm(self, target: TimeWindow) -> None:
        await self._say("agent", self._line("book", target))
        booked, words = self._desk.book_words(target.start)
        await self._say("provider", words)
        if not booked:
            await self._end(CallOutcome.NO_AVAILABILITY, "The slot was gone.")
            return
        body = self._slot_body(target)
        answer = await self._tools.call("book-slot", {"date": body["date"], "time": body["time"]})
        if answer.get("status") == "booked":
            await self._end(CallOutcome.BOOKED, f"Booked {slot_in_words(target, self._tz)}.")
        else:
            self._desk.cancel(target.start)
            await self._say("agent", self._line("cannot_after_all"))
            await self._end(CallOutcome.DECLINED, "Our side could not book the slot.")

    async def _cancel(self, target: TimeWindow) -> None:
        await self._say("agent", self._line("cancel", target))
        await self._say("provider", self._desk.cancel_words(target.start))
        await self._end(CallOutcome.CANCELLED_APPOINTMENT, "Appointment cancelled.")
