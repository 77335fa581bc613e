"""The things NEXUS works with: users, campaigns, calls, offers, appointments, providers.

Plain dataclasses and enums; nothing here knows about SQL, HTTP or Telegram. Every datetime is aware.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import IllegalTransition, InvalidRequest
from domain.opening_hours import OpeningHours

DEFAULT_TIMEZONE = "Europe/Berlin"
DEFAULT_RADIUS_KM = 10.0
MAX_CALLS_PER_CAMPAIGN = 15


def new_id() -> str:
    """A fresh opaque identifier (32 hex characters)."""
    return uuid.uuid4().hex


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def is_e164(number: str) -> bool:
    """Whether ``number`` is an international number in E.164 form (``+`` and up to 15 digits)."""
    return _E164.fullmatch(number) is not None


def ensure_aware(moment: datetime, what: str = "time") -> datetime:
    """Return ``moment`` unchanged, or raise if it carries no timezone (naive datetimes are bugs)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRequest(f"The {what} {moment.isoformat()} has no timezone.")
    return moment


# --- value objects ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A half-open interval ``[start, end)`` of aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        ensure_aware(self.start, "start")
        ensure_aware(self.end, "end")
        if self.end <= self.start:
            raise InvalidRequest(
                f"A time window must end after it starts ({self.start.isoformat()} to {self.end.isoformat()})."
            )

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: TimeWindow) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: TimeWindow) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lng: float
    label: str | None = None

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0) or not (-180.0 <= self.lng <= 180.0):
            raise InvalidRequest(f"({self.lat}, {self.lng}) is not a place on Earth.")

    def distance_km(self, other: GeoPoint) -> float:
        """Great-circle (haversine) distance in kilometres."""
        earth_radius_km = 6371.0088
        phi1, phi2 = math.radians(self.lat), math.radians(other.lat)
        dphi = phi2 - phi1
        dlmb = math.radians(other.lng - self.lng)
        a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
        return 2 * earth_radius_km * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Weights:
    """How much the user cares about an early slot, a good rating and a short way; always sums to 1."""

    earliest: float = 0.5
    rating: float = 0.3
    distance: float = 0.2

    def __post_init__(self) -> None:
        values = (self.earliest, self.rating, self.distance)
        if any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
            raise InvalidRequest("Weights must be non-negative numbers that are not all zero.")

    def normalised(self) -> Weights:
        total = self.earliest + self.rating + self.distance
        return Weights(self.earliest / total, self.rating / total, self.distance / total)


WEIGHT_PRESETS: dict[str, Weights] = {
    "balanced": Weights(0.5, 0.3, 0.2),
    "soonest": Weights(0.8, 0.1, 0.1),
    "best_rated": Weights(0.2, 0.7, 0.1),
    "closest": Weights(0.2, 0.1, 0.7),
}


@dataclass(frozen=True, slots=True)
class Provider:
    """A business NEXUS may phone. ``phone`` is E.164 and only ever comes from a provider directory."""

    id: str
    name: str
    service: str
    phone: str
    location: GeoPoint
    address: str = ""
    rating: float | None = None
    review_count: int = 0
    opening_hours: OpeningHours | None = None  # None: not known, so treated as open

    @property
    def rating_or_default(self) -> float:
        return 3.0 if self.rating is None else self.rating


# --- entities --------------------------------------------------------------------------------------


@dataclass(slots=True)
class User:
    id: int
    timezone: str = DEFAULT_TIMEZONE
    home: GeoPoint | None = None
    weights: Weights = field(default_factory=Weights)
    radius_km: float = DEFAULT_RADIUS_KM
    reminders_enabled: bool = True
    language: str = "en"
    display_name: str = ""


class CampaignStatus(enum.StrEnum):
    CREATED = "CREATED"
    PROVIDER_LOOKUP = "PROVIDER_LOOKUP"
    DIALING = "DIALING"
    NEGOTIATING = "NEGOTIATING"
    RANKING = "RANKING"
    CONFIRMING = "CONFIRMING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    WAITING = "WAITING"  # keep looking: between two rounds of calls, scheduled in the database

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_CAMPAIGN

    @property
    def calls_active(self) -> bool:
        """Whether tool calls from an agent in this campaign may still change anything."""
        return not self.is_terminal


_TERMINAL_CAMPAIGN = frozenset({CampaignStatus.CONFIRMED, CampaignStatus.FAILED, CampaignStatus.CANCELLED})

_CAMPAIGN_FLOW: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.CREATED: frozenset({CampaignStatus.PROVIDER_LOOKUP}),
    CampaignStatus.PROVIDER_LOOKUP: frozenset({CampaignStatus.DIALING}),
    CampaignStatus.DIALING: frozenset({CampaignStatus.NEGOTIATING}),
    CampaignStatus.NEGOTIATING: frozenset({CampaignStatus.RANKING}),
    CampaignStatus.RANKING: frozenset({CampaignStatus.CONFIRMING}),
    CampaignStatus.CONFIRMING: frozenset({CampaignStatus.CONFIRMED, CampaignStatus.RANKING}),
}

# Keep looking: a search without a fitting offer (or whose shortlist the user set aside) waits for its next
# round; a round is a call phase again, which ends back in waiting or with a shortlist.
KEEP_LOOKING_FLOW: frozenset[tuple[CampaignStatus, CampaignStatus]] = frozenset(
    {
        (CampaignStatus.CREATED, CampaignStatus.WAITING),  # a watch for an earlier slot starts waiting
        (CampaignStatus.FAILED, CampaignStatus.WAITING),
        (CampaignStatus.RANKING, CampaignStatus.WAITING),
        (CampaignStatus.WAITING, CampaignStatus.NEGOTIATING),
        (CampaignStatus.NEGOTIATING, CampaignStatus.WAITING),
    }
)


def can_transition(current: CampaignStatus, target: CampaignStatus) -> bool:
    """The one rule of the campaign state machine.

    ``CREATED -> PROVIDER_LOOKUP -> DIALING -> NEGOTIATING -> RANKING -> CONFIRMING -> CONFIRMED``;
    ``CONFIRMING -> RANKING`` when the chosen slot is gone; any non-terminal state may end ``FAILED`` or
    ``CANCELLED``. Terminal states never move, except that a search that found nothing may keep looking
    (``KEEP_LOOKING_FLOW``).
    """
    if (current, target) in KEEP_LOOKING_FLOW:
        return True
    if current.is_terminal:
        return False
    if target in (CampaignStatus.FAILED, CampaignStatus.CANCELLED):
        return True
    return target in _CAMPAIGN_FLOW.get(current, frozenset())


@dataclass(slots=True)
class Campaign:
    """One request of one user: find, call, rank, confirm."""

    user_id: int
    service: str
    windows: list[TimeWindow]
    location: GeoPoint
    timezone: str
    created_at: datetime
    deadline_at: datetime
    id: str = field(default_factory=new_id)
    request_text: str = ""
    language: str = "en"
    duration_minutes: int = 30
    radius_km: float = DEFAULT_RADIUS_KM
    weights: Weights = field(default_factory=Weights)
    max_calls: int = MAX_CALLS_PER_CAMPAIGN
    status: CampaignStatus = CampaignStatus.CREATED
    failure_reason: str | None = None
    chosen_offer_id: str | None = None
    updated_at: datetime | None = None
    version: int = 0
    answers: dict[str, str] = field(default_factory=dict)  # the expert's questions answered (``domain.expertise``)
    # adaptive fan-out: providers selected but not called yet, most promising first (domain.services.fanout)
    reserve: list[Provider] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.windows:
            raise InvalidRequest("A campaign needs at least one time window.")
        self.windows = sorted(self.windows, key=lambda w: w.start)
        if not 1 <= self.max_calls <= MAX_CALLS_PER_CAMPAIGN:
            raise InvalidRequest(f"A campaign calls between 1 and {MAX_CALLS_PER_CAMPAIGN} providers.")
        if self.radius_km <= 0:
            raise InvalidRequest("The search radius must be more than 0 km.")
        if not 5 <= self.duration_minutes <= 8 * 60:
            raise InvalidRequest("An appointment lasts between 5 minutes and 8 hours.")

    @property
    def span(self) -> TimeWindow:
        """From the start of the first window to the end of the last."""
        return TimeWindow(self.windows[0].start, max(w.end for w in self.windows))

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def transition(self, target: CampaignStatus, now: datetime, reason: str | None = None) -> None:
        """Move to ``target`` or raise ``IllegalTransition``."""
        if not can_transition(self.status, target):
            raise IllegalTransition(f"A campaign that is {self.status} cannot become {target}.")
        self.status = target
        self.updated_at = now
        if target is CampaignStatus.FAILED:
            self.failure_reason = reason or "The campaign could not be completed."


class CallStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    DIALING = "DIALING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_ended(self) -> bool:
        return self in _ENDED_CALL


_ENDED_CALL = frozenset(
    {CallStatus.COMPLETED, CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED, CallStatus.CANCELLED}
)

_CALL_FLOW: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.QUEUED: frozenset({CallStatus.DIALING}),
    CallStatus.DIALING: frozenset({CallStatus.IN_PROGRESS, CallStatus.COMPLETED}),
    CallStatus.IN_PROGRESS: frozenset({CallStatus.COMPLETED}),
}


class CallOutcome(enum.StrEnum):
    OFFER_MADE = "offer_made"
    NO_AVAILABILITY = "no_availability"
    DECLINED = "declined"
    VOICEMAIL = "voicemail"  # a voicemail box answered; no message is left, the call is tried again later
    CLOSED = "closed"  # never dialled: the provider is closed until after the search's deadline
    WRONG_NUMBER = "wrong_number"
    BOOKED = "booked"
    CANCELLED_APPOINTMENT = "cancelled_appointment"
    OTHER = "other"
    HANDED_OVER = "handed_over"  # the call was put through to the user (see domain.services.user_loop)
    CALL_BACK_LATER = "call_back_later"  # the desk asked to be called again at ``CallTask.call_back_at``
    WAITLISTED = "waitlisted"  # the agent put the user on the provider's waiting list
    OPTED_OUT = "opted_out"  # the practice does not want automated calls: it is never dialled again
    SKIPPED = "skipped"  # never dialled: over the practice's call budget, or known to have nothing free


class CallPurpose(enum.StrEnum):
    DISCOVER = "DISCOVER"
    CONFIRM = "CONFIRM"
    CANCEL = "CANCEL"
    RESCHEDULE = "RESCHEDULE"  # move a booked appointment: book a time in the new windows, release the old


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance in a call's transcript."""

    speaker: str  # "agent" or "provider"
    text: str
    at: datetime


@dataclass(slots=True)
class CallTask:
    """One phone call to one provider for one purpose."""

    campaign_id: str
    provider: Provider
    purpose: CallPurpose
    token_hash: str
    created_at: datetime
    timeout_at: datetime
    id: str = field(default_factory=new_id)
    status: CallStatus = CallStatus.QUEUED
    outcome: CallOutcome | None = None
    target_offer_id: str | None = None
    target_appointment_id: str | None = None
    conversation_id: str | None = None
    call_sid: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    summary: str | None = None
    failure_reason: str | None = None
    transcript: list[Turn] = field(default_factory=list)
    not_before: datetime | None = None  # a call scheduled for when the provider opens (or a retry)
    version: int = 0
    # when the retention job deleted the transcript and summary (provider, times and outcome stay)
    details_forgotten_at: datetime | None = None
    call_back_at: datetime | None = None  # outcome call_back_later: when the desk asked to be called again
    round_no: int = 0  # 0: the first search; 1, 2, ...: the keep-looking or watch round the call belongs to

    def advance(self, target: CallStatus, now: datetime) -> None:
        """Move along ``QUEUED -> DIALING -> IN_PROGRESS`` (ending goes through ``end``)."""
        if target not in _CALL_FLOW.get(self.status, frozenset()) or target.is_ended:
            raise IllegalTransition(f"A call that is {self.status} cannot become {target}.")
        self.status = target
        if target is CallStatus.IN_PROGRESS and self.started_at is None:
            self.started_at = now

    def end(
        self,
        status: CallStatus,
        now: datetime,
        outcome: CallOutcome | None = None,
        summary: str | None = None,
        reason: str | None = None,
    ) -> None:
        """End the call with a terminal status; an ended call does not change again."""
        if self.status.is_ended:
            raise IllegalTransition(f"The call has already ended ({self.status}).")
        if not status.is_ended:
            raise IllegalTransition(f"{status} does not end a call.")
        self.status = status
        self.ended_at = now
        if outcome is not None:
            self.outcome = outcome
        elif status is CallStatus.COMPLETED:
            self.outcome = CallOutcome.OTHER
        if summary:
            self.summary = summary
        if reason:
            self.failure_reason = reason


class OfferStatus(enum.StrEnum):
    OFFERED = "OFFERED"
    CHOSEN = "CHOSEN"
    BOOKED = "BOOKED"
    UNAVAILABLE = "UNAVAILABLE"


class OfferGrounding(enum.StrEnum):
    """Whether the receptionist's own words in the call's transcript support the offer (``domain.grounding``):
    ``pending`` until the transcript is there."""

    PENDING = "pending"
    VERIFIED = "verified"
    UNVERIFIED = "unverified"


@dataclass(slots=True)
class Offer:
    """A slot a provider offered in a call, with its score for the campaign."""

    campaign_id: str
    call_task_id: str
    provider_id: str
    provider_name: str
    start: datetime
    end: datetime
    score: float
    rating: float | None
    distance_km: float
    created_at: datetime
    id: str = field(default_factory=new_id)
    notes: str | None = None
    status: OfferStatus = OfferStatus.OFFERED
    grounding: OfferGrounding = OfferGrounding.PENDING
    grounding_evidence: str | None = None  # the receptionist's words that support it, or why none do

    @property
    def window(self) -> TimeWindow:
        return TimeWindow(self.start, self.end)


class AppointmentStatus(enum.StrEnum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"


@dataclass(slots=True)
class Appointment:
    """A booked slot. The storage layer refuses two booked appointments of one user that overlap."""

    user_id: int
    campaign_id: str
    offer_id: str
    provider: Provider
    start: datetime
    end: datetime
    created_at: datetime
    id: str = field(default_factory=new_id)
    status: AppointmentStatus = AppointmentStatus.BOOKED
    calendar_event_id: str | None = None
    sequence: int = 0  # the .ics SEQUENCE: one more each time the appointment moves

    @property
    def window(self) -> TimeWindow:
        return TimeWindow(self.start, self.end)


@dataclass(slots=True)
class Reminder:
    """A push ``lead`` before an appointment; stored so it survives restarts and is sent exactly once."""

    appointment_id: str
    user_id: int
    due_at: datetime
    lead_minutes: int
    id: str = field(default_factory=new_id)
    sent_at: datetime | None = None
    cancelled: bool = False


@dataclass(slots=True)
class CalendarLink:
    """A user's connected outside calendar; ``encrypted_token`` is opaque to the domain."""

    user_id: int
    provider: str
    encrypted_token: str
    created_at: datetime
    calendar_id: str = "primary"


@dataclass(slots=True)
class ChatSession:
    """Where a user's conversation with the bot stands (what is being asked, the draft request, which
    message shows the live view). ``state`` is owned by the conversation code and stored as JSON."""

    user_id: int
    state: dict[str, object]
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, slots=True)
class Hold:
    """Time of a user tentatively taken by one campaign while its calls negotiate."""

    user_id: int
    campaign_id: str
    window: TimeWindow
    expires_at: datetime


__all__ = [
    "DEFAULT_RADIUS_KM",
    "DEFAULT_TIMEZONE",
    "MAX_CALLS_PER_CAMPAIGN",
    "WEIGHT_PRESETS",
    "Appointment",
    "AppointmentStatus",
    "CalendarLink",
    "CallOutcome",
    "CallPurpose",
    "CallStatus",
    "CallTask",
    "Campaign",
    "CampaignStatus",
    "ChatSession",
    "GeoPoint",
    "Hold",
    "Offer",
    "OfferGrounding",
    "OfferStatus",
    "Provider",
    "Reminder",
    "TimeWindow",
    "Turn",
    "User",
    "Weights",
    "can_transition",
    "ensure_aware",
    "new_id",
]
