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
    call_back_at: ShortText | None = Field(
        default=None,
        description=(
            "With outcome call_back_later: when the receptionist asked us to call again, as day and time, "
            "e.g. 2026-12-02 08:00 or tomorrow 8:00."
        ),
    )
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


# --- the user in the loop --------------------------------------------------------------------------

Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class AskUserRequest(ToolRequest):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="What the receptionist wants to know about the client, as a short question to the client."
    )
    choices: list[Choice] | None = Field(
        default=None,
        max_length=6,
        description="The possible answers when there are few (public, private); the client may also answer freely.",
    )
    why: LongText | None = Field(default=None, description="Why the receptionist needs it, in a few words.")


class AskUserResponse(BaseModel):
    status: str = Field(
        description="known (answered from what the client told us before), answered, or no_answer (say you will "
        "call back about it)."
    )
    message: str = Field(description="What to say or do next, in a sentence.")
    answer: str | None = Field(default=None, description="The client's answer, to pass on.")


class InstructionsRequest(ToolRequest):
    pass


class InstructionsResponse(BaseModel):
    status: str = Field(description="none, or new (follow the instructions from now on).")
    message: str
    instructions: list[str] = Field(description="What the client wants now, oldest first.")


class HandoverRequest(ToolRequest):
    about: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="What the receptionist needs the client for, in a few words (for example: insurance details)."
    )


class HandoverResponse(BaseModel):
    status: str = Field(description="transfer (put the call through to the client now) or not_possible.")
    message: str = Field(description="What to say or do next, in a sentence.")
    phone_number: str | None = Field(
        default=None, description="Where the call is put through; taken by the transfer tool, never said aloud."
    )
