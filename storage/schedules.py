"""Schedules: what is due when (reminders, nudges, digests, match check-ins).

Scheduling is data. A row per (kind, subject) says when something is next due. A tick
claims due rows with one conditional UPDATE (``due_at`` set to None, re-checked in the
UPDATE itself; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), handles them and sets their
next time in the same transaction. Two bot processes never handle one row twice: the
second's UPDATE no longer finds it due, and a crash before the commit leaves it due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import claimed_from, upsert
from storage.models import Schedule, utcnow

# --- the kinds: one registry ----------------------------------------------------------------
# A feature that schedules something adds its kind here, saying what a row's subject is: a
# person (users.id), a match (matches.id) or the program (0: nobody's personal data). /privacy exports and erases a person's rows of
# every kind by this (storage/personal_data.py), and the scheduler refuses to start when a
# kind has no due handler (handlers/due.py), so neither can be forgotten.

PERSON, MATCH, PROGRAM = "person", "match", "program"  # what a row's subject_id names
EVENT = "event"  # a group event (group_events.id): its attendees are in event_rsvps
KINDS: dict[str, str] = {}


def kind(name: str, subject: str) -> str:
    """Declare a kind of scheduled thing (once); its name is what the rows carry."""
    if subject not in (PERSON, MATCH, PROGRAM, EVENT):
        raise ValueError(
            f"a schedule's subject is a person, a match, an event or the program: {subject!r}"
        )
    if KINDS.setdefault(name, subject) != subject:
        raise ValueError(f"schedule kind {name!r} is declared twice, differently")
    return name


def kinds_about(subject: str) -> tuple[str, ...]:
    return tuple(name for name, about in KINDS.items() if about == subject)


CHECKIN = kind("checkin", PERSON)  # a person's daily reminder at their local time
SILENCE = kind("silence", PERSON)  # a mentee gone quiet: their mentor is nudged
DIGEST = kind("digest", PERSON)  # a mentor's weekly summary
PLAN_CHECK = kind("plan_check", PERSON)  # "Is this how you feel right now?" unanswered
MATCH_CHECKIN = kind("match_checkin", MATCH)  # the week-later question to both sides
# A person's pacing: the weekly goal they hold and what was last offered or noted. Never due:
# the row only keeps that state (flows/pacing.py, handlers/pacing.py).
PACING = kind("pacing", PERSON)
# A mentee's weekly validated questionnaire, at their check-in time (handlers/measures.py);
# its state: the measure last asked, the one offered now and its week, or "stopped".
MEASURE = kind("measure", PERSON)
ROTA = kind("rota", PROGRAM)  # the on-call rota's next change (subject 0: there is one)
# An event's next reminder to those going: a day before, then an hour before (state "stage").
EVENT_REMINDER = kind("event_reminder", EVENT)
BOOSTER = kind("booster", PERSON)  # a graduate's check-in 1, 3 and 6 months on


@dataclass(frozen=True)
class Due:
    subject_id: int
    state: dict[str, Any]


async def claim_due(
    session: AsyncSession, kind: str, now: dt.datetime, *, limit: int = 1000
) -> list[Due]:
    """Take up to ``limit`` rows of ``kind`` due by ``now``; the caller reschedules them
    (``set_due``) in the same transaction, or they stay unscheduled."""
    due = (
        select(Schedule.subject_id)
        .where(Schedule.kind == kind, Schedule.due_at <= now)
        .order_by(Schedule.due_at)
        .limit(limit)
    )
    chosen = claimed_from(session, Schedule.subject_id, due)
    statement = (
        update(Schedule)
        .where(Schedule.kind == kind, chosen, Schedule.due_at <= now)
        .values(due_at=None, updated_at=now)
        .returning(Schedule.subject_id, Schedule.state)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    return [Due(row.subject_id, dict(row.state or {})) for row in rows]


async def set_due(
    session: AsyncSession,
    kind: str,
    subject_id: int,
    due_at: dt.datetime | None,
    state: Mapping[str, Any] | None = None,
) -> None:
    """When ``kind`` is next due for ``subject_id`` (None: not at all), with its state."""
    await set_many(session, kind, [(subject_id, due_at, state or {})])


async def set_many(
    session: AsyncSession,
    kind: str,
    rows: Iterable[tuple[int, dt.datetime | None, Mapping[str, Any]]],
) -> None:
    """``set_due`` for many subjects in one statement (a tick reschedules thousands)."""
    now = utcnow()
    values = [
        {"kind": kind, "subject_id": s, "due_at": d, "state": dict(st), "updated_at": now}
        for s, d, st in rows
    ]
    if values:
        await session.execute(upsert(session, Schedule.__table__, ("kind", "subject_id")), values)


async def get(session: AsyncSession, kind: str, subject_id: int) -> Schedule | None:
    return await session.get(Schedule, (kind, subject_id))


async def forget(session: AsyncSession, kind: str, subject_ids: Iterable[int]) -> None:
    """Remove the rows of these subjects (a person erased, a match ended)."""
    ids = list(subject_ids)
    if ids:
        await session.execute(
            delete(Schedule).where(Schedule.kind == kind, Schedule.subject_id.in_(ids))
        )


async def take_pending(session: AsyncSession, kind: str, subject_id: int) -> bool:
    """Remove the row if it is still due (not yet claimed by a tick): True when this call
    took it, so that the tick will not; False when a tick got there first (or none was)."""
    statement = delete(Schedule).where(
        Schedule.kind == kind, Schedule.subject_id == subject_id, Schedule.due_at.is_not(None)
    )
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return bool(result.rowcount)
