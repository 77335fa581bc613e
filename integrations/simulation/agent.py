"""The reference negotiating agent: the policy the live agent's prompt describes, as code.

It talks to a receptionist and to NEXUS's real tool endpoints over HTTP with the same headers and JSON a
live ElevenLabs agent sends. Discovery: ask for the earliest slot inside the user's windows, check each
offered slot before accepting it, and when it does not fit ask for the next time the user is free; report
the first slot that fits; end the call. Never book in a discovery call. A bounded number of turns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from domain.models import CallOutcome, CallPurpose, Campaign, TimeWindow, Turn
from domain.wording import slot_in_words, windows_in_words
from integrations.simulation.receptionist import Receptionist

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

    async def _say(self, speaker: str, text: str) -> None:
        self._on_turn(Turn(speaker, text, self._now))
        await self._pause()

    def _slot_body(self, slot: TimeWindow) -> dict[str, Any]:
        local = slot.start.astimezone(ZoneInfo(self._tz))
        minutes = int(slot.duration.total_seconds() // 60)
        return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M"), "duration_minutes": minutes}

    async def _end(self, outcome: CallOutcome, summary: str) -> None:
        await self._say("agent", "Thank you very much, goodbye.")
        await self._before_end()
        await self._tools.call("end-call", {"outcome": outcome.value, "summary": summary})

    async def run(self, purpose: CallPurpose, target: TimeWindow | None) -> None:
        await self._say("provider", self._desk.greet())
        try:
            if purpose is CallPurpose.DISCOVER:
                await self._discover()
            elif purpose is CallPurpose.CONFIRM and target is not None:
                await self._confirm(target)
            elif purpose is CallPurpose.CANCEL and target is not None:
                await self._cancel(target)
            else:
                await self._end(CallOutcome.OTHER, "Nothing to do in this call.")
        except CallOver as exc:
            await self._say("agent", "I'm sorry, I have to go. Thank you, goodbye.")
            log.info("simulated call stopped by the tool server: %s", exc)

    async def _discover(self) -> None:
        campaign = self._campaign
        wanted = windows_in_words(campaign.windows, self._tz)
        await self._say(
            "agent",
            f"Hello, I'm calling for a client who needs a {campaign.service} appointment, ideally {wanted}. "
            "What is the earliest you could offer?",
        )
        ask_from = max(campaign.windows[0].start, self._now)
        span_end = campaign.span.end
        fallback: TimeWindow | None = None
        for _ in range(MAX_ROUNDS):
            offered = self._desk.earliest_after(ask_from)
            await self._say("provider", self._desk.offer_words(offered))
            if not offered:
                break
            hint: datetime | None = None
            for slot in offered:
                answer = await self._tools.call("check-availability", self._slot_body(slot))
                status = answer.get("status")
                if status == "available":
                    await self._say("agent", f"{slot_in_words(slot, self._tz)} works for my client.")
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
            from_when = slot_in_words(TimeWindow(ask_from, ask_from + timedelta(minutes=1)), self._tz)
            await self._say("agent", f"That doesn't fit my client. Do you have anything from {from_when} on?")
        if fallback is not None:
            await self._say("agent", f"Then {slot_in_words(fallback, self._tz)} would be our best option.")
            await self._report(fallback)
            return
        await self._say("agent", "Then it doesn't work this time, unfortunately.")
        await self._end(CallOutcome.NO_AVAILABILITY, "No time that fits the client.")

    async def _report(self, slot: TimeWindow) -> None:
        answer = await self._tools.call("report-slot-offer", self._slot_body(slot))
        if answer.get("status") == "recorded":
            await self._say("agent", "Please note it for us; we will call back shortly to confirm.")
            await self._say("provider", "Noted. Talk soon.")
            await self._end(CallOutcome.OFFER_MADE, f"Offered {slot_in_words(slot, self._tz)}.")
        else:
            await self._end(CallOutcome.NO_AVAILABILITY, "The offered time did not fit the client after all.")

    async def _confirm(self, target: TimeWindow) -> None:
        await self._say(
            "agent", f"Hello again, my client would like to book {slot_in_words(target, self._tz)}, as discussed."
        )
        if not self._desk.book(target.start):
            await self._say("provider", "I'm sorry, that time has just been taken.")
            await self._end(CallOutcome.NO_AVAILABILITY, "The slot was gone.")
            return
        body = self._slot_body(target)
        answer = await self._tools.call("book-slot", {"date": body["date"], "time": body["time"]})
        if answer.get("status") == "booked":
            await self._say("provider", "It's booked. See you then!")
            await self._end(CallOutcome.BOOKED, f"Booked {slot_in_words(target, self._tz)}.")
        else:
            self._desk.cancel(target.start)
            await self._say("agent", "I'm sorry, my client can't make it after all.")
            await self._end(CallOutcome.DECLINED, "Our side could not book the slot.")

    async def _cancel(self, target: TimeWindow) -> None:
        await self._say(
            "agent", f"Hello, I'm calling to cancel my client's appointment on {slot_in_words(target, self._tz)}."
        )
        self._desk.cancel(target.start)
        await self._say("provider", "No problem, it's cancelled.")
        await self._end(CallOutcome.CANCELLED_APPOINTMENT, "Appointment cancelled.")
