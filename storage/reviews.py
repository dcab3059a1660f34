"""The supervisors' review queue: notes flagged with a concern, and boundary flags."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ReviewItem

NOTE, BOUNDARY = "note", "boundary"


def add(
    session: AsyncSession,
    kind: str,
    *,
    mentor_id: int,
    mentee_id: int | None = None,
    note_id: int | None = None,
    detail: str | None = None,
) -> ReviewItem:
    item = ReviewItem(
        kind=kind, mentor_id=mentor_id, mentee_id=mentee_id, note_id=note_id, detail=detail
    )
    session.add(item)
    return item


async def waiting(session: AsyncSession, limit: int = 20) -> list[ReviewItem]:
    """Items nobody has reviewed yet, oldest first."""
    statement = (
        select(ReviewItem)
        .where(ReviewItem.reviewed_at.is_(None))
        .order_by(ReviewItem.created_at, ReviewItem.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def get(session: AsyncSession, item_id: int) -> ReviewItem | None:
    return await session.get(ReviewItem, item_id)


async def count_waiting(session: AsyncSession) -> int:
    statement = select(func.count()).select_from(ReviewItem).where(ReviewItem.reviewed_at.is_(None))
    return int(await session.scalar(statement) or 0)


async def mark_reviewed(
    session: AsyncSession, item_id: int, *, by: int, comment: str | None, at: dt.datetime
) -> bool:
    """Mark the item reviewed by ``by`` (a Telegram id) with an optional comment. False when
    someone else marked it first: the conditional UPDATE lets only one of two supervisors win."""
    statement = (
        update(ReviewItem)
        .where(ReviewItem.id == item_id, ReviewItem.reviewed_at.is_(None))
        .values(reviewed_at=at, reviewed_by=by, comment=comment)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount)
