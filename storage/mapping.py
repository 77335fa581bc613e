"""Translation between the domain dataclasses and the rows of ``storage.orm``.

Value objects stored in JSON columns (windows, places, weights, provider snapshots, transcripts) are
written with UTC ISO timestamps and plain numbers, so they read back equal to what was written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.follow_ups import FollowUp, FollowUpKind, FollowUpStatus, PlannedCall, PlanReason
from domain.models import (
    Appointment,
    AppointmentStatus,
    CalendarLink,
    CallOutcome,
    CallPurpose,
    CallStatus,
    CallTask,
    Campaign,
    CampaignStatus,
    ChatSession,
    GeoPoint,
    Offer,
    OfferGrounding,
    OfferStatus,
    Provider,
    Reminder,
    TimeWindow,
    Turn,
    User,
    Weights,
)
from domain.opening_hours import opening_hours_from_spec
from storage.orm import (
    AppointmentRow,
    CalendarLinkRow,
    CallTaskRow,
    CampaignRow,
    ChatSessionRow,
    FollowUpRow,
    OfferRow,
    ReminderRow,
    UserRow,
)

# The columns of a row read without the ORM (``storage.statements``): a named tuple with the same names.
Fields = Any

# --- value objects ---------------------------------------------------------------------------------


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def point_to_json(point: GeoPoint) -> dict[str, Any]:
    return {"lat": point.lat, "lng": point.lng, "label": point.label}


def point_from_json(data: dict[str, Any]) -> GeoPoint:
    return GeoPoint(lat=data["lat"], lng=data["lng"], label=data.get("label"))


def weights_to_json(weights: Weights) -> dict[str, Any]:
    return {"earliest": weights.earliest, "rating": weights.rating, "distance": weights.distance}


def weights_from_json(data: dict[str, Any]) -> Weights:
    return Weights(earliest=data["earliest"], rating=data["rating"], distance=data["distance"])


def windows_to_json(windows: list[TimeWindow]) -> list[Any]:
    return [[_instant(w.start), _instant(w.end)] for w in windows]


def windows_from_json(data: list[Any]) -> list[TimeWindow]:
    return [TimeWindow(_parse_instant(start), _parse_instant(end)) for start, end in data]


def provider_to_json(provider: Provider) -> dict[str, Any]:
    return {
        "id": provider.id,
        "name": provider.name,
        "service": provider.service,
        "phone": provider.phone,
        "location": point_to_json(provider.location),
        "address": provider.address,
        "rating": provider.rating,
        "review_count": provider.review_count,
        "opening_hours": None if provider.opening_hours is None else provider.opening_hours.as_spec(),
    }


def provider_from_json(data: dict[str, Any]) -> Provider:
    return Provider(
        id=data["id"],
        name=data["name"],
        service=data["service"],
        phone=data["phone"],
        location=point_from_json(data["location"]),
        address=data["address"],
        rating=data["rating"],
        review_count=data["review_count"],
        # rows written before opening hours were known carry no key: hours unknown
        opening_hours=None if data.get("opening_hours") is None else opening_hours_from_spec(data["opening_hours"]),
    )


def transcript_to_json(turns: list[Turn]) -> list[Any]:
    return [{"speaker": t.speaker, "text": t.text, "at": _instant(t.at)} for t in turns]


def transcript_from_json(data: list[Any]) -> list[Turn]:
    return [Turn(speaker=t["speaker"], text=t["text"], at=_parse_instant(t["at"])) for t in data]


# --- entities: each has ``*_values`` (column values for insert/update) and ``*_from_row`` -------------


def user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "timezone": user.timezone,
        "home": None if user.home is None else point_to_json(user.home),
        "weights": weights_to_json(user.weights),
        "radius_km": user.radius_km,
        "reminders_enabled": user.reminders_enabled,
        "language": user.language,
        "display_name": user.display_name,
    }


def user_from_row(row: UserRow) -> User:
    return User(
        id=row.id,
        timezone=row.timezone,
        home=None if row.home is None else point_from_json(row.home),
        weights=weights_from_json(row.weights),
        radius_km=row.radius_km,
        reminders_enabled=row.reminders_enabled,
        language=row.language,
        display_name=row.display_name,
    )


def campaign_values(campaign: Campaign) -> dict[str, Any]:
    """Every column except ``version``, which the repository owns."""
    return {
        "id": campaign.id,
        "user_id": campaign.user_id,
        "service": campaign.service,
        "windows": windows_to_json(campaign.windows),
        "location": point_to_json(campaign.location),
        "timezone": campaign.timezone,
        "created_at": campaign.created_at,
        "deadline_at": campaign.deadline_at,
        "request_text": campaign.request_text,
        "language": campaign.language,
        "duration_minutes": campaign.duration_minutes,
        "radius_km": campaign.radius_km,
        "weights": weights_to_json(campaign.weights),
        "max_calls": campaign.max_calls,
        "status": campaign.status.value,
        "failure_reason": campaign.failure_reason,
        "chosen_offer_id": campaign.chosen_offer_id,
        "updated_at": campaign.updated_at,
        "expert_answers": dict(campaign.answers) or None,
        "fanout_reserve": [provider_to_json(p) for p in campaign.reserve] or None,
    }


def campaign_from_row(row: CampaignRow | Fields) -> Campaign:
    return Campaign(
        id=row.id,
        user_id=row.user_id,
        service=row.service,
        windows=windows_from_json(row.windows),
        location=point_from_json(row.location),
        timezone=row.timezone,
        created_at=row.created_at,
        deadline_at=row.deadline_at,
        request_text=row.request_text,
        language=row.language,
        duration_minutes=row.duration_minutes,
        radius_km=row.radius_km,
        weights=weights_from_json(row.weights),
        max_calls=row.max_calls,
        status=CampaignStatus(row.status),
        failure_reason=row.failure_reason,
        chosen_offer_id=row.chosen_offer_id,
        updated_at=row.updated_at,
        version=row.version,
        answers={str(k): str(v) for k, v in (row.expert_answers or {}).items()},
        reserve=[provider_from_json(p) for p in row.fanout_reserve or ()],
    )


def call_values(call: CallTask) -> dict[str, Any]:
    """Every column except ``version`` and the insertion sequence."""
    return {
        "id": call.id,
        "campaign_id": call.campaign_id,
        "provider": provider_to_json(call.provider),
        "purpose": call.purpose.value,
        "token_hash": call.token_hash,
        "created_at": call.created_at,
        "timeout_at": call.timeout_at,
        "status": call.status.value,
        "outcome": None if call.outcome is None else call.outcome.value,
        "target_offer_id": call.target_offer_id,
        "target_appointment_id": call.target_appointment_id,
        "conversation_id": call.conversation_id,
        "call_sid": call.call_sid,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "summary": call.summary,
        "failure_reason": call.failure_reason,
        "transcript": transcript_to_json(call.transcript),
        "not_before": call.not_before,
        "details_forgotten_at": call.details_forgotten_at,
        "call_back_at": call.call_back_at,
        "round_no": call.round_no,
    }


def call_from_row(row: CallTaskRow | Fields) -> CallTask:
    return CallTask(
        id=row.id,
        campaign_id=row.campaign_id,
        provider=provider_from_json(row.provider),
        purpose=CallPurpose(row.purpose),
        token_hash=row.token_hash,
        created_at=row.created_at,
        timeout_at=row.timeout_at,
        status=CallStatus(row.status),
        outcome=None if row.outcome is None else CallOutcome(row.outcome),
        target_offer_id=row.target_offer_id,
        target_appointment_id=row.target_appointment_id,
        conversation_id=row.conversation_id,
        call_sid=row.call_sid,
        started_at=row.started_at,
        ended_at=row.ended_at,
        summary=row.summary,
        failure_reason=row.failure_reason,
        transcript=transcript_from_json(row.transcript),
        not_before=row.not_before,
        version=row.version,
        details_forgotten_at=row.details_forgotten_at,
        call_back_at=row.call_back_at,
        round_no=row.round_no or 0,
    )


def offer_values(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "campaign_id": offer.campaign_id,
        "call_task_id": offer.call_task_id,
        "provider_id": offer.provider_id,
        "provider_name": offer.provider_name,
        "start_at": offer.start,
        "end_at": offer.end,
        "score": offer.score,
        "rating": offer.rating,
        "distance_km": offer.distance_km,
        "created_at": offer.created_at,
        "notes": offer.notes,
        "status": offer.status.value,
        "grounding": offer.grounding.value,
        "grounding_evidence": offer.grounding_evidence,
    }


def offer_from_row(row: OfferRow | Fields) -> Offer:
    return Offer(
        id=row.id,
        campaign_id=row.campaign_id,
        call_task_id=row.call_task_id,
        provider_id=row.provider_id,
        provider_name=row.provider_name,
        start=row.start_at,
        end=row.end_at,
        score=row.score,
        rating=row.rating,
        distance_km=row.distance_km,
        created_at=row.created_at,
        notes=row.notes,
        status=OfferStatus(row.status),
        grounding=OfferGrounding(row.grounding),
        grounding_evidence=row.grounding_evidence,
    )


def appointment_values(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "user_id": appointment.user_id,
        "campaign_id": appointment.campaign_id,
        "offer_id": appointment.offer_id,
        "provider": provider_to_json(appointment.provider),
        "start_at": appointment.start,
        "end_at": appointment.end,
        "created_at": appointment.created_at,
        "status": appointment.status.value,
        "calendar_event_id": appointment.calendar_event_id,
        "sequence": appointment.sequence,
    }


def appointment_from_row(row: AppointmentRow | Fields) -> Appointment:
    return Appointment(
        id=row.id,
        user_id=row.user_id,
        campaign_id=row.campaign_id,
        offer_id=row.offer_id,
        provider=provider_from_json(row.provider),
        start=row.start_at,
        end=row.end_at,
        created_at=row.created_at,
        status=AppointmentStatus(row.status),
        calendar_event_id=row.calendar_event_id,
        sequence=getattr(row, "sequence", 0) or 0,
    )


def reminder_values(reminder: Reminder) -> dict[str, Any]:
    return {
        "id": reminder.id,
        "appointment_id": reminder.appointment_id,
        "user_id": reminder.user_id,
        "due_at": reminder.due_at,
        "lead_minutes": reminder.lead_minutes,
        "sent_at": reminder.sent_at,
        "cancelled": reminder.cancelled,
    }


def reminder_from_row(row: ReminderRow) -> Reminder:
    return Reminder(
        id=row.id,
        appointment_id=row.appointment_id,
        user_id=row.user_id,
        due_at=row.due_at,
        lead_minutes=row.lead_minutes,
        sent_at=row.sent_at,
        cancelled=row.cancelled,
    )


def calendar_link_values(link: CalendarLink) -> dict[str, Any]:
    return {
        "user_id": link.user_id,
        "provider": link.provider,
        "encrypted_token": link.encrypted_token,
        "created_at": link.created_at,
        "calendar_id": link.calendar_id,
    }


def calendar_link_from_row(row: CalendarLinkRow) -> CalendarLink:
    return CalendarLink(
        user_id=row.user_id,
        provider=row.provider,
        encrypted_token=row.encrypted_token,
        created_at=row.created_at,
        calendar_id=row.calendar_id,
    )


def chat_session_values(session: ChatSession) -> dict[str, Any]:
    return {"user_id": session.user_id, "state": session.state, "updated_at": session.updated_at}


def chat_session_from_row(row: ChatSessionRow) -> ChatSession:
    return ChatSession(user_id=row.user_id, state=row.state, updated_at=row.updated_at, version=row.version)


def follow_up_values(follow_up: FollowUp) -> dict[str, Any]:
    """Every column except ``version``."""
    return {
        "campaign_id": follow_up.campaign_id,
        "user_id": follow_up.user_id,
        "kind": follow_up.kind.value,
        "status": follow_up.status.value,
        "until": follow_up.until,
        "created_at": follow_up.created_at,
        "max_rounds": follow_up.max_rounds,
        "rounds_done": follow_up.rounds_done,
        "next_due_at": follow_up.next_due_at,
        "plan": {
            "calls": [
                {
                    "provider": provider_to_json(p.provider),
                    "due_at": p.due_at.astimezone(UTC).isoformat(),
                    "reason": p.reason.value,
                    "waitlisted": p.waitlisted,
                }
                for p in follow_up.plan
            ]
        },
        "appointment_id": follow_up.appointment_id,
    }


def follow_up_from_row(row: FollowUpRow) -> FollowUp:
    return FollowUp(
        campaign_id=row.campaign_id,
        user_id=row.user_id,
        kind=FollowUpKind(row.kind),
        status=FollowUpStatus(row.status),
        until=row.until,
        created_at=row.created_at,
        max_rounds=row.max_rounds,
        rounds_done=row.rounds_done,
        plan=[
            PlannedCall(
                provider=provider_from_json(p["provider"]),
                due_at=datetime.fromisoformat(p["due_at"]),
                reason=PlanReason(p["reason"]),
                waitlisted=bool(p.get("waitlisted", False)),
            )
            for p in row.plan.get("calls", [])
        ],
        appointment_id=row.appointment_id,
        version=row.version,
    )
