"""Who is on call: shifts taken in chat or on the command line."""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OnCallShift, Role, User, utcnow

PRIMARY, BACKUP = "primary", "backup"


async def on_call(session: AsyncSession) -> tuple[User | None, list[User]]:
    """The primary on call (if anyone) and the backups."""
    statement = (
        select(User, OnCallShift.kind)
        .join(OnCallShift, OnCallShift.user_id == User.id)
        .where(OnCallShift.ended_at.is_(None), User.role == Role.SUPERVISOR)
        .order_by(OnCallShift.started_at)
    )
    primary, backups = None, []
    for user, kind in await session.execute(statement):
        if kind == PRIMARY:
            primary = user
        else:
            backups.append(user)
    return primary, backups


async def take(session: AsyncSession, user: User, kind: str) -> None:
    """Start a shift; a new primary hands over from the previous one."""
    ended = update(OnCallShift).where(OnCallShift.ended_at.is_(None))
    if kind == PRIMARY:
        ended = ended.where((OnCallShift.kind == PRIMARY) | (OnCallShift.user_id == user.id))
    else:
        ended = ended.where(OnCallShift.user_id == user.id)
    await session.execute(
        ended.values(ended_at=utcnow()).execution_options(synchronize_session=False)
    )
    session.add(OnCallShift(user_id=user.id, kind=kind, started_at=utcnow()))


async def end(session: AsyncSession, user: User) -> bool:
    result = await session.execute(
        update(OnCallShift)
        .where(OnCallShift.user_id == user.id, OnCallShift.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount > 0


async def supervisors(session: AsyncSession) -> list[User]:
    statement = select(User).where(User.role == Role.SUPERVISOR).order_by(User.id)
    return list((await session.execute(statement)).scalars())


async def any_supervisor(session: AsyncSession) -> bool:
    """Is there anyone with the supervisor role (someone who can acknowledge an alert)?"""
    return bool(await session.scalar(select(exists().where(User.role == Role.SUPERVISOR))))
