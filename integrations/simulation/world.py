"""World files: a reproducible scenario (the clock, the request, the user, the providers and how they
behave on the phone). The format is documented in the README under "World files"."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.errors import InvalidRequest
from domain.loop import Insurance, PatientStatus, UserProfile
from domain.models import GeoPoint, Provider, TimeWindow, User, Weights
from domain.opening_hours import OpeningHours, opening_hours_from_spec
from integrations.simulation.behaviour import BehaviourSource, ProviderBehaviour


class WorldError(Exception):
    """The world file cannot be used; the message says why."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, like 2026-12-01T14:30:00+01:00")
    return value


Aware = Annotated[datetime, AfterValidator(_aware)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldLocation(_Model):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    label: str | None = None

    def point(self) -> GeoPoint:
        return GeoPoint(self.lat, self.lng, self.label)


class WorldInterval(_Model):
    start: Aware
    end: Aware

    def window(self) -> TimeWindow:
        return TimeWindow(self.start, self.end)


class WorldWeights(_Model):
    earliest: float = Field(default=0.5, ge=0)
    rating: float = Field(default=0.3, ge=0)
    distance: float = Field(default=0.2, ge=0)


Topic = Literal["name", "phone", "insurance", "new_patient", "stylist", "car_model"]


class WorldProfile(_Model):
    """What the user's ``/settings`` say the agent may share (``domain.loop.UserProfile``)."""

    name: str = ""
    phone: str = Field(default="", pattern=r"^(\+[1-9]\d{6,14})?$")
    insurance: Literal["public", "private"] | None = None
    patient: Literal["new", "existing"] | None = None
    handover_consent: bool = False


class WorldUser(_Model):
    location: WorldLocation
    busy: list[WorldInterval] = Field(default_factory=list)
    weights: WorldWeights = Field(default_factory=WorldWeights)
    max_distance_km: float = Field(default=10.0, gt=0)
    profile: WorldProfile | None = None
    # the scripted user: how they answer an agent's question about each topic (a topic left out: no answer)
    answers: dict[str, str] = Field(default_factory=dict)


class WorldBehaviour(_Model):
    answers: bool = True
    offers_per_turn: int = Field(default=2, ge=1, le=10)
    call_seconds: float = Field(default=90.0, gt=0, le=3600)
    slot_taken_on_confirm: bool = False
    voicemail_calls: int = Field(default=0, ge=0, le=10)
    phone_menu_digit: int | None = Field(default=None, ge=1, le=9)
    asks: list[Topic] = Field(default_factory=list)
    wants_person: bool = False
    agent_fault: Literal["invent_time"] | None = None
    asks_expert: list[str] = Field(default_factory=list, max_length=4)  # expert questions (keys) the desk asks
    opts_out: bool = False


def _hours(value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    if value is not None:
        try:
            opening_hours_from_spec(value)
        except InvalidRequest as exc:
            raise ValueError(str(exc)) from None
    return value


class WorldDay(_Model):
    """How a provider's calendar and desk change on one simulated day (day 1 is the world's ``now``): slots that
    open (a cancellation) or go (someone else booked them) from that day on, and what the desk says that day
    when nothing fits (``call_back``: "call back tomorrow at ``call_back_time``"; ``waitlist``: it offers its
    waiting list)."""

    day: int = Field(ge=1, le=60)
    open: list[Aware] = Field(default_factory=list)
    gone: list[Aware] = Field(default_factory=list)
    says: Literal["call_back", "waitlist"] | None = None
    call_back_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class WorldProvider(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    service: str = Field(min_length=1)
    phone: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    rating: float | None = Field(default=None, ge=0, le=5)
    location: WorldLocation
    address: str = ""
    slot_minutes: int = Field(default=30, ge=5, le=480)
    open_slots: list[Aware] = Field(default_factory=list)
    language: Literal["en", "de"] | None = None
    opening_hours: Annotated[dict[str, list[str]] | None, AfterValidator(_hours)] = None
    behavior: WorldBehaviour = Field(default_factory=WorldBehaviour)
    days: list[WorldDay] = Field(default_factory=list)

    def hours(self) -> OpeningHours | None:
        return None if self.opening_hours is None else opening_hours_from_spec(self.opening_hours)

    def provider(self) -> Provider:
        return Provider(
            id=self.id,
            name=self.name,
            service=self.service,
            phone=self.phone,
            location=self.location.point(),
            address=self.address,
            rating=self.rating,
            opening_hours=self.hours(),
        )

    def behaviour(self) -> ProviderBehaviour:
        return ProviderBehaviour(
            open_slots=tuple(sorted(self.open_slots)),
            slot_minutes=self.slot_minutes,
            answers=self.behavior.answers,
            offers_per_turn=self.behavior.offers_per_turn,
            call_seconds=self.behavior.call_seconds,
            slot_taken_on_confirm=self.behavior.slot_taken_on_confirm,
            voicemail_calls=self.behavior.voicemail_calls,
            phone_menu_digit=self.behavior.phone_menu_digit,
            language=self.language,
            questions=tuple(self.behavior.asks),
            wants_person=self.behavior.wants_person,
            agent_fault=self.behavior.agent_fault,
            asks_expert=tuple(self.behavior.asks_expert),
            opts_out=self.behavior.opts_out,
        )


class WorldReschedule(_Model):
    day: int = Field(ge=1, le=60)
    request: str = Field(min_length=1)


class WorldScript(_Model):
    """What the simulated user does over several days (``nexus simulate --days``): keep looking when nothing
    fits (widened once by ``widen``), book the best new offer, watch for an earlier slot until the appointment,
    swap in an earlier slot (or keep the booked one), and move the appointment on a given day."""

    keep_looking: bool = True
    widen: Literal["week", "km", "any_time"] | None = None
    book: bool = True
    watch_for_earlier: bool = True
    swap: bool = True
    reschedule: WorldReschedule | None = None


Phone = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]


class WorldCalls(_Model):
    """NEXUS calls a practice already had (they count in its call budget): ``count`` calls, the latest at ``last``."""

    phone: Phone
    count: int = Field(ge=1, le=100)
    last: Aware


class WorldFact(_Model):
    """Something an earlier call learned about a practice: nothing free from ``start`` (the world's ``now``
    when not given) until ``until``, learned at ``learned_at`` (``now`` when not given)."""

    phone: Phone
    until: Aware
    start: Aware | None = None
    learned_at: Aware | None = None


class WorldHistory(_Model):
    """What NEXUS knows before the world's search starts, as if earlier searches had left it."""

    opted_out: list[Phone] = Field(default_factory=list)
    calls: list[WorldCalls] = Field(default_factory=list)
    known_full: list[WorldFact] = Field(default_factory=list)


class World(_Model):
    now: Aware
    timezone: str = "Europe/Berlin"
    request: str = Field(min_length=1)
    user: WorldUser
    providers: list[WorldProvider] = Field(default_factory=list)
    expert_answers: dict[str, str] = Field(default_factory=dict)  # the user's answers to the expert's questions
    script: WorldScript = Field(default_factory=WorldScript)
    history: WorldHistory = Field(default_factory=WorldHistory)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known timezone") from None
        return value

    @field_validator("providers")
    @classmethod
    def _unique_ids(cls, value: list[WorldProvider]) -> list[WorldProvider]:
        ids = [p.id for p in value]
        if len(ids) != len(set(ids)):
            raise ValueError("provider ids must be unique")
        return value

    def directory_providers(self) -> list[Provider]:
        return [p.provider() for p in self.providers]

    def behaviours(self) -> BehaviourSource:
        if any(p.days for p in self.providers):  # a world that changes by day: as it is on day 1
            from integrations.simulation.days import DayWorld

            return DayWorld(self, lambda: self.now).behaviours()
        by_id = {p.id: p.behaviour() for p in self.providers}

        def behaviour(provider: Provider) -> ProviderBehaviour:
            return by_id.get(provider.id, ProviderBehaviour(open_slots=()))

        return behaviour

    def busy(self) -> list[TimeWindow]:
        return [b.window() for b in self.user.busy]

    def profile(self, user_id: int) -> UserProfile:
        """What the user's settings let the agent share (nothing when the world file gives no profile)."""
        given = self.user.profile
        if given is None:
            return UserProfile(user_id)
        return UserProfile(
            user_id=user_id,
            name=given.name,
            phone=given.phone,
            insurance=Insurance(given.insurance) if given.insurance else None,
            patient=PatientStatus(given.patient) if given.patient else None,
            handover_consent=given.handover_consent,
        )

    def user_profile(self, user_id: int) -> User:
        w = self.user.weights
        return User(
            id=user_id,
            timezone=self.timezone,
            home=self.user.location.point(),
            weights=Weights(w.earliest, w.rating, w.distance),
            radius_km=self.user.max_distance_km,
        )


def load_world(path: str | Path) -> World:
    """Read and check a world file; ``WorldError`` says what is wrong in words."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"Cannot read the world file {path}: {exc.strerror or exc}.") from None
    try:
        return World.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise WorldError(f"The world file {path} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    except ValidationError as exc:
        problems = "; ".join(
            # pydantic prefixes our own checks' messages with "Value error, ", which means nothing to a reader
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()[:5]
        )
        raise WorldError(f"The world file {path} does not fit the format: {problems}.") from None
