"""The weekly on-call rota: reading its file, and when each shift begins and ends.

A rota file is plain text, one shift a line (commas or spaces between the fields), with
the time zone its times are in::

    # peerbot on-call rota
    timezone: Europe/Madrid
    # day     start  end    primary     backup (optional)
    Mon-Fri   08:00  18:00  111111111   222222222
    Mon-Fri   18:00  08:00  333333333
    Sat       00:00  24:00  222222222   111111111
    Sun       00:00  24:00  333333333

Days are English names or their first three letters, ISO numbers (1 Monday … 7 Sunday), a
range ``Mon-Fri`` or ``daily``. An end at or before the start is the next day's (a night
shift); ``24:00`` is midnight at the end of the day. People are Telegram user ids.
Shifts may not overlap. Every mistake is named with its line (``RotaError``).

The rest is time: each shift's UTC start and end in a given week (DST-safe through
``zoneinfo``), the shift that covers an instant, and the events a tick acts on between
two instants: a reminder ``REMIND_BEFORE`` a shift starts, and every boundary (a start
or an end), where the on-call becomes what the rota says.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall, schedules
from storage import rota as rota_store
from storage.models import Role, RotaShift, User

REMIND_BEFORE = dt.timedelta(minutes=15)
KIND = schedules.ROTA  # its row in storage.schedules (subject 0: there is one rota)
WEEK = 7 * 24 * 60  # minutes

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ZONE_LINE = re.compile(r"^(?:time\s*zone|timezone|tz)\s*[:=,\s]\s*(\S+)\s*$", re.IGNORECASE)


class RotaError(ValueError):
    """A rota file that cannot be used, with the line that says why (0: the whole file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Slot:
    """One weekly shift. ``primary`` and ``backup`` are Telegram ids as read from a file,
    users.id once stored (``storage.rota``)."""

    line: int
    weekday: int  # 0 Monday
    starts: dt.time
    ends: dt.time
    primary: int
    backup: int | None = None

    @property
    def minutes(self) -> int:
        """How long the shift is."""
        start = self.starts.hour * 60 + self.starts.minute
        end = self.ends.hour * 60 + self.ends.minute
        return (end - start) % (24 * 60) or 24 * 60


@dataclass(frozen=True)
class Rota:
    zone: str
    slots: tuple[Slot, ...]

    def people(self) -> set[int]:
        return {p for s in self.slots for p in (s.primary, s.backup) if p is not None}

    def with_people(self, ids: dict[int, int]) -> Rota:
        """The same rota with each person renamed through ``ids``."""
        return Rota(
            self.zone,
            tuple(
                replace(
                    s,
                    primary=ids[s.primary],
                    backup=ids[s.backup] if s.backup is not None else None,
                )
                for s in self.slots
            ),
        )


@dataclass(frozen=True)
class Shift:
    """One slot in one week: when it starts and ends (UTC)."""

    slot: Slot
    start: dt.datetime
    end: dt.datetime

    def under_way(self, when: dt.datetime) -> bool:
        """A start counts; an end does not."""
        return self.start <= when < self.end


# --- the file --------------------------------------------------------------------------------


def parse(text: str) -> Rota:
    zone: str | None = None
    slots: list[Slot] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        found = _ZONE_LINE.match(line)
        if found:
            if zone is not None:
                raise RotaError(number, "a second time zone line (one rota, one time zone)")
            zone = _zone(number, found.group(1).strip("\"'"))
            continue
        slots += _shift_line(number, line)
    if zone is None:
        raise RotaError(0, "no time zone: add a line like 'timezone: Europe/Madrid'")
    if not slots:
        raise RotaError(0, "no shifts: add lines like 'Mon 08:00 18:00 <primary id> <backup id>'")
    _no_overlaps(slots)
    return Rota(zone, tuple(sorted(slots, key=lambda s: (s.weekday, s.starts))))


def _zone(number: int, name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise RotaError(
            number, f"unknown time zone {name!r} (an IANA name like Europe/Madrid)"
        ) from None
    return name


def _shift_line(number: int, line: str) -> list[Slot]:
    fields = [f.strip().strip("\"'") for f in re.split(r"[,;\s]+", line) if f.strip()]
    if len(fields) not in (4, 5):
        raise RotaError(
            number,
            f"expected 'day start end primary [backup]', found {len(fields)} fields",
        )
    days = _days(number, fields[0])
    starts = _time(number, fields[1], "start")
    ends = _time(number, fields[2], "end")
    if starts == ends and fields[2] != "24:00":  # 00:00 to 24:00 is the whole day
        raise RotaError(number, "the shift ends when it starts")
    primary = _person(number, fields[3], "primary")
    backup = _person(number, fields[4], "backup") if len(fields) == 5 else None
    if backup == primary:
        raise RotaError(number, f"{primary} cannot be their own backup")
    return [Slot(number, day, starts, ends, primary, backup) for day in days]


def _days(number: int, text: str) -> list[int]:
    word = text.lower()
    if word in ("daily", "everyday", "all"):
        return list(range(7))
    first, dash, last = word.partition("-")
    if dash:
        start, end = _day(number, first), _day(number, last)
        return [(start + n) % 7 for n in range((end - start) % 7 + 1)]
    return [_day(number, word)]


def _day(number: int, word: str) -> int:
    if word in DAYS:
        return DAYS.index(word)
    if word in FULL_DAYS:
        return FULL_DAYS.index(word)
    if word.isdigit() and 1 <= int(word) <= 7:
        return int(word) - 1
    raise RotaError(number, f"{word!r} is not a day (Mon … Sun, 1 … 7, Mon-Fri or daily)")


def _time(number: int, text: str, what: str) -> dt.time:
    found = _TIME.match(text)
    hours, minutes = (int(found.group(1)), int(found.group(2))) if found else (-1, -1)
    if (hours, minutes) == (24, 0) and what == "end":
        return dt.time(0, 0)  # midnight at the end of the day: an end at 00:00 is the next day
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise RotaError(number, f"{text!r} is not a {what} time (HH:MM, like 08:00)")
    return dt.time(hours, minutes)


def _person(number: int, text: str, what: str) -> int:
    if not re.fullmatch(r"\d{1,15}", text):
        raise RotaError(number, f"{text!r} is not a Telegram user id ({what}: digits only)")
    return int(text)


def _no_overlaps(slots: list[Slot]) -> None:
    spans = [(s, s.weekday * 24 * 60 + s.starts.hour * 60 + s.starts.minute) for s in slots]
    for i, (one, a) in enumerate(spans):
        for other, b in spans[i + 1 :]:
            if (b - a) % WEEK < one.minutes or (a - b) % WEEK < other.minutes:
                earlier, later = sorted((one, other), key=lambda s: s.line)
                where = f"line {earlier.line}" if earlier.line != later.line else "the same line"
                raise RotaError(
                    later.line,
                    f"this shift overlaps the one on {where} "
                    f"({DAYS[earlier.weekday].title()} {earlier.starts:%H:%M})",
                )


# --- time ------------------------------------------------------------------------------------


def shifts_around(rota: Rota, when: dt.datetime, days: int = 8) -> list[Shift]:
    """Every shift starting within ``days`` before or after ``when``, in order of start."""
    zone = zoneinfo.ZoneInfo(rota.zone)
    today = when.astimezone(zone).date()
    found = []
    for offset in range(-days, days + 1):
        day = today + dt.timedelta(days=offset)
        for slot in rota.slots:
            if slot.weekday == day.weekday():
                start = dt.datetime.combine(day, slot.starts, tzinfo=zone)
                end_day = day + dt.timedelta(days=1) if slot.ends <= slot.starts else day
                end = dt.datetime.combine(end_day, slot.ends, tzinfo=zone)
                found.append(Shift(slot, start.astimezone(dt.UTC), end.astimezone(dt.UTC)))
    return sorted(found, key=lambda s: s.start)


def covering(rota: Rota, when: dt.datetime) -> Shift | None:
    """The shift under way at ``when``."""
    return next((s for s in shifts_around(rota, when, 2) if s.under_way(when)), None)


def this_week(rota: Rota, when: dt.datetime) -> list[Shift]:
    """The shifts starting in ``when``'s week (Monday to Sunday, in the rota's zone), and
    first the one under way if it began last week (Sunday night into Monday)."""
    zone = zoneinfo.ZoneInfo(rota.zone)
    monday = when.astimezone(zone).date() - dt.timedelta(days=when.astimezone(zone).weekday())
    return [
        s
        for s in shifts_around(rota, when, 8)
        if monday <= s.start.astimezone(zone).date() < monday + dt.timedelta(days=7)
        or s.under_way(when)
    ]


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    kind: str  # "remind" (REMIND_BEFORE a shift) | "boundary" (a start or an end)
    shift: Shift


def events_between(rota: Rota, after: dt.datetime, until: dt.datetime) -> list[Event]:
    """What happens in (after, until], in order; a boundary after a reminder at one instant."""
    found = []
    for shift in shifts_around(rota, until, 9):
        for at, kind in (
            (shift.start - REMIND_BEFORE, "remind"),
            (shift.start, "boundary"),
            (shift.end, "boundary"),
        ):
            if after < at <= until:
                found.append(Event(at, kind, shift))
    return sorted(found, key=lambda e: (e.at, e.kind != "remind"))


def next_boundary(rota: Rota, after: dt.datetime) -> dt.datetime | None:
    """The next start or end of a shift after ``after``: the next hand-over."""
    times = [
        at
        for shift in shifts_around(rota, after, 9)
        for at in (shift.start, shift.end)
        if at > after
    ]
    return min(times, default=None)


def next_event(rota: Rota, after: dt.datetime) -> dt.datetime | None:
    """When the tick next has something to do after ``after``."""
    times = [
        at
        for shift in shifts_around(rota, after, 9)
        for at in (shift.start - REMIND_BEFORE, shift.start, shift.end)
        if at > after
    ]
    return min(times, default=None)


# --- stored ----------------------------------------------------------------------------------


def to_rows(rota: Rota) -> list[RotaShift]:
    """``rota`` (people by users.id) as rows for ``storage.rota.replace``."""
    return [
        RotaShift(
            line=slot.line,
            weekday=slot.weekday,
            starts=slot.starts,
            ends=slot.ends,
            timezone=rota.zone,
            primary_id=slot.primary,
            backup_id=slot.backup,
        )
        for slot in rota.slots
    ]


async def load(session: AsyncSession) -> Rota | None:
    """The stored rota (people by users.id), or None when there is none."""
    stored = await rota_store.rows(session)
    if not stored:
        return None
    slots = tuple(
        Slot(r.line, r.weekday, r.starts, r.ends, r.primary_id, r.backup_id) for r in stored
    )
    return Rota(stored[0].timezone, slots)


# --- handing over ----------------------------------------------------------------------------


@dataclass
class HandOver:
    """What a boundary changed: whose shift began (as what), whose ended (they hold none
    now), who is on call after it, and the rota's people who could not be put on call
    (no longer supervisors)."""

    shift: Shift | None
    started: list[tuple[User, str]]
    ended: list[User]
    primary: User | None
    backups: list[User]
    refused: list[int]


async def hand_over(session: AsyncSession, rota: Rota, when: dt.datetime) -> HandOver:
    """Make the on-call what the rota says at ``when`` (a boundary): the shift under way
    takes over, or, between shifts, nobody is on call (then alerts page every supervisor).
    Whoever took a shift by hand keeps it until here: a boundary overrides them."""
    shift = covering(rota, when)
    wanted: dict[int, tuple[User, str]] = {}
    refused: list[int] = []
    if shift is not None:
        for user_id, kind in (
            (shift.slot.primary, oncall.PRIMARY),
            (shift.slot.backup, oncall.BACKUP),
        ):
            if user_id is None:
                continue
            person = await session.get(User, user_id, populate_existing=True)
            if person is None or person.role != Role.SUPERVISOR:
                refused.append(user_id)
                continue
            wanted[person.id] = (person, kind)
    primary, backups = await oncall.on_call(session)
    before = {b.id: (b, oncall.BACKUP) for b in backups}
    if primary is not None:
        before[primary.id] = (primary, oncall.PRIMARY)
    ended = []
    for user_id, (person, kind) in before.items():
        if wanted.get(user_id, (None, None))[1] != kind:
            await oncall.end(session, person)
            if user_id not in wanted:
                ended.append(person)
    started = []
    for user_id, (person, kind) in wanted.items():
        if before.get(user_id, (None, None))[1] != kind:
            await oncall.take(session, person, kind)
            started.append((person, kind))
    await session.flush()
    primary, backups = await oncall.on_call(session)
    return HandOver(shift, started, ended, primary, backups, refused)
