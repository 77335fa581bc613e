"""Providers over several simulated days: calendars that change (a cancellation frees a slot, others fill),
desks that say "call back tomorrow at 8" or offer their waiting list, and the slots NEXUS itself booked.

A ``DayWorld`` is the world outside NEXUS: it outlives the NEXUS processes of a multi-day simulation (each day
may run in a fresh one) and answers, for the simulated clock's day, what a provider's desk knows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.models import Provider
from integrations.simulation.behaviour import BehaviourSource, ProviderBehaviour
from integrations.simulation.world import World, WorldProvider


class DayWorld:
    def __init__(self, world: World, now: Callable[[], datetime]) -> None:
        self._world = world
        self._now = now
        self._zone = ZoneInfo(world.timezone)
        self._first_day = world.now.astimezone(self._zone).date()
        self._providers = {p.id: p for p in world.providers}
        self.taken: dict[str, set[datetime]] = {}  # provider id -> starts booked by NEXUS (by anyone's phone call)

    def day(self, moment: datetime | None = None) -> int:
        """The simulated day of ``moment`` (the clock's now by default); the world's ``now`` is day 1."""
        local = (moment or self._now()).astimezone(self._zone).date()
        return (local - self._first_day).days + 1

    def day_start(self, day: int) -> datetime:
        """When day ``day`` starts for the simulation: the world's ``now`` on day 1, 07:00 on later days."""
        if day == 1:
            return self._world.now
        return datetime.combine(self._first_day + timedelta(days=day - 1), time(7), tzinfo=self._zone)

    def open_slots(self, provider: WorldProvider, day: int) -> list[datetime]:
        """The provider's open slots on ``day``: its first ones, then each day's changes up to ``day``, without
        the ones NEXUS has booked."""
        slots = set(provider.open_slots)
        for change in sorted(provider.days, key=lambda d: d.day):
            if change.day > day:
                break
            slots |= set(change.open)
            slots -= set(change.gone)
        return sorted(slots - self.taken.get(provider.id, set()))

    def behaviours(self) -> BehaviourSource:
        def behaviour(provider: Provider) -> ProviderBehaviour:
            known = self._providers.get(provider.id)
            if known is None:
                return ProviderBehaviour(open_slots=())
            day = self.day()
            base = known.behaviour()
            today = next((d for d in known.days if d.day == day), None)
            call_back_at = None
            if today is not None and today.says == "call_back":
                hour, minute = (int(part) for part in today.call_back_time.split(":"))
                tomorrow = self._now().astimezone(self._zone).date() + timedelta(days=1)
                call_back_at = datetime.combine(tomorrow, time(hour, minute), tzinfo=self._zone)
            return dataclasses.replace(
                base,
                open_slots=tuple(self.open_slots(known, day)),
                call_back_at=call_back_at,
                offers_waitlist=today is not None and today.says == "waitlist",
            )

        return behaviour

    def booked_by_nexus(self, booked: dict[str, set[datetime]]) -> None:
        """The slots NEXUS's booked appointments hold, by provider (a cancelled one is free again)."""
        self.taken = {provider_id: set(starts) for provider_id, starts in booked.items()}
