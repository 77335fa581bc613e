"""What NEXUS tells a user, as events; the notifier adapter decides how it reads in a chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.models import Appointment, CallTask, Campaign, Offer


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """A call of the campaign changed state or an offer came in."""

    campaign: Campaign
    calls: list[CallTask]
    offers: list[Offer]


@dataclass(frozen=True, slots=True)
class ShortlistReady:
    campaign: Campaign
    shortlist: list[Offer]


@dataclass(frozen=True, slots=True)
class CampaignFailed:
    campaign: Campaign


@dataclass(frozen=True, slots=True)
class CampaignCancelled:
    campaign: Campaign


@dataclass(frozen=True, slots=True)
class Booked:
    campaign: Campaign
    appointment: Appointment


@dataclass(frozen=True, slots=True)
class SlotGone:
    """The chosen slot could not be booked; the campaign is back to ``RANKING`` with ``shortlist``."""

    campaign: Campaign
    offer: Offer
    shortlist: list[Offer]


@dataclass(frozen=True, slots=True)
class ConfirmationRetrying:
    """The confirmation call for ``offer`` did not get through (busy, no answer, a network failure); NEXUS
    tries again at ``retry_at``, its try number ``attempt``. The campaign stays ``CONFIRMING``."""

    campaign: Campaign
    offer: Offer
    attempt: int
    retry_at: datetime


@dataclass(frozen=True, slots=True)
class AppointmentCancelled:
    appointment: Appointment


@dataclass(frozen=True, slots=True)
class AppointmentReminder:
    appointment: Appointment
    lead: timedelta


Notification = (
    CampaignProgress
    | ShortlistReady
    | CampaignFailed
    | CampaignCancelled
    | Booked
    | SlotGone
    | ConfirmationRetrying
    | AppointmentCancelled
    | AppointmentReminder
)
