"""Matching mentors and mentees: scores, the reasons behind them, confirming and ending.

Scoring is pure (``score``, ``suggest``): a shared language and a mentor with room are
hard constraints; shared goals and symptom patterns, how often and how people like to
talk, the support wanted and offered and the times of day that suit both add points.
Every suggestion keeps its ``Reasons``, which handlers render as one line in the
reader's language. ``confirm`` and ``end`` change the database and re-check everything,
because a suggestion may be stale by the time someone acts on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from flows import reminders
from storage import matches, profiles, schedules
from storage.models import Match, MatchStatus, Profile, Role, User

CHECKIN = schedules.MATCH_CHECKIN  # the schedule kind of the week-later question
SILENCE = schedules.SILENCE  # the schedule kind of the "mentee has gone quiet" check

# Points. Goals weigh most (what the pair will work on), then lived symptom patterns.
GOAL_POINTS, GOALS_COUNTED = 2.0, 3
SYMPTOM_POINTS, SYMPTOMS_COUNTED = 1.5, 3
FREQUENCY_POINTS, FREQUENCY_NEAR_POINTS = 1.5, 0.5
STYLE_POINTS, STYLE_EITHER_POINTS = 1.0, 0.5
SUPPORT_POINTS, SUPPORT_PARTLY_POINTS = 1.5, 0.75
TIME_POINTS, TIMES_COUNTED = 1.0, 2

FREQUENCIES = ("daily", "few_weekly", "weekly")  # in order: neighbours are "near"
EITHER = "either"  # style: short texts or longer talks, both fine
BOTH = "both"  # support: practical and emotional


@dataclass(frozen=True)
class Side:
    """What matching knows of one person (ids only; nothing translated)."""

    user_id: int
    languages: tuple[str, ...]
    goals: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()
    frequency: str | None = None
    style: str | None = None
    times: tuple[str, ...] = ()
    support: str | None = None
    capacity: int = 1  # mentors: mentees at a time
    active: int = 0  # mentors: mentees now


@dataclass(frozen=True)
class Reasons:
    """Why a pair fits, in the mentee's order of things; empty fields did not count."""

    symptoms: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    frequency: str | None = None  # both like to talk this often
    style: str | None = None  # both prefer this style (never "either")
    support: str | None = None  # the support the mentee wants and the mentor offers
    times: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any(
            (self.symptoms, self.goals, self.frequency, self.style, self.support, self.times)
        )


@dataclass(frozen=True)
class Suggestion:
    mentee_id: int
    mentor_id: int
    score: float
    reasons: Reasons = field(default_factory=Reasons)


def side_of(user: User, profile: Profile | None, active: int = 0) -> Side:
    """A person as matching sees them: no profile or skipped items count for nothing;
    their languages default to the one they use with the bot."""
    if profile is None:
        return Side(user.id, (user.locale,), active=active)
    return Side(
        user_id=user.id,
        languages=tuple(profile.languages or ()) or (user.locale,),
        goals=tuple(profile.goals or ()),
        symptoms=tuple(profile.symptoms or ()),
        frequency=profile.frequency,
        style=profile.style,
        times=tuple(profile.times or ()),
        support=profile.support,
        capacity=profile.capacity or 1,
        active=active,
    )


def has_room(mentor: Side) -> bool:
    return mentor.active < mentor.capacity


def score(mentee: Side, mentor: Side) -> Suggestion | None:
    """How well ``mentor`` fits ``mentee``; None when they cannot be matched at all."""
    if not set(mentee.languages) & set(mentor.languages) or not has_room(mentor):
        return None
    if mentee.user_id == mentor.user_id:
        return None
    symptoms = _shared(mentee.symptoms, mentor.symptoms)
    goals = _shared(mentee.goals, mentor.goals)
    times = _shared(mentee.times, mentor.times)
    frequency_points = _frequency_points(mentee.frequency, mentor.frequency)
    style_points = _style_points(mentee.style, mentor.style)
    support_points = _support_points(mentee.support, mentor.support)
    points = (
        GOAL_POINTS * min(len(goals), GOALS_COUNTED)
        + SYMPTOM_POINTS * min(len(symptoms), SYMPTOMS_COUNTED)
        + TIME_POINTS * min(len(times), TIMES_COUNTED)
        + frequency_points
        + style_points
        + support_points
    )
    reasons = Reasons(
        symptoms=symptoms,
        goals=goals,
        frequency=mentee.frequency if frequency_points == FREQUENCY_POINTS else None,
        style=mentee.style if style_points == STYLE_POINTS and mentee.style != EITHER else None,
        support=mentee.support if support_points == SUPPORT_POINTS else None,
        times=times,
    )
    return Suggestion(mentee.user_id, mentor.user_id, round(points, 2), reasons)


def suggest(
    mentee: Side, mentors: Iterable[Side], *, limit: int = 3, exclude: Iterable[int] = ()
) -> list[Suggestion]:
    """The best ``limit`` mentors for ``mentee``. Equal scores go to the mentor with the
    lighter load, then the longest-standing one (lowest id), so the order never wobbles."""
    skipped = set(exclude)
    load = {m.user_id: m.active / m.capacity for m in mentors}
    found = [
        suggestion
        for mentor in mentors
        if mentor.user_id not in skipped and (suggestion := score(mentee, mentor)) is not None
    ]
    found.sort(key=lambda s: (-s.score, load[s.mentor_id], s.mentor_id))
    return found[:limit]


def _shared(mine: Sequence[str], theirs: Sequence[str]) -> tuple[str, ...]:
    return tuple(item for item in mine if item in set(theirs))


def _frequency_points(mentee: str | None, mentor: str | None) -> float:
    if mentee is None or mentor is None or mentee not in FREQUENCIES or mentor not in FREQUENCIES:
        return 0.0
    distance = abs(FREQUENCIES.index(mentee) - FREQUENCIES.index(mentor))
    return FREQUENCY_POINTS if distance == 0 else FREQUENCY_NEAR_POINTS if distance == 1 else 0.0


def _style_points(mentee: str | None, mentor: str | None) -> float:
    if mentee is None or mentor is None:
        return 0.0
    if mentee == mentor:
        return STYLE_POINTS
    return STYLE_EITHER_POINTS if EITHER in (mentee, mentor) else 0.0


def _support_points(wanted: str | None, offered: str | None) -> float:
    if wanted is None or offered is None:
        return 0.0
    if wanted == offered or offered == BOTH:
        return SUPPORT_POINTS  # "both" covers either kind
    return SUPPORT_PARTLY_POINTS if wanted == BOTH else 0.0


# ----- the queue, with the database ---------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A mentee in the matching queue, with their best suggestions."""

    mentee: User
    since: dt.datetime
    suggestions: list[tuple[User, Suggestion]]
    preferences: str | None = None  # "anything else" from their intake, for the team
    has_intake: bool = True  # False: matched on language alone until they tell more


async def queue(session: AsyncSession, *, limit: int = 3) -> list[Waiting]:
    """Everyone waiting for a mentor, longest first, each with the top ``limit`` mentors."""
    waiting = await profiles.waiting_mentees(session)
    if not waiting:
        return []
    counts = await matches.active_counts(session)
    mentor_rows = await profiles.mentors(session)
    by_id = {user.id: user for user, _ in mentor_rows}
    sides = [side_of(user, profile, counts.get(user.id, 0)) for user, profile in mentor_rows]
    before = await matches.past_mentors(session, [user.id for user, _, _ in waiting])
    found = []
    for mentee, profile, since in waiting:
        best = suggest(
            side_of(mentee, profile), sides, limit=limit, exclude=before.get(mentee.id, ())
        )
        mentors = [(by_id[s.mentor_id], s) for s in best]
        found.append(
            Waiting(
                mentee,
                since,
                mentors,
                profile.preferences if profile else None,
                has_intake=profile is not None and profile.completed_at is not None,
            )
        )
    return found


class Refused(Exception):
    """A confirmation that cannot go ahead; ``why`` says which check failed."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


# Why a confirmation was refused.
GONE, ALREADY_MATCHED, NOT_WAITING, NOT_A_MENTOR, FULL, NO_SHARED_LANGUAGE = (
    "gone",
    "already_matched",
    "not_waiting",
    "not_a_mentor",
    "full",
    "no_shared_language",
)


@dataclass(frozen=True)
class Confirmed:
    match: Match
    mentee: User
    mentor: User
    suggestion: Suggestion


async def confirm(
    session: AsyncSession,
    *,
    mentee_id: int,
    mentor_id: int,
    confirmed_by: int | None,
    now: dt.datetime,
    checkin_after: dt.timedelta,
    silence_after: dt.timedelta,
) -> Confirmed:
    """Match them, if everything still holds now; schedules the week-later question and
    the mentee's silence check. Raises ``Refused``."""
    mentor = await matches.lock_mentor(session, mentor_id)
    mentee = await session.get(User, mentee_id)
    if mentee is None or mentor is None:
        raise Refused(GONE)
    if mentee.role != Role.MENTEE or not mentee.is_onboarded:
        raise Refused(NOT_WAITING)
    if mentor.role != Role.MENTOR or not mentor.is_onboarded:
        raise Refused(NOT_A_MENTOR)
    if await matches.active_of_mentee(session, mentee.id) is not None:
        raise Refused(ALREADY_MATCHED)
    active = len(await matches.active_of_mentor(session, mentor.id))
    mentor_side = side_of(mentor, await profiles.get(session, mentor.id), active)
    if not has_room(mentor_side):
        raise Refused(FULL)
    suggestion = score(side_of(mentee, await profiles.get(session, mentee.id)), mentor_side)
    if suggestion is None:
        raise Refused(NO_SHARED_LANGUAGE)
    match = await matches.create(
        session,
        mentee_id=mentee.id,
        mentor_id=mentor.id,
        score=suggestion.score,
        confirmed_by=confirmed_by,
        now=now,
    )
    if match is None:  # another confirmation won the race a moment ago
        raise Refused(ALREADY_MATCHED)
    await schedules.set_due(session, CHECKIN, match.id, _asked_when(mentee, now + checkin_after))
    await schedules.set_due(session, SILENCE, mentee.id, now + silence_after)
    return Confirmed(match, mentee, mentor, suggestion)


def _asked_when(mentee: User, after: dt.datetime) -> dt.datetime:
    """The week-later question comes at the mentee's check-in time (a moment they chose to
    be at their phone), not at whatever hour the match happened to be confirmed."""
    if mentee.timezone is None or mentee.checkin_time is None:
        return after
    return reminders.next_at(mentee.timezone, mentee.checkin_time, after)


async def end(
    session: AsyncSession, match: Match, by: User, reason: str | None, now: dt.datetime
) -> None:
    """End the match cleanly: its relay closes and its week-later question is forgotten.
    The mentee is back in the queue (an ended match does not count)."""
    match.status = MatchStatus.ENDED
    match.ended_at = now
    match.ended_by = by.id
    match.end_reason = reason or None
    await matches.close_relays(session, match.id, by.id, now)
    await schedules.forget(session, CHECKIN, [match.id])


def side_name(match: Match, user_id: int) -> str | None:
    """ "mentee" or "mentor": the side ``user_id`` is on (None: neither)."""
    if match.mentee_id == user_id:
        return "mentee"
    if match.mentor_id == user_id:
        return "mentor"
    return None
