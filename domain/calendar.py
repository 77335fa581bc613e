"""Interval arithmetic on aware datetimes: busy time, free time, conflicts.

Every interval is a half-open ``TimeWindow`` ``[start, end)``, so back-to-back appointments do not clash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.models import TimeWindow


def merge(intervals: Iterable[TimeWindow]) -> list[TimeWindow]:
    """Sort and join overlapping or touching intervals."""
    merged: list[TimeWindow] = []
    for interval in sorted(intervals, key=lambda w: w.start):
        if merged and interval.start <= merged[-1].end:
            last = merged[-1]
            if interval.end > last.end:
                merged[-1] = TimeWindow(last.start, interval.end)
        else:
            merged.append(interval)
    return merged


def widen(intervals: Iterable[TimeWindow], buffer: timedelta) -> list[TimeWindow]:
    """Grow every interval by ``buffer`` on both sides (room around existing appointments)."""
    if buffer <= timedelta(0):
        return list(intervals)
    return [TimeWindow(w.start - buffer, w.end + buffer) for w in intervals]


def subtract(windows: Iterable[TimeWindow], busy: Iterable[TimeWindow]) -> list[TimeWindow]:
    """The parts of ``windows`` not covered by ``busy``, merged and sorted."""
    blocked = merge(busy)
    free: list[TimeWindow] = []
    for window in merge(windows):
        cursor = window.start
        for block in blocked:
            if block.end <= cursor:
                continue
            if block.start >= window.end:
                break
            if block.start > cursor:
                free.append(TimeWindow(cursor, block.start))
            cursor = max(cursor, block.end)
            if cursor >= window.end:
                break
        if cursor < window.end:
            free.append(TimeWindow(cursor, window.end))
    return free


def free_windows(
    windows: Iterable[TimeWindow], busy: Iterable[TimeWindow], min_length: timedelta = timedelta(0)
) -> list[TimeWindow]:
    """Free time inside ``windows`` that is at least ``min_length`` long."""
    return [w for w in subtract(windows, busy) if w.duration >= min_length]


def conflicts(slot: TimeWindow, busy: Iterable[TimeWindow]) -> list[TimeWindow]:
    """The busy intervals that overlap ``slot``."""
    return [b for b in busy if b.overlaps(slot)]


def fits(slot: TimeWindow, windows: Iterable[TimeWindow]) -> bool:
    """Whether ``slot`` lies entirely inside one of ``windows`` (after merging them)."""
    return any(w.contains(slot) for w in merge(windows))


def next_free_start(free: Iterable[TimeWindow], length: timedelta, not_before: datetime) -> datetime | None:
    """The earliest start at or after ``not_before`` where ``length`` fits into ``free``; else the earliest
    start anywhere in ``free``; ``None`` when nothing fits at all."""
    candidates = [w for w in merge(free) if w.duration >= length]
    for window in candidates:
        start = max(window.start, not_before)
        if start + length <= window.end:
            return start
    return candidates[0].start if candidates else None
