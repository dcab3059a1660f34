"""Queries on personal crisis plans: one encrypted text per person and section.

Every query takes the person's own ``users.id``; callers get it from the person
the update came from, never from anything the client sent.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CrisisPlanSection, utcnow


async def sections(session: AsyncSession, user_id: int) -> dict[str, str]:
    """The person's whole plan: section id → text (decrypted), only the filled sections
    (a section no configured key opens is left out: the crisis lines still come)."""
    rows = await session.execute(
        select(CrisisPlanSection.section, CrisisPlanSection.text).where(
            CrisisPlanSection.user_id == user_id
        )
    )
    return {section: text for section, text in rows.all() if text is not None}


async def filled(session: AsyncSession, user_id: int) -> set[str]:
    """Which sections the person has written (without decrypting them)."""
    rows = await session.execute(
        select(CrisisPlanSection.section).where(CrisisPlanSection.user_id == user_id)
    )
    return set(rows.scalars())


async def get(session: AsyncSession, user_id: int, section: str) -> str | None:
    row = await session.get(CrisisPlanSection, (user_id, section))
    return row.text if row is not None else None


async def save(session: AsyncSession, user_id: int, section: str, text: str) -> None:
    """Write a section, replacing what was there."""
    row = await session.get(CrisisPlanSection, (user_id, section))
    if row is None:
        session.add(CrisisPlanSection(user_id=user_id, section=section, text=text))
    else:
        row.text = text
        row.updated_at = utcnow()


async def clear(session: AsyncSession, user_id: int, section: str) -> bool:
    """Remove a section; False when there was nothing to remove."""
    result = await session.execute(
        delete(CrisisPlanSection).where(
            CrisisPlanSection.user_id == user_id, CrisisPlanSection.section == section
        )
    )
    return bool(result.rowcount)
