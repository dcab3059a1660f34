"""Graduations as stored: a proposal, its confirmation, and what follows for the graduate."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Graduation, GraduationStatus, Match


async def get(session: AsyncSession, graduation_id: int) -> Graduation | None:
    return await session.get(Graduation, graduation_id)


async def proposed_for(session: AsyncSession, match_id: int) -> Graduation | None:
    return await session.scalar(
        select(Graduation).where(
            Graduation.match_id == match_id, Graduation.status == GraduationStatus.PROPOSED
        )
    )


async def propose(
    session: AsyncSession, match: Match, by: int, now: dt.datetime
) -> Graduation | None:
    """A new proposal for ``match``; None when one is open already (the partial unique
    index allows one a match: the savepoint keeps the session usable)."""
    graduation = Graduation(
        mentee_id=match.mentee_id,
        mentor_id=match.mentor_id,
        match_id=match.id,
        status=GraduationStatus.PROPOSED,
        proposed_by=by,
        proposed_at=now,
        boosters={},
    )
    try:
        async with session.begin_nested():
            session.add(graduation)
            await session.flush()
    except IntegrityError:
        return None
    return graduation


async def latest_of(session: AsyncSession, mentee_id: int) -> Graduation | None:
    """The person's most recent graduation (not a proposal)."""
    return await session.scalar(
        select(Graduation)
        .where(Graduation.mentee_id == mentee_id, Graduation.status == GraduationStatus.GRADUATED)
        .order_by(Graduation.graduated_at.desc(), Graduation.id.desc())
        .limit(1)
    )


def milestones_of(graduation: Graduation) -> list[str]:
    try:
        found = json.loads(graduation.milestones or "[]")
    except ValueError:
        return []
    return [str(m) for m in found if m]


def set_milestones(graduation: Graduation, milestones: list[str]) -> None:
    graduation.milestones = json.dumps(milestones, ensure_ascii=False) if milestones else None


def record_booster(graduation: Graduation, number: int, **answers: Any) -> None:
    """Add answers to booster ``number`` (a new dict, so the JSON column sees the change)."""
    boosters = dict(graduation.boosters or {})
    boosters[str(number)] = {**boosters.get(str(number), {}), **answers}
    graduation.boosters = boosters


async def ask_refresher(session: AsyncSession, mentee_id: int, now: dt.datetime) -> None:
    """A refresher asked: every graduation of theirs says so, which puts them back in the
    matching queue (storage.profiles.waiting_mentees leaves graduates out until then)."""
    await session.execute(
        update(Graduation)
        .where(Graduation.mentee_id == mentee_id, Graduation.status == GraduationStatus.GRADUATED)
        .values(refresher_at=now)
        .execution_options(synchronize_session=False)
    )


def resting_graduates() -> Any:
    """A SELECT of the mentee ids who graduated and have asked for no refresher since:
    they are not waiting for a mentor."""
    return select(Graduation.mentee_id).where(
        Graduation.status == GraduationStatus.GRADUATED, Graduation.refresher_at.is_(None)
    )
