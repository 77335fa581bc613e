"""Clocks: the real one, and a fixed one for reproducible simulations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.models import ensure_aware


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Time stands still at ``start`` until ``advance`` moves it (simulations and world files)."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_aware(start, "clock start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
