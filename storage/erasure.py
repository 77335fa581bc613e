"""Deleting personal data: what the retention job forgets about old calls, and everything of one user.

Both are plain statements on the session of the caller's unit of work, so they commit or roll back with it.
A table added later that holds call or user data gets its ``delete`` here (``forget_call_details`` for what
a call's transcript consists of, ``erase_user`` for anything keyed by a user or a campaign).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from storage.orm import (
    AppointmentRow,
    CalendarLinkRow,
    CallListenerRow,
    CallTaskRow,
    CallTurnRow,
    CampaignRow,
    ChatSessionRow,
    FollowUpRow,
    InstructionReadRow,
    InstructionRow,
    OfferRow,
    OutboxRow,
    ReminderRow,
    UserProfileRow,
    UserQuestionRow,
    UserRow,
)
from storage.transaction import Transaction


async def forget_call_details(session: Transaction, ended_before: datetime, now: datetime, limit: int) -> int:
    """Clear the transcript and summary of up to ``limit`` calls that ended before ``ended_before`` and still
    have them; the call's provider, times, status and outcome (and its offers' slots) stay. Returns how many.

    The version goes up, so a unit of work that read such a call before and saves it now starts again."""
    due = (
        select(CallTaskRow.id)
        .where(CallTaskRow.details_forgotten_at.is_(None), CallTaskRow.ended_at < ended_before)
        .limit(limit)
    )
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return 0
    # Checked again in the update: a job in another process may have cleared some since they were read.
    result = await session.execute(
        update(CallTaskRow)
        .where(CallTaskRow.id.in_(ids), CallTaskRow.details_forgotten_at.is_(None))
        .values(transcript=[], summary=None, details_forgotten_at=now, version=CallTaskRow.version + 1)
    )
    # What else holds the call's words: its live turns, the questions its receptionist had for the user, and
    # the receptionist's words that verified an offer (the offer's slot and mark stay).
    await session.execute(delete(CallTurnRow).where(CallTurnRow.call_id.in_(ids)))
    await session.execute(delete(UserQuestionRow).where(UserQuestionRow.call_id.in_(ids)))
    await session.execute(update(OfferRow).where(OfferRow.call_task_id.in_(ids)).values(grounding_evidence=None))
    return int(result.rowcount)


async def erase_user(session: Transaction, user_id: int) -> None:
    """Delete every row about ``user_id``: messages not yet sent, chat state, calendar link, reminders,
    appointments, offers, calls, searches with their later rounds, and the profile (children first, so no
    foreign key is needed)."""
    campaigns = select(CampaignRow.id).where(CampaignRow.user_id == user_id).scalar_subquery()
    calls = select(CallTaskRow.id).where(CallTaskRow.campaign_id.in_(campaigns)).scalar_subquery()
    await session.execute(delete(CallTurnRow).where(CallTurnRow.call_id.in_(calls)))
    await session.execute(delete(CallListenerRow).where(CallListenerRow.user_id == user_id))
    await session.execute(delete(InstructionReadRow).where(InstructionReadRow.call_id.in_(calls)))
    await session.execute(delete(InstructionRow).where(InstructionRow.campaign_id.in_(campaigns)))
    await session.execute(delete(UserQuestionRow).where(UserQuestionRow.user_id == user_id))
    await session.execute(delete(UserProfileRow).where(UserProfileRow.user_id == user_id))
    await session.execute(delete(FollowUpRow).where(FollowUpRow.user_id == user_id))
    await session.execute(delete(OutboxRow).where(OutboxRow.user_id == user_id))
    await session.execute(delete(ChatSessionRow).where(ChatSessionRow.user_id == user_id))
    await session.execute(delete(CalendarLinkRow).where(CalendarLinkRow.user_id == user_id))
    await session.execute(delete(ReminderRow).where(ReminderRow.user_id == user_id))
    await session.execute(delete(AppointmentRow).where(AppointmentRow.user_id == user_id))
    await session.execute(delete(OfferRow).where(OfferRow.campaign_id.in_(campaigns)))
    await session.execute(delete(CallTaskRow).where(CallTaskRow.campaign_id.in_(campaigns)))
    await session.execute(delete(CampaignRow).where(CampaignRow.user_id == user_id))
    await session.execute(delete(UserRow).where(UserRow.id == user_id))
