"""Session notes: a mentor's short record of a session, and what a concern sets going.

A draft lives in the conversation state (step + answers, like the daily log), so a
restart continues at the same question. A note flagged with a concern also lands in
the supervisors' review queue, in the same transaction as the note.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.steps import InvalidAnswer, Progress, TooLong
from storage import matches, notes, reviews
from storage.models import Match, ReviewItem, SessionNote


class Step(enum.StrEnum):
    MENTEE = "mentee"
    DATE = "date"
    DURATION = "minutes"
    TOPICS = "topics"
    PROGRESS = "progress"
    CONCERN = "concern"
    CONCERN_TEXT = "concern_text"


ORDER = tuple(Step)
TOPICS = (
    "symptoms",
    "pacing",
    "sleep",
    "mood",
    "relationships",
    "work",
    "healthcare",
    "setbacks",
    "goals",
    "other",
)
DURATIONS = (15, 30, 45, 60, 90)
MAX_MINUTES = 600
OLDEST_DAYS = 366  # a note for a session more than a year ago is surely a typo
TODAY, YESTERDAY, DONE, SKIP, YES, NO = "today", "yesterday", "done", "skip", "yes", "no"
TEXT_STEPS = frozenset({Step.PROGRESS, Step.CONCERN_TEXT})


class FutureDate(InvalidAnswer):
    """A session cannot have happened after today."""


def first_step(mentee_count: int) -> Step:
    """With one mentee there is nobody to choose: start at the date."""
    return Step.DATE if mentee_count == 1 else Step.MENTEE


def step_number(step: Step, skipped_mentee: bool) -> tuple[int, int]:
    """(number, total) of the questions the mentor sees; the concern text counts with the flag."""
    shown = [s for s in ORDER if s is not Step.CONCERN_TEXT]
    if skipped_mentee:
        shown.remove(Step.MENTEE)
    current = Step.CONCERN if step is Step.CONCERN_TEXT else step
    return shown.index(current) + 1, len(shown)


async def mentee_match(session: AsyncSession, mentor_id: int, mentee_id: int) -> Match | None:
    """The active match between this mentor and this mentee, or None: a button's mentee id
    is only a hint, and someone else's mentee (or an ended match) is not theirs to note."""
    for match in await matches.active_of_mentor(session, mentor_id):
        if match.mentee_id == mentee_id:
            return match
    return None


def choose(step: Step, value: str, answers: Mapping[str, Any], today: dt.date) -> Progress:
    """Take a tapped answer (the mentee step is checked against the database by the caller)."""
    answers = dict(answers)
    if step is Step.DATE:
        if value not in (TODAY, YESTERDAY):
            raise InvalidAnswer(value)
        day = today if value == TODAY else today - dt.timedelta(days=1)
        answers[step] = day.isoformat()
        return Progress(answers, Step.DURATION)
    if step is Step.DURATION:
        answers[step] = parse_minutes(value)
        return Progress(answers, Step.TOPICS)
    if step is Step.TOPICS:
        chosen = list(answers.get(step, []))
        if value == DONE:
            answers[step] = chosen
            return Progress(answers, Step.PROGRESS)
        if value not in TOPICS:
            raise InvalidAnswer(value)
        answers[step] = [t for t in TOPICS if (t in chosen) != (t == value)]
        return Progress(answers, step)
    if step in TEXT_STEPS:
        if value != SKIP:
            raise InvalidAnswer(value)
        answers[step] = None
        return Progress(answers, after_text(step))
    if step is Step.CONCERN:
        if value not in (YES, NO):
            raise InvalidAnswer(value)
        answers[step] = value == YES
        answers[Step.CONCERN_TEXT] = None
        return Progress(answers, Step.CONCERN_TEXT if value == YES else None)
    raise InvalidAnswer(value)


def type_answer(
    step: Step, text: str, answers: Mapping[str, Any], today: dt.date, limit: int
) -> Progress:
    """Take a typed answer: a date, minutes, or the free text of progress or a concern."""
    answers = dict(answers)
    text = text.strip()
    if step in TEXT_STEPS:
        if len(text) > limit:
            raise TooLong(len(text), limit)
        answers[step] = text or None
        return Progress(answers, after_text(step))
    if step is Step.DATE:
        answers[step] = parse_date(text, today).isoformat()
        return Progress(answers, Step.DURATION)
    if step is Step.DURATION:
        answers[step] = parse_minutes(text)
        return Progress(answers, Step.TOPICS)
    raise InvalidAnswer(text)


def trimmed(step: Step, kept: str, answers: Mapping[str, Any], limit: int) -> Progress:
    """Keep the first ``limit`` characters of a text that was too long."""
    return Progress({**answers, step: kept[:limit].strip() or None}, after_text(step))


def after_text(step: Step) -> Step | None:
    return Step.CONCERN if step is Step.PROGRESS else None


_DAY_FIRST = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?\.?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_date(text: str, today: dt.date) -> dt.date:
    """A session date: 2026-11-24, 24.11.2026, 24/11/26, 24.11 or 24/11 (this year; last
    year when that would be in the future). Not after today, not more than a year ago."""
    text = text.strip().lower()
    try:
        if iso := _ISO.match(text):
            day = dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        elif short := _DAY_FIRST.match(text):
            year = int(short[3]) if short[3] else today.year
            year += 2000 if year < 100 else 0
            day = dt.date(year, int(short[2]), int(short[1]))
            if not short[3] and day > today:
                day = day.replace(year=today.year - 1)
        else:
            raise InvalidAnswer(text)
    except ValueError as error:  # 31.02 and the like
        raise InvalidAnswer(text) from error
    if day > today:
        raise FutureDate(text)
    if (today - day).days > OLDEST_DAYS:
        raise InvalidAnswer(text)
    return day


def parse_minutes(text: str) -> int:
    """Minutes from 1 to 600: "45", "45 min", "45m"; "1h", "1.5 h" are hours."""
    text = text.strip().lower().replace(",", ".")
    hours = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:h|hr|hrs|hours?)", text)
    if hours:
        minutes = round(float(hours[1]) * 60)
    else:
        found = re.fullmatch(r"(\d+)\s*(?:m|min|mins|minutes?)?", text)
        if not found:
            raise InvalidAnswer(text)
        minutes = int(found[1])
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidAnswer(text)
    return minutes


async def save(
    session: AsyncSession, mentor_id: int, answers: Mapping[str, Any]
) -> tuple[SessionNote, ReviewItem | None]:
    """Store the note; a concern also adds a review item for the supervisors. (The mentee
    was checked against the mentor's active matches when chosen; a match ended since
    still gets its note: the session happened.)"""
    note = notes.add(
        session,
        mentor_id=mentor_id,
        mentee_id=answers[Step.MENTEE],
        match_id=answers.get("match_id"),
        session_date=dt.date.fromisoformat(answers[Step.DATE]),
        minutes=int(answers[Step.DURATION]),
        topics=[t for t in TOPICS if t in answers.get(Step.TOPICS, [])],
        progress=answers.get(Step.PROGRESS),
        concern=bool(answers.get(Step.CONCERN)),
        concern_text=answers.get(Step.CONCERN_TEXT),
    )
    await session.flush()
    item = None
    if note.concern:
        item = reviews.add(
            session,
            reviews.NOTE,
            mentor_id=mentor_id,
            mentee_id=note.mentee_id,
            note_id=note.id,
        )
        await session.flush()
    return note, item
