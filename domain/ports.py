"""The ports: what the use cases need from the world, as protocols. Adapters live outside ``domain/``.

Every method that touches the outside world is ``async``. Adapters raise ``domain.errors`` exceptions
(``SlotConflict``, ``ConcurrentUpdate``, ``CalendarUnavailable``, ``DependencyUnavailable``) instead of their
own, so use cases never see a driver's exception.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from domain.follow_ups import FollowUp
from domain.intent import ParsedRequest
from domain.loop_ports import InstructionRepository, ProfileRepository, QuestionRepository, TurnRepository
from domain.models import (
    Appointment,
    AppointmentStatus,
    CalendarLink,
    CallTask,
    Campaign,
    CampaignStatus,
    ChatSession,
    GeoPoint,
    Hold,
    Offer,
    Provider,
    Reminder,
    TimeWindow,
    User,
)
from domain.notifications import Notification
from domain.practices import AvailabilityFact, BudgetState, CallBudget, OptOut


class Clock(Protocol):
    def now(self) -> datetime:
        """The current aware time."""
        ...


# --- persistence -----------------------------------------------------------------------------------


class UserRepository(Protocol):
    async def get(self, user_id: int) -> User | None: ...

    async def save(self, user: User) -> None:
        """Insert or update."""
        ...

    async def erase(self, user_id: int) -> None:
        """Delete everything stored about the user: profile, chat state, calendar link, searches with their
        calls and offers, appointments and reminders, messages not yet sent."""
        ...


class CampaignRepository(Protocol):
    async def add(self, campaign: Campaign) -> None: ...

    async def get(self, campaign_id: str) -> Campaign | None: ...

    async def save(self, campaign: Campaign) -> None:
        """Update; raises ``ConcurrentUpdate`` when the stored version is not ``campaign.version``.
        On success ``campaign.version`` is incremented."""
        ...

    async def list_for_user(
        self, user_id: int, statuses: Collection[CampaignStatus] | None = None, limit: int = 20
    ) -> list[Campaign]:
        """Newest first."""
        ...

    async def list_by_status(
        self, statuses: Collection[CampaignStatus], deadline_before: datetime | None = None, limit: int = 100
    ) -> list[Campaign]:
        """Oldest deadline first; with ``deadline_before`` only campaigns whose deadline is earlier."""
        ...

    async def count_created_since(self, user_id: int, since: datetime) -> int: ...


class CallTaskRepository(Protocol):
    async def add(self, call: CallTask) -> None: ...

    async def get(self, call_id: str) -> CallTask | None: ...

    async def get_by_token_hash(self, token_hash: str) -> CallTask | None: ...

    async def get_by_conversation_id(self, conversation_id: str) -> CallTask | None: ...

    async def save(self, call: CallTask) -> None:
        """Update; raises ``ConcurrentUpdate`` when the stored version is not ``call.version``; increments it."""
        ...

    async def list_for_campaign(self, campaign_id: str) -> list[CallTask]:
        """In creation order."""
        ...

    async def list_open(self, started_before: datetime | None = None, limit: int = 200) -> list[CallTask]:
        """Calls not yet ended, oldest first; with ``started_before`` only those created earlier."""
        ...

    async def list_open_past_timeout(self, now: datetime, limit: int = 200) -> list[CallTask]:
        """Calls not yet ended whose ``timeout_at`` is at or before ``now``."""
        ...

    async def list_due(self, now: datetime, limit: int = 200) -> list[CallTask]:
        """Scheduled calls still ``QUEUED`` whose ``not_before`` is at or before ``now``, earliest first."""
        ...

    async def forget_details(self, ended_before: datetime, now: datetime, limit: int = 500) -> int:
        """Clear transcript and summary of up to ``limit`` calls ended before ``ended_before`` that still have
        them (marking them forgotten at ``now``); provider, times and outcome stay. Returns how many."""
        ...

    async def talk_seconds_since(self, user_id: int, since: datetime) -> float:
        """Seconds on the phone (start to end of each ended call) in ``user_id``'s campaigns since ``since``."""
        ...


class OfferRepository(Protocol):
    async def add(self, offer: Offer) -> None: ...

    async def get(self, offer_id: str) -> Offer | None: ...

    async def save(self, offer: Offer) -> None: ...

    async def list_for_campaign(self, campaign_id: str) -> list[Offer]: ...

    async def find(self, call_task_id: str, start: datetime) -> Offer | None:
        """The offer one call already reported for ``start``, if any."""
        ...

    async def standing(self, offer: Offer) -> tuple[int, int]:
        """``(rank, total)`` of ``offer`` among its campaign's ``OFFERED`` offers, ranked as
        ``domain.scoring.ranking_key`` ranks them (rank 1 is the best). ``offer`` counts as one of them
        whether or not it is stored yet, so a new offer's standing may be read before it is added."""
        ...


class AppointmentRepository(Protocol):
    async def add(self, appointment: Appointment) -> None:
        """Insert a booked appointment; raises ``SlotConflict`` when it overlaps another booked appointment
        of the same user. The check holds under concurrency (the database enforces it)."""
        ...

    async def get(self, appointment_id: str) -> Appointment | None: ...

    async def get_by_offer(self, offer_id: str) -> Appointment | None: ...

    async def save(self, appointment: Appointment) -> None: ...

    async def list_for_user(
        self,
        user_id: int,
        statuses: Collection[AppointmentStatus] | None = None,
        ending_after: datetime | None = None,
    ) -> list[Appointment]:
        """Earliest first."""
        ...

    async def overlapping(self, user_id: int, window: TimeWindow) -> list[Appointment]:
        """Booked appointments of ``user_id`` that overlap ``window``."""
        ...


class ReminderRepository(Protocol):
    async def add(self, reminder: Reminder) -> None: ...

    async def claim_due(self, now: datetime, limit: int = 100) -> list[Reminder]:
        """Atomically mark due, unsent, uncancelled reminders as sent (``sent_at = now``) and return them.
        Two processes claiming at once never get the same reminder. "Sent" means handed to the outbox in
        the same transaction; the outbox delivers it (and retries)."""
        ...

    async def cancel_for_appointment(self, appointment_id: str) -> int: ...


class CalendarLinkRepository(Protocol):
    async def get(self, user_id: int) -> CalendarLink | None: ...

    async def save(self, link: CalendarLink) -> None:
        """Insert or replace the user's link."""
        ...

    async def delete(self, user_id: int) -> bool: ...


class ChatSessionRepository(Protocol):
    async def get(self, user_id: int) -> ChatSession | None: ...

    async def save(self, session: ChatSession) -> None:
        """Insert (``version`` 0) or update the stored session of that version; raises ``ConcurrentUpdate``
        when another writer got there first. On success ``session.version`` is incremented."""
        ...

    async def delete(self, user_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message a dispatcher claimed from the outbox. ``folded`` are the ids of the messages queued right
    behind it with the same folding key, delivered with it (a burst of live-view refreshes is one edit).
    ``superseded``: the message queued after those redraws what it would show (a live-view refresh right
    before the shortlist), so it is marked delivered without being sent."""

    id: int
    user_id: int
    notification: Notification
    attempts: int
    created_at: datetime
    folded: tuple[int, ...] = ()
    superseded: bool = False

    @property
    def ids(self) -> tuple[int, ...]:
        return (self.id, *self.folded)


class OutboxRepository(Protocol):
    """Messages to users, written in the transaction that causes them and delivered by a dispatcher.

    Per user, messages are delivered in the order they were queued: only the oldest undelivered message of
    a user can be claimed, and not while another dispatcher holds it.
    """

    async def add(self, user_id: int, notification: Notification, now: datetime) -> bool:
        """Queue ``notification`` for ``user_id``; ``False`` (and nothing queued) when a message with the
        same ``domain.notifications.idempotency_key`` is in the outbox already."""
        ...

    async def claim(
        self, now: datetime, lease_until: datetime, limit: int, users: Collection[int] | None = None
    ) -> list[OutboxEntry]:
        """Claim up to ``limit`` due messages, each the oldest undelivered one of its user, until
        ``lease_until``: no other claimer gets them (or a later message of that user) before then.
        With ``users``, only messages to those users."""
        ...

    async def delivered(self, ids: Collection[int], now: datetime) -> None: ...

    async def retry_later(self, entry_id: int, not_before: datetime, reason: str, *, count: bool = True) -> None:
        """Give the claim back; the message is due again at ``not_before``. ``count``: it was a failed try."""
        ...

    async def give_up(self, entry_id: int, reason: str, now: datetime) -> None:
        """Keep the message as failed with ``reason``; the user's next message becomes due."""
        ...

    async def purge_delivered(self, before: datetime) -> int:
        """Delete messages delivered before ``before``; returns how many."""
        ...


class ProcessedEventRepository(Protocol):
    async def remember(self, key: str, at: datetime) -> bool:
        """Record an incoming event (a webhook) by ``key``; ``False`` when it was seen before (a replay)."""
        ...


class FollowUpRepository(Protocol):
    async def get(self, campaign_id: str) -> FollowUp | None: ...

    async def save(self, follow_up: FollowUp) -> None:
        """Insert (``version`` 0) or update if unchanged since read; raises ``ConcurrentUpdate`` otherwise."""
        ...

    async def list_due(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        """Active follow-ups whose next round is due at or before ``now``."""
        ...

    async def list_for_appointment(self, appointment_id: str) -> list[FollowUp]:
        """Active follow-ups that would replace ``appointment_id`` (watching for an earlier slot, a new time)."""
        ...

    async def list_replacing(self, limit: int = 100) -> list[FollowUp]:
        """Active follow-ups with an appointment to replace whose own search has booked a new one: the old
        appointment is still to be cancelled by phone."""


class PracticeRepository(Protocol):
    """What NEXUS knows about practices' phone lines, for every user (``domain.practices``); keyed by E.164
    numbers, never by user."""

    async def opted_out(self, phones: Collection[str]) -> set[str]:
        """Those of ``phones`` that asked not to be called."""
        ...

    async def add_opt_out(self, opt_out: OptOut) -> bool:
        """Store the opt-out; ``False`` (and nothing changed) when the number had opted out already."""
        ...

    async def remove_opt_out(self, phone: str) -> bool: ...

    async def list_opt_outs(self) -> list[OptOut]:
        """Oldest first."""
        ...

    async def budget_states(self, phones: Collection[str], day: date) -> dict[str, BudgetState]:
        """Calls counted on ``day`` and the latest call of each of ``phones`` that NEXUS called."""
        ...

    async def reserve_call(self, phone: str, day: date, at: datetime, budget: CallBudget) -> bool:
        """Count one call to ``phone`` on ``day`` placed ``at``, when ``budget`` allows one more; ``False`` (and
        nothing counted) when it does not. Holds under concurrency: the database refuses a count past
        ``budget.per_day``, whichever process asks."""
        ...

    async def add_fact(self, fact: AvailabilityFact) -> None: ...

    async def facts(self, phones: Collection[str], now: datetime) -> dict[str, list[AvailabilityFact]]:
        """The live facts about each of ``phones`` (those not expired at ``now``), oldest first."""
        ...

    async def purge(self, now: datetime, counted_before: date) -> int:
        """Delete expired facts and call counts of days before ``counted_before``; returns how many rows."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``async with`` block without ``commit()`` rolls back."""

    users: UserRepository
    campaigns: CampaignRepository
    calls: CallTaskRepository
    offers: OfferRepository
    appointments: AppointmentRepository
    reminders: ReminderRepository
    calendar_links: CalendarLinkRepository
    chat_sessions: ChatSessionRepository
    events: ProcessedEventRepository
    outbox: OutboxRepository
    turns: TurnRepository
    questions: QuestionRepository
    profiles: ProfileRepository
    instructions: InstructionRepository
    follow_ups: FollowUpRepository
    practices: PracticeRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class HoldStore(Protocol):
    """Tentative holds on a user's time. Entries whose ``expires_at`` is at or before ``now`` count as gone."""

    async def acquire(self, hold: Hold, now: datetime) -> list[Hold]:
        """Atomically: when no live hold of *another* campaign of the same user overlaps ``hold.window``,
        store ``hold`` and return ``[]``; otherwise store nothing and return the conflicting holds."""
        ...

    async def conflicting(self, user_id: int, window: TimeWindow, campaign_id: str, now: datetime) -> list[Hold]:
        """Live holds of other campaigns of ``user_id`` that overlap ``window``."""
        ...

    async def release_campaign(self, user_id: int, campaign_id: str) -> int:
        """Drop every hold of the campaign; returns how many were dropped."""
        ...

    async def purge_expired(self, now: datetime) -> int: ...

    async def ping(self) -> None:
        """Raise ``DependencyUnavailable`` when the store cannot be reached."""
        ...


# --- the outside world -----------------------------------------------------------------------------


class Calendar(Protocol):
    """The user's own calendar (Google Calendar live; a fixed busy list offline)."""

    async def busy(self, user_id: int, window: TimeWindow) -> list[TimeWindow]:
        """Busy intervals inside ``window``; raises ``CalendarUnavailable`` when it cannot tell."""
        ...

    async def add_event(self, appointment: Appointment) -> str | None:
        """Put the appointment into the calendar; returns the event id, or ``None`` if not connected."""
        ...

    async def remove_event(self, appointment: Appointment) -> None: ...


class ProviderDirectory(Protocol):
    async def search(self, service: str, near: GeoPoint, radius_km: float, limit: int) -> list[Provider]:
        """Providers of ``service`` within ``radius_km`` of ``near``, nearest and best first, at most ``limit``,
        each with a phone number."""
        ...


class Geocoder(Protocol):
    async def geocode(self, text: str, near: GeoPoint | None = None) -> GeoPoint | None:
        """The place ``text`` names (labelled), or ``None`` when it is unknown."""
        ...


class IntentParser(Protocol):
    async def parse(self, text: str, now: datetime, timezone: str) -> ParsedRequest: ...


@dataclass(frozen=True, slots=True)
class CallRequest:
    """Everything a voice gateway needs to place one call; ``token`` is the plain per-call secret."""

    call: CallTask
    campaign: Campaign
    token: str
    target_slot: TimeWindow | None = None


@dataclass(frozen=True, slots=True)
class PlacedCall:
    conversation_id: str | None = None
    call_sid: str | None = None


class VoiceGateway(Protocol):
    """Places and stops phone calls. How many run at once is bounded by ``CallSlots``, not here."""

    async def place_call(self, request: CallRequest) -> PlacedCall:
        """Start the call; returns once it is placed (not when it ends). Raises ``DependencyUnavailable``
        when the call cannot be placed."""
        ...

    async def hang_up(self, call: CallTask) -> None:
        """Stop a call that is still running; a call that already ended is left alone."""
        ...


class CallSlots(Protocol):
    """The voice provider's limit on calls running at once, held for every NEXUS process together.

    A call takes a place before it is dialled and gives it back however it ends (its agent ends it, a webhook
    or reconciliation reports it over, the search is cancelled, a timeout, another process ends it). The
    places of a process that dies come back by themselves once their leases run out.
    """

    async def acquire(self, call_id: str) -> None:
        """Take a place for ``call_id``, waiting as long as every place is taken; a call holding one keeps it.
        Raises ``DependencyUnavailable`` when the slots cannot be reached."""
        ...

    async def adopt(self, call_id: str) -> None:
        """Count a call that is running already (found at start-up) at once, even past the limit."""
        ...

    async def release(self, call_id: str) -> None:
        """Give the call's place back; harmless for a call without one or a second time, and never raises
        (a place that cannot be given back now runs out with its lease)."""
        ...

    async def claimed(self, call_ids: Collection[str]) -> set[str]:
        """Those of ``call_ids`` that a living process (this one or another) holds a place for or is waiting
        for one for: the calls that are somebody's business. The rest belong to no living process."""
        ...

    async def held_here(self) -> set[str]:
        """The calls this process took or adopted a place for and has not seen given back."""
        ...

    async def in_use(self) -> int:
        """How many places are taken now, by every process."""
        ...


class Notifier(Protocol):
    """Where a dispatcher delivers the outbox's messages: a messenger (Telegram, the terminal) or an
    in-process listener. Use cases never call it; they queue messages in ``uow.outbox``."""

    async def notify(self, user_id: int, notification: Notification) -> None:
        """Tell the user; raises ``DeliveryFailed`` when the message did not get through."""
        ...
