"""Session notes, declared for the questionnaire engine: a mentor's short record of a
session, and what a concern sets going.

A draft lives in the conversation state (step + answers, like the daily log), so a
restart continues at the same question. A note flagged with a concern also lands in
the supervisors' review queue, in the same transaction as the note.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from flows import questionnaire as q
from flows.questionnaire import Kind
from flows.states import NoteWriting
from flows.steps import InvalidAnswer
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
TODAY, YESTERDAY, YES, NO = "today", "yesterday", "yes", "no"
ONE_MENTEE = "one_mentee"  # in the answers: the mentor has one mentee, so nobody to choose


class FutureDate(InvalidAnswer):
    """A session cannot have happened after today."""


TOPIC_NAMES = {
    "symptoms": __("symptoms"),
    "pacing": __("pacing and activity"),
    "sleep": __("sleep"),
    "mood": __("mood and coping"),
    "relationships": __("relationships"),
    "work": __("work or study"),
    "healthcare": __("healthcare and appointments"),
    "setbacks": __("setbacks"),
    "goals": __("goals"),
    "other": __("other"),
}


@dataclass(frozen=True)
class Options:
    """What the note's questions depend on: the mentor's day, the text limit, and their
    mentees (id, name), whom the first question offers."""

    today: dt.date
    limit: int
    mentees: tuple[tuple[str, str], ...] = ()


async def mentee_match(session: AsyncSession, mentor_id: int, mentee_id: int) -> Match | None:
    """The active match between this mentor and this mentee, or None: a button's mentee id
    is only a hint, and someone else's mentee (or an ended match) is not theirs to note."""
    for match in await matches.active_of_mentor(session, mentor_id):
        if match.mentee_id == mentee_id:
            return match
    return None


def _session_day(text: str, options: Options) -> str:
    token = text.strip().casefold()
    if token == TODAY:
        return options.today.isoformat()
    if token == YESTERDAY:
        return (options.today - dt.timedelta(days=1)).isoformat()
    return parse_date(text, options.today).isoformat()


def _date_question(options: Options) -> str:
    example = options.today - dt.timedelta(days=2)
    return _("When was the session? Tap, or type the date, for example {short} or {iso}.").format(
        short=f"{example:%d.%m}", iso=example.isoformat()
    )


def _with_several_mentees(answers: Mapping[str, Any], options: Options) -> bool:
    return not answers.get(ONE_MENTEE)


def _concerned(answers: Mapping[str, Any], options: Options) -> bool:
    return answers.get(Step.CONCERN) is True


NOTE = q.Questionnaire(
    name="session_note",
    state=NoteWriting.answering,
    header=__("Session note · {number}/{total}"),
    about_someone_else=True,  # "she feels hopeless" is about the mentee
    steps=(
        # The choices are the mentor's mentees, from our records (handlers/notes.py).
        q.Step(
            Step.MENTEE.value,
            Kind.ONE,
            __("Which mentee was the session with?"),
            choices=lambda options: tuple(mentee for mentee, _name in options.mentees),
            when=_with_several_mentees,
        ),
        q.Step(
            Step.DATE.value,
            Kind.DATE,
            _date_question,
            choices=(TODAY, YESTERDAY),
            labels={TODAY: __("Today"), YESTERDAY: __("Yesterday")},
            parse=_session_day,
            widths=(2,),
            hint=__(
                "I couldn't read that date. Tap a button, or type it like 24.11 or 2026-11-24."
            ),
        ),
        q.Step(
            Step.DURATION.value,
            Kind.NUMBER,
            __("How long was it? Tap, or type the minutes."),
            choices=tuple(str(m) for m in DURATIONS),
            labels=lambda minutes: _("{minutes} min").format(minutes=minutes),
            parse=lambda text, _options: parse_minutes(text),
            widths=(5,),
            hint=__("Please tap a button, or type the minutes as a number from 1 to 600."),
        ),
        q.Step(
            Step.TOPICS.value,
            Kind.SEVERAL,
            __("What did you talk about? Tap all that apply, then Done."),
            choices=TOPICS,
            labels=TOPIC_NAMES,
            widths=(2,),
        ),
        q.Step(
            Step.PROGRESS.value,
            Kind.TEXT,
            lambda options: _(
                "Any progress on their goals? A few words (up to {limit} characters), or skip."
            ).format(limit=options.limit),
            limit=lambda options: options.limit,
            skip=True,
        ),
        q.Step(
            Step.CONCERN.value,
            Kind.ONE,
            __(
                "Is there anything a supervisor should look at? A worry about their health or "
                "safety, or about the mentoring itself."
            ),
            choices=(NO, YES),
            labels={NO: __("No"), YES: __("Yes, flag a concern")},
            parse=lambda value, _options: value == YES,
            widths=(2,),
        ),
        q.Step(
            Step.CONCERN_TEXT.value,
            Kind.TEXT,
            lambda options: _(
                "What worries you? A few words help the supervisor (up to {limit} characters), "
                "or skip."
            ).format(limit=options.limit),
            limit=lambda options: options.limit,
            skip=True,
            when=_concerned,
            counts_as=Step.CONCERN.value,
        ),
    ),
)


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
