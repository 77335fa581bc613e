"""Notifications as outbox rows: each kind of ``domain.notifications`` to JSON and back.

The entities a notification carries (campaign, offers, appointment) are stored with the same column
values their own tables use (``storage.mapping``), datetimes as UTC ISO text, so a message reads back
equal to what was queued. ``CampaignProgress`` is never stored: the outbox keeps ``CallsChanged`` and the
live view is drawn at delivery.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from domain.loop import UserQuestion
from domain.models import Appointment, Campaign, Offer
from domain.notifications import (
    AppointmentCancelled,
    AppointmentReminder,
    Booked,
    CallsChanged,
    CampaignCancelled,
    CampaignFailed,
    ConfirmationRetrying,
    HandoverStarting,
    Notification,
    PassedOver,
    QuestionAsked,
    RoundEvent,
    RoundNews,
    ShortlistReady,
    SlotGone,
    TranscriptChanged,
)
from storage import mapping
from storage.orm import AppointmentRow, Base, CampaignRow, OfferRow
from storage.types import UtcDateTime

RowT = TypeVar("RowT", bound=Base)


def to_json(notification: Notification) -> tuple[str, dict[str, Any]]:
    """``(kind, payload)`` of a notification; raises ``ValueError`` for a kind the outbox does not keep."""
    match notification:
        case CallsChanged(campaign_id=campaign_id):
            return "calls_changed", {"campaign_id": campaign_id}
        case ShortlistReady(campaign=campaign, shortlist=offers, passed_over=passed_over):
            payload: dict[str, Any] = {"campaign": _campaign(campaign), "shortlist": [_offer(o) for o in offers]}
            if passed_over:
                payload["passed_over"] = [
                    [p.provider_name, p.reason, p.until.isoformat() if p.until else None] for p in passed_over
                ]
            return "shortlist_ready", payload
        case CampaignFailed(campaign=campaign):
            return "campaign_failed", {"campaign": _campaign(campaign)}
        case CampaignCancelled(campaign=campaign):
            return "campaign_cancelled", {"campaign": _campaign(campaign)}
        case Booked(campaign=campaign, appointment=appointment):
            return "booked", {"campaign": _campaign(campaign), "appointment": _appointment(appointment)}
        case SlotGone(campaign=campaign, offer=offer, shortlist=offers):
            return "slot_gone", {
                "campaign": _campaign(campaign),
                "offer": _offer(offer),
                "shortlist": [_offer(o) for o in offers],
            }
        case ConfirmationRetrying(campaign=campaign, offer=offer, attempt=attempt, retry_at=retry_at):
            return "confirmation_retrying", {
                "campaign": _campaign(campaign),
                "offer": _offer(offer),
                "attempt": attempt,
                "retry_at": retry_at.isoformat(),
            }
        case AppointmentCancelled(appointment=appointment):
            return "appointment_cancelled", {"appointment": _appointment(appointment)}
        case AppointmentReminder(appointment=appointment, lead=lead):
            return "appointment_reminder", {
                "appointment": _appointment(appointment),
                "lead_seconds": lead.total_seconds(),
            }
        case QuestionAsked(question=question, language=language):
            return "question_asked", {"question": _question(question), "language": language}
        case HandoverStarting(call_id=call_id, provider_name=provider_name, about=about, language=language):
            return "handover_starting", {
                "call_id": call_id,
                "provider_name": provider_name,
                "about": about,
                "language": language,
            }
        case TranscriptChanged(call_id=call_id):
            return "transcript_changed", {"call_id": call_id}
        case RoundNews():
            return "round_news", {
                "event": notification.event.value,
                "campaign": _campaign(notification.campaign),
                "tag": notification.tag,
                "offers": [_offer(o) for o in notification.offers],
                "appointment": None if notification.appointment is None else _appointment(notification.appointment),
                "at": None if notification.at is None else notification.at.isoformat(),
                "waitlisted": list(notification.waitlisted),
                "reason": notification.reason,
            }
    raise ValueError(f"{type(notification).__name__} is not kept in the outbox.")


def from_json(kind: str, payload: dict[str, Any]) -> Notification:
    """The notification ``to_json`` turned into ``(kind, payload)``."""
    match kind:
        case "calls_changed":
            return CallsChanged(str(payload["campaign_id"]))
        case "shortlist_ready":
            passed_over = tuple(
                PassedOver(name, reason, datetime.fromisoformat(until) if until else None)
                for name, reason, until in payload.get("passed_over", [])
            )
            return ShortlistReady(
                _to_campaign(payload["campaign"]), [_to_offer(o) for o in payload["shortlist"]], passed_over
            )
        case "campaign_failed":
            return CampaignFailed(_to_campaign(payload["campaign"]))
        case "campaign_cancelled":
            return CampaignCancelled(_to_campaign(payload["campaign"]))
        case "booked":
            return Booked(_to_campaign(payload["campaign"]), _to_appointment(payload["appointment"]))
        case "slot_gone":
            return SlotGone(
                _to_campaign(payload["campaign"]),
                _to_offer(payload["offer"]),
                [_to_offer(o) for o in payload["shortlist"]],
            )
        case "confirmation_retrying":
            return ConfirmationRetrying(
                _to_campaign(payload["campaign"]),
                _to_offer(payload["offer"]),
                int(payload["attempt"]),
                datetime.fromisoformat(str(payload["retry_at"])),
            )
        case "appointment_cancelled":
            return AppointmentCancelled(_to_appointment(payload["appointment"]))
        case "appointment_reminder":
            return AppointmentReminder(
                _to_appointment(payload["appointment"]), timedelta(seconds=float(payload["lead_seconds"]))
            )
        case "question_asked":
            return QuestionAsked(_to_question(payload["question"]), str(payload["language"]))
        case "handover_starting":
            return HandoverStarting(
                str(payload["call_id"]), str(payload["provider_name"]), str(payload["about"]), str(payload["language"])
            )
        case "transcript_changed":
            return TranscriptChanged(str(payload["call_id"]))
        case "round_news":
            return RoundNews(
                RoundEvent(payload["event"]),
                _to_campaign(payload["campaign"]),
                str(payload["tag"]),
                [_to_offer(o) for o in payload["offers"]],
                None if payload["appointment"] is None else _to_appointment(payload["appointment"]),
                None if payload["at"] is None else datetime.fromisoformat(str(payload["at"])),
                [str(w) for w in payload["waitlisted"]],
                str(payload["reason"]),
            )
    raise ValueError(f"Unknown outbox message kind {kind!r}.")


def _json_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}


def _row(row_class: type[RowT], data: dict[str, Any]) -> RowT:
    """A detached row of ``row_class`` from ``_json_values`` output (datetime columns parsed back)."""
    columns = row_class.__table__.columns
    values = {
        name: datetime.fromisoformat(value)
        if value is not None and isinstance(columns[name].type, UtcDateTime)
        else value
        for name, value in data.items()
    }
    return row_class(**values)


def _campaign(campaign: Campaign) -> dict[str, Any]:
    return _json_values({**mapping.campaign_values(campaign), "version": campaign.version})


def _to_campaign(data: dict[str, Any]) -> Campaign:
    return mapping.campaign_from_row(_row(CampaignRow, data))


def _offer(offer: Offer) -> dict[str, Any]:
    return _json_values(mapping.offer_values(offer))


def _to_offer(data: dict[str, Any]) -> Offer:
    return mapping.offer_from_row(_row(OfferRow, data))


def _appointment(appointment: Appointment) -> dict[str, Any]:
    return _json_values(mapping.appointment_values(appointment))


def _to_appointment(data: dict[str, Any]) -> Appointment:
    return mapping.appointment_from_row(_row(AppointmentRow, data))


def _question(question: UserQuestion) -> dict[str, Any]:
    return {
        "id": question.id,
        "call_id": question.call_id,
        "campaign_id": question.campaign_id,
        "user_id": question.user_id,
        "provider_name": question.provider_name,
        "question": question.question,
        "topic": question.topic,
        "choices": list(question.choices),
        "why": question.why,
        "asked_at": question.asked_at.isoformat(),
    }


def _to_question(data: dict[str, Any]) -> UserQuestion:
    return UserQuestion(
        id=str(data["id"]),
        call_id=str(data["call_id"]),
        campaign_id=str(data["campaign_id"]),
        user_id=int(data["user_id"]),
        provider_name=str(data["provider_name"]),
        question=str(data["question"]),
        topic=str(data["topic"]),
        choices=tuple(str(c) for c in data["choices"]),
        why=str(data["why"]),
        asked_at=datetime.fromisoformat(str(data["asked_at"])),
    )
