"""The statements of the tool requests' hot path, built once as SQLAlchemy Core and read without the ORM.

A tool request reads its call, the call's campaign and the user's booked appointments. One statement
does all three (the call joined to its campaign and, left outer, to the user's booked appointments that
end after the campaign was created); its rows become domain objects through ``storage.mapping`` without
loading ORM objects. Statements here are module constants with bound parameters, so a request neither
rebuilds an expression nor misses SQLAlchemy's compiled-statement cache.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Select, String, Table, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from domain.models import AppointmentStatus, OfferStatus
from domain.scoring import UNKNOWN_RATING
from storage.orm import AppointmentRow, CallTaskRow, CampaignRow, OfferRow, OutboxRow

calls: Table = CallTaskRow.__table__  # type: ignore[assignment]
campaigns: Table = CampaignRow.__table__  # type: ignore[assignment]
appointments: Table = AppointmentRow.__table__  # type: ignore[assignment]
offers: Table = OfferRow.__table__  # type: ignore[assignment]
outbox: Table = OutboxRow.__table__  # type: ignore[assignment]


def _columns(table: Table, prefix: str) -> list[Any]:
    return [column.label(f"{prefix}{column.key}") for column in table.columns]


def _fields(table: Table) -> Any:
    """A named tuple of the table's columns, readable by the ``*_from_row`` functions of ``storage.mapping``."""
    return namedtuple(f"{table.name}_fields", [column.key for column in table.columns])


CallFields = _fields(calls)
CampaignFields = _fields(campaigns)
AppointmentFields = _fields(appointments)
OfferFields = _fields(offers)

_CALL_END = len(calls.columns)
_CAMPAIGN_END = _CALL_END + len(campaigns.columns)


def _call_with_campaign(where: Any) -> Select[Any]:
    booked = and_(
        appointments.c.user_id == campaigns.c.user_id,
        appointments.c.status == AppointmentStatus.BOOKED.value,
        appointments.c.end_at > campaigns.c.created_at,
    )
    joined = calls.join(campaigns, calls.c.campaign_id == campaigns.c.id).outerjoin(appointments, booked)
    return (
        select(*_columns(calls, "call_"), *_columns(campaigns, "campaign_"), *_columns(appointments, "appointment_"))
        .select_from(joined)
        .where(where)
        .order_by(appointments.c.start_at, appointments.c.id)
    )


CALL_BY_ID = _call_with_campaign(calls.c.id == bindparam("key"))
CALL_BY_TOKEN_HASH = _call_with_campaign(calls.c.token_hash == bindparam("key"))


def split_call_rows(rows: Sequence[Sequence[Any]]) -> tuple[Any, Any, list[Any]] | None:
    """The call's, its campaign's and every joined appointment's fields from the rows of ``CALL_BY_*``."""
    if not rows:
        return None
    first = tuple(rows[0])
    call = CallFields._make(first[:_CALL_END])
    campaign = CampaignFields._make(first[_CALL_END:_CAMPAIGN_END])
    booked = [AppointmentFields._make(tuple(row)[_CAMPAIGN_END:]) for row in rows if row[_CAMPAIGN_END] is not None]
    return call, campaign, booked


OFFER_BY_CALL_AND_START = select(*offers.columns).where(
    offers.c.call_task_id == bindparam("call_task_id"), offers.c.start_at == bindparam("start_at")
)


def _offer_with_standing() -> Select[Any]:
    """An offer found by call and start, with its standing among the campaign's offers (one statement)."""
    mine = offers.alias("mine")
    rating = func.coalesce(offers.c.rating, UNKNOWN_RATING)
    my_rating = func.coalesce(mine.c.rating, UNKNOWN_RATING)
    ahead = or_(
        offers.c.score > mine.c.score,
        and_(offers.c.score == mine.c.score, offers.c.start_at < mine.c.start_at),
        and_(offers.c.score == mine.c.score, offers.c.start_at == mine.c.start_at, rating > my_rating),
        and_(
            offers.c.score == mine.c.score,
            offers.c.start_at == mine.c.start_at,
            rating == my_rating,
            offers.c.provider_name < mine.c.provider_name,
        ),
    )
    offered = offers.c.status == OfferStatus.OFFERED.value
    total = (
        select(func.count())
        .where(offers.c.campaign_id == mine.c.campaign_id, offered)
        .scalar_subquery()
        .label("standing_total")
    )
    better = (
        select(func.count())
        .where(offers.c.campaign_id == mine.c.campaign_id, offered, ahead)
        .scalar_subquery()
        .label("standing_ahead")
    )
    return select(*mine.columns, total, better).where(
        mine.c.call_task_id == bindparam("call_task_id"), mine.c.start_at == bindparam("start_at")
    )


OFFER_WITH_STANDING = _offer_with_standing()


def _standing() -> Select[Any]:
    """The other offered offers of a campaign, and those of them ranked ahead of the offer given by its values.

    The offer itself is left out, so the answer is the same before it is stored and after: a new offer's
    standing is read ahead of the transaction that stores it (on SQLite, outside the writer's turn)."""
    rating = func.coalesce(offers.c.rating, UNKNOWN_RATING)
    score, mine = bindparam("score", type_=Float()), bindparam("rating", type_=Float())
    start = bindparam("start_at", type_=offers.c.start_at.type)
    name = bindparam("provider_name", type_=String())
    ahead = or_(
        offers.c.score > score,
        and_(offers.c.score == score, offers.c.start_at < start),
        and_(offers.c.score == score, offers.c.start_at == start, rating > mine),
        and_(offers.c.score == score, offers.c.start_at == start, rating == mine, offers.c.provider_name < name),
    )
    return select(func.count(), func.coalesce(func.sum(case((ahead, 1), else_=0)), 0)).where(
        offers.c.campaign_id == bindparam("campaign_id"),
        offers.c.status == OfferStatus.OFFERED.value,
        offers.c.id != bindparam("offer_id", type_=String()),
    )


STANDING = _standing()
_OFFER_END = len(offers.columns)


def split_offer_row(row: Sequence[Any]) -> tuple[Any, int, int]:
    """The offer's fields, and how many offers are ahead of it and in all, from a row of ``OFFER_WITH_STANDING``."""
    values = tuple(row)
    return OfferFields._make(values[:_OFFER_END]), int(values[_OFFER_END + 1]), int(values[_OFFER_END])


def _offer_insert_if_absent() -> dict[str, Any]:
    """Per dialect: ``INSERT INTO offers ... ON CONFLICT (call_task_id, start_at) DO NOTHING RETURNING id``.

    A conflict returns no row and leaves the transaction usable, so no savepoint is needed around it.
    """
    key = ["call_task_id", "start_at"]
    return {
        "postgresql": postgresql.insert(offers).on_conflict_do_nothing(index_elements=key).returning(offers.c.id),
        "sqlite": sqlite.insert(offers).on_conflict_do_nothing(index_elements=key).returning(offers.c.id),
    }


OFFER_INSERT_IF_ABSENT = _offer_insert_if_absent()


def _outbox_inserts() -> tuple[Any, dict[str, Any]]:
    """``INSERT INTO outbox``, and per dialect the same ``ON CONFLICT (key) DO NOTHING RETURNING seq``."""
    return insert(outbox), {
        "postgresql": postgresql.insert(outbox).on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.seq),
        "sqlite": sqlite.insert(outbox).on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.seq),
    }


OUTBOX_INSERT, OUTBOX_INSERT_IF_ABSENT = _outbox_inserts()


def versioned_update(table: Table) -> Any:
    """``UPDATE table SET <every column> WHERE id = :key AND version = :expected RETURNING id``; the new
    values go in as ``new_<column>`` (bound parameters may not share a column's name)."""
    return (
        update(table)
        .where(table.c.id == bindparam("key"), table.c.version == bindparam("expected"))
        .values({c.key: bindparam(f"new_{c.key}", type_=c.type) for c in table.columns if c.key != "seq"})
        .returning(table.c.id)
    )


CALL_UPDATE = versioned_update(calls)
CAMPAIGN_UPDATE = versioned_update(campaigns)
