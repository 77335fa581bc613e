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

from domain.expertise import catalogue
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
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "My client needs a {service} appointment of {minutes} minutes, ideally {wanted}. What is the earliest "
            "you could offer?"
        ),
        "fits": "{slot} works for my client.",
        "ask_on": "That doesn't fit my client. Do you have anything from {slot} on?",
        "fallback": "Then {slot} would be our best option.",
        "give_up": "Then it doesn't work this time, unfortunately.",
        "note": "Please note it for us; we will call back shortly to confirm.",
        "bye": "Thank you very much, goodbye.",
        "must_go": "I'm sorry, I have to go. Thank you, goodbye.",
        "book": (
            "Hello again, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "My client would like to book {slot}, as discussed."
        ),
        "cannot_after_all": "I'm sorry, my client can't make it after all.",
        "cancel": (
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "I'm calling to cancel my client's appointment on {slot}."
        ),
        "press": "(presses {digit})",
        "checking": "One moment, please, I'll check with my client.",
        "client_says": "My client says: {answer}.",
        "call_back": "I'm sorry, I can't reach my client right now; we'll call you back about that.",
        "putting_through": "I'm putting you through to my client now.",
        "client_calls_back": "Then my client will call you back. Thank you, goodbye.",
        "also": "My client also asks: {text}",
        "dont_know": "I don't know that, I'm afraid; my client will tell you when we call to confirm.",
        "call_back_ok": "Of course, we will call back then. Thank you.",
        "waitlist_yes": "Yes, please put my client on the waiting list.",
        "move": (
            "Hello, I'm an automated assistant calling on behalf of a client, and this call is transcribed. "
            "My client has an appointment on {slot} and needs to move it, ideally "
            "{wanted}. What could you offer?"
        ),
        "keep_old": "Then my client keeps the appointment as it is for now.",
        "opted_out": "I understand, we will not call you again. Sorry for the trouble, goodbye.",
    },
    "de": {
        "ask": (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag einer Kundin; das Gespräch wird "
            "transkribiert. Sie braucht einen Termin von {minutes} Minuten, am liebsten {wanted}. Was wäre der "
            "früheste Termin, den Sie anbieten könnten?"
        ),
        "fits": "{slot} passt meiner Kundin.",
        "ask_on": "Das passt leider nicht. Hätten Sie etwas ab {slot_dative}?",
        "fallback": "Dann wäre {slot} unsere beste Möglichkeit.",
        "give_up": "Dann klappt es diesmal leider nicht.",
        "note": "Bitte notieren Sie das für uns; wir rufen gleich zurück, um es zu bestätigen.",
        "bye": "Vielen Dank, auf Wiederhören.",
        "must_go": "Entschuldigung, ich muss auflegen. Vielen Dank, auf Wiederhören.",
        "book": (
            "Guten Tag noch einmal, hier spricht ein automatischer Assistent im Auftrag einer Kundin; das Gespräch "
            "wird transkribiert. Meine Kundin möchte den Termin am {slot_dative} fest buchen, wie besprochen."
        ),
        "cannot_after_all": "Entschuldigung, meine Kundin kann nun doch nicht.",
        "cancel": (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag einer Kundin; das Gespräch wird "
            "transkribiert. Ich möchte den Termin meiner Kundin am {slot_dative} absagen."
        ),
        "press": "(drückt die {digit})",
        "checking": "Einen Moment bitte, ich frage kurz meine Kundin.",
        "client_says": "Meine Kundin sagt: {answer}.",
        "call_back": "Entschuldigung, ich erreiche meine Kundin gerade nicht; wir rufen Sie dazu zurück.",
        "putting_through": "Ich verbinde Sie jetzt mit meiner Kundin.",
        "client_calls_back": "Dann ruft meine Kundin Sie zurück. Vielen Dank, auf Wiederhören.",
        "also": "Meine Kundin fragt außerdem: {text}",
        "dont_know": "Das weiß ich leider nicht; meine Kundin sagt es Ihnen, wenn wir zum Bestätigen anrufen.",
        "call_back_ok": "Gern, dann rufen wir morgen wieder an. Vielen Dank.",
        "waitlist_yes": "Ja, bitte setzen Sie meine Kundin auf die Warteliste.",
        "move": (
            "Guten Tag, hier spricht ein automatischer Assistent im Auftrag einer Kundin; das Gespräch wird "
            "transkribiert. Sie hat einen Termin am {slot_dative} und müsste ihn "
            "verschieben, am liebsten {wanted}. Was könnten Sie anbieten?"
        ),
        "keep_old": "Dann behält meine Kundin den Termin vorerst.",
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


_CHOICES = re.compile(r"\b(\w+) (?:or|oder) (?:an? |eine?[rnms]? )?(\w+)\b", re.IGNORECASE)


def choices_in(question: str) -> list[str]:
    """The answers a question offers ("publicly or privately", "Anna oder Murat"), if it names two."""
    match = _CHOICES.search(question)
    return [] if match is None else [match.group(1), match.group(2)]


_CALL_BACK = re.compile(
    r"(?:call (?:us )?back (?P<en_day>today|tomorrow) at (?P<en_h>\d{1,2})(?::(?P<en_m>\d{2}))?)"
    r"|(?:rufen sie (?:bitte )?(?P<de_day>heute|morgen) um (?P<de_h>\d{1,2})(?::(?P<de_m>\d{2}))? uhr)",
    re.IGNORECASE,
)
_WAITLIST = re.compile(r"\b(waiting list|warteliste)\b", re.IGNORECASE)


def call_back_time(words: str, now: datetime, timezone: str) -> datetime | None:
    """When the desk asked to be called back ("call back tomorrow at 8:00", "rufen Sie morgen um 8 Uhr wieder
    an"), or ``None``."""
    match = _CALL_BACK.search(words)
    if match is None:
        return None
    day = (match.group("en_day") or match.group("de_day")).lower()
    hour = int(match.group("en_h") or match.group("de_h"))
    minute = int(match.group("en_m") or match.group("de_m") or 0)
    local = now.astimezone(ZoneInfo(timezone))
    date = local.date() + timedelta(days=1 if day in ("tomorrow", "morgen") else 0)
    return datetime(date.year, date.month, date.day, hour, minute, tzinfo=ZoneInfo(timezone))


def offers_waiting_list(words: str) -> bool:
    return _WAITLIST.search(words) is not None


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
        on_transfer: Callable[[str], Awaitable[None]] | None = None,
        fault: str | None = None,
    ) -> None:
        self._tools = tools
        self._desk = receptionist
        self._campaign = campaign
        self._now = now
        self._pause = pause
        self._on_turn = on_turn
        self._before_end = before_end
        self._on_transfer = on_transfer
        self._tz = campaign.timezone
        self._lang = "en"
        self.fault = fault
        self.invented: TimeWindow | None = None  # the time a faulty agent reported although nobody said it
        self._heard: set[datetime] = set()
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

    async def _end(self, outcome: CallOutcome, summary: str, *, farewell: bool = True, **extra: str) -> None:
        if farewell:
            await self._say("agent", self._line("bye"))
        await self._before_end()
        body = {"outcome": outcome.value, "summary": summary, **self._earliest_free, **extra}
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
            elif purpose is CallPurpose.RESCHEDULE and target is not None:
                await self._reschedule(target)
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
        await self._answer_expert_questions()
        if not await self._answer_questions():
            return
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
                if fallback is None and await self._nothing_free(heard):
                    return
                break
            self._heard.update(slot.start for slot in offered)
            if not self._earliest_free and offered[0].start > ask_from:
                first = self._slot_body(offered[0])
                self._earliest_free = {"earliest_free_date": first["date"], "earliest_free_time": first["time"]}
            hint: datetime | None = None
            for slot in offered:
                answer = await self._tools.call("check-availability", self._slot_body(slot))
                status = answer.get("status")
                if status == "available":
                    await self._say("agent", self._line("fits", slot))
                    await self._report(await self._made_up(slot) if self.fault == "invent_time" else slot)
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

    # --- the user in the loop ---------------------------------------------------------------------

    async def _answer_questions(self) -> bool:
        """Answer what the desk wants to know about the client (asking the client through ``ask-user``), or
        hand the call over when the desk wants the client in person. ``False`` when the call is over."""
        for topic in self._desk.questions():
            heard = self._desk.question(topic)
            await self._say("provider", heard)
            await self._say("agent", self._line("checking"))
            body: dict[str, Any] = {"question": heard, "why": "The receptionist needs it to offer a time."}
            if choices := choices_in(heard):
                body["choices"] = choices
            answer = await self._tools.call("ask-user", body)
            if answer.get("status") in ("known", "answered") and answer.get("answer"):
                await self._say("agent", self._line("client_says", answer=str(answer["answer"])))
                await self._say("provider", self._desk.thanks())
                continue
            await self._say("agent", self._line("call_back"))
            await self._say("provider", self._desk.needs_answer())
            await self._hand_over(heard)
            return False
        wants = self._desk.wants_person()
        if wants is not None:
            await self._say("provider", wants)
            await self._hand_over("The receptionist wants to talk to the client in person.")
            return False
        return True

    async def _hand_over(self, about: str) -> None:
        """Put the call through to the client when NEXUS allows it, else say the client calls back."""
        answer = await self._tools.call("request-handover", {"about": about[:200]})
        if answer.get("status") == "transfer" and answer.get("phone_number"):
            await self._say("agent", self._line("putting_through"))
            await self._say("provider", self._desk.holds_for_client())
            await self._end(CallOutcome.HANDED_OVER, f"Put through to the client: {about}", farewell=False)
            if self._on_transfer is not None:
                await self._on_transfer(str(answer["phone_number"]))
            return
        await self._say("agent", self._line("client_calls_back"))
        await self._end(CallOutcome.OTHER, f"The receptionist needs the client: {about}", farewell=False)

    async def _follow_instructions(self) -> None:
        """Before deciding, hear what the client told the calls meanwhile, and pass it on."""
        answer = await self._tools.call("get-instructions", {})
        for text in answer.get("instructions") or []:
            await self._say("agent", self._line("also", text=str(text)))

    async def _answer_expert_questions(self) -> None:
        """Answer what the desk asks before it offers a time (insurance, the kind of visit, the car) from the
        answers the user gave before calling, as the expert agent does; say so when the user gave none."""
        expert = catalogue().expert(self._campaign.service)
        for key, words in self._desk.expert_questions():
            await self._say("provider", words)
            question = expert.question(key) if expert is not None else None
            answer = self._campaign.answers.get(key)
            if question is None or not answer:
                await self._say("agent", self._line("dont_know"))
                continue
            said = question.in_words(answer, self._lang)
            await self._say("agent", f"{said[:1].upper()}{said[1:]}.")
            await self._say("provider", self._desk.thanks_for_answer())

    async def _made_up(self, heard: TimeWindow) -> TimeWindow:
        """The fault ``invent_time``: instead of the slot it heard, the agent reports the earliest time in the
        user's windows that the user is free at and nobody said (the slot it heard when there is none)."""
        step = timedelta(minutes=30)
        for window in self._campaign.windows:
            start = window.start
            while start + heard.duration <= window.end and start < heard.start:
                if start >= self._now and start not in self._heard:
                    candidate = TimeWindow(start, start + heard.duration)
                    answer = await self._tools.call("check-availability", self._slot_body(candidate))
                    if answer.get("status") == "available":
                        self.invented = candidate
                        return candidate
                start += step
        return heard

    async def _nothing_free(self, heard: str) -> bool:
        """The desk has nothing free: agree to call back when it asks to be called back, accept its waiting list
        in the client's name. ``True`` when the call ended so."""
        when = call_back_time(heard, self._now, self._tz)
        if when is not None:
            await self._say("agent", self._line("call_back_ok"))
            local = when.astimezone(ZoneInfo(self._tz))
            said = local.strftime("%Y-%m-%d %H:%M")
            await self._end(CallOutcome.CALL_BACK_LATER, f"Asked to call back {said}.", call_back_at=said)
            return True
        if offers_waiting_list(heard):
            await self._say("agent", self._line("waitlist_yes"))
            await self._say("provider", self._desk.put_on_waitlist())
            await self._end(CallOutcome.WAITLISTED, "The client is on the waiting list.")
            return True
        return False

    async def _reschedule(self, old: TimeWindow) -> None:
        """Move ``old`` into the campaign's (new) windows: ask, check, book the new time (which releases the old
        one at the desk in the same breath), or leave everything as it was."""
        campaign = self._campaign
        minutes = int(old.duration.total_seconds() // 60)
        wanted = windows_in_words(campaign.windows, self._tz, self._lang)
        await self._say("agent", self._line("move", old, wanted=wanted))
        ask_from = max(campaign.windows[0].start, self._now)
        for _ in range(MAX_ROUNDS):
            heard = self._desk.offers_after(ask_from, minutes)
            await self._say("provider", heard)
            offered = understand_slots(heard, self._now, self._tz, minutes)
            if not offered:
                break
            for slot in offered:
                answer = await self._tools.call("check-availability", self._slot_body(slot))
                if answer.get("status") != "available":
                    continue
                await self._say("agent", self._line("fits", slot))
                body = self._slot_body(slot)
                booked = await self._tools.call("book-slot", {"date": body["date"], "time": body["time"]})
                if booked.get("status") == "booked":
                    _, words = self._desk.move(old.start, slot.start)
                    await self._say("provider", words)
                    await self._end(CallOutcome.BOOKED, f"Moved to {slot_in_words(slot, self._tz)}.")
                    return
            ask_from = offered[-1].start + timedelta(minutes=1)
            if ask_from >= campaign.span.end:
                break
            await self._say("agent", self._line("ask_on", TimeWindow(ask_from, ask_from + timedelta(minutes=1))))
        await self._say("agent", self._line("keep_old"))
        await self._end(CallOutcome.NO_AVAILABILITY, "No new time fits; the old appointment stays.")

    async def _report(self, slot: TimeWindow) -> None:
        await self._follow_instructions()
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
