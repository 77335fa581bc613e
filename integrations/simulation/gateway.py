"""The simulated voice gateway: each placed call is an asyncio task in which a simulated receptionist and the
reference agent talk, the agent calling NEXUS's tool endpoints over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime

import aiohttp

from domain.errors import DependencyUnavailable
from domain.models import CallPurpose, CallStatus, Turn
from domain.ports import CallRequest, PlacedCall
from domain.services.campaigns import end_call_task, record_transcript
from domain.services.context import Ports
from domain.services.user_loop import append_turns, refresh_listener
from integrations.simulation.agent import ReferenceAgent, ToolClient
from integrations.simulation.behaviour import BehaviourSource, ProviderBehaviour, generated_behaviour, seeded_rng
from integrations.simulation.receptionist import Receptionist

log = logging.getLogger(__name__)

EXPECTED_TURNS = 8
RING_SECONDS = 20.0


class SimulatedVoiceGateway:
    """Runs simulated calls in accelerated time (how many at once is bounded by the call slots, before a call
    gets here).

    ``time_scale`` is how many wall seconds one simulated second takes: 0 runs calls as fast as the tool
    endpoints answer; 0.02 makes a 90-second call take about two seconds (for a live view).
    """

    def __init__(
        self,
        *,
        behaviours: BehaviourSource | None = None,
        seed: int = 0,
        time_scale: float = 0.0,
    ) -> None:
        self._secret = ""
        self._behaviours = behaviours
        self._seed = seed
        self.time_scale = time_scale
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ports: Ports | None = None
        self._tools_url: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self.transcripts: dict[str, list[Turn]] = {}
        self.call_seconds: dict[str, float] = {}
        self.receptionists: dict[str, Receptionist] = {}  # by call id, for tests that look at what was said
        self._calls_to: dict[str, int] = {}  # calls placed so far, by provider and purpose
        self.transfers: dict[str, str] = {}  # calls put through to the user: the number, by call id
        self.invented: dict[str, datetime] = {}  # by call id: the start a faulty agent reported, never said

    def bind(self, ports: Ports, tool_secret: str) -> None:
        """Give the gateway the ports it reports unanswered calls and transcripts through, and the secret
        its agents present to the tool endpoints."""
        self._ports = ports
        self._secret = tool_secret

    def set_tools_url(self, base_url: str) -> None:
        self._tools_url = base_url

    def set_behaviours(self, behaviours: BehaviourSource) -> None:
        self._behaviours = behaviours

    def _behaviour(self, request: CallRequest) -> ProviderBehaviour:
        source = self._behaviours or generated_behaviour(request.campaign.created_at, request.campaign.timezone)
        return source(request.call.provider)

    def _connected(self) -> bool:
        return self._ports is not None and self._tools_url is not None

    async def place_call(self, request: CallRequest) -> PlacedCall:
        if not self._connected():
            raise DependencyUnavailable("The simulated phone line is not connected to a tool server.")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        conversation_id = f"sim_{secrets.token_hex(8)}"
        task = asyncio.create_task(self._converse(request, conversation_id), name=f"call-{request.call.id}")
        self._tasks[request.call.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request.call.id, None))
        return PlacedCall(conversation_id=conversation_id, call_sid=f"SIM{request.call.id[:16]}")

    async def hang_up(self, call: object) -> None:
        call_id = getattr(call, "id", None)
        task = self._tasks.get(call_id) if isinstance(call_id, str) else None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def wait_idle(self) -> None:
        """Wait until every call placed so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _pause(self, seconds: float) -> None:
        if self.time_scale > 0:
            await asyncio.sleep(seconds * self.time_scale)

    def _now(self) -> datetime:
        assert self._ports is not None
        return self._ports.clock.now()

    async def _report_end(self, call_id: str, status: CallStatus, reason: str) -> None:
        """A call ended without the agent saying so (nobody answered, it broke down): tell NEXUS."""
        assert self._ports is not None
        await end_call_task(self._ports, call_id, status, reason=reason)

    async def _report_transcript(self, call_id: str, turns: list[Turn]) -> None:
        """Hand NEXUS what was said, as the post-call webhook does for a live call."""
        assert self._ports is not None
        await record_transcript(self._ports, call_id, turns)

    async def _report_turns(self, call_id: str, turns: list[Turn]) -> None:
        """Store what was just said, as a live call's turns are stored while it runs (the "Listen" view)."""
        assert self._ports is not None
        await append_turns(self._ports, call_id, turns)

    async def _converse(self, request: CallRequest, conversation_id: str) -> None:
        assert self._tools_url is not None and self._session is not None
        call = request.call
        behaviour = self._behaviour(request)
        stream = f"{call.provider.id}:{call.purpose}"
        nth = self._calls_to.get(stream, 0)
        self._calls_to[stream] = nth + 1
        # a retry gets its own random stream, so the first call's words stay as they were
        rng = seeded_rng(self._seed, stream + (f":{nth}" if nth else ""))
        hours = call.provider.opening_hours
        closed = hours is not None and not hours.is_open(self._now(), request.campaign.timezone)
        turns: list[Turn] = []
        self.transcripts[call.id] = turns
        try:
            if not behaviour.answers or closed:  # nobody is at the desk of a closed practice
                await self._pause(RING_SECONDS)
                self.call_seconds[call.id] = RING_SECONDS
                await self._report_end(call.id, CallStatus.NO_ANSWER, "Nobody answered.")
                return
            turn_seconds = behaviour.call_seconds / EXPECTED_TURNS
            tools = ToolClient(self._session, self._tools_url, self._secret, request.token, conversation_id)

            stored = 0

            async def pause() -> None:
                # what was just said is stored at once, as a live call's turns are (the "Listen" view)
                nonlocal stored
                fresh, stored = turns[stored:], len(turns)
                await self._report_turns(call.id, fresh)
                await self._pause(turn_seconds)

            async def transfer(phone: str) -> None:
                # offline, a handover is recorded: the call is put through to the user's phone and ends for us
                self.transfers[call.id] = phone
                log.info("simulated call %s put through to the user (+***%s)", call.id, phone[-3:])

            async def flush() -> None:
                self.call_seconds[call.id] = turn_seconds * len(turns)
                await self._report_transcript(call.id, list(turns))

            desk = Receptionist(
                call.provider,
                behaviour,
                rng,
                request.campaign.timezone,
                voicemail=call.purpose is CallPurpose.DISCOVER and nth < behaviour.voicemail_calls,
            )
            self.receptionists[call.id] = desk
            agent = ReferenceAgent(
                tools,
                desk,
                request.campaign,
                self._now(),
                pause,
                turns.append,
                flush,
                on_transfer=transfer,
                fault=behaviour.agent_fault,
            )
            try:
                await agent.run(call.purpose, request.target_slot)
            finally:
                if agent.invented is not None:
                    self.invented[call.id] = agent.invented.start
            if self._ports is not None:
                await refresh_listener(self._ports, call.id)
        except asyncio.CancelledError:
            log.info("simulated call %s hung up", call.id)
            raise
        except Exception as exc:
            log.exception("simulated call %s broke down", call.id)
            await self._report_end(call.id, CallStatus.FAILED, f"The call broke down: {exc}")
