"""A simulated receptionist: knows the provider's open slots and answers the agent's questions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from domain.models import Provider, TimeWindow
from domain.wording import slot_in_words
from integrations.simulation.behaviour import ProviderBehaviour


class Receptionist:
    def __init__(self, provider: Provider, behaviour: ProviderBehaviour, rng: random.Random, timezone: str) -> None:
        self.provider = provider
        self.behaviour = behaviour
        self._rng = rng
        self._tz = timezone
        self._open = sorted(behaviour.open_slots)

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.behaviour.slot_minutes)

    def greet(self) -> str:
        return self._rng.choice(
            [
                f"{self.provider.name}, good morning, how can I help?",
                f"Hello, {self.provider.name} speaking.",
                f"{self.provider.name}, what can I do for you?",
            ]
        )

    def earliest_after(self, moment: datetime) -> list[TimeWindow]:
        """The next few open slots starting at or after ``moment``, earliest first."""
        starts = [s for s in self._open if s >= moment][: self.behaviour.offers_per_turn]
        return [TimeWindow(s, s + self.slot_length) for s in starts]

    def offer_words(self, slots: list[TimeWindow]) -> str:
        if not slots:
            return "I'm sorry, I have nothing free then."
        said = " or ".join(slot_in_words(s, self._tz) for s in slots)
        return f"I could offer {said}."

    def book(self, start: datetime) -> bool:
        """Book ``start`` if it is still open; the provider may have given it away meanwhile."""
        if self.behaviour.slot_taken_on_confirm or start not in self._open:
            return False
        self._open.remove(start)
        return True

    def cancel(self, start: datetime) -> bool:
        if start not in self._open:
            self._open.append(start)
            self._open.sort()
        return True
