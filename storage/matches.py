"""Queries on matches: who mentors whom, now and before."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Match, MatchStatus, User


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
