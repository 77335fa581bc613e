"""What NEXUS tells a user, as events; the notifier adapter decides how it reads in a chat.

A use case never sends anything: it adds the notification to the outbox (``uow.outbox``) in the same
transaction as the change that causes it, and a dispatcher delivers it later (see ``domain.ports``).
``CallsChanged`` stands for the live view of a campaign's calls: it carries no state, because the live
view is drawn from the calls as they stand when it is delivered, so a burst of changes is one edit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.loop import UserQuestion
from domain.models import Appointment, CallTask, Campaign, Offer, Turn


@dataclass(frozen=True, slots=True)
class CallsChanged:
    """A call of the campaign changed state or an offer came in: the live view is out of date."""

    campaign_id: str


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """The live view's content: the campaign, its calls and offers as they stand at delivery."""

    campaign: Campaign
    calls: list[CallTask]
    offers: list[Offer]


@dataclass(frozen=True, slots=True)
class PassedOver:
    """A provider the search did not call (or that did not want the call): its name, why (a
    ``domain.services.provider_gate.SkipReason`` value) and, when it is known to be full, until when."""

    provider_name: str
    reason: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShortlistReady:
    campaign: Campaign
    shortlist: list[Offer]
    passed_over: tuple[PassedOver, ...] = ()


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


@dataclass(frozen=True, slots=True)
class QuestionAsked:
    """An agent asks the user something mid-call; the user answers with a button or in words."""

    question: UserQuestion
    language: str


@dataclass(frozen=True, slots=True)
class HandoverStarting:
    """The call with ``provider_name`` is about to be put through to the user's phone, about ``about``."""

    call_id: str
    provider_name: str
    about: str
    language: str


@dataclass(frozen=True, slots=True)
class TranscriptChanged:
    """A call somebody follows said something new: its "Listen" view is out of date (drawn at delivery)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallTranscript:
    """The "Listen" view's content: the call and what was said so far, as it stands at delivery."""

    campaign: Campaign
    call: CallTask
    turns: list[Turn]
    message_id: int | None = None


class RoundEvent(enum.StrEnum):
    LOOKING = "looking"  # keep looking started: when the next round is and who may phone the user directly
    FOUND = "found"  # a later round found something new that fits: the shortlist, with the new offers in it
    EARLIER = "earlier"  # watching for an earlier slot found one: Swap or Keep mine
    STOPPED = "stopped"  # no more rounds (windows passed, rounds or minutes used up, the watch's deadline)
    MOVED = "moved"  # a reschedule call moved the appointment
    RESCHEDULE_SEARCH = "reschedule_search"  # the provider could not move it: searching others, keeping it


@dataclass(frozen=True, slots=True)
class RoundNews:
    """What the rounds after a search's first one tell the user. ``tag`` makes each piece of news one message
    (the round number, an offer id); ``offers``: the shortlist or the earlier slot; ``appointment``: the one
    booked (watch, reschedule); ``at``: the next round; ``waitlisted``: providers whose waiting list the user
    is on ("name, phone"), who may phone the user directly; ``reason``: why the rounds stopped."""

    event: RoundEvent
    campaign: Campaign
    tag: str
    offers: list[Offer] = field(default_factory=list)
    appointment: Appointment | None = None
    at: datetime | None = None
    waitlisted: list[str] = field(default_factory=list)
    reason: str = ""


Notification = (
    CallsChanged
    | CampaignProgress
    | ShortlistReady
    | CampaignFailed
    | CampaignCancelled
    | Booked
    | SlotGone
    | ConfirmationRetrying
    | AppointmentCancelled
    | AppointmentReminder
    | QuestionAsked
    | HandoverStarting
    | TranscriptChanged
    | CallTranscript
    | RoundNews
)


def idempotency_key(notification: Notification) -> str | None:
    """The key under which the outbox keeps ``notification`` once: the same event queued twice (a retried
    use case, two processes settling one campaign) is one message. ``None``: every one is its own message
    (live-view refreshes, which are folded at delivery instead)."""
    match notification:
        case ShortlistReady(campaign=campaign):
            return f"shortlist:{campaign.id}"
        case CampaignFailed(campaign=campaign):
            return f"failed:{campaign.id}"
        case CampaignCancelled(campaign=campaign):
            return f"cancelled:{campaign.id}"
        case Booked(appointment=appointment):
            return f"booked:{appointment.id}"
        case SlotGone(offer=offer):
            return f"slot-gone:{offer.id}"
        case ConfirmationRetrying(offer=offer, attempt=attempt):
            return f"confirmation-retrying:{offer.id}:{attempt}"
        case AppointmentCancelled(appointment=appointment):
            return f"appointment-cancelled:{appointment.id}"
        case AppointmentReminder(appointment=appointment, lead=lead):
            return f"reminder:{appointment.id}:{int(lead.total_seconds() // 60)}"
        case QuestionAsked(question=question):
            return f"question:{question.id}"
        case HandoverStarting(call_id=call_id):
            return f"handover:{call_id}"
        case RoundNews(event=event, campaign=campaign, tag=tag):
            return f"round:{event.value}:{campaign.id}:{tag}"
    return None


def finishes_live_view(notification: Notification) -> str | None:
    """The campaign whose live view ``notification`` draws for the last time (the shortlist, a failed or
    cancelled search show how the calls ended): a refresh queued right before it need not be sent."""
    match notification:
        case (
            ShortlistReady(campaign=campaign) | CampaignFailed(campaign=campaign) | CampaignCancelled(campaign=campaign)
        ):
            return campaign.id
    return None


def folding_key(notification: Notification) -> str | None:
    """Messages of one chat with the same folding key, queued one after another, are delivered as one."""
    if isinstance(notification, CallsChanged):
        return f"calls:{notification.campaign_id}"
    if isinstance(notification, TranscriptChanged):
        return f"listen:{notification.call_id}"
    return None
