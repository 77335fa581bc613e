from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import conflicts, fits, free_windows, merge, next_free_start, subtract, widen
from domain.models import TimeWindow

BASE = datetime(2026, 12, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


def w(a: float, b: float) -> TimeWindow:
    return TimeWindow(at(a), at(b))


intervals = st.lists(
    st.tuples(st.integers(0, 96), st.integers(1, 16)).map(lambda t: w(t[0] / 4, (t[0] + t[1]) / 4)),
    max_size=8,
)


def test_subtract_cuts_busy_time_out_of_windows() -> None:
    assert subtract([w(8, 18)], [w(9, 10), w(12, 13), w(17, 19)]) == [w(8, 9), w(10, 12), w(13, 17)]


def test_back_to_back_does_not_conflict() -> None:
    assert conflicts(w(10, 11), [w(9, 10), w(11, 12)]) == []
    assert conflicts(w(10, 11), [w(10.5, 12)]) == [w(10.5, 12)]


def test_buffer_widens_busy_time() -> None:
    assert widen([w(10, 11)], timedelta(minutes=15)) == [w(9.75, 11.25)]


def test_next_free_start_prefers_after_the_asked_time() -> None:
    free = [w(8, 9), w(10, 12)]
    assert next_free_start(free, timedelta(minutes=30), at(10.5)) == at(10.5)
    assert next_free_start(free, timedelta(minutes=30), at(11.75)) == at(8)
    assert next_free_start(free, timedelta(hours=3), at(8)) is None


def test_fits_needs_one_window_to_hold_the_whole_slot() -> None:
    assert fits(w(9, 10), [w(8, 9.5), w(9.5, 12)])  # touching windows merge
    assert not fits(w(9, 10), [w(8, 9.5), w(9.75, 12)])


@given(intervals)
def test_merge_gives_sorted_disjoint_intervals_covering_the_same_time(items: list[TimeWindow]) -> None:
    merged = merge(items)
    assert all(a.end < b.start for a, b in pairwise(merged))
    for item in items:
        assert any(m.contains(item) for m in merged)


@given(intervals, intervals)
def test_free_time_never_overlaps_busy_time_and_stays_inside_the_windows(
    windows: list[TimeWindow], busy: list[TimeWindow]
) -> None:
    free = free_windows(windows, busy)
    assert all(not conflicts(f, busy) for f in free)
    assert all(fits(f, windows) for f in free)


@given(intervals, intervals)
def test_free_plus_busy_covers_the_windows(windows: list[TimeWindow], busy: list[TimeWindow]) -> None:
    free = subtract(windows, busy)
    total_windows = sum((m.duration for m in merge(windows)), timedelta())
    covered_busy = sum(
        (min(m.end, b.end) - max(m.start, b.start) for m in merge(windows) for b in merge(busy) if m.overlaps(b)),
        timedelta(),
    )
    assert sum((f.duration for f in free), timedelta()) == total_windows - covered_busy
