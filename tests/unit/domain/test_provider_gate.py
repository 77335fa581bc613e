"""The gate: whom a search calls, given opt-outs, the call budget and what is known about availability."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidRequest
from domain.models import Provider, TimeWindow
from domain.practices import (
    NO_BUDGET,
    AvailabilityFact,
    BudgetState,
    CallBudget,
    FactKind,
    known_nothing_free,
    mask_phone,
    normalise_phone,
    practice_day,
)
from domain.services.provider_gate import Skipped, SkipReason, gate, read_skip_note, skip_note
from tests.factories import make_provider

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = TimeWindow(datetime(2026, 12, 3, 14, tzinfo=UTC), datetime(2026, 12, 3, 19, tzinfo=UTC))
RANKED = [make_provider(name) for name in ("a", "b", "c", "d", "e")]
BUDGET = CallBudget(per_day=3, min_gap=timedelta(minutes=20))


def phone(name: str) -> str:
    return next(p.phone for p in RANKED if p.id == name)


def full(name: str, start: datetime, until: datetime, *, learned: datetime = NOW) -> AvailabilityFact:
    return AvailabilityFact(
        phone(name), FactKind.FULLY_BOOKED, learned, learned + timedelta(hours=2), until=until, start=start
    )


def ids(providers: list[Provider]) -> list[str]:
    return [p.id for p in providers]


def test_nothing_known_calls_the_first_in_the_ranking() -> None:
    decision = gate(RANKED, 3, [WINDOW], NOW, budget=BUDGET)
    assert ids(decision.call) == ["a", "b", "c"]
    assert decision.skipped == []


def test_skipped_providers_make_room_for_the_next_ones_in_the_ranking() -> None:
    decision = gate(
        RANKED,
        3,
        [WINDOW],
        NOW,
        opted_out={phone("a")},
        budget=BUDGET,
        budget_states={phone("b"): BudgetState(3, NOW - timedelta(hours=2))},
        facts={phone("c"): [full("c", NOW, WINDOW.end)]},
    )
    assert ids(decision.call) == ["d", "e"]  # only two are left to call
    assert [(s.provider.id, s.reason) for s in decision.skipped] == [
        ("a", SkipReason.OPTED_OUT),
        ("b", SkipReason.OVER_BUDGET),
        ("c", SkipReason.KNOWN_FULL),
    ]
    assert decision.skipped[2].until == WINDOW.end


def test_a_practice_called_a_moment_ago_waits_for_the_gap() -> None:
    states = {phone("a"): BudgetState(1, NOW - timedelta(minutes=5))}
    assert gate(RANKED, 1, [WINDOW], NOW, budget=BUDGET, budget_states=states).skipped[0].reason is SkipReason.TOO_SOON
    later = NOW + timedelta(minutes=15)
    assert ids(gate(RANKED, 1, [WINDOW], later, budget=BUDGET, budget_states=states).call) == ["a"]


def test_under_the_budget_a_practice_is_called_and_no_limit_means_none() -> None:
    states = {phone("a"): BudgetState(2, NOW - timedelta(hours=1))}
    assert ids(gate(RANKED, 1, [WINDOW], NOW, budget=BUDGET, budget_states=states).call) == ["a"]
    many = {phone("a"): BudgetState(99, NOW - timedelta(hours=1))}
    assert ids(gate(RANKED, 1, [WINDOW], NOW, budget=NO_BUDGET, budget_states=many).call) == ["a"]


def test_providers_after_the_last_one_called_are_not_reported() -> None:
    decision = gate(RANKED, 1, [WINDOW], NOW, opted_out={phone("e")})
    assert ids(decision.call) == ["a"]
    assert decision.skipped == []


def test_one_number_is_called_once_per_search() -> None:
    twin = replace(make_provider("a-branch"), phone=phone("a"))
    assert ids(gate([RANKED[0], twin, RANKED[1]], 3, [WINDOW], NOW).call) == ["a", "b"]


def test_a_practice_full_for_only_part_of_the_windows_is_called() -> None:
    partly = full("a", WINDOW.start, WINDOW.start + timedelta(hours=2))
    assert ids(gate(RANKED, 1, [WINDOW], NOW, facts={phone("a"): [partly]}).call) == ["a"]
    other_day = TimeWindow(WINDOW.start + timedelta(days=1), WINDOW.end + timedelta(days=1))
    covered = full("a", NOW, WINDOW.end)
    assert ids(gate(RANKED, 1, [WINDOW, other_day], NOW, facts={phone("a"): [covered]}).call) == ["a"]


def test_facts_that_together_cover_the_windows_skip_the_practice() -> None:
    mid = WINDOW.start + timedelta(hours=2)
    facts = [full("a", mid, WINDOW.end), full("a", WINDOW.start - timedelta(hours=1), mid)]
    assert known_nothing_free([WINDOW], facts, NOW) == WINDOW.end


def test_an_expired_fact_is_not_believed() -> None:
    old = full("a", NOW, WINDOW.end, learned=NOW - timedelta(hours=3))  # lived two hours
    assert ids(gate(RANKED, 1, [WINDOW], NOW, facts={phone("a"): [old]}).call) == ["a"]


def test_nothing_free_before_a_day_covers_every_window_up_to_it() -> None:
    fact = AvailabilityFact(
        phone("a"), FactKind.NO_SLOT_BEFORE, NOW, NOW + timedelta(hours=2), until=WINDOW.end + timedelta(days=10)
    )
    assert known_nothing_free([WINDOW], [fact], NOW) == WINDOW.end + timedelta(days=10)


def test_a_skip_reads_back_from_its_stored_note() -> None:
    skip = Skipped(RANKED[0], SkipReason.KNOWN_FULL, WINDOW.end)
    note = skip_note(skip)
    assert note.startswith("Not called: ")
    assert read_skip_note(note) == (SkipReason.KNOWN_FULL, WINDOW.end)
    assert read_skip_note(skip_note(Skipped(RANKED[0], SkipReason.OPTED_OUT))) == (SkipReason.OPTED_OUT, None)
    assert read_skip_note("The call took too long.") is None
    assert read_skip_note(None) is None


@pytest.mark.parametrize(
    ("written", "stored"),
    [("+49 30 1234-567", "+49301234567"), ("0049 (30) 1234567", "+49301234567"), ("+4930.1234567", "+49301234567")],
)
def test_numbers_are_stored_in_international_form(written: str, stored: str) -> None:
    assert normalise_phone(written) == stored


@pytest.mark.parametrize("written", ["030 1234567", "", "+49 30 abc", "12"])
def test_a_number_without_country_code_is_refused_with_a_sentence(written: str) -> None:
    with pytest.raises(InvalidRequest, match="international form"):
        normalise_phone(written)


def test_logged_numbers_are_masked() -> None:
    assert mask_phone("+49301234567") == "+4930*****67"
    assert "1234" not in mask_phone("+49301234567")


def test_the_budget_day_is_the_practices_day() -> None:
    # 23:30 UTC on Nov 30 is already Dec 1 in Berlin: a call then counts for Dec 1 there.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert str(practice_day(late, "Europe/Berlin")) == "2026-12-01"
    assert str(practice_day(late, "America/New_York")) == "2026-11-30"


def test_a_practice_that_asked_to_be_called_after_the_deadline_is_not_called() -> None:
    deadline = NOW + timedelta(minutes=20)
    after_eight = AvailabilityFact(
        phone("a"), FactKind.CALL_BACK_AFTER, NOW, NOW + timedelta(hours=12), until=NOW + timedelta(hours=11)
    )
    soon = AvailabilityFact(
        phone("b"), FactKind.CALL_BACK_AFTER, NOW, NOW + timedelta(minutes=10), until=NOW + timedelta(minutes=10)
    )
    decision = gate(RANKED, 2, [WINDOW], NOW, facts={phone("a"): [after_eight], phone("b"): [soon]}, deadline=deadline)
    assert ids(decision.call) == ["b", "c"]  # b may be called within the search
    assert decision.skipped == [Skipped(RANKED[0], SkipReason.CALL_BACK_LATER, NOW + timedelta(hours=11))]
    assert read_skip_note(skip_note(decision.skipped[0])) == (SkipReason.CALL_BACK_LATER, NOW + timedelta(hours=11))
