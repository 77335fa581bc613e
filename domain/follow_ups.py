"""What happens after a search's first round: keep looking, watch for an earlier slot, reschedule.

A follow-up belongs to one campaign and holds its plan: which provider is called next and when (a call-back
time the desk named, a waiting list, or the next opening, at most once a day). Rounds are started by the
sweep from the database, so a restart loses nothing and any process may start them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from domain.models import CampaignStatus, Provider


class FollowUpKind(enum.StrEnum):
    KEEP_LOOKING = "KEEP_LOOKING"  # rounds until something fits, the windows pass, or the rounds run out
    WATCH = "WATCH"  # after booking: rounds for an earlier slot with better-ranked providers, until a deadline
    REPLACE = "REPLACE"  # a search for a new time (a reschedule the provider could not do): cancel the old one
    # once the new one is booked


class FollowUpStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DONE = "DONE"


# A follow-up is due for its sweep only while its search waits for the next round, or has ended (to close it);
# with a shortlist to look at or a round running it waits.
FOLLOW_UP_READY = frozenset(
    {CampaignStatus.WAITING, CampaignStatus.FAILED, CampaignStatus.CANCELLED, CampaignStatus.CONFIRMED}
)


class PlanReason(enum.StrEnum):
    NEXT_OPENING = "next_opening"
    CALL_BACK = "call_back"
    WAITLIST = "waitlist"


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One provider to call in a later round, and why then."""

    provider: Provider
    due_at: datetime
    reason: PlanReason
    waitlisted: bool = False


@dataclass(slots=True)
class FollowUp:
    campaign_id: str
    user_id: int
    kind: FollowUpKind
    until: datetime
    created_at: datetime
    max_rounds: int = 5
    rounds_done: int = 0
    plan: list[PlannedCall] = field(default_factory=list)
    appointment_id: str | None = None  # WATCH, REPLACE: the booked appointment a new one would replace
    status: FollowUpStatus = FollowUpStatus.ACTIVE
    version: int = 0

    @property
    def next_due_at(self) -> datetime | None:
        if self.status is not FollowUpStatus.ACTIVE or not self.plan:
            return None
        return min(p.due_at for p in self.plan)

    def due(self, now: datetime) -> list[PlannedCall]:
        """The planned calls whose time has come, waitlisted providers first."""
        ready = [p for p in self.plan if p.due_at <= now]
        return sorted(ready, key=lambda p: (not p.waitlisted, p.due_at, p.provider.name))

    @property
    def waitlisted(self) -> list[Provider]:
        return [p.provider for p in self.plan if p.waitlisted]
