"""Queries on daily symptom and pacing logs: one per person per local date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DailyLog, utcnow

ANSWER_FIELDS = (
    "symptom_intensity",
    "symptoms",
    "energy",
    "activity",
    "rest_breaks",
    "sleep_quality",
    "sleep_hours",
    "mood",
    "interference",
    "note",
)


async def get(session: AsyncSession, user_id: int, local_date: dt.date) -> DailyLog | None:
    statement = select(DailyLog).where(
        DailyLog.user_id == user_id, DailyLog.local_date == local_date
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def since(session: AsyncSession, user_id: int, first_date: dt.date) -> list[DailyLog]:
    statement = (
        select(DailyLog)
        .where(DailyLog.user_id == user_id, DailyLog.local_date >= first_date)
        .order_by(DailyLog.local_date)
    )
    return list((await session.execute(statement)).scalars())


async def save(
    session: AsyncSession, user_id: int, local_date: dt.date, answers: Mapping[str, Any]
) -> DailyLog:
    """Create the day's log, or replace its answers when the person logs again that day."""
    log = await get(session, user_id, local_date)
    if log is None:
        log = DailyLog(user_id=user_id, local_date=local_date)
        session.add(log)
    for name in ANSWER_FIELDS:
        setattr(log, name, answers.get(name))
    log.updated_at = utcnow()
    return log


def answers_of(log: DailyLog) -> dict[str, Any]:
    return {name: getattr(log, name) for name in ANSWER_FIELDS}
