"""The supervisors' review queue: notes flagged with a concern, and boundary flags."""

from __future__ import annotations

from sqlalchemy import select
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
