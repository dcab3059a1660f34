"""The weekly pacing goal in chat, through the real dispatcher: who may press its buttons,
Not now, a number of their own (typed, refused when out of range, cancelled)."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers import pacing
from storage import schedules
from storage.models import User, utcnow
from tests.harness import Harness
from tests.unit.alert_helpers import deliver, outbox_rows
from tests.unit.chat_helpers import (
    EXPIRED,
    Watch,
    answer_all,
    local_today,
    make_person,
    person,
    save_log,
)

ANA, BEN = 331, 332
ZONE = "Europe/London"
# 13 days before today, 3 of them less than planned; with today's log (as planned) 11 active
# days of 14: a baseline of 5 and a goal of 6.
BEFORE = ["as_planned"] * 5 + ["less"] + ["as_planned", "less", "as_planned"] * 2 + ["as_planned"]


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def joined_weeks_ago(sessionmaker, telegram_id: int) -> int:
    """Someone who joined four weeks ago (pacing says nothing in a person's first days)."""
    uid = await make_person(sessionmaker, telegram_id, zone=ZONE)
    async with sessionmaker() as session:
        user = await session.get(User, uid)
        user.created_at = utcnow() - dt.timedelta(weeks=4)
        await session.commit()
    return uid


async def two_weeks(sessionmaker, telegram_id: int) -> int:
    uid = await joined_weeks_ago(sessionmaker, telegram_id)
    today = local_today(ZONE)
    for back, activity in enumerate(reversed(BEFORE), start=1):
        await save_log(
            sessionmaker,
            uid,
            today - dt.timedelta(days=back),
            symptom_intensity=3,
            energy=6,
            mood=6,
            activity=activity,
        )
    return uid


async def offered(harness: Harness, watch: Watch, sessionmaker, telegram_id: int):
    p = person(harness, watch, telegram_id)
    await p.send("/log")
    await answer_all(p)
    [row] = await outbox_rows(sessionmaker, "pacing:")
    return p, await deliver(sessionmaker, row)


async def goal_state(sessionmaker, uid: int) -> dict:
    async with sessionmaker() as session:
        return await pacing.state_of(session, uid)


async def test_only_the_person_it_was_made_to_can_press_it(
    harness: Harness, watch: Watch, sessionmaker
) -> None:
    uid = await two_weeks(sessionmaker, ANA)
    ana, offer = await offered(harness, watch, sessionmaker, ANA)
    assert "on about 5 days a week" in offer.text and "how about 6 days" in offer.text
    assert ana.labels(offer) == ["✓ 6 days sounds right", "✎ Choose another number", "Not now"]
    await make_person(sessionmaker, BEN, zone=ZONE)
    ben = person(harness, watch, BEN)
    accept = pacing.PacingPress(action="accept", who=uid, week=local_today(ZONE).isoformat())
    assert await ben.press(accept.pack(), offer) == EXPIRED
    # Last week's buttons have expired too.
    old = pacing.PacingPress(action="accept", who=uid, week="2020-01-01")
    assert await ana.press(old.pack(), offer) == EXPIRED
    assert "goal" not in await goal_state(sessionmaker, uid)
    assert await ana.tap("sounds right", offer) is None
    assert (await goal_state(sessionmaker, uid))["goal"] == 6
    assert "Your goal this week: 6 days" in ana.last_text()
    ana.assert_no_apology()


async def test_not_now_leaves_no_goal(harness: Harness, watch: Watch, sessionmaker) -> None:
    uid = await two_weeks(sessionmaker, ANA)
    ana, offer = await offered(harness, watch, sessionmaker, ANA)
    assert await ana.tap("Not now", offer) is None
    assert "offer one again in a week" in ana.last_text()
    assert "goal" not in await goal_state(sessionmaker, uid)
    # The next log the same week offers nothing more.
    await ana.send("/log")
    await answer_all(ana)
    assert len(await outbox_rows(sessionmaker, "pacing:")) == 1


async def test_a_number_of_their_own_typed_checked_and_cancellable(
    harness: Harness, watch: Watch, sessionmaker
) -> None:
    uid = await two_weeks(sessionmaker, ANA)
    ana, offer = await offered(harness, watch, sessionmaker, ANA)
    assert await ana.tap("another number", offer) is None
    assert "On how many days this week" in ana.last_text()
    assert ana.labels() == ["1", "2", "3", "4", "5", "6", "7", "✕ Cancel"]
    await ana.send("9")
    assert any("whole number from 1 to 7" in t for t in ana.texts()[-2:])
    await ana.send("/cancel")
    assert "Stopped" in ana.last_text()
    assert "goal" not in await goal_state(sessionmaker, uid)
    # Again, and this time a tap.
    assert await ana.tap("another number", offer) is None
    assert await ana.tap("3") is None
    assert "Your goal this week: 3 days" in ana.last_text()
    assert (await goal_state(sessionmaker, uid))["goal"] == 3
    ana.assert_no_apology()


async def test_a_very_hard_day_gets_no_pacing_message(
    harness: Harness, watch: Watch, sessionmaker
) -> None:
    await two_weeks(sessionmaker, ANA)
    ana = person(harness, watch, ANA)
    await ana.send("/log")
    for data in ("log:symptom_intensity:9", "log:symptoms:done"):
        await ana.press(data)
    for data in ("log:energy:1", "log:activity:less", "log:rest_breaks:2", "log:sleep_quality:2"):
        await ana.press(data)
    for data in ("log:sleep_hours:5", "log:mood:4", "log:interference:9", "log:note:skip"):
        await ana.press(data)
    assert "very hard day" in ana.last_text()
    assert await outbox_rows(sessionmaker, "pacing:") == []


def test_the_pacing_row_is_a_person_s_and_never_due() -> None:
    assert schedules.KINDS[schedules.PACING] == schedules.PERSON


async def log_a_crash(p) -> None:
    """Symptoms 7 (usual 3), less than planned, mood 5: a crash, not a very hard day."""
    await p.send("/log")
    for data in ("log:symptom_intensity:7", "log:symptoms:done", "log:energy:3"):
        await p.press(data)
    for data in ("log:activity:less", "log:rest_breaks:2", "log:sleep_quality:4"):
        await p.press(data)
    for data in ("log:sleep_hours:6", "log:mood:5", "log:interference:6", "log:note:skip"):
        await p.press(data)


async def test_a_boom_and_bust_comes_alone_and_once(
    harness: Harness, watch: Watch, sessionmaker
) -> None:
    uid = await joined_weeks_ago(sessionmaker, ANA)
    today = local_today(ZONE)
    for back, activity in enumerate(reversed([*BEFORE[:-1], "more"]), start=1):
        day = today - dt.timedelta(days=back)
        await save_log(
            sessionmaker, uid, day, symptom_intensity=3, energy=6, mood=6, activity=activity
        )
    ana = person(harness, watch, ANA)
    await log_a_crash(ana)
    # One pacing message a log: the note; the weekly goal waits for the next log.
    boom = (today - dt.timedelta(days=1)).isoformat()
    [row] = await outbox_rows(sessionmaker, "pacing:")
    assert row.key == f"pacing:{uid}:bust:{boom}"
    assert "isn't your fault" in row.text and "<" not in row.text
    # Logged again the same day: the pattern is not named twice; the week's goal may come.
    await log_a_crash(ana)
    rows = await outbox_rows(sessionmaker, "pacing:")
    assert [r.key.split(":")[2] for r in rows] == ["bust", "goal"]
    assert "hard patch" in rows[1].text  # a crash this week: no stepping up
    ana.assert_no_apology()
