"""Queries on matches: who mentors whom, now and before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Match, MatchStatus, Relay, User


async def get(session: AsyncSession, match_id: int) -> Match | None:
    return await session.get(Match, match_id)


async def active_of_mentee(session: AsyncSession, mentee_id: int) -> Match | None:
    statement = select(Match).where(
        Match.mentee_id == mentee_id, Match.status == MatchStatus.ACTIVE
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def active_of_mentor(session: AsyncSession, mentor_id: int) -> list[Match]:
    statement = (
        select(Match)
        .where(Match.mentor_id == mentor_id, Match.status == MatchStatus.ACTIVE)
        .order_by(Match.started_at)
    )
    return list((await session.execute(statement)).scalars())


async def active_of(session: AsyncSession, user: User) -> list[Match]:
    """The person's active matches, on either side."""
    statement = (
        select(Match)
        .where(
            (Match.mentee_id == user.id) | (Match.mentor_id == user.id),
            Match.status == MatchStatus.ACTIVE,
        )
        .order_by(Match.started_at)
    )
    return list((await session.execute(statement)).scalars())


async def active_counts(session: AsyncSession) -> dict[int, int]:
    """Each mentor's number of active mentees (capacity is checked against it)."""
    statement = (
        select(Match.mentor_id, func.count())
        .where(Match.status == MatchStatus.ACTIVE)
        .group_by(Match.mentor_id)
    )
    return {mentor_id: count for mentor_id, count in (await session.execute(statement)).all()}


def other_side(match: Match, user_id: int) -> int:
    """The users.id of the person on the other side of ``match`` from ``user_id``."""
    return match.mentor_id if match.mentee_id == user_id else match.mentee_id


async def create(
    session: AsyncSession,
    *,
    mentee_id: int,
    mentor_id: int,
    score: float,
    confirmed_by: int | None,
    now: dt.datetime,
) -> Match | None:
    """A new active match; None when the mentee got one in the meantime (the partial
    unique index allows one active match a mentee: the savepoint keeps the session usable)."""
    match = Match(
        mentee_id=mentee_id,
        mentor_id=mentor_id,
        score=score,
        confirmed_by=confirmed_by,
        started_at=now,
        status=MatchStatus.ACTIVE,
    )
    try:
        async with session.begin_nested():
            session.add(match)
            await session.flush()
    except IntegrityError:
        return None
    return match


async def lock_mentor(session: AsyncSession, mentor_id: int) -> User | None:
    """The mentor's row, locked until commit on PostgreSQL, so two confirmations for one
    mentor count their capacity one after the other (SQLite has one writer anyway)."""
    statement = select(User).where(User.id == mentor_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def past_mentors(session: AsyncSession, mentee_ids: Iterable[int]) -> dict[int, set[int]]:
    """Each mentee's earlier mentors (ended matches), so a rematch suggests someone else."""
    ids = list(mentee_ids)
    if not ids:
        return {}
    statement = select(Match.mentee_id, Match.mentor_id).where(
        Match.mentee_id.in_(ids), Match.status == MatchStatus.ENDED
    )
    found: dict[int, set[int]] = {}
    for mentee_id, mentor_id in (await session.execute(statement)).all():
        found.setdefault(mentee_id, set()).add(mentor_id)
    return found


async def close_relays(session: AsyncSession, match_id: int, by: int, now: dt.datetime) -> None:
    """Close the match's open relay, if any (a match that ends carries no more messages)."""
    await session.execute(
        update(Relay)
        .where(Relay.match_id == match_id, Relay.closed_at.is_(None))
        .values(closed_at=now, closed_by=by)
        .execution_options(synchronize_session=False)
    )
