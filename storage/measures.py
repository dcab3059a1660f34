"""Queries on weekly measure scores: one per person, measure and local date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.measures import Score, Stored
from storage.models import MeasureScore


async def save(session: AsyncSession, user_id: int, day: dt.date, result: Score) -> MeasureScore:
    """Store the day's score of a measure (answered again the same day: replaced)."""
    statement = select(MeasureScore).where(
        MeasureScore.user_id == user_id,
        MeasureScore.measure == result.measure,
        MeasureScore.local_date == day,
    )
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        row = MeasureScore(user_id=user_id, measure=result.measure, local_date=day)
        session.add(row)
    row.score, row.out_of, row.items = result.total, result.high, list(result.items)
    return row


async def of_person(session: AsyncSession, user_id: int) -> dict[str, list[Stored]]:
    """Every score of the person, by measure, oldest first."""
    statement = (
        select(
            MeasureScore.measure, MeasureScore.local_date, MeasureScore.score, MeasureScore.out_of
        )
        .where(MeasureScore.user_id == user_id)
        .order_by(MeasureScore.local_date, MeasureScore.id)
    )
    found: dict[str, list[Stored]] = {}
    for row in await session.execute(statement):
        found.setdefault(row.measure, []).append(Stored(row.local_date, row.score, row.out_of))
    return found
