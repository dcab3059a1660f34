"""Group events (``/event``), declared for the questionnaire engine, and their rules: when
an event starts (the group's time zone), when its reminders are due, who may create one,
and whether a tap on its post may still count.

A walk, a workshop or an online meet-up has a title, a day and a time in the group's time
zone, a place or a link, accessibility notes (step-free, seating, a quiet room; taps plus
an optional line) and a capacity. Pure: no Telegram types; the storage it reads is passed.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.utils.i18n import lazy_gettext as __

from flows import questionnaire as q
from flows.questionnaire import Kind
from flows.states import EventPlanning
from flows.steps import InvalidAnswer
from storage.models import GroupEvent, ProgramGroup, Role

DAY_BEFORE = dt.timedelta(hours=24)
HOUR_BEFORE = dt.timedelta(hours=1)
DAY, HOUR = "day", "hour"  # the reminders' stages
TITLE_LIMIT, PLACE_LIMIT, NOTE_LIMIT = 80, 200, 200
MAX_CAPACITY = 500
NO_LIMIT = "none"
FURTHEST = dt.timedelta(days=366)  # an event more than a year ahead is surely a typo
TODAY, TOMORROW = "today", "tomorrow"
FIXED_GROUP = "fixed_group"  # in the answers: the group was chosen before (in the group)
# In the answers: the time given had passed when the event was saved, so the day and time are
# asked again and the steps after them, answered already, are not.
RETIME = "retime"


class Step(enum.StrEnum):
    GROUP = "group"
    KIND = "kind"
    TITLE = "title"
    DATE = "date"
    TIME = "time"
    PLACE = "place"
    ACCESS = "access"
    ACCESS_NOTE = "access_note"
    CAPACITY = "capacity"


class PastDate(InvalidAnswer):
    """A day that has already gone."""


class TooFar(InvalidAnswer):
    """A day more than a year ahead."""


KIND_NAMES = {
    "walk": __("Walk"),
    "workshop": __("Workshop"),
    "online": __("Online meet-up"),
    "other": __("Get-together"),
}
ACCESS_NAMES = {
    "step_free": __("step-free"),
    "seating": __("seating"),
    "quiet_room": __("quiet room"),
    "toilets": __("accessible toilet"),
}
CAPACITY_CHOICES = ("5", "10", "15", "20", NO_LIMIT)
# Callback data is split at ":", so a time's button carries "1000" and reads "10:00".
TIME_CHOICES = ("1000", "1100", "1400", "1600", "1800", "1900")


def _time_label(value: str) -> str:
    return f"{value[:-2]}:{value[-2:]}"


@dataclass(frozen=True)
class Options:
    """What the questions depend on: the groups this person may plan for (id, title) and
    their own today (dates typed are read against it)."""

    groups: tuple[tuple[str, str], ...]
    today: dt.date


# --- who may plan, and for which groups -----------------------------------------------------


def may_plan(role: str | None, group_role: str | None) -> bool:
    """Facilitators of the group, mentors in it, admins anywhere."""
    return (
        role == Role.ADMIN
        or group_role == "facilitator"
        or (role == Role.MENTOR and group_role is not None)
    )


# --- time -----------------------------------------------------------------------------------


def starts_at(day: dt.date, hhmm: str, zone: str) -> dt.datetime:
    """The instant (UTC) of ``hhmm`` on ``day`` in the group's zone. A time skipped by a
    clock change (02:30 on the spring night) is read as the same wall time after it."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    local = dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=zoneinfo.ZoneInfo(zone))
    return local.astimezone(dt.UTC)


def first_reminder(start: dt.datetime, now: dt.datetime) -> tuple[str, dt.datetime] | None:
    """The first reminder still ahead: a day before, else an hour before, else none."""
    if start - DAY_BEFORE > now:
        return DAY, start - DAY_BEFORE
    if start - HOUR_BEFORE > now:
        return HOUR, start - HOUR_BEFORE
    return None


def next_reminder(
    stage: str, start: dt.datetime, now: dt.datetime
) -> tuple[str, dt.datetime] | None:
    """After the reminder of ``stage`` went: the hour-before one, while it is ahead."""
    if stage == DAY and start - HOUR_BEFORE > now:
        return HOUR, start - HOUR_BEFORE
    return None


def closed_for_answers(event: GroupEvent, now: dt.datetime) -> str | None:
    """Why a tap on an event's post no longer counts: "cancelled", "past", or None."""
    if event.cancelled_at is not None:
        return "cancelled"
    if event.starts_at <= now:
        return "past"
    return None


def group_now(group: ProgramGroup, now: dt.datetime) -> dt.datetime:
    return now.astimezone(zoneinfo.ZoneInfo(group.timezone))


# --- answers --------------------------------------------------------------------------------

_DAY_MONTH = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?\.?$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_day(text: str, options: Options) -> str:
    """ "today", "tomorrow", "2026-12-12", "12.12.2026", "12/12" (day first: the program's
    people write dates that way in es and de, and in the UK) → ISO date. A day without a
    year is the next such day."""
    typed = text.strip().lower()
    today = options.today
    if typed == TODAY:
        day = today
    elif typed == TOMORROW:
        day = today + dt.timedelta(days=1)
    elif match := _ISO_DAY.match(typed):
        day = _date(int(match[1]), int(match[2]), int(match[3]), text)
    elif match := _DAY_MONTH.match(typed):
        day_of_month, month, year = int(match[1]), int(match[2]), match[3]
        if year is None:
            day = _date(today.year, month, day_of_month, text)
            if day < today:
                day = _date(today.year + 1, month, day_of_month, text)
        else:
            full_year = int(year) + 2000 if len(year) == 2 else int(year)
            day = _date(full_year, month, day_of_month, text)
    else:
        raise InvalidAnswer(text)
    if day < today:
        raise PastDate(text)
    if day - today > FURTHEST:
        raise TooFar(text)
    return day.isoformat()


def _date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise InvalidAnswer(text) from error


def parse_capacity(text: str, options: Any = None) -> int | str:
    """A whole number of places from 1 to 500, or no limit. 0 is no event at all."""
    typed = text.strip()
    if typed == NO_LIMIT:
        return NO_LIMIT
    return q.whole_number(1, MAX_CAPACITY)(typed)


def capacity_of(answers: Mapping[str, Any]) -> int | None:
    value = answers.get(Step.CAPACITY.value)
    return None if value in (None, NO_LIMIT) else int(value)


def _group_choices(options: Options) -> tuple[str, ...]:
    return tuple(group_id for group_id, _title in options.groups)


def _asks_for_group(answers: Mapping[str, Any], options: Any) -> bool:
    return not answers.get(FIXED_GROUP)


def _not_retiming(answers: Mapping[str, Any], options: Any) -> bool:
    return not answers.get(RETIME)


EVENT = q.Questionnaire(
    name="event",
    state=EventPlanning.answering,
    header=__("New event · {number}/{total}"),
    back=True,
    steps=(
        q.Step(
            Step.GROUP.value,
            Kind.ONE,
            __("Which group is it for?"),
            choices=_group_choices,
            when=_asks_for_group,
        ),
        q.Step(
            Step.KIND.value,
            Kind.ONE,
            __("What are you planning?"),
            choices=tuple(KIND_NAMES),
            labels=KIND_NAMES,
            widths=(2,),
        ),
        q.Step(
            Step.TITLE.value,
            Kind.TEXT,
            __("What shall we call it? One short line, e.g. “Gentle walk by the river”."),
            limit=TITLE_LIMIT,
        ),
        q.Step(
            Step.DATE.value,
            Kind.DATE,
            __("Which day? Tap, or type a date like 12.12."),
            choices=(TODAY, TOMORROW),
            labels={TODAY: __("Today"), TOMORROW: __("Tomorrow")},
            parse=parse_day,
            widths=(2,),
            hint=__("Please type a day like 12.12. or 2026-12-12, from today on."),
        ),
        q.Step(
            Step.TIME.value,
            Kind.TIME,
            __("At what time, in the group's time zone? Tap, or type it like 10:30."),
            choices=TIME_CHOICES,
            labels=_time_label,
            parse=q.time_of_day,
            widths=(3,),
            hint=__("Please type a time like 10:30."),
        ),
        q.Step(
            Step.PLACE.value,
            Kind.TEXT,
            __("Where? An address or meeting point, or the link for an online meet-up."),
            limit=PLACE_LIMIT,
            when=_not_retiming,
        ),
        q.Step(
            Step.ACCESS.value,
            Kind.SEVERAL,
            __("Accessibility: tap what the place offers, then Done."),
            choices=tuple(ACCESS_NAMES),
            labels=ACCESS_NAMES,
            skip=True,
            widths=(2,),
            when=_not_retiming,
        ),
        q.Step(
            Step.ACCESS_NOTE.value,
            Kind.TEXT,
            __(
                "Anything else people should know to come comfortably? (how far to walk, "
                "where to rest, what to bring) Type it, or Skip."
            ),
            limit=NOTE_LIMIT,
            skip=True,
            when=_not_retiming,
        ),
        q.Step(
            Step.CAPACITY.value,
            Kind.NUMBER,
            __("How many people can come? Tap, or type a number."),
            choices=CAPACITY_CHOICES,
            labels={NO_LIMIT: __("No limit")},
            parse=parse_capacity,
            widths=(4, 1),
            hint=__("Please type a whole number of places from 1 to 500, or tap No limit."),
            when=_not_retiming,
        ),
    ),
)
