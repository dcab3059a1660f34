"""Nudges to mentors and their weekly digest, through the real dispatcher and scheduler tick.

A mentee gone quiet for three days: their mentor is nudged once per silence, with a
"reach out" button. A hard day reaches the mentor only when the mentee shares hard days,
and never with the log's note. The weekly digest sums up each mentee as far as they share.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from bot.scheduler import run_due
from flows import nudges
from flows import reminders as flow
from handlers.keyboards import ReachOut
from storage import schedules
from storage.models import DailyLog, Match, Profile, Role, utcnow
from tests.harness import Harness
from tests.unit.alert_helpers import member, outbox_rows
from tests.unit.chat_helpers import Watch, answer_all, local_today, person, save_log, tap_data

MENTEE, OTHER_MENTEE, MENTOR = 320, 321, 820
ZONE = "Europe/London"
NOTE = "my sister visited and we argued"


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def matched(
    sessionmaker, mentee_tid: int = MENTEE, *, shares=(), started_days_ago: float = 10, name="Iris"
) -> tuple[int, int, int]:
    """A mentee (sharing ``shares``) matched with the mentor; (mentee, mentor, match) ids."""
    mentee = await member(sessionmaker, mentee_tid, zone=ZONE, display_name=name)
    async with sessionmaker() as session:
        mentor = await session.scalar(
            Match.__table__.select().with_only_columns(Match.mentor_id).limit(1)
        )
    if mentor is None:
        mentor = await member(sessionmaker, MENTOR, role=Role.MENTOR, zone=ZONE, display_name="Mo")
    async with sessionmaker() as session:
        session.add(Profile(user_id=mentee, shares=list(shares)))
        match = Match(
            mentee_id=mentee,
            mentor_id=mentor,
            started_at=utcnow() - dt.timedelta(days=started_days_ago),
        )
        session.add(match)
        await session.commit()
        return mentee, mentor, match.id


async def logged_days_ago(sessionmaker, user_id: int, days: float, **answers) -> dt.date:
    """A log written ``days`` ago (its date and its time)."""
    at = utcnow() - dt.timedelta(days=days)
    day = flow.local_date(ZONE, at)
    await save_log(sessionmaker, user_id, day, **answers)
    async with sessionmaker() as session:
        await session.execute(
            update(DailyLog)
            .where(DailyLog.user_id == user_id, DailyLog.local_date == day)
            .values(created_at=at, updated_at=at)
        )
        await session.commit()
    return day


async def silence_due(sessionmaker, mentee: int, at: dt.datetime) -> None:
    async with sessionmaker() as session:
        await schedules.set_due(session, nudges.SILENCE, mentee, at)
        await session.commit()


async def tick(harness: Harness, sessionmaker, settings, now: dt.datetime):
    return await run_due(sessionmaker, settings, harness.dispatcher["i18n"], now=now)


async def nudges_to_mentor(sessionmaker, prefix: str = "nudge:"):
    return [r for r in await outbox_rows(sessionmaker, prefix) if r.chat_id == MENTOR]


async def test_three_silent_days_nudge_the_mentor_once(harness, watch, sessionmaker, settings):
    mentee, _, match = await matched(sessionmaker)
    last = await logged_days_ago(sessionmaker, mentee, 3.2)
    now = utcnow()
    await silence_due(sessionmaker, mentee, now - dt.timedelta(minutes=5))
    await tick(harness, sessionmaker, settings, now)
    [nudge] = await nudges_to_mentor(sessionmaker)
    assert nudge.key == f"nudge:silent:{mentee}:{last.isoformat()}"
    assert "Iris hasn't checked in for 3 days" in nudge.text
    assert nudge.datas == [ReachOut(match_id=match).pack()]
    # The tick again, even with the row made due again by hand: still one nudge.
    for hours in (1, 30):
        await silence_due(sessionmaker, mentee, now)
        await tick(harness, sessionmaker, settings, now + dt.timedelta(hours=hours))
    assert len(await nudges_to_mentor(sessionmaker)) == 1
    # The mentee logs (through the bot) and goes quiet again: a new nudge, a new silence.
    p = person(harness, watch, MENTEE)
    await p.send("/log")
    await answer_all(p)
    async with sessionmaker() as session:
        row = await schedules.get(session, nudges.SILENCE, mentee)
    assert row.due_at - utcnow() > dt.timedelta(days=2, hours=23)
    await tick(harness, sessionmaker, settings, utcnow() + dt.timedelta(days=2))
    assert len(await nudges_to_mentor(sessionmaker)) == 1  # two days is not silence
    await tick(harness, sessionmaker, settings, row.due_at + dt.timedelta(minutes=1))
    rows = await nudges_to_mentor(sessionmaker)
    assert [r.key for r in rows][1] == f"nudge:silent:{mentee}:{local_today(ZONE).isoformat()}"


async def test_a_recent_log_is_not_silence(harness, sessionmaker, settings):
    mentee, _, _ = await matched(sessionmaker)
    await logged_days_ago(sessionmaker, mentee, 1)
    now = utcnow()
    await silence_due(sessionmaker, mentee, now)  # e.g. set when the match was confirmed
    await tick(harness, sessionmaker, settings, now)
    assert await nudges_to_mentor(sessionmaker) == []
    async with sessionmaker() as session:
        row = await schedules.get(session, nudges.SILENCE, mentee)
    assert dt.timedelta(days=1, hours=23) < row.due_at - now < dt.timedelta(days=2, hours=1)


async def test_a_new_match_is_not_nudged_for_silence_before_it(harness, sessionmaker, settings):
    mentee, _, _ = await matched(sessionmaker, started_days_ago=1)
    await logged_days_ago(sessionmaker, mentee, 20)
    now = utcnow()
    await silence_due(sessionmaker, mentee, now)
    await tick(harness, sessionmaker, settings, now)
    assert await nudges_to_mentor(sessionmaker) == []
    await tick(harness, sessionmaker, settings, now + dt.timedelta(days=2, minutes=1))
    [nudge] = await nudges_to_mentor(sessionmaker)
    assert "for 3 days" in nudge.text


async def test_no_mentor_no_nudge(harness, sessionmaker, settings):
    mentee = await member(sessionmaker, MENTEE, zone=ZONE)
    await logged_days_ago(sessionmaker, mentee, 5)
    now = utcnow()
    await silence_due(sessionmaker, mentee, now)
    await tick(harness, sessionmaker, settings, now)
    assert await outbox_rows(sessionmaker, "nudge:") == []


async def hard_log(p) -> None:
    """A daily log with symptoms at 9 and a note."""
    await p.send("/log")
    await tap_data(p, "log:symptom_intensity:9")
    await answer_all(p, from_step=2, note=NOTE)


async def test_a_hard_day_reaches_the_mentor_only_when_shared(harness, watch, sessionmaker):
    sharing, _, match = await matched(sessionmaker, shares=["hard_days"])
    await matched(sessionmaker, OTHER_MENTEE, shares=["trends"], name="Rowan")
    await hard_log(person(harness, watch, MENTEE))
    await hard_log(person(harness, watch, OTHER_MENTEE))
    [nudge] = await nudges_to_mentor(sessionmaker)
    assert nudge.key == f"nudge:hard:{sharing}:{local_today(ZONE).isoformat()}"
    assert "Iris had a hard day today and shares that with you" in nudge.text
    assert NOTE not in nudge.text and "9" not in nudge.text  # no health details
    assert nudge.datas == [ReachOut(match_id=match).pack()]
    # Logging the same day again does not nudge twice.
    await hard_log(person(harness, watch, MENTEE))
    assert len(await nudges_to_mentor(sessionmaker)) == 1


async def test_an_ordinary_day_is_not_a_hard_day(harness, watch, sessionmaker):
    await matched(sessionmaker, shares=["hard_days"])
    p = person(harness, watch, MENTEE)
    await p.send("/log")
    await answer_all(p)  # symptoms 3, mood 6
    assert await nudges_to_mentor(sessionmaker) == []


async def test_low_mood_is_a_hard_day_too(harness, watch, sessionmaker):
    await matched(sessionmaker, shares=["hard_days"])
    p = person(harness, watch, MENTEE)
    await p.send("/log")
    for data in (
        "log:symptom_intensity:3",
        "log:symptoms:done",
        "log:energy:6",
        "log:activity:as_planned",
        "log:rest_breaks:2",
        "log:sleep_quality:5",
        "log:sleep_hours:7",
        "log:mood:1",
        "log:interference:4",
        "log:note:skip",
    ):
        await tap_data(p, data)
    assert len(await nudges_to_mentor(sessionmaker)) == 1


async def test_weekly_digest_respects_what_each_mentee_shares(harness, sessionmaker, settings):
    sharing, mentor, _ = await matched(sessionmaker, shares=["hard_days"])
    quiet, _, _ = await matched(sessionmaker, OTHER_MENTEE, name="Rowan")
    await logged_days_ago(sessionmaker, sharing, 1, symptom_intensity=9, note=NOTE)
    await logged_days_ago(sessionmaker, quiet, 2, symptom_intensity=9)
    now = utcnow()
    async with sessionmaker() as session:
        await schedules.set_due(session, flow.DIGEST, mentor, now)
        await session.commit()
    await tick(harness, sessionmaker, settings, now)
    [digest] = [r for r in await outbox_rows(sessionmaker, "digest:") if r.chat_id == MENTOR]
    assert "Your week with your mentees" in digest.text
    iris, rowan = digest.text.split("<b>Iris</b>")[1].split("<b>Rowan</b>")
    assert "Last check-in: yesterday" in iris and "Hard days in the last 7 days: 1" in iris
    assert "Last check-in: 2 days ago" in rowan and "Hard days" not in rowan
    assert NOTE not in digest.text
    assert digest.labels == ["💬 Iris", "💬 Rowan"]
    async with sessionmaker() as session:
        row = await schedules.get(session, flow.DIGEST, mentor)
    assert flow.local_date(ZONE, row.due_at).weekday() == settings.digest_weekday
    assert dt.timedelta(days=1) < row.due_at - now <= dt.timedelta(days=8)
    await tick(harness, sessionmaker, settings, now + dt.timedelta(hours=1))
    assert len(await outbox_rows(sessionmaker, "digest:")) == 1
