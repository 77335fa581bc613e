"""The JSON the voice agents send and get back. One set of models validates requests, documents them in
``/openapi.json`` and generates the ElevenLabs tool definitions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.models import CallOutcome

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ToolRequest(BaseModel):
    """What every tool body may carry."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    conversation_id: ShortText | None = Field(
        default=None, description="The ElevenLabs conversation id (system__conversation_id)."
    )


class SlotRequest(ToolRequest):
    date: ShortText = Field(description="The day, as the receptionist said it: 2026-12-01, Dec 1, Tuesday.")
    time: ShortText = Field(description="The start time: 14:30 or 2:30 pm.")
    duration_minutes: int | None = Field(
        default=None, ge=5, le=480, description="Length of the appointment; the search's default when omitted."
    )


class OfferRequest(SlotRequest):
    notes: LongText | None = Field(default=None, description="Anything the receptionist said about the slot.")


class BookRequest(ToolRequest):
    date: ShortText = Field(description="The day of the slot the user chose.")
    time: ShortText = Field(description="The start time of the slot the user chose.")


class EndCallRequest(ToolRequest):
    outcome: CallOutcome = Field(description="How the call ended.")
    summary: LongText | None = Field(default=None, description="One or two sentences on what was agreed.")
    earliest_free_date: ShortText | None = Field(
        default=None,
        description="Only when the practice has nothing free from the start of the client's first time on: the "
        "first day it said it has free (2026-12-14, Dec 14). Shared with other searches; never about the client.",
    )
    earliest_free_time: ShortText | None = Field(
        default=None, description="The start time of that first free slot (09:00); 08:00 when not said."
    )


class DistanceRequest(ToolRequest):
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = Field(
        default=None, description="An address the receptionist named; the provider itself when omitted."
    )


class Interval(BaseModel):
    start: str = Field(description="ISO 8601 with offset.")
    end: str = Field(description="ISO 8601 with offset.")


class AvailabilityResponse(BaseModel):
    status: str = Field(
        description="available, conflict, soft_conflict, outside_window, too_short (shorter than the appointment "
        "needs) or cannot_verify."
    )
    message: str = Field(description="What to do next, in a sentence.")
    slot: Interval
    free_windows: list[Interval]
    next_free: str | None


class OfferResponse(BaseModel):
    status: str = Field(
        description="recorded, rejected_conflict, rejected_outside_window, rejected_too_short (shorter than the "
        "appointment needs) or cannot_verify."
    )
    message: str
    offer_id: str | None = None
    rank: int | None = None
    total_offers: int | None = None
    score: float | None = None
    slot: Interval | None = None


class BookResponse(BaseModel):
    status: str = Field(description="booked.")
    message: str
    appointment_id: str
    provider_name: str
    slot: Interval


class EndCallResponse(BaseModel):
    status: str = Field(description="ended.")
    message: str


class DistanceResponse(BaseModel):
    status: str = Field(description="known or unknown.")
    message: str
    distance_km: float | None


class Refusal(BaseModel):
    """A refusal the agent must act on: the call is over, the slot is taken, a field is missing. Sent with
    HTTP 200, because a voice platform shows the agent only successful answers in full."""

    status: str = Field(
        description="call_closed, not_allowed, conflict, not_found, concurrent_update or invalid_request."
    )
    message: str = Field(description="What to say or do next, in a sentence.")


class ErrorResponse(BaseModel):
    error: str = Field(description="A short machine-readable code.")
    message: str = Field(description="What went wrong and what to do, in a sentence.")
