"""Queries on a case's conversation between a supervisor and the person, its events, and
the person's earlier alerts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Alert, CaseConversation, CaseEvent


async def open_of_person(session: AsyncSession, person_id: int) -> CaseConversation | None:
    statement = select(CaseConversation).where(
        CaseConversation.person_id == person_id, CaseConversation.closed_at.is_(None)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def open_of_supervisor(session: AsyncSession, supervisor_id: int) -> CaseConversation | None:
    """The supervisor's open conversation opened last: where their plain messages go."""
    statement = (
        select(CaseConversation)
        .where(
            CaseConversation.supervisor_id == supervisor_id, CaseConversation.closed_at.is_(None)
        )
        .order_by(CaseConversation.opened_at.desc(), CaseConversation.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def open_of_alert(session: AsyncSession, alert_id: int) -> CaseConversation | None:
    statement = select(CaseConversation).where(
        CaseConversation.alert_id == alert_id, CaseConversation.closed_at.is_(None)
    )
    return (await session.execute(statement)).scalars().first()


async def open_conversation(
    session: AsyncSession, alert_id: int, supervisor_id: int, person_id: int, now: dt.datetime
) -> tuple[CaseConversation, bool]:
    """The person's open conversation, opened now if there is none: (it, whether it is new).

    Two supervisors pressing at once both end up with the same row: the loser of the race
    meets the unique index inside a savepoint and reads the winner's row."""
    existing = await open_of_person(session, person_id)
    if existing is not None:
        return existing, False
    talk = CaseConversation(
        alert_id=alert_id, supervisor_id=supervisor_id, person_id=person_id, opened_at=now
    )
    try:
        async with session.begin_nested():
            session.add(talk)
            await session.flush()
    except IntegrityError:
        existing = await open_of_person(session, person_id)
        if existing is None:
            raise
        return existing, False
    return talk, True


def close(talk: CaseConversation, closed_by: int, now: dt.datetime) -> None:
    talk.closed_at, talk.closed_by = now, closed_by


def add_event(
    session: AsyncSession,
    alert_id: int,
    kind: str,
    *,
    actor_id: int | None,
    text: str | None = None,
    at: dt.datetime,
) -> CaseEvent:
    event = CaseEvent(alert_id=alert_id, kind=kind, actor_id=actor_id, text=text, at=at)
    session.add(event)
    return event


async def first_event_at(session: AsyncSession, alert_id: int, kind: str) -> dt.datetime | None:
    """When the case's first event of ``kind`` happened (no text read, none decrypted)."""
    statement = (
        select(CaseEvent.at)
        .where(CaseEvent.alert_id == alert_id, CaseEvent.kind == kind)
        .order_by(CaseEvent.id)
        .limit(1)
    )
    return await session.scalar(statement)


async def events_of(session: AsyncSession, alert_id: int) -> list[CaseEvent]:
    statement = select(CaseEvent).where(CaseEvent.alert_id == alert_id).order_by(CaseEvent.id)
    return list((await session.execute(statement)).scalars())


async def earlier_alerts(session: AsyncSession, alert: Alert, since: dt.datetime) -> list[int]:
    """Ids of the person's other alerts opened since ``since``, oldest first."""
    statement = (
        select(Alert.id)
        .where(Alert.user_id == alert.user_id, Alert.id != alert.id, Alert.opened_at >= since)
        .order_by(Alert.id)
    )
    return list((await session.scalars(statement)).all())
