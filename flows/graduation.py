"""Graduation: who may mark a mentee's mentoring as done, what their journey looked like,
and when the booster check-ins come (1, 3 and 6 months on). No Telegram types here:
handlers/graduation.py renders.

The journey summary compares *changes*: a thing measured (a daily-log score, or a weekly
questionnaire's score), its usual level at the start and at the end, and
which way is easier to live with. ``weekly_score_changes`` is the one place where weekly
scores join the summary; its words are generic (``Change`` carries its scale).
"""

from __future__ import annotations

import calendar
import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from flows import measures, reminders, timezones
from storage import daily_logs, graduations
from storage import measures as measure_scores
from storage.models import Graduation, Match, MatchStatus, Role, User

BOOSTER_MONTHS = (1, 3, 6)  # booster n (1-based) comes this many months after graduation
WINDOW_DAYS = 14  # "your first two weeks" and "your last two weeks" of logs
MIN_LOGS = 3  # a window with fewer logs says nothing
FALLBACK_ZONE, FALLBACK_TIME = "UTC", dt.time(10)  # someone without a check-in time

# What a change is called in the summary (its key is ``Change.name``).
CHANGE_NAMES = {
    "symptoms": __("Symptoms"),
    "energy": __("Energy"),
    "mood": __("Mood"),
    measures.SSS8: __("Somatic symptoms"),
    measures.WSAS: __("Work and social life"),
    measures.UCLA3: __("Loneliness"),
    measures.PSEQ2: __("Confidence despite pain"),
}

# Who may do what.
MENTEE, MENTOR, ADMIN = "mentee", "mentor", "admin"


# --- booster dates ---------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; a day the month lacks becomes its last (31 January
    plus one month is 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def booster_due(
    zone: str | None, time: dt.time | None, graduated_on: dt.date, number: int
) -> dt.datetime:
    """When booster ``number`` (1, 2, 3) is due: at the person's check-in time, in their
    zone (DST-safe), on the day 1, 3 or 6 months after their local graduation day."""
    day = add_months(graduated_on, BOOSTER_MONTHS[number - 1])
    return reminders.at_local(zone or FALLBACK_ZONE, day, time or FALLBACK_TIME)


def next_booster(number: int) -> int | None:
    return number + 1 if number < len(BOOSTER_MONTHS) else None


def months_after(number: int) -> int:
    return BOOSTER_MONTHS[number - 1]


# --- who may graduate whom ---------------------------------------------------------------------


def side_of(match: Match | None, user: User | None) -> str | None:
    """What ``user`` is to an active ``match``: its mentee, its mentor, an admin, or nobody."""
    if match is None or user is None or not user.is_onboarded:
        return None
    if match.status != MatchStatus.ACTIVE:
        return None
    if user.id == match.mentee_id and user.role == Role.MENTEE:
        return MENTEE
    if user.id == match.mentor_id and user.role == Role.MENTOR:
        return MENTOR
    if user.role == Role.ADMIN:
        return ADMIN
    return None


def confirms(proposal: Graduation, side: str, user_id: int) -> bool:
    """Does this press confirm the proposal? The other side of the match, or an admin; never
    the one who proposed it."""
    if proposal.proposed_by == user_id:
        return False
    return side in (MENTEE, MENTOR, ADMIN)


# --- the journey --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A thing measured at the start and at the end (usual levels) on a scale."""

    name: str  # a key of CHANGE_NAMES
    first: float
    last: float
    low: int = 0
    high: int = 10
    lower_is_easier: bool = False  # symptoms: lower is easier to live with

    @property
    def moved(self) -> float:
        """How far it moved, in points; within a tenth of the scale counts as the same."""
        step = self.last - self.first
        return 0.0 if abs(step) < (self.high - self.low) / 10 else step

    @property
    def easier(self) -> bool | None:
        """True: easier to live with now; False: harder; None: about the same."""
        if self.moved == 0:
            return None
        return (self.moved < 0) == self.lower_is_easier


@dataclass(frozen=True)
class Journey:
    since: dt.date  # their first day in the program (local)
    until: dt.date  # graduation day (local)
    logs: int
    changes: tuple[Change, ...]  # empty: too few logs to compare
    weekly: tuple[Change, ...]  # weekly questionnaire scores, when they exist
    milestones: tuple[str, ...]

    @property
    def days(self) -> int:
        return max((self.until - self.since).days, 0)


@dataclass(frozen=True)
class DayScores:
    day: dt.date
    symptoms: int
    energy: int
    mood: int


def log_changes(days: Sequence[DayScores]) -> tuple[Change, ...]:
    """Symptoms, energy and mood of the first two weeks logged against the last two, by
    their medians (one very hard day does not make a fortnight). Nothing when either
    fortnight has fewer than ``MIN_LOGS`` logs or they overlap."""
    if not days:
        return ()
    ordered = sorted(days, key=lambda d: d.day)
    start, end = ordered[0].day, ordered[-1].day
    if (end - start).days < 2 * WINDOW_DAYS - 1:
        return ()
    first = [d for d in ordered if (d.day - start).days < WINDOW_DAYS]
    last = [d for d in ordered if (end - d.day).days < WINDOW_DAYS]
    if len(first) < MIN_LOGS or len(last) < MIN_LOGS:
        return ()
    changes = []
    for name, easier_low in (("symptoms", True), ("energy", False), ("mood", False)):
        before = statistics.median(getattr(d, name) for d in first)
        after = statistics.median(getattr(d, name) for d in last)
        changes.append(Change(name, before, after, lower_is_easier=easier_low))
    return tuple(changes)


async def weekly_score_changes(session: AsyncSession, user_id: int) -> tuple[Change, ...]:
    """Each weekly questionnaire's first score against its latest (``flows.measures``), on
    the instrument's own range; a measure answered once says nothing yet."""
    changes = []
    for measure, scores in (await measure_scores.of_person(session, user_id)).items():
        change = measures.change_since_start(measure, scores)
        if change is None:
            continue
        instrument = measures.INSTRUMENTS[measure]
        low = min(instrument.values) * len(instrument.items)
        changes.append(
            Change(
                measure,
                change.first.total,
                change.latest.total,
                low=low,
                high=change.latest.high,
                lower_is_easier=not instrument.higher_is_better,
            )
        )
    return tuple(changes)


async def journey(
    session: AsyncSession, user: User, graduation: Graduation, today: dt.date
) -> Journey:
    logs = await daily_logs.since(session, user.id, dt.date.min)
    days = [DayScores(log.local_date, log.symptom_intensity, log.energy, log.mood) for log in logs]
    joined = user.onboarded_at or user.created_at
    since = joined.date() if user.timezone is None else timezones.local_date(user.timezone, joined)
    return Journey(
        since=since,
        until=today,
        logs=len(logs),
        changes=log_changes(days),
        weekly=await weekly_score_changes(session, user.id),
        milestones=tuple(graduations.milestones_of(graduation)),
    )


def time_in_program(days: int) -> tuple[str, int]:
    """("weeks", n) under three months, else ("months", n): how long, as people say it."""
    if days < 90:
        return "weeks", max(days // 7, 1)
    return "months", round(days / 30.44)
