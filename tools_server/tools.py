"""The tool endpoints a voice agent calls during a phone call.

Each endpoint authenticates the call before it reads the body, parses the body with its model, calls one use
case and shapes the answer; a refusal the agent must act on is an answer too (``tool_endpoint``). ``TOOLS``
describes every endpoint once, for routing, ``/openapi.json`` and the ElevenLabs tools.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ValidationError

from domain import log_context
from domain.errors import DependencyUnavailable, DomainError, InvalidRequest, NotAuthorized
from domain.models import TimeWindow
from domain.services import tool_calls, user_loop
from domain.services.context import Ports
from domain.services.tool_calls import CallContext
from tools_server import schemas
from tools_server.errors import InvalidJson, validation_message
from tools_server.keys import KNOWN_CALLS, PORTS, TOOL_SECRET
from tools_server.timeparse import parse_slot_start

M = TypeVar("M", bound=schemas.ToolRequest)

TOOL_SECRET_HEADER = "X-Nexus-Tool-Secret"  # noqa: S105 (a header name)
CALL_TOKEN_HEADER = "X-Nexus-Call-Token"  # noqa: S105 (a header name)


def _iso(moment: datetime, timezone: str) -> str:
    # Local to the campaign: times read back from the database are UTC, and the agent says what it reads.
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


def _interval(window: TimeWindow, timezone: str) -> schemas.Interval:
    return schemas.Interval(start=_iso(window.start, timezone), end=_iso(window.end, timezone))


async def _read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is a malformed request (400)."""
    body = await request.read()
    if not body:
        raise InvalidRequest("The request has no body; send a JSON object.")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        # Not only JSONDecodeError: bytes that are not UTF-8 and integers of thousands of digits raise
        # ValueError, deep nesting RecursionError; none of them may become a 500.
        raise InvalidJson("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return data


async def _authenticate(request: web.Request) -> tuple[Ports, CallContext]:
    """The tool secret and the call's token, checked before the body is read: a caller that is not an agent
    of ours learns nothing about what the tools take."""
    secret = request.app[TOOL_SECRET]
    given = request.headers.get(TOOL_SECRET_HEADER, "").encode()
    if not secret or not hmac.compare_digest(given, secret):
        raise NotAuthorized("The tool secret is missing or wrong.")
    ports = request.app[PORTS]
    token = request.headers.get(CALL_TOKEN_HEADER)
    ctx = await request.app[KNOWN_CALLS].open(ports, token, None)
    log_context.bind(ctx.campaign.id, ctx.call.id)  # every log line of this request names them
    return ports, ctx


def _start_of(ports: Ports, ctx: CallContext, day: str, clock: str) -> datetime:
    return parse_slot_start(day, clock, ports.clock.now(), ctx.campaign.timezone)


def _call_back_time(ports: Ports, ctx: CallContext, said: str) -> datetime:
    """``2026-12-02T08:00:00+01:00``, or a day and a time in the campaign's timezone (``tomorrow 8:00``)."""
    try:
        moment = datetime.fromisoformat(said)
    except ValueError:
        day, _, clock = said.rpartition(" ")
        return _start_of(ports, ctx, day or said, clock or said)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(ctx.campaign.timezone))
    return moment


def _json(model: BaseModel) -> web.Response:
    # Serialised by pydantic-core in one step, not dumped to dicts and then encoded again.
    return web.Response(body=model.model_dump_json().encode(), content_type="application/json")


# Errors that are not the agent's to act on: it could not prove who it is, or a service of ours is down.
# Everything else a tool refuses after that is an answer the agent must hear (see ``tool_endpoint``).
_NOT_REFUSALS = (NotAuthorized, DependencyUnavailable)

ToolAction = Callable[[Ports, CallContext, M], Awaitable[BaseModel]]


def tool_endpoint(
    model: type[M], act: ToolAction[M], *, ends_call: bool = False
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The HTTP handler of one tool: authenticate, read the body, act, answer.

    A refusal the agent must act on (the call is over, the slot is taken, a field is missing, a time it
    must not book) is a 200 answer ``{"status", "message"}``: voice platforms hide error bodies from the
    agent, and the message is what it must hear. 4xx is left for callers that are not a live call of ours
    (401) and for bodies that are not a JSON object at all (400, 413); 503 when a dependency is down.
    """

    async def handle(request: web.Request) -> web.Response:
        ports, ctx = await _authenticate(request)
        if ends_call:
            # Whatever the answer, the call is over (or was already): its token is not looked up again.
            request.app[KNOWN_CALLS].forget(request.headers.get(CALL_TOKEN_HEADER))
        data = await _read_object(request)
        try:
            body = model.model_validate(data)
            return _json(await act(ports, replace(ctx, conversation_id=body.conversation_id), body))
        except ValidationError as exc:
            return _json(schemas.Refusal(status=InvalidRequest.code, message=validation_message(exc)))
        except _NOT_REFUSALS:
            raise
        except DomainError as exc:
            return _json(schemas.Refusal(status=exc.code, message=str(exc)))

    return handle


async def check_availability(ports: Ports, ctx: CallContext, body: schemas.SlotRequest) -> BaseModel:
    """Say whether the user is free at a time, and when they are free instead."""
    start = _start_of(ports, ctx, body.date, body.time)
    answer = await tool_calls.check_availability(ports, ctx, start, body.duration_minutes)
    tz = ctx.campaign.timezone
    return schemas.AvailabilityResponse(
        status=answer.status,
        message=answer.message,
        slot=_interval(answer.slot, tz),
        free_windows=[_interval(w, tz) for w in answer.free_windows],
        next_free=_iso(answer.next_free, tz) if answer.next_free else None,
    )


async def report_slot_offer(ports: Ports, ctx: CallContext, body: schemas.OfferRequest) -> BaseModel:
    """Record a slot the provider offered."""
    start = _start_of(ports, ctx, body.date, body.time)
    answer = await tool_calls.report_offer(ports, ctx, start, body.duration_minutes, body.notes)
    offer = answer.offer
    return schemas.OfferResponse(
        status=answer.status,
        message=answer.message,
        offer_id=offer.id if offer else None,
        rank=answer.rank,
        total_offers=answer.total,
        score=offer.score if offer else None,
        slot=_interval(offer.window, ctx.campaign.timezone) if offer else None,
    )


async def book_slot(ports: Ports, ctx: CallContext, body: schemas.BookRequest) -> BaseModel:
    """Book the slot the user chose (confirmation calls only)."""
    start = _start_of(ports, ctx, body.date, body.time)
    answer = await tool_calls.book_slot(ports, ctx, start)
    appointment = answer.appointment
    return schemas.BookResponse(
        status="booked",
        message=answer.message,
        appointment_id=appointment.id,
        provider_name=appointment.provider.name,
        slot=_interval(appointment.window, ctx.campaign.timezone),
    )


async def end_call(ports: Ports, ctx: CallContext, body: schemas.EndCallRequest) -> BaseModel:
    """End the call on our side."""
    call_back_at = _call_back_time(ports, ctx, body.call_back_at) if body.call_back_at else None
    earliest_free = None
    if body.earliest_free_date:
        earliest_free = _start_of(ports, ctx, body.earliest_free_date, body.earliest_free_time or "08:00")
    answer = await tool_calls.end_call(
        ports, ctx, body.outcome, body.summary, call_back_at, earliest_free=earliest_free
    )
    return schemas.EndCallResponse(status="ended", message=answer.message)


async def get_distance(ports: Ports, ctx: CallContext, body: schemas.DistanceRequest) -> BaseModel:
    """Tell how far the provider (or an address) is from where the user searched."""
    answer = await tool_calls.get_distance(ports, ctx, body.address)
    return schemas.DistanceResponse(
        status="known" if answer.known else "unknown", message=answer.message, distance_km=answer.km
    )


async def ask_user(ports: Ports, ctx: CallContext, body: schemas.AskUserRequest) -> BaseModel:
    """Ask the client something the receptionist wants to know; waits a bounded time for the answer."""
    answer = await user_loop.ask_user(ports, ctx, body.question, body.choices or (), body.why or "")
    return schemas.AskUserResponse(status=answer.status, message=answer.message, answer=answer.answer)


async def get_instructions(ports: Ports, ctx: CallContext, body: schemas.InstructionsRequest) -> BaseModel:
    """What the client told the calls since this call last asked."""
    instructions, _ = await user_loop.fetch_instructions(ports, ctx)
    if not instructions:
        return schemas.InstructionsResponse(status="none", message="Nothing new from the client.", instructions=[])
    return schemas.InstructionsResponse(
        status="new",
        message="The client wants this now; follow it from here on, it weighs more than the first request.",
        instructions=[i.text for i in instructions],
    )


async def request_handover(ports: Ports, ctx: CallContext, body: schemas.HandoverRequest) -> BaseModel:
    """Ask whether the call may be put through to the client, who is told first."""
    answer = await user_loop.request_handover(ports, ctx, body.about)
    return schemas.HandoverResponse(
        status="transfer" if answer.transfer else "not_possible", message=answer.message, phone_number=answer.phone
    )


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool endpoint: its name for the agent, its path, when to call it, and its models."""

    name: str
    path: str
    description: str
    request: type[BaseModel]
    response: type[BaseModel]
    handler: Callable[[web.Request], Awaitable[web.Response]]
    response_timeout_secs: int = 10


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "check_availability",
        "/api/check-availability",
        "Call this before accepting any time the receptionist offers, to check the user's calendar. "
        "If it is not available, use free_windows and next_free to ask for a time that fits.",
        schemas.SlotRequest,
        schemas.AvailabilityResponse,
        tool_endpoint(schemas.SlotRequest, check_availability),
    ),
    ToolSpec(
        "report_slot_offer",
        "/api/report-slot-offer",
        "Call this for the best time the receptionist offered that check_availability said is available. "
        "Never book in a discovery call; report instead.",
        schemas.OfferRequest,
        schemas.OfferResponse,
        tool_endpoint(schemas.OfferRequest, report_slot_offer),
    ),
    ToolSpec(
        "book_slot",
        "/api/book-slot",
        "Call this only in a confirmation call, once the receptionist agrees to book the chosen slot.",
        schemas.BookRequest,
        schemas.BookResponse,
        tool_endpoint(schemas.BookRequest, book_slot),
        response_timeout_secs=15,
    ),
    ToolSpec(
        "end_call",
        "/api/end-call",
        "Call this once, just before you hang up, with how the call ended.",
        schemas.EndCallRequest,
        schemas.EndCallResponse,
        tool_endpoint(schemas.EndCallRequest, end_call, ends_call=True),
    ),
    ToolSpec(
        "get_distance",
        "/api/get-distance",
        "Call this when the user's travel distance matters, e.g. the receptionist offers another branch.",
        schemas.DistanceRequest,
        schemas.DistanceResponse,
        tool_endpoint(schemas.DistanceRequest, get_distance),
    ),
    ToolSpec(
        "ask_user",
        "/api/ask-user",
        "Call this when the receptionist asks something about the client you do not know (insurance, new patient, "
        "which stylist, the car's model). Tell the receptionist you are checking, then wait for the answer.",
        schemas.AskUserRequest,
        schemas.AskUserResponse,
        tool_endpoint(schemas.AskUserRequest, ask_user),
        # above the longest wait for the client's answer (ASK_USER_WAIT_SECONDS, at most 25)
        response_timeout_secs=30,
    ),
    ToolSpec(
        "get_instructions",
        "/api/get-instructions",
        "Call this right after the greeting and again before you accept or report a time: the client may have "
        "changed what they want during the call.",
        schemas.InstructionsRequest,
        schemas.InstructionsResponse,
        tool_endpoint(schemas.InstructionsRequest, get_instructions),
    ),
    ToolSpec(
        "request_handover",
        "/api/request-handover",
        "Call this when you cannot go on without the client: a question nobody answered, repeated refusals, or "
        "the receptionist asks for the client in person.",
        schemas.HandoverRequest,
        schemas.HandoverResponse,
        tool_endpoint(schemas.HandoverRequest, request_handover),
    ),
)


def setup_tool_routes(app: web.Application) -> None:
    for tool in TOOLS:
        app.router.add_post(tool.path, tool.handler, name=tool.name)
