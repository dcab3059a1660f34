"""The daily check-in reminder: when it is next due, and what a tap on it changes.

A person's reminder is one ``schedules`` row (kind "checkin", subject = users.id). Its
``due_at`` is the next moment a reminder should go out; its state says what has been
sent and whether the person paused reminders:

* ``date``/``sent``: how many reminders went out for that local date (the check-in and
  at most one "Later": ``settings.reminders_per_day``);
* ``at``: the instant the row was scheduled for (a claim much later is stale: skipped);
* ``snoozed``: "Later" was pressed for ``date``;
* ``paused_until`` (a local date) or ``paused`` (until they resume).

Times are wall-clock times in the person's IANA zone, resolved with zoneinfo: a time
that does not exist on a spring-forward day fires at the first moment after it, and a
time that happens twice on an autumn day fires once (the first time).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.timezones import local_date
from storage import schedules
from storage.models import Role, Schedule, User

CHECKIN = schedules.CHECKIN
DIGEST = schedules.DIGEST
LOGGERS = frozenset({Role.MENTEE, Role.MENTOR})
# A reminder claimed this long after its time (the bot was down) is skipped, not sent late.
STALE_AFTER = dt.timedelta(hours=3)
PAUSES = {"week": 7, "two_weeks": 14}  # days; "until I resume" has no end


# --- when: DST-safe wall-clock times --------------------------------------------------


@lru_cache(maxsize=4096)  # a tick asks the same for thousands of people
def at_local(zone: str, day: dt.date, time: dt.time) -> dt.datetime:
    """The UTC instant of ``time`` on ``day`` in ``zone``.

    Repeated (autumn) times resolve to their first occurrence; missing (spring-forward)
    times to the first valid moment after them, the instant the clocks jump."""
    tz = zoneinfo.ZoneInfo(zone)
    wall = dt.datetime.combine(day, time)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # A gap: fold=1 reads the wall time with the offset before the jump, which lands
    # before the gap; step to the minute the clocks jump (gaps are whole minutes).
    instant = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC).replace(second=0, microsecond=0)
    while instant.astimezone(tz).replace(tzinfo=None) < wall:
        instant += dt.timedelta(minutes=1)
    return instant


def next_at(zone: str, time: dt.time, after: dt.datetime) -> dt.datetime:
    """The first instant strictly after ``after`` when it is ``time`` in ``zone``."""
    day = after.astimezone(zoneinfo.ZoneInfo(zone)).date() - dt.timedelta(days=1)
    while True:
        candidate = at_local(zone, day, time)
        if candidate > after:
            return candidate
        day += dt.timedelta(days=1)


def next_weekday_at(zone: str, time: dt.time, weekday: int, after: dt.datetime) -> dt.datetime:
    """The first instant after ``after`` that is ``time`` on ``weekday`` (0 = Monday)."""
    candidate = next_at(zone, time, after)
    while local_date(zone, candidate).weekday() != weekday:
        candidate = next_at(zone, time, candidate)
    return candidate


# A digest sent late (the bot was down on its day) is not followed by the regular one
# within hours: the next comes on the digest weekday at least this long after.
DIGEST_GAP = dt.timedelta(days=1)


def next_digest_at(zone: str, time: dt.time, weekday: int, sent_at: dt.datetime) -> dt.datetime:
    """When a mentor's next weekly digest is due, one having gone out at ``sent_at``."""
    return next_weekday_at(zone, time, weekday, sent_at + DIGEST_GAP)


# --- the reminder's state -------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to store: when the row is next due (None: nothing) and its state."""

    due_at: dt.datetime | None
    state: dict[str, Any]


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def sent_on(state: Mapping[str, Any], day: dt.date) -> int:
    """Reminders already sent for ``day``."""
    return int(state.get("sent", 0)) if _day(state.get("date")) == day else 0


def pause_of(state: Mapping[str, Any], today: dt.date) -> str | dt.date | None:
    """ "indefinite", the local date reminders start again, or None (not paused)."""
    if state.get("paused"):
        return "indefinite"
    until = _day(state.get("paused_until"))
    return until if until is not None and until > today else None


def _keep(state: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    kept = {
        k: state[k] for k in ("date", "sent", "snoozed", "paused", "paused_until") if k in state
    }
    kept.update(changes)
    return {k: v for k, v in kept.items() if v not in (None, False)}


def upcoming(
    zone: str,
    time: dt.time,
    state: Mapping[str, Any],
    now: dt.datetime,
    *,
    skip_today: bool = False,
) -> Plan:
    """The regular next reminder after ``now``, honouring a pause (and "not today")."""
    today = local_date(zone, now)
    pause = pause_of(state, today)
    if pause == "indefinite":
        return Plan(None, _keep(state, snoozed=None))
    state = _keep(state, snoozed=None, paused_until=pause.isoformat() if pause else None)
    if isinstance(pause, dt.date):
        due = at_local(zone, pause, time)
    elif skip_today:
        due = at_local(zone, today + dt.timedelta(days=1), time)
    else:
        due = next_at(zone, time, now)
    return Plan(due, {**state, "at": due.isoformat()})


@dataclass(frozen=True)
class Claimed:
    """What to do with a claimed reminder row: send reminder number ``number`` (0: none)."""

    number: int
    day: dt.date
    plan: Plan


def on_due(
    zone: str,
    time: dt.time,
    state: Mapping[str, Any],
    now: dt.datetime,
    *,
    logged_today: bool,
    per_day: int,
) -> Claimed:
    """A claimed reminder: send it (and count it), or skip it; then the next one."""
    today = local_date(zone, now)
    scheduled = dt.datetime.fromisoformat(state["at"]) if state.get("at") else now
    sent = sent_on(state, today)
    stale = now - scheduled > STALE_AFTER or local_date(zone, scheduled) != today
    if stale or logged_today or sent >= per_day or pause_of(state, today) is not None:
        return Claimed(0, today, upcoming(zone, time, state, now))
    counted = _keep(state, date=today.isoformat(), sent=sent + 1)
    return Claimed(sent + 1, today, upcoming(zone, time, counted, now))


def not_today(
    zone: str, time: dt.time, state: Mapping[str, Any], now: dt.datetime, *, per_day: int
) -> Plan:
    """ "Not today": nothing more today (a pending "Later" included); tomorrow as usual."""
    today = local_date(zone, now).isoformat()
    return upcoming(zone, time, _keep(state, date=today, sent=per_day), now, skip_today=True)


class Expired(Exception):
    """A reminder button of another day, or one whose moment has passed."""


def snooze(
    state: Mapping[str, Any], day: dt.date, now: dt.datetime, *, minutes: int, per_day: int
) -> Plan | None:
    """ "Later" on the reminder of ``day``: the second reminder in ``minutes``.

    None when it is already snoozed (a second tap changes nothing). Raises Expired when
    no reminder is left for the day (the second one has been sent)."""
    if sent_on(state, day) == 0 or sent_on(state, day) >= per_day:
        raise Expired()
    if state.get("snoozed"):
        return None
    due = now + dt.timedelta(minutes=minutes)
    return Plan(due, {**_keep(state, snoozed=True), "at": due.isoformat()})


def offers_later(number: int, per_day: int) -> bool:
    """Does reminder ``number`` (1, 2) offer "Later"? Only while another one is allowed."""
    return number < per_day


def paused(zone: str, time: dt.time, state: Mapping[str, Any], now: dt.datetime, how: str) -> Plan:
    """Pause for a week, two weeks, or until they resume ("indefinite")."""
    if how == "indefinite":
        return Plan(None, _keep(state, snoozed=None, paused=True, paused_until=None))
    until = local_date(zone, now) + dt.timedelta(days=PAUSES[how])
    return upcoming(zone, time, _keep(state, paused=None, paused_until=until.isoformat()), now)


def resumed(zone: str, time: dt.time, state: Mapping[str, Any], now: dt.datetime) -> Plan:
    return upcoming(zone, time, _keep(state, paused=None, paused_until=None), now)


async def pause_unreachable(session: AsyncSession, user_id: int) -> None:
    """The person's chat cannot be reached (they blocked the bot, or left): no reminder
    every day into the void. They are paused until they resume, as /reminders shows."""
    row = await schedules.get(session, CHECKIN, user_id)
    state = _keep(dict(row.state) if row else {}, snoozed=None, paused=True, paused_until=None)
    await schedules.set_due(session, CHECKIN, user_id, None, state)


# --- the rows -------------------------------------------------------------------------


def is_reminded(user: User | Any) -> bool:
    """Mentees and mentors log, and were promised a daily check-in at onboarding.
    (``user`` may be a row of those columns: a tick reads thousands.)"""
    return (
        user.onboarded_at is not None
        and user.role in LOGGERS
        and user.timezone is not None
        and user.checkin_time is not None
    )


async def state_of(session: AsyncSession, user: User) -> dict[str, Any]:
    row = await schedules.get(session, CHECKIN, user.id)
    return dict(row.state or {}) if row is not None else {}


async def store(session: AsyncSession, user: User, plan: Plan) -> None:
    await schedules.set_due(session, CHECKIN, user.id, plan.due_at, plan.state)


async def schedule_person(session: AsyncSession, user: User, now: dt.datetime) -> Plan | None:
    """(Re)schedule the person's reminder from their time and zone, keeping a pause."""
    if not is_reminded(user):
        return None
    assert user.timezone is not None and user.checkin_time is not None
    plan = upcoming(user.timezone, user.checkin_time, await state_of(session, user), now)
    await store(session, user, plan)
    return plan


async def schedule_digest(
    session: AsyncSession, user: User, now: dt.datetime, weekday: int
) -> None:
    """A mentor's weekly digest: on ``weekday`` at their check-in time."""
    if user.role == Role.MENTOR and is_reminded(user):
        assert user.timezone is not None and user.checkin_time is not None
        due = next_weekday_at(user.timezone, user.checkin_time, weekday, now)
        await schedules.set_due(session, DIGEST, user.id, due, {})


async def backfill(session: AsyncSession, now: dt.datetime, weekday: int) -> int:
    """Schedule reminders (and mentors' digests) for onboarded people who have none yet
    (people onboarded before reminders existed). Returns how many rows were added."""
    added = 0
    for kind in (CHECKIN, DIGEST):
        have = select(Schedule.subject_id).where(Schedule.kind == kind)
        roles = LOGGERS if kind == CHECKIN else {Role.MENTOR}
        missing = select(User).where(
            User.onboarded_at.is_not(None),
            User.role.in_([str(r) for r in roles]),
            User.timezone.is_not(None),
            User.checkin_time.is_not(None),
            User.id.not_in(have),
        )
        rows = []
        for user in (await session.execute(missing)).scalars():
            assert user.timezone is not None and user.checkin_time is not None
            if kind == CHECKIN:
                plan = upcoming(user.timezone, user.checkin_time, {}, now)
                rows.append((user.id, plan.due_at, plan.state))
            else:
                due = next_weekday_at(user.timezone, user.checkin_time, weekday, now)
                rows.append((user.id, due, {}))
        await schedules.set_many(session, kind, rows)
        added += len(rows)
    return added
