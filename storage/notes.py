"""Queries on session notes: writing them, a mentor's own, and minutes per mentor and day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SessionNote, User


def add(session: AsyncSession, **fields: object) -> SessionNote:
    note = SessionNote(**fields)
    session.add(note)
    return note


async def get(session: AsyncSession, note_id: int) -> SessionNote | None:
    return await session.get(SessionNote, note_id)


async def written_by(session: AsyncSession, mentor_id: int) -> list[SessionNote]:
    """A mentor's notes, oldest session first (their export)."""
    statement = (
        select(SessionNote)
        .where(SessionNote.mentor_id == mentor_id)
        .order_by(SessionNote.session_date, SessionNote.id)
    )
    return list((await session.execute(statement)).scalars())


@dataclass(frozen=True)
class SessionTime:
    """One session's time, with the mentor it is paid to."""

    session_date: dt.date
    minutes: int
    mentor_id: int
    telegram_id: int
    pseudonym: str
    display_name: str | None


async def session_times(
    session: AsyncSession, start: dt.date | None = None, end: dt.date | None = None
) -> list[SessionTime]:
    """Every session from ``start`` up to (not including) ``end``, by date then mentor."""
    statement = (
        select(
            SessionNote.session_date,
            SessionNote.minutes,
            User.id,
            User.telegram_id,
            User.pseudonym,
            User.display_name,
        )
        .join(User, User.id == SessionNote.mentor_id)
        .order_by(SessionNote.session_date, User.id)
    )
    if start is not None:
        statement = statement.where(SessionNote.session_date >= start)
    if end is not None:
        statement = statement.where(SessionNote.session_date < end)
    return [SessionTime(*row) for row in (await session.execute(statement)).all()]
