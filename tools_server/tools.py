"""The tool endpoints a voice agent calls during a phone call.

Each handler authenticates the call, parses the body with its model, calls one use case and shapes the
answer. ``TOOLS`` describes every endpoint once, for routing, ``/openapi.json`` and the ElevenLabs tools.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel

from domain import log_context
from domain.errors import InvalidRequest, NotAuthorized
from domain.models import TimeWindow
from domain.services import tool_calls
from domain.services.context import Ports
from domain.services.tool_calls import CallContext
from tools_server import schemas
from tools_server.errors import InvalidJson
from tools_server.keys import KNOWN_CALLS, PORTS, TOOL_SECRET
from tools_server.timeparse import parse_slot_start

M = TypeVar("M", bound=BaseModel)

TOOL_SECRET_HEADER = "X-Nexus-Tool-Secret"  # noqa: S105 (a header name)
CALL_TOKEN_HEADER = "X-Nexus-Call-Token"  # noqa: S105 (a header name)


def _iso(moment: datetime, timezone: str) -> str:
    # Local to the campaign: times read back from the database are UTC, and the agent says what it reads.
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


def _interval(window: TimeWindow, timezone: str) -> schemas.Interval:
    return schemas.Interval(start=_iso(window.start, timezone), end=_iso(window.end, timezone))


async def _parse(request: web.Request, model: type[M]) -> M:
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
    return model.model_validate(data)


async def _authenticate(request: web.Request, conversation_id: str | None) -> tuple[Ports, CallContext]:
    secret = request.app[TOOL_SECRET]
    given = request.headers.get(TOOL_SECRET_HEADER, "").encode()
    if not secret or not hmac.compare_digest(given, secret):
        raise NotAuthorized("The tool secret is missing or wrong.")
    ports = request.app[PORTS]
    token = request.headers.get(CALL_TOKEN_HEADER)
    ctx = await request.app[KNOWN_CALLS].open(ports, token, conversation_id)
    log_context.bind(ctx.campaign.id, ctx.call.id)  # every log line of this request names them
    return ports, ctx


def _start_of(ports: Ports, ctx: CallContext, day: str, clock: str) -> datetime:
    return parse_slot_start(day, clock, ports.clock.now(), ctx.campaign.timezone)


def _json(model: BaseModel) -> web.Response:
    # Serialised by pydantic-core in one step, not dumped to dicts and then encoded again.
    return web.Response(body=model.model_dump_json().encode(), content_type="application/json")


async def check_availability(request: web.Request) -> web.Response:
    """Say whether the user is free at a time, and when they are free instead."""
    body = await _parse(request, schemas.SlotRequest)
    ports, ctx = await _authenticate(request, body.conversation_id)
    start = _start_of(ports, ctx, body.date, body.time)
    answer = await tool_calls.check_availability(ports, ctx, start, body.duration_minutes)
    tz = ctx.campaign.timezone
    return _json(
        schemas.AvailabilityResponse(
            status=answer.status,
            message=answer.message,
            slot=_interval(answer.slot, tz),
            free_windows=[_interval(w, tz) for w in answer.free_windows],
            next_free=_iso(answer.next_free, tz) if answer.next_free else None,
        )
    )


async def report_slot_offer(request: web.Request) -> web.Response:
    """Record a slot the provider offered."""
    body = await _parse(request, schemas.OfferRequest)
    ports, ctx = await _authenticate(request, body.conversation_id)
    start = _start_of(ports, ctx, body.date, body.time)
    answer = await tool_calls.report_offer(ports, ctx, start, body.duration_minutes, body.notes)
    offer = answer.offer
    return _json(
        schemas.OfferResponse(
            status=answer.status,
            message=answer.message,
            offer_id=offer.id if offer else None,
            rank=answer.rank,
            total_offers=answer.total,
            score=offer.score if offer else None,
            slot=_interval(offer.window, ctx.campaign.timezone) if offer else None,
        )
    )


async def book_slot(request: web.Request) -> web.Response:
    """Book the slot the user chose (confirmation calls only)."""
    body = await _parse(request, schemas.BookRequest)
    ports, ctx = await _authenticate(request, body.conversation_id)
    start = _start_of(ports, ctx, body.date, body.time)
    answer = await tool_calls.book_slot(ports, ctx, start)
    appointment = answer.appointment
    return _json(
        schemas.BookResponse(
            status="booked",
            message=answer.message,
            appointment_id=appointment.id,
            provider_name=appointment.provider.name,
            slot=_interval(appointment.window, ctx.campaign.timezone),
        )
    )


async def end_call(request: web.Request) -> web.Response:
    """End the call on our side."""
    body = await _parse(request, schemas.EndCallRequest)
    ports, ctx = await _authenticate(request, body.conversation_id)
    answer = await tool_calls.end_call(ports, ctx, body.outcome, body.summary)
    return _json(schemas.EndCallResponse(status="ended", message=answer.message))


async def get_distance(request: web.Request) -> web.Response:
    """Tell how far the provider (or an address) is from where the user searched."""
    body = await _parse(request, schemas.DistanceRequest)
    ports, ctx = await _authenticate(request, body.conversation_id)
    answer = await tool_calls.get_distance(ports, ctx, body.address)
    return _json(
        schemas.DistanceResponse(
            status="known" if answer.known else "unknown", message=answer.message, distance_km=answer.km
        )
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
        check_availability,
    ),
    ToolSpec(
        "report_slot_offer",
        "/api/report-slot-offer",
        "Call this for the best time the receptionist offered that check_availability said is available. "
        "Never book in a discovery call; report instead.",
        schemas.OfferRequest,
        schemas.OfferResponse,
        report_slot_offer,
    ),
    ToolSpec(
        "book_slot",
        "/api/book-slot",
        "Call this only in a confirmation call, once the receptionist agrees to book the chosen slot.",
        schemas.BookRequest,
        schemas.BookResponse,
        book_slot,
        response_timeout_secs=15,
    ),
    ToolSpec(
        "end_call",
        "/api/end-call",
        "Call this once, just before you hang up, with how the call ended.",
        schemas.EndCallRequest,
        schemas.EndCallResponse,
        end_call,
    ),
    ToolSpec(
        "get_distance",
        "/api/get-distance",
        "Call this when the user's travel distance matters, e.g. the receptionist offers another branch.",
        schemas.DistanceRequest,
        schemas.DistanceResponse,
        get_distance,
    ),
)


def setup_tool_routes(app: web.Application) -> None:
    for tool in TOOLS:
        app.router.add_post(tool.path, tool.handler, name=tool.name)
