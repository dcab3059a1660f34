"""The weekly on-call rota as stored: one row a shift (people by users.id), replaced whole.
``flows.rota`` reads the file and says when each shift begins and ends."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RotaShift


async def rows(session: AsyncSession) -> list[RotaShift]:
    """The rota's shifts in the order they were written (none: there is no rota)."""
    return list((await session.execute(select(RotaShift).order_by(RotaShift.id))).scalars())


async def replace(session: AsyncSession, shifts: Iterable[RotaShift]) -> None:
    """These shifts instead of whatever rota there was, in the caller's transaction."""
    await clear(session)
    session.add_all(list(shifts))
    await session.flush()


async def clear(session: AsyncSession) -> int:
    result = await session.execute(delete(RotaShift).execution_options(synchronize_session=False))
    return result.rowcount or 0
