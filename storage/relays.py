"""Queries on relays: the conversations the bot carries between a mentor and a mentee.

One open relay per match (a partial unique index); a closed one stays for the record.
Which open relay a mentor's plain messages go to — their *focus*, when several are
open — is the one whose ``focused_at`` is latest (a mentee has one conversation).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Match, MatchStatus, Relay, utcnow


async def get(session: AsyncSession, relay_id: int) -> Relay | None:
    return await session.get(Relay, relay_id)


async def open_of_match(session: AsyncSession, match_id: int) -> Relay | None:
    statement = select(Relay).where(Relay.match_id == match_id, Relay.closed_at.is_(None))
    return (await session.execute(statement)).scalar_one_or_none()


async def open_for(session: AsyncSession, user_id: int) -> list[tuple[Relay, Match]]:
    """The person's open relays on active matches, on either side, newest first."""
    statement = (
        select(Relay, Match)
        .join(Match, Match.id == Relay.match_id)
        .where(
            Relay.closed_at.is_(None),
            Match.status == MatchStatus.ACTIVE,
            (Match.mentee_id == user_id) | (Match.mentor_id == user_id),
        )
        .order_by(Relay.opened_at.desc(), Relay.id.desc())
    )
    return [(relay, match) for relay, match in (await session.execute(statement)).all()]


async def open_or_reuse(
    session: AsyncSession, match_id: int, opened_by: int, now: dt.datetime
) -> tuple[Relay, bool]:
    """The match's open relay, opened now if there is none: (relay, whether it is new).

    Two sides opening at once both end up with the same row: the loser of the race
    meets the unique index inside a savepoint and reads the winner's row."""
    existing = await open_of_match(session, match_id)
    if existing is not None:
        return existing, False
    relay = Relay(match_id=match_id, opened_by=opened_by, opened_at=now)
    try:
        async with session.begin_nested():
            session.add(relay)
            await session.flush()
    except IntegrityError:
        existing = await open_of_match(session, match_id)
        if existing is None:
            raise
        return existing, False
    return relay, True


def close(relay: Relay, closed_by: int, now: dt.datetime) -> None:
    relay.closed_at = now
    relay.closed_by = closed_by


async def focus_of(session: AsyncSession, user_id: int) -> int | None:
    """The open relay the mentor last chose to write in, if they chose one."""
    statement = (
        select(Relay.id)
        .join(Match, Match.id == Relay.match_id)
        .where(
            Relay.closed_at.is_(None),
            Relay.focused_at.is_not(None),
            Match.status == MatchStatus.ACTIVE,
            Match.mentor_id == user_id,
        )
        .order_by(Relay.focused_at.desc(), Relay.id.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def set_focus(session: AsyncSession, user_id: int, relay_id: int) -> None:
    """The person writes in ``relay_id`` from now on (only a mentor has a choice)."""
    relay = await session.get(Relay, relay_id)
    match = await session.get(Match, relay.match_id) if relay is not None else None
    if relay is not None and match is not None and match.mentor_id == user_id:
        relay.focused_at = utcnow()
