"""What a simulated provider is like on the phone: its hidden open slots and how it behaves."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.models import Provider


@dataclass(frozen=True, slots=True)
class ProviderBehaviour:
    open_slots: tuple[datetime, ...]
    slot_minutes: int = 30
    answers: bool = True
    offers_per_turn: int = 2
    call_seconds: float = 90.0
    slot_taken_on_confirm: bool = False


BehaviourSource = Callable[[Provider], ProviderBehaviour]


def _rng(seed: int, provider_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{provider_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generated_behaviour(
    now: datetime, timezone: str = "Europe/Berlin", seed: int = 0, days: int = 10
) -> BehaviourSource:
    """Plausible, reproducible behaviour for providers without a world file (the bundled directory):
    open half-hour slots 08:00-18:00 over the next ``days`` (fewer at weekends), most providers answering."""
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
                if start > now and rng.random() < chance:
                    slots.append(start)
        return ProviderBehaviour(
            open_slots=tuple(slots),
            slot_minutes=30,
            answers=rng.random() < 0.85,
            offers_per_turn=rng.choice((1, 2, 2, 3)),
            call_seconds=rng.uniform(45, 150),
            slot_taken_on_confirm=rng.random() < 0.1,
        )

    return behaviour


def seeded_rng(seed: int, provider_id: str) -> random.Random:
    """The random source of one provider's receptionist in one run."""
    return _rng(seed, provider_id)
