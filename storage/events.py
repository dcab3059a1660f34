"""Group events and RSVPs as stored. ``flows.events`` decides; this reads and writes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EventRsvp, GroupEvent, User

GOING, WAITING = "going", "waiting"


async def add(session: AsyncSession, event: GroupEvent) -> GroupEvent:
    session.add(event)
    await session.flush()
    return event


async def get(session: AsyncSession, event_id: int) -> GroupEvent | None:
    return await session.get(GroupEvent, event_id)


async def rsvp_of(session: AsyncSession, event_id: int, user_id: int) -> EventRsvp | None:
    return await session.get(EventRsvp, (event_id, user_id))


async def count(session: AsyncSession, event_id: int, status: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(EventRsvp)
            .where(EventRsvp.event_id == event_id, EventRsvp.status == status)
        )
        or 0
    )


async def people(session: AsyncSession, event_id: int, status: str = GOING) -> list[User]:
    """Those going (or waiting), in the order they answered."""
    rows = await session.scalars(
        select(User)
        .join(EventRsvp, EventRsvp.user_id == User.id)
        .where(EventRsvp.event_id == event_id, EventRsvp.status == status)
        .order_by(EventRsvp.created_at, User.id)
    )
    return list(rows)


async def join(session: AsyncSession, event: GroupEvent, user_id: int) -> str:
    """Going while there is room, else waiting; an answer already given is kept as it is.
    (The count and the insert share the update's transaction, and a person's updates never
    interleave; two people taking the last place at the same instant on PostgreSQL could
    both get it: one over capacity, never a lost answer.)"""
    found = await rsvp_of(session, event.id, user_id)
    if found is not None:
        return found.status
    full = event.capacity is not None and await count(session, event.id, GOING) >= event.capacity
    status = WAITING if full else GOING
    session.add(EventRsvp(event_id=event.id, user_id=user_id, status=status))
    await session.flush()
    return status


async def leave(session: AsyncSession, event: GroupEvent, user_id: int) -> tuple[bool, User | None]:
    """Remove their answer. Whether they had one, and who moved up from the waiting list
    into the place they left (the first waiting, when they were going)."""
    found = await rsvp_of(session, event.id, user_id)
    if found is None:
        return False, None
    was_going = found.status == GOING
    await session.delete(found)
    await session.flush()
    if not was_going:
        return True, None
    waiting = await session.scalar(
        select(EventRsvp)
        .where(EventRsvp.event_id == event.id, EventRsvp.status == WAITING)
        .order_by(EventRsvp.created_at, EventRsvp.user_id)
        .limit(1)
    )
    if waiting is None:
        return True, None
    waiting.status = GOING
    await session.flush()
    return True, await session.get(User, waiting.user_id)


async def upcoming(
    session: AsyncSession, group_ids: list[int], now: dt.datetime
) -> list[GroupEvent]:
    if not group_ids:
        return []
    rows = await session.scalars(
        select(GroupEvent)
        .where(
            GroupEvent.group_id.in_(group_ids),
            GroupEvent.starts_at > now,
            GroupEvent.cancelled_at.is_(None),
        )
        .order_by(GroupEvent.starts_at)
    )
    return list(rows)


async def of_person(session: AsyncSession, user_id: int) -> list[tuple[GroupEvent, EventRsvp]]:
    rows = await session.execute(
        select(GroupEvent, EventRsvp)
        .join(EventRsvp, EventRsvp.event_id == GroupEvent.id)
        .where(EventRsvp.user_id == user_id)
        .order_by(GroupEvent.starts_at)
    )
    return [(event, rsvp) for event, rsvp in rows]
