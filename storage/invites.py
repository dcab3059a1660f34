"""Invites: deep-link codes that carry a role, with a number of uses and an expiry."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, Role, utcnow


async def create(
    session: AsyncSession, role: Role, uses: int = 1, expires_in_days: float | None = None
) -> Invite:
    if expires_in_days is not None and expires_in_days <= 0:
        raise ValueError("an invite must expire in the future (or never: no expiry)")
    expires_at = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    invite = Invite(
        code=secrets.token_urlsafe(12), role=role, uses_left=uses, expires_at=expires_at
    )
    session.add(invite)
    await session.flush()
    return invite


async def find(session: AsyncSession, code: str) -> Invite | None:
    return (await session.execute(select(Invite).where(Invite.code == code))).scalar_one_or_none()


def is_usable(invite: Invite) -> bool:
    """It still has uses left and has not expired."""
    if invite.uses_left <= 0:
        return False
    return invite.expires_at is None or invite.expires_at > utcnow()


async def find_usable(session: AsyncSession, code: str) -> Invite | None:
    """The invite behind ``code`` if it can still be used."""
    invite = await find(session, code)
    return invite if invite is not None and is_usable(invite) else None


async def use(session: AsyncSession, invite: Invite) -> bool:
    """Take one use atomically; False when a concurrent start took the last one."""
    return await use_by_id(session, invite.id)


async def use_by_id(session: AsyncSession, invite_id: int) -> bool:
    """Take one use atomically, if the invite is still valid: False when a concurrent
    start took the last use, or it expired since it was looked at."""
    now = utcnow()
    result = await session.execute(
        update(Invite)
        .where(
            Invite.id == invite_id,
            Invite.uses_left > 0,
            Invite.expires_at.is_(None) | (Invite.expires_at > now),
        )
        .values(uses_left=Invite.uses_left - 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def spend(session: AsyncSession, invite_id: int) -> str | None:
    """Take one use of a still-valid invite (see ``use_by_id``): the role it gives, or None."""
    if not await use_by_id(session, invite_id):
        return None
    return (await session.execute(select(Invite.role).where(Invite.id == invite_id))).scalar_one()
