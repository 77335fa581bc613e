"""What a simulated provider is like on the phone: its hidden open slots and how it behaves."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.models import Provider

# Countries whose practices answer the phone in German, by calling code (Germany, Austria, Liechtenstein).
GERMAN_SPEAKING_CODES = ("+49", "+43", "+423")


@dataclass(frozen=True, slots=True)
class ProviderBehaviour:
    """How a simulated provider is on the phone. ``slot_minutes`` is the slot length it offers when the caller
    does not say how long the appointment takes; ``voicemail_calls``: that many calls in a row reach the
    voicemail box before a person answers; ``phone_menu_digit``: a menu answers first and this key reaches
    the appointments desk; ``language``: ``en``/``de``, else decided by ``desk_language``; ``agent_fault``:
    the agent calling this provider misbehaves (``invent_time``: it reports a time nobody said);
    ``asks_expert``: the expert questions (keys in ``domain/services.json``) the desk asks before it offers a
    time; ``opts_out``: the desk asks not to be called by automated assistants any more instead of answering."""

    open_slots: tuple[datetime, ...]
    slot_minutes: int = 30
    answers: bool = True
    offers_per_turn: int = 2
    call_seconds: float = 90.0
    slot_taken_on_confirm: bool = False
    voicemail_calls: int = 0
    phone_menu_digit: int | None = None
    language: str | None = None
    # the user in the loop: topics the desk asks about the client before it offers (``domain.loop`` topics),
    # and a desk that wants to talk to the client in person (a handover)
    questions: tuple[str, ...] = ()
    wants_person: bool = False
    agent_fault: str | None = None  # "invent_time": the agent reports a time the receptionist never said
    asks_expert: tuple[str, ...] = ()  # expert questions (keys in ``domain/services.json``) the desk asks first
    call_back_at: datetime | None = None  # with nothing free: "please call back tomorrow at 8"
    offers_waitlist: bool = False  # with nothing free: "I can put your client on our waiting list"
    opts_out: bool = False  # asks NEXUS not to call again instead of answering


def desk_language(provider: Provider, behaviour: ProviderBehaviour) -> str:
    """The language the provider's front desk speaks: the world file's ``language`` when given, else German
    for a provider whose phone number is in a German-speaking country, else English."""
    if behaviour.language in ("de", "en"):
        return behaviour.language
    return "de" if provider.phone.startswith(GERMAN_SPEAKING_CODES) else "en"


BehaviourSource = Callable[[Provider], ProviderBehaviour]


def _rng(seed: int, provider_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{provider_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generated_behaviour(
    now: datetime, timezone: str = "Europe/Berlin", seed: int = 0, days: int = 10
) -> BehaviourSource:
    """Plausible, reproducible behaviour for providers without a world file (the bundled directory):
    open half-hour slots 08:00-18:00 over the next ``days`` (fewer at weekends) while the provider is open
    (when its hours are known), most providers answering, a few behind a voicemail box the first time or a
    phone menu."""
    zone = ZoneInfo(timezone)

    def behaviour(provider: Provider) -> ProviderBehaviour:
        rng = _rng(seed, provider.id)
        first_day = now.astimezone(zone).date()
        slots = []
        for offset in range(days + 1):
            day = first_day + timedelta(days=offset)
            chance = 0.18 if day.weekday() < 5 else 0.05
            for half_hour in range(20):
                start = datetime.combine(day, time(8), tzinfo=zone) + timedelta(minutes=30 * half_hour)
                if start > now and rng.random() < chance and _open_at(provider, start, timezone):
                    slots.append(start)
        answers = rng.random() < 0.85
        offers_per_turn = rng.choice((1, 2, 2, 3))
        call_seconds = rng.uniform(45, 150)
        slot_taken_on_confirm = rng.random() < 0.1
        # drawn last, so the draws above (and the behaviour they give) are what they were before
        voicemail_calls = 1 if rng.random() < 0.08 else 0
        phone_menu_digit = rng.choice((1, 2, 3)) if rng.random() < 0.12 else None
        return ProviderBehaviour(
            open_slots=tuple(slots),
            slot_minutes=30,
            answers=answers,
            offers_per_turn=offers_per_turn,
            call_seconds=call_seconds,
            slot_taken_on_confirm=slot_taken_on_confirm,
            voicemail_calls=voicemail_calls,
            phone_menu_digit=phone_menu_digit,
        )

    return behaviour


def _open_at(provider: Provider, moment: datetime, timezone: str) -> bool:
    hours = provider.opening_hours
    return hours is None or hours.is_open(moment, timezone)


def seeded_rng(seed: int, provider_id: str) -> random.Random:
    """The random source of one provider's receptionist in one run."""
    return _rng(seed, provider_id)
