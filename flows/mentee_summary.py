"""What a mentor may see of a mentee: last check-in, and only what the mentee chose to share.

A mentee's ``Profile.shares`` lists what their mentor sees beyond the last check-in:
``"trends"`` (how symptom intensity and energy moved over the last 7 days) and
``"hard_days"`` (how many of those days were hard). Nothing else ever leaves the
mentee's logs this way — no notes, no mood values, no symptoms. /mentees and the
mentors' weekly digest both read this module, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows import timezones
from storage import daily_logs
from storage.models import DailyLog, Profile, User

SHARE_TRENDS = "trends"
SHARE_HARD_DAYS = "hard_days"
WINDOW_DAYS = 7


@dataclass(frozen=True)
class Trend:
    """First and last value logged in the window (equal when there is one log)."""

    first: int
    last: int


@dataclass(frozen=True)
class MenteeSummary:
    user_id: int
    name: str  # display name, else pseudonym (not escaped)
    days_since_checkin: int | None  # None: never logged
    symptoms: Trend | None = None  # only when the mentee shares trends and logged this week
    energy: Trend | None = None
    hard_days: int | None = None  # only when the mentee shares hard days
    shares_trends: bool = False


def is_hard_day(symptom_intensity: int, mood: int, *, symptoms_at: int, mood_at: int) -> bool:
    """A hard day: symptoms at or above the threshold, or mood at or below it (settings)."""
    return symptom_intensity >= symptoms_at or mood <= mood_at


def trend(values: Sequence[int]) -> Trend | None:
    return Trend(values[0], values[-1]) if values else None


async def summarize(
    session: AsyncSession,
    mentee: User,
    *,
    hard_symptoms: int,
    hard_mood: int,
    now: dt.datetime | None = None,
) -> MenteeSummary:
    """The mentee as their mentor may see them now (``hard_*``: settings.hard_day_*)."""
    today = timezones.today(mentee.timezone, now)
    profile = await session.get(Profile, mentee.id)
    shares = set(profile.shares or []) if profile else set()
    last = await last_checkin(session, mentee.id)
    summary = {
        "user_id": mentee.id,
        "name": mentee.known_as,
        "days_since_checkin": (today - last).days if last else None,
        "shares_trends": SHARE_TRENDS in shares,
    }
    if shares & {SHARE_TRENDS, SHARE_HARD_DAYS}:
        week = await daily_logs.since(session, mentee.id, today - dt.timedelta(WINDOW_DAYS - 1))
        week = [log for log in week if log.local_date <= today]
        if SHARE_TRENDS in shares:
            summary["symptoms"] = trend([log.symptom_intensity for log in week])
            summary["energy"] = trend([log.energy for log in week])
        if SHARE_HARD_DAYS in shares:
            summary["hard_days"] = sum(
                is_hard_day(
                    log.symptom_intensity, log.mood, symptoms_at=hard_symptoms, mood_at=hard_mood
                )
                for log in week
            )
    return MenteeSummary(**summary)


async def last_checkin(session: AsyncSession, user_id: int) -> dt.date | None:
    return await session.scalar(
        select(func.max(DailyLog.local_date)).where(DailyLog.user_id == user_id)
    )
