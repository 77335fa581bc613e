from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import IllegalTransition, InvalidRequest
from domain.models import (
    KEEP_LOOKING_FLOW,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    GeoPoint,
    TimeWindow,
    can_transition,
)
from tests.factories import make_campaign, make_provider

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

HAPPY_PATH = [
    CampaignStatus.CREATED,
    CampaignStatus.PROVIDER_LOOKUP,
    CampaignStatus.DIALING,
    CampaignStatus.NEGOTIATING,
    CampaignStatus.RANKING,
    CampaignStatus.CONFIRMING,
    CampaignStatus.CONFIRMED,
]


def test_the_happy_path_is_legal_step_by_step() -> None:
    campaign = make_campaign(NOW)
    for target in HAPPY_PATH[1:]:
        campaign.transition(target, NOW)
    assert campaign.status is CampaignStatus.CONFIRMED


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a in CampaignStatus for b in CampaignStatus],
)
def test_only_the_documented_transitions_are_legal(current: CampaignStatus, target: CampaignStatus) -> None:
    forward = {(HAPPY_PATH[i], HAPPY_PATH[i + 1]) for i in range(len(HAPPY_PATH) - 1)}
    expected = (
        (current, target) in forward
        or (current, target) == (CampaignStatus.CONFIRMING, CampaignStatus.RANKING)
        or (current, target) in KEEP_LOOKING_FLOW
        or (not current.is_terminal and target in (CampaignStatus.FAILED, CampaignStatus.CANCELLED))
    )
    assert can_transition(current, target) is expected


def test_an_illegal_transition_raises_and_changes_nothing() -> None:
    campaign = make_campaign(NOW)
    with pytest.raises(IllegalTransition, match="CREATED cannot become RANKING"):
        campaign.transition(CampaignStatus.RANKING, NOW)
    assert campaign.status is CampaignStatus.CREATED


def test_failing_records_a_reason() -> None:
    campaign = make_campaign(NOW)
    campaign.transition(CampaignStatus.FAILED, NOW, "Nobody answered.")
    assert campaign.failure_reason == "Nobody answered."
    with pytest.raises(IllegalTransition):
        campaign.transition(CampaignStatus.CANCELLED, NOW)


def test_a_call_ends_once() -> None:
    call = CallTask(
        campaign_id="c",
        provider=make_provider("p1"),
        purpose="DISCOVER",  # type: ignore[arg-type]
        token_hash="h",
        created_at=NOW,
        timeout_at=NOW + timedelta(minutes=10),
    )
    call.advance(CallStatus.DIALING, NOW)
    call.advance(CallStatus.IN_PROGRESS, NOW)
    call.end(CallStatus.COMPLETED, NOW)
    assert call.outcome == "other"
    with pytest.raises(IllegalTransition):
        call.end(CallStatus.FAILED, NOW)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="no timezone"):
        TimeWindow(datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 10))  # noqa: DTZ001


def test_a_campaign_needs_a_window_and_a_sane_call_limit() -> None:
    with pytest.raises(InvalidRequest):
        Campaign(
            user_id=1,
            service="dentist",
            windows=[],
            location=GeoPoint(52.5, 13.4),
            timezone="Europe/Berlin",
            created_at=NOW,
            deadline_at=NOW,
        )
    with pytest.raises(InvalidRequest, match="between 1 and 15"):
        make_campaign(NOW, max_calls=16)


def test_keep_looking_may_revive_a_failed_search_and_nothing_else_terminal() -> None:
    assert can_transition(CampaignStatus.FAILED, CampaignStatus.WAITING)
    assert not can_transition(CampaignStatus.CONFIRMED, CampaignStatus.WAITING)
    assert not can_transition(CampaignStatus.CANCELLED, CampaignStatus.WAITING)
    assert not can_transition(CampaignStatus.FAILED, CampaignStatus.NEGOTIATING)
    assert not CampaignStatus.WAITING.is_terminal
