"""Nudges to a mentor: a mentee gone quiet, a hard day the mentee shares, the weekly digest.

Decisions only; handlers/reminders.py renders them in the mentor's language and queues
them. Each nudge has an idempotency key, so a repeated tick or a second bot process
cannot send it twice:

* silence: ``nudge:silent:{mentee}:{last log date or 'never'}`` — once per silence. The
  "silence" row (subject = mentee) is due ``nudge_silent_days`` after the last log (or
  after the match started); every finished log moves it on.
* hard day: ``nudge:hard:{mentee}:{local date}`` — only when the mentee's profile shares
  ``hard_days``, queued in the transaction that saves the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.mentee_summary import SHARE_HARD_DAYS, is_hard_day
from storage import matches, schedules
from storage.models import DailyLog, Match, MatchStatus, Profile, Role, User

SILENCE = schedules.SILENCE


@dataclass(frozen=True)
class Thresholds:
    """From settings: how long a silence is, and what makes a hard day."""

    silent_days: int
    hard_symptoms: int  # symptoms at or above this
    hard_mood: int  # or mood at or below this


def hard_day(answers: Mapping[str, Any], limits: Thresholds) -> bool:
    return is_hard_day(
        int(answers["symptom_intensity"]),
        int(answers["mood"]),
        symptoms_at=limits.hard_symptoms,
        mood_at=limits.hard_mood,
    )


def silent_key(mentee_id: int, last_log: dt.date | None) -> str:
    return f"nudge:silent:{mentee_id}:{last_log.isoformat() if last_log else 'never'}"


def hard_key(mentee_id: int, day: dt.date) -> str:
    return f"nudge:hard:{mentee_id}:{day.isoformat()}"


# --- after a log is saved ---------------------------------------------------------------


@dataclass(frozen=True)
class HardDay:
    """A hard day to tell the mentor of ``match`` about."""

    match: Match
    mentee: User
    mentor: User
    day: dt.date


async def log_saved(
    session: AsyncSession,
    user: User,
    day: dt.date,
    answers: Mapping[str, Any],
    limits: Thresholds,
    now: dt.datetime,
) -> HardDay | None:
    """A mentee finished a log: their silence starts again; a shared hard day is returned.

    One statement for an ordinary log (the silence row), three more on a hard day."""
    if user.role != Role.MENTEE:
        return None
    await schedules.set_due(session, SILENCE, user.id, now + dt.timedelta(days=limits.silent_days))
    if not hard_day(answers, limits):
        return None
    match = await matches.active_of_mentee(session, user.id)
    if match is None:
        return None
    profile = await session.get(Profile, user.id)
    if profile is None or SHARE_HARD_DAYS not in (profile.shares or []):
        return None
    mentor = await session.get(User, match.mentor_id)
    return HardDay(match, user, mentor, day) if mentor is not None else None


# --- the silence tick --------------------------------------------------------------------


@dataclass(frozen=True)
class Silence:
    """A mentee quiet for long enough: nudge the mentor of ``match`` once (``key``)."""

    key: str
    match: Match
    mentee: User
    mentor: User
    days: int  # whole days since the last log (or since the match started)
    last_log: dt.date | None


@dataclass(frozen=True)
class SilenceTick:
    nudges: list[Silence]
    later: list[tuple[int, dt.datetime]]  # (mentee, when silence would be long enough)


async def silences(
    session: AsyncSession, mentee_ids: Sequence[int], now: dt.datetime, silent_days: int
) -> SilenceTick:
    """Which claimed mentees have really been quiet ``silent_days`` (in a few queries)."""
    window = dt.timedelta(days=silent_days)
    active = {
        m.mentee_id: m
        for m in (
            await session.execute(
                select(Match).where(
                    Match.mentee_id.in_(mentee_ids), Match.status == MatchStatus.ACTIVE
                )
            )
        ).scalars()
    }
    if not active:
        return SilenceTick([], [])
    last = {
        row.user_id: (row.day, row.at)
        for row in await session.execute(
            select(
                DailyLog.user_id,
                func.max(DailyLog.local_date).label("day"),
                func.max(DailyLog.updated_at).label("at"),
            )
            .where(DailyLog.user_id.in_(list(active)))
            .group_by(DailyLog.user_id)
        )
    }
    people_ids = set(active) | {m.mentor_id for m in active.values()}
    people = {
        u.id: u
        for u in (await session.execute(select(User).where(User.id.in_(people_ids)))).scalars()
    }
    nudges, later = [], []
    for mentee_id, match in active.items():
        day, at = last.get(mentee_id, (None, None))
        # Quiet since the last log, but never counted from before the match began.
        since = max(t for t in (_aware(at), match.started_at) if t is not None)
        if now - since < window:
            later.append((mentee_id, since + window))
            continue
        mentee, mentor = people.get(mentee_id), people.get(match.mentor_id)
        if mentee is None or mentor is None or mentee.role != Role.MENTEE:
            continue
        days = (now - since).days
        nudges.append(Silence(silent_key(mentee_id, day), match, mentee, mentor, days, day))
    return SilenceTick(nudges, later)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # max(updated_at) comes back as text or naive on SQLite (the aggregate loses the type).
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
