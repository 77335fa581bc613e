"""Test doubles for the domain ports. They record state; tests assert on that state, not on calls."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from domain.errors import CalendarUnavailable, ConcurrentUpdate, DependencyUnavailable, SlotConflict
from domain.follow_ups import FOLLOW_UP_READY, FollowUp, FollowUpStatus
from domain.loop import Instruction, UserProfile, UserQuestion
from domain.models import (
    Appointment,
    AppointmentStatus,
    CalendarLink,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    ChatSession,
    GeoPoint,
    Hold,
    Offer,
    OfferStatus,
    Provider,
    Reminder,
    TimeWindow,
    Turn,
    User,
)
from domain.notifications import Notification, idempotency_key
from domain.ports import CallRequest, OutboxEntry, PlacedCall
from domain.practices import AvailabilityFact, BudgetState, CallBudget, OptOut, over_budget
from domain.scoring import ranking_key
from domain.services.context import Policy, Ports
from storage.slots import InMemoryCallSlots


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class FakeStore:
    """The 'database' behind every FakeUnitOfWork of one test."""

    tables: dict[str, dict[Any, Any]] = field(
        default_factory=lambda: {
            name: {}
            for name in (
                "users",
                "campaigns",
                "calls",
                "offers",
                "appointments",
                "reminders",
                "calendar_links",
                "chat_sessions",
                "events",
                "outbox",
                "turns",
                "listeners",
                "questions",
                "profiles",
                "instructions",
                "instruction_reads",
                "follow_ups",
                "opt_outs",
                "practice_calls",
                "facts",
            )
        }
    )
    commits: int = 0


class _Repo:
    def __init__(self, uow: FakeUnitOfWork, table: str) -> None:
        self.uow = uow
        self.table = table

    def _all(self) -> list[Any]:
        merged = dict(self.uow.store.tables[self.table])
        merged.update(self.uow.pending[self.table])
        return [copy.deepcopy(v) for v in merged.values()]

    def _get(self, key: Any) -> Any:
        if key in self.uow.pending[self.table]:
            return copy.deepcopy(self.uow.pending[self.table][key])
        value = self.uow.store.tables[self.table].get(key)
        return copy.deepcopy(value)

    def _put(self, key: Any, value: Any) -> None:
        self.uow.pending[self.table][key] = copy.deepcopy(value)

    def _save_versioned(self, obj: Any) -> None:
        stored = self._get(obj.id)
        if stored is None or stored.version != obj.version:
            raise ConcurrentUpdate("changed by someone else")
        obj.version += 1
        self.uow.expected_versions[(self.table, obj.id)] = obj.version - 1
        self._put(obj.id, obj)


class FakeUsers(_Repo):
    async def get(self, user_id: int) -> User | None:
        result: User | None = self._get(user_id)
        return result

    async def save(self, user: User) -> None:
        self._put(user.id, user)

    async def erase(self, user_id: int) -> None:
        uow = self.uow
        campaigns = {c.id for c in await uow.campaigns.list_for_user(user_id, limit=1_000_000)}
        every_call = {**uow.store.tables["calls"], **uow.pending["calls"]}.values()
        calls = {c.id for c in every_call if c.campaign_id in campaigns}
        mine: dict[str, Callable[[Any, Any], bool]] = {
            "users": lambda key, _: key == user_id,
            "campaigns": lambda key, _: key in campaigns,
            "calls": lambda _, call: call.campaign_id in campaigns,
            "offers": lambda _, offer: offer.campaign_id in campaigns,
            "appointments": lambda _, appointment: appointment.user_id == user_id,
            "reminders": lambda _, reminder: reminder.user_id == user_id,
            "calendar_links": lambda key, _: key == user_id,
            "chat_sessions": lambda key, _: key == user_id,
            "outbox": lambda _, message: message.user_id == user_id,
            "turns": lambda call_id, _: call_id in calls,
            "listeners": lambda _, listener: listener[0] == user_id,
            "questions": lambda _, question: question.user_id == user_id,
            "profiles": lambda key, _: key == user_id,
            "instructions": lambda _, instruction: instruction.campaign_id in campaigns,
            "instruction_reads": lambda key, _: key[1] in calls,
            "follow_ups": lambda _, follow_up: follow_up.user_id == user_id,
        }
        for table, belongs in mine.items():
            rows = {**uow.store.tables[table], **uow.pending[table]}
            uow.deleted[table].update(key for key, row in rows.items() if belongs(key, row))


class FakeCampaigns(_Repo):
    async def add(self, campaign: Campaign) -> None:
        self._put(campaign.id, campaign)

    async def get(self, campaign_id: str) -> Campaign | None:
        result: Campaign | None = self._get(campaign_id)
        return result

    async def save(self, campaign: Campaign) -> None:
        self._save_versioned(campaign)

    async def list_for_user(
        self, user_id: int, statuses: Collection[CampaignStatus] | None = None, limit: int = 20
    ) -> list[Campaign]:
        found = [c for c in self._all() if c.user_id == user_id and (statuses is None or c.status in statuses)]
        return sorted(found, key=lambda c: c.created_at, reverse=True)[:limit]

    async def list_by_status(
        self, statuses: Collection[CampaignStatus], deadline_before: datetime | None = None, limit: int = 100
    ) -> list[Campaign]:
        found = [
            c
            for c in self._all()
            if c.status in statuses and (deadline_before is None or c.deadline_at < deadline_before)
        ]
        return sorted(found, key=lambda c: c.deadline_at)[:limit]

    async def count_created_since(self, user_id: int, since: datetime) -> int:
        return sum(1 for c in self._all() if c.user_id == user_id and c.created_at >= since)


class FakeCalls(_Repo):
    async def add(self, call: CallTask) -> None:
        self._put(call.id, call)

    async def get(self, call_id: str) -> CallTask | None:
        result: CallTask | None = self._get(call_id)
        return result

    async def get_by_token_hash(self, token_hash: str) -> CallTask | None:
        return next((c for c in self._all() if c.token_hash == token_hash), None)

    async def get_by_conversation_id(self, conversation_id: str) -> CallTask | None:
        return next((c for c in self._all() if c.conversation_id == conversation_id), None)

    async def save(self, call: CallTask) -> None:
        self._save_versioned(call)

    async def list_for_campaign(self, campaign_id: str) -> list[CallTask]:
        return sorted((c for c in self._all() if c.campaign_id == campaign_id), key=lambda c: c.created_at)

    async def list_open(self, started_before: datetime | None = None, limit: int = 200) -> list[CallTask]:
        return [
            c
            for c in self._all()
            if not c.status.is_ended and (started_before is None or c.created_at < started_before)
        ][:limit]

    async def list_open_past_timeout(self, now: datetime, limit: int = 200) -> list[CallTask]:
        return [c for c in self._all() if not c.status.is_ended and c.timeout_at <= now][:limit]

    async def list_due(self, now: datetime, limit: int = 200) -> list[CallTask]:
        due = [c for c in self._all() if c.status is CallStatus.QUEUED and c.not_before and c.not_before <= now]
        return sorted(due, key=lambda c: c.not_before or now)[:limit]

    async def forget_details(self, ended_before: datetime, now: datetime, limit: int = 500) -> int:
        due = [
            c
            for c in self._all()
            if c.details_forgotten_at is None and c.ended_at is not None and c.ended_at < ended_before
        ][:limit]
        for call in due:
            call.transcript, call.summary, call.details_forgotten_at = [], None, now
            call.version += 1
            self._put(call.id, call)
        return len(due)

    async def talk_seconds_since(self, user_id: int, since: datetime) -> float:
        campaigns = self.uow.campaigns
        total = 0.0
        for call in self._all():
            campaign = await campaigns.get(call.campaign_id)
            if campaign and campaign.user_id == user_id and call.started_at and call.started_at >= since:
                total += (call.ended_at - call.started_at).total_seconds() if call.ended_at else 0.0
        return total


class FakeOffers(_Repo):
    async def add(self, offer: Offer) -> None:
        self._put(offer.id, offer)

    async def get(self, offer_id: str) -> Offer | None:
        result: Offer | None = self._get(offer_id)
        return result

    async def save(self, offer: Offer) -> None:
        self._put(offer.id, offer)

    async def list_for_campaign(self, campaign_id: str) -> list[Offer]:
        return [o for o in self._all() if o.campaign_id == campaign_id]

    async def find(self, call_task_id: str, start: datetime) -> Offer | None:
        return next((o for o in self._all() if o.call_task_id == call_task_id and o.start == start), None)

    async def standing(self, offer: Offer) -> tuple[int, int]:
        others = [
            o
            for o in self._all()
            if o.campaign_id == offer.campaign_id and o.status is OfferStatus.OFFERED and o.id != offer.id
        ]
        better = sum(1 for o in others if ranking_key(o) < ranking_key(offer))
        return better + 1, len(others) + 1


class FakeAppointments(_Repo):
    async def add(self, appointment: Appointment) -> None:
        if await self.overlapping(appointment.user_id, appointment.window):
            raise SlotConflict("another appointment overlaps")
        self._put(appointment.id, appointment)

    async def get(self, appointment_id: str) -> Appointment | None:
        result: Appointment | None = self._get(appointment_id)
        return result

    async def get_by_offer(self, offer_id: str) -> Appointment | None:
        return next((a for a in self._all() if a.offer_id == offer_id), None)

    async def save(self, appointment: Appointment) -> None:
        self._put(appointment.id, appointment)

    async def list_for_user(
        self,
        user_id: int,
        statuses: Collection[AppointmentStatus] | None = None,
        ending_after: datetime | None = None,
    ) -> list[Appointment]:
        found = [
            a
            for a in self._all()
            if a.user_id == user_id
            and (statuses is None or a.status in statuses)
            and (ending_after is None or a.end > ending_after)
        ]
        return sorted(found, key=lambda a: a.start)

    async def overlapping(self, user_id: int, window: TimeWindow) -> list[Appointment]:
        return [
            a
            for a in self._all()
            if a.user_id == user_id and a.status is AppointmentStatus.BOOKED and a.window.overlaps(window)
        ]


class FakeReminders(_Repo):
    async def add(self, reminder: Reminder) -> None:
        self._put(reminder.id, reminder)

    async def claim_due(self, now: datetime, limit: int = 100) -> list[Reminder]:
        due = [r for r in self._all() if r.sent_at is None and not r.cancelled and r.due_at <= now][:limit]
        for reminder in due:
            reminder.sent_at = now
            self._put(reminder.id, reminder)
        return due

    async def cancel_for_appointment(self, appointment_id: str) -> int:
        hits = [r for r in self._all() if r.appointment_id == appointment_id and not r.cancelled]
        for reminder in hits:
            reminder.cancelled = True
            self._put(reminder.id, reminder)
        return len(hits)


class FakeCalendarLinks(_Repo):
    async def get(self, user_id: int) -> CalendarLink | None:
        result: CalendarLink | None = self._get(user_id)
        return result

    async def save(self, link: CalendarLink) -> None:
        self._put(link.user_id, link)

    async def delete(self, user_id: int) -> bool:
        existed = self._get(user_id) is not None
        self.uow.deleted["calendar_links"].add(user_id)
        return existed


class FakeChatSessions(_Repo):
    async def get(self, user_id: int) -> ChatSession | None:
        result: ChatSession | None = self._get(user_id)
        return result

    async def save(self, session: ChatSession) -> None:
        stored = self._get(session.user_id)
        if (stored.version if stored is not None else 0) != session.version:
            raise ConcurrentUpdate("changed by someone else")
        session.version += 1
        self._put(session.user_id, session)

    async def delete(self, user_id: int) -> None:
        self.uow.deleted["chat_sessions"].add(user_id)


class FakeEvents(_Repo):
    async def remember(self, key: str, at: datetime) -> bool:
        if self._get(key) is not None:
            return False
        self._put(key, at)
        return True


class FakeTurns(_Repo):
    """Live transcripts: a call's turns under its id (listeners in their own table)."""

    async def append(self, call_id: str, turns: Sequence[Turn]) -> None:
        self._put(call_id, [*(self._get(call_id) or []), *turns])

    async def replace(self, call_id: str, turns: Sequence[Turn]) -> None:
        self._put(call_id, list(turns))

    async def list_for_call(self, call_id: str) -> list[Turn]:
        return list(self._get(call_id) or [])

    async def listen(self, call_id: str, user_id: int, message_id: int | None) -> None:
        self.uow.pending["listeners"][call_id] = (user_id, message_id)

    async def listener(self, call_id: str) -> tuple[int, int | None] | None:
        if call_id in self.uow.pending["listeners"]:
            found: tuple[int, int | None] = self.uow.pending["listeners"][call_id]
            return found
        stored: tuple[int, int | None] | None = self.uow.store.tables["listeners"].get(call_id)
        return stored


class FakeQuestions(_Repo):
    async def add(self, question: UserQuestion) -> bool:
        if await self.open_in_campaign(question.campaign_id, question.topic) is not None:
            return False
        self._put(question.id, question)
        return True

    async def get(self, question_id: str) -> UserQuestion | None:
        found: UserQuestion | None = self._get(question_id)
        return found

    async def save(self, question: UserQuestion) -> None:
        stored = self._get(question.id)
        if stored is not None and stored.answer is not None:
            raise ConcurrentUpdate("answered by someone else")
        self._put(question.id, question)

    async def open_in_campaign(self, campaign_id: str, topic: str) -> UserQuestion | None:
        return next(
            (q for q in self._all() if q.campaign_id == campaign_id and q.topic == topic and q.answer is None), None
        )

    async def answered(self, campaign_id: str, topic: str) -> UserQuestion | None:
        done = [q for q in self._all() if q.campaign_id == campaign_id and q.topic == topic and q.answer is not None]
        return max(done, key=lambda q: q.answered_at, default=None)

    async def latest_open_for_user(self, user_id: int, since: datetime) -> UserQuestion | None:
        open_ = [q for q in self._all() if q.user_id == user_id and q.answer is None and q.asked_at >= since]
        return max(open_, key=lambda q: q.asked_at, default=None)

    async def list_for_call(self, call_id: str) -> list[UserQuestion]:
        return sorted((q for q in self._all() if q.call_id == call_id), key=lambda q: q.asked_at)


class FakeProfiles(_Repo):
    async def get(self, user_id: int) -> UserProfile | None:
        found: UserProfile | None = self._get(user_id)
        return found

    async def save(self, profile: UserProfile) -> None:
        self._put(profile.user_id, profile)


class FakeInstructions(_Repo):
    async def add(self, instruction: Instruction) -> None:
        self._put(instruction.id, instruction)

    async def unread(self, campaign_id: str, call_id: str) -> list[Instruction]:
        read = self.uow.store.tables["instruction_reads"] | self.uow.pending["instruction_reads"]
        return sorted(
            (
                i
                for i in self._all()
                if i.campaign_id == campaign_id and i.call_id in (None, call_id) and (i.id, call_id) not in read
            ),
            key=lambda i: i.created_at,
        )

    async def mark_read(self, call_id: str, instruction_ids: Sequence[str], at: datetime) -> None:
        for instruction_id in instruction_ids:
            self.uow.pending["instruction_reads"][(instruction_id, call_id)] = at

    async def list_for_campaign(self, campaign_id: str) -> list[Instruction]:
        return sorted((i for i in self._all() if i.campaign_id == campaign_id), key=lambda i: i.created_at)


@dataclass
class FakeMessage:
    seq: int
    user_id: int
    notification: Notification
    status: str = "PENDING"
    attempts: int = 0
    not_before: datetime | None = None
    claimed_until: datetime | None = None
    last_error: str | None = None


class FakeOutboxRepository(_Repo):
    """Keeps every message; claims heads per user in order (no folding: the SQL repository is tested for it)."""

    async def add(self, user_id: int, notification: Notification, now: datetime) -> bool:
        key = idempotency_key(notification)
        if key is not None and any(idempotency_key(m.notification) == key for m in self._all()):
            return False
        seq = len(self.uow.store.tables[self.table]) + len(self.uow.pending[self.table]) + 1
        self._put(seq, FakeMessage(seq, user_id, notification))
        return True

    async def claim(
        self, now: datetime, lease_until: datetime, limit: int, users: Collection[int] | None = None
    ) -> list[OutboxEntry]:
        heads: dict[int, FakeMessage] = {}
        for message in sorted(self._all(), key=lambda m: m.seq):
            if message.status == "PENDING" and (users is None or message.user_id in users):
                heads.setdefault(message.user_id, message)
        claimed = []
        for message in sorted(heads.values(), key=lambda m: m.seq)[:limit]:
            if (message.claimed_until or now) <= now and (message.not_before or now) <= now:
                message.claimed_until = lease_until
                self._put(message.seq, message)
                claimed.append(OutboxEntry(message.seq, message.user_id, message.notification, message.attempts, now))
        return claimed

    def _change(self, entry_id: int, **values: Any) -> None:
        message = self._get(entry_id)
        for name, value in values.items():
            setattr(message, name, value)
        self._put(entry_id, message)

    async def delivered(self, ids: Collection[int], now: datetime) -> None:
        for entry_id in ids:
            self._change(entry_id, status="DELIVERED", claimed_until=None)

    async def retry_later(self, entry_id: int, not_before: datetime, reason: str, *, count: bool = True) -> None:
        attempts = self._get(entry_id).attempts + (1 if count else 0)
        self._change(entry_id, not_before=not_before, claimed_until=None, last_error=reason, attempts=attempts)

    async def give_up(self, entry_id: int, reason: str, now: datetime) -> None:
        self._change(entry_id, status="FAILED", claimed_until=None, last_error=reason)

    async def purge_delivered(self, before: datetime) -> int:
        return 0


class FakeFollowUps(_Repo):
    async def get(self, campaign_id: str) -> FollowUp | None:
        found: FollowUp | None = self._get(campaign_id)
        return found

    async def save(self, follow_up: FollowUp) -> None:
        stored = self._get(follow_up.campaign_id)
        if (stored.version if stored is not None else 0) != follow_up.version:
            raise ConcurrentUpdate("changed by someone else")
        self.uow.expected_versions[(self.table, follow_up.campaign_id)] = follow_up.version
        follow_up.version += 1
        self._put(follow_up.campaign_id, follow_up)

    async def list_due(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        due = []
        for follow_up in self._all():
            campaign = await self.uow.campaigns.get(follow_up.campaign_id)
            ready = campaign is not None and campaign.status in FOLLOW_UP_READY
            if ready and (follow_up.next_due_at or now + timedelta(days=1)) <= now:
                due.append(follow_up)
        return sorted(due, key=lambda f: f.next_due_at or now)[:limit]

    async def list_for_appointment(self, appointment_id: str) -> list[FollowUp]:
        return [f for f in self._all() if f.appointment_id == appointment_id and f.status is FollowUpStatus.ACTIVE]

    async def list_replacing(self, limit: int = 100) -> list[FollowUp]:
        found = []
        for follow_up in self._all():
            campaign = await self.uow.campaigns.get(follow_up.campaign_id)
            confirmed = campaign is not None and campaign.status is CampaignStatus.CONFIRMED
            if follow_up.status is FollowUpStatus.ACTIVE and follow_up.appointment_id and confirmed:
                found.append(follow_up)
        return found[:limit]


class FakePractices(_Repo):
    """Opt-outs, the call budget's ledger and shared facts, in the fake store's tables."""

    def _rows(self, table: str) -> dict[Any, Any]:
        merged = dict(self.uow.store.tables[table])
        merged.update(self.uow.pending[table])
        for key in self.uow.deleted[table]:
            merged.pop(key, None)
        return merged

    async def opted_out(self, phones: Collection[str]) -> set[str]:
        return {p for p in phones if p in self._rows("opt_outs")}

    async def add_opt_out(self, opt_out: OptOut) -> bool:
        if opt_out.phone in self._rows("opt_outs"):
            return False
        self.uow.pending["opt_outs"][opt_out.phone] = opt_out
        return True

    async def remove_opt_out(self, phone: str) -> bool:
        if phone not in self._rows("opt_outs"):
            return False
        self.uow.pending["opt_outs"].pop(phone, None)
        self.uow.deleted["opt_outs"].add(phone)
        return True

    async def list_opt_outs(self) -> list[OptOut]:
        return sorted(self._rows("opt_outs").values(), key=lambda o: o.created_at)

    async def budget_states(self, phones: Collection[str], day: date) -> dict[str, BudgetState]:
        states: dict[str, BudgetState] = {}
        for (phone, on, _), at in self._rows("practice_calls").items():
            if phone not in phones:
                continue
            state = states.get(phone, BudgetState())
            last = at if state.last_call_at is None else max(at, state.last_call_at)
            states[phone] = BudgetState(state.calls_today + (on == day.isoformat()), last)
        return states

    async def reserve_call(self, phone: str, day: date, at: datetime, budget: CallBudget) -> bool:
        if not budget.per_day and not budget.min_gap:
            return True
        state = (await self.budget_states([phone], day)).get(phone, BudgetState())
        if over_budget(state, budget, at) is not None:
            return False
        self.uow.pending["practice_calls"][(phone, day.isoformat(), state.calls_today + 1)] = at
        return True

    async def add_fact(self, fact: AvailabilityFact) -> None:
        self.uow.pending["facts"][len(self._rows("facts")) + 1] = fact

    async def facts(self, phones: Collection[str], now: datetime) -> dict[str, list[AvailabilityFact]]:
        found: dict[str, list[AvailabilityFact]] = {}
        for _, fact in sorted(self._rows("facts").items()):
            if fact.phone in phones and fact.live(now):
                found.setdefault(fact.phone, []).append(fact)
        return found

    async def purge(self, now: datetime, counted_before: date) -> int:
        gone = [k for k, f in self._rows("facts").items() if not f.live(now)]
        self.uow.deleted["facts"].update(gone)
        old = [k for k in self._rows("practice_calls") if k[1] < counted_before.isoformat()]
        self.uow.deleted["practice_calls"].update(old)
        return len(gone) + len(old)


class FakeUnitOfWork:
    """Reads see committed state plus this unit's own writes; ``commit`` applies them, checking versions."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.pending: dict[str, dict[Any, Any]] = {name: {} for name in store.tables}
        self.deleted: dict[str, set[Any]] = {name: set() for name in store.tables}
        self.expected_versions: dict[tuple[str, Any], int] = {}
        self.committed = False
        self.users = FakeUsers(self, "users")
        self.campaigns = FakeCampaigns(self, "campaigns")
        self.calls = FakeCalls(self, "calls")
        self.offers = FakeOffers(self, "offers")
        self.appointments = FakeAppointments(self, "appointments")
        self.reminders = FakeReminders(self, "reminders")
        self.calendar_links = FakeCalendarLinks(self, "calendar_links")
        self.chat_sessions = FakeChatSessions(self, "chat_sessions")
        self.events = FakeEvents(self, "events")
        self.outbox = FakeOutboxRepository(self, "outbox")
        self.turns = FakeTurns(self, "turns")
        self.questions = FakeQuestions(self, "questions")
        self.profiles = FakeProfiles(self, "profiles")
        self.instructions = FakeInstructions(self, "instructions")
        self.follow_ups = FakeFollowUps(self, "follow_ups")
        self.practices = FakePractices(self, "opt_outs")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        for (table, key), expected in self.expected_versions.items():
            current = self.store.tables[table].get(key)
            if current is not None and current.version != expected:
                raise ConcurrentUpdate("changed by someone else")
        for table, rows in self.pending.items():
            self.store.tables[table].update(rows)
        for table, keys in self.deleted.items():
            for key in keys:
                self.store.tables[table].pop(key, None)
        self.store.commits += 1
        self.committed = True
        await self.rollback()

    async def rollback(self) -> None:
        for rows in self.pending.values():
            rows.clear()
        for keys in self.deleted.values():
            keys.clear()
        self.expected_versions.clear()


class FakeHoldStore:
    def __init__(self) -> None:
        self.holds: list[Hold] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("The hold store is down.")

    async def acquire(self, hold: Hold, now: datetime) -> list[Hold]:
        self._check()
        clashes = await self.conflicting(hold.user_id, hold.window, hold.campaign_id, now)
        if not clashes:
            self.holds.append(hold)
        return clashes

    async def conflicting(self, user_id: int, window: TimeWindow, campaign_id: str, now: datetime) -> list[Hold]:
        self._check()
        return [
            h
            for h in self.holds
            if h.user_id == user_id
            and h.campaign_id != campaign_id
            and h.expires_at > now
            and h.window.overlaps(window)
        ]

    async def release_campaign(self, user_id: int, campaign_id: str) -> int:
        self._check()
        before = len(self.holds)
        self.holds = [h for h in self.holds if not (h.user_id == user_id and h.campaign_id == campaign_id)]
        return before - len(self.holds)

    async def purge_expired(self, now: datetime) -> int:
        self._check()
        before = len(self.holds)
        self.holds = [h for h in self.holds if h.expires_at > now]
        return before - len(self.holds)

    async def ping(self) -> None:
        self._check()


class FakeCalendar:
    def __init__(self) -> None:
        self.busy_times: dict[int, list[TimeWindow]] = {}
        self.events: dict[str, Appointment] = {}
        self.unavailable = False

    async def busy(self, user_id: int, window: TimeWindow) -> list[TimeWindow]:
        if self.unavailable:
            raise CalendarUnavailable("The calendar cannot be reached.")
        return [b for b in self.busy_times.get(user_id, []) if b.overlaps(window)]

    async def add_event(self, appointment: Appointment) -> str | None:
        event_id = f"event-{appointment.id}"
        self.events[event_id] = appointment
        return event_id

    async def remove_event(self, appointment: Appointment) -> None:
        self.events.pop(appointment.calendar_event_id or "", None)


class FakeDirectory:
    def __init__(self, providers: list[Provider]) -> None:
        self.providers = providers

    async def search(self, service: str, near: GeoPoint, radius_km: float, limit: int) -> list[Provider]:
        found = [p for p in self.providers if p.service == service and near.distance_km(p.location) <= radius_km]
        return sorted(found, key=lambda p: near.distance_km(p.location))[:limit]


class FakeVoiceGateway:
    """Records placed calls and their plain tokens, so a test can act as the agent of any call."""

    def __init__(self) -> None:
        self.placed: list[CallRequest] = []
        self.hung_up: list[str] = []
        self.unreachable: set[str] = set()

    async def place_call(self, request: CallRequest) -> PlacedCall:
        if request.call.provider.id in self.unreachable:
            raise DependencyUnavailable("the line is dead")
        self.placed.append(request)
        return PlacedCall(conversation_id=f"conv-{request.call.id}", call_sid=f"CA{request.call.id}")

    async def hang_up(self, call: CallTask) -> None:
        self.hung_up.append(call.id)

    def token_for(self, provider_id: str, purpose: str = "DISCOVER") -> str:
        return next(
            r.token for r in reversed(self.placed) if r.call.provider.id == provider_id and r.call.purpose == purpose
        )


class FakeCallSlots(InMemoryCallSlots):
    """In-process call slots that also record every call given back."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__(limit)
        self.released: list[str] = []

    async def release(self, call_id: str) -> None:
        self.released.append(call_id)
        await super().release(call_id)


class FakeOutbox:
    """What the use cases queued for users (committed messages, in order)."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    @property
    def sent(self) -> list[tuple[int, Notification]]:
        messages = sorted(self._store.tables["outbox"].values(), key=lambda m: m.seq)
        return [(m.user_id, m.notification) for m in messages]

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [n for _, n in self.sent if isinstance(n, kind)]


@dataclass
class FakeWorld:
    """A complete set of fakes wired into ``Ports``."""

    clock: FakeClock
    store: FakeStore = field(default_factory=FakeStore)
    holds: FakeHoldStore = field(default_factory=FakeHoldStore)
    calendar: FakeCalendar = field(default_factory=FakeCalendar)
    voice: FakeVoiceGateway = field(default_factory=FakeVoiceGateway)
    slots: FakeCallSlots = field(default_factory=FakeCallSlots)
    providers: list[Provider] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)

    @property
    def outbox(self) -> FakeOutbox:
        return FakeOutbox(self.store)

    @property
    def ports(self) -> Ports:
        return Ports(
            uow=lambda: FakeUnitOfWork(self.store),
            holds=self.holds,
            calendar=self.calendar,
            directory=FakeDirectory(self.providers),
            voice=self.voice,
            clock=self.clock,
            slots=self.slots,
            policy=self.policy,
        )
