"""Queries on profiles: what the intake stored, and who waits for a mentor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import graduations
from storage.models import Match, MatchStatus, Profile, Role, User

# The Profile columns the intake fills in (the rest are bookkeeping).
ANSWERS = (
    "goals",
    "symptoms",
    "frequency",
    "style",
    "times",
    "support",
    "languages",
    "preferences",
    "capacity",
    "shares",
)
LISTS = frozenset({"goals", "symptoms", "times", "languages", "shares"})


async def get(session: AsyncSession, user_id: int) -> Profile | None:
    return await session.get(Profile, user_id)


def answers_of(profile: Profile | None) -> dict[str, Any]:
    """A profile's answers as the intake keeps them in its draft (empty when none)."""
    if profile is None:
        return {}
    return {name: getattr(profile, name) for name in ANSWERS}


async def save(
    session: AsyncSession, user_id: int, answers: Mapping[str, Any], now: dt.datetime
) -> Profile:
    """Store a finished intake; an answer left out is stored empty (skipped). The first
    completion stays: changing answers later keeps a mentee's place in the queue."""
    profile = await get(session, user_id)
    if profile is None:
        profile = Profile(user_id=user_id)
        session.add(profile)
    for name in ANSWERS:
        value = answers.get(name)
        setattr(profile, name, list(value or []) if name in LISTS else value)
    profile.completed_at = profile.completed_at or now
    profile.updated_at = now
    return profile


async def waiting_mentees(
    session: AsyncSession,
) -> list[tuple[User, Profile | None, dt.datetime]]:
    """The matching queue: onboarded mentees with no active match, longest waiting first,
    with their intake (None before they did it: they wait too, matched on language alone).
    Waiting since: their intake or onboarding, or their last match's end if later."""
    active = select(Match.mentee_id).where(Match.status == MatchStatus.ACTIVE)
    last_end = (
        select(Match.mentee_id, func.max(Match.ended_at).label("ended_at"))
        .where(Match.status == MatchStatus.ENDED)
        .group_by(Match.mentee_id)
        .subquery()
    )
    statement = (
        select(User, Profile, last_end.c.ended_at)
        .outerjoin(Profile, Profile.user_id == User.id)
        .outerjoin(last_end, last_end.c.mentee_id == User.id)
        .where(
            User.role == Role.MENTEE,
            User.onboarded_at.is_not(None),
            User.id.not_in(active),
            # A graduate waits for nobody, until they ask for a refresher.
            User.id.not_in(graduations.resting_graduates()),
        )
    )
    found = []
    for user, profile, ended_at in (await session.execute(statement)).all():
        joined = profile.completed_at if profile and profile.completed_at else user.onboarded_at
        since = max(d for d in (joined, ended_at) if d is not None)
        found.append((user, profile, since))
    found.sort(key=lambda row: (row[2], row[0].id))
    return found


async def mentors(session: AsyncSession) -> list[tuple[User, Profile | None]]:
    """Every onboarded mentor with their profile (None before their intake)."""
    statement = (
        select(User, Profile)
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(User.role == Role.MENTOR, User.onboarded_at.is_not(None))
        .order_by(User.id)
    )
    return [(user, profile) for user, profile in (await session.execute(statement)).all()]
