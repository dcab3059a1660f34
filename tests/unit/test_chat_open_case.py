"""While a supervisor has a person's case open, and after a very hard day (real dispatcher,
scheduler ticks with a fixed ``now``, Telegram faked).

Iris's case is open: her cheerful "time to log" reminder pauses, and starts again once
the case is resolved. Her mentor's nudges say why she has gone quiet, without a word of
what she said. A log at the top of the symptom scale is met warmly, with the 🆘 button
one tap away.
"""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.types import ReplyKeyboardMarkup
from sqlalchemy import update

from flows import alerts as alert_flow
from storage import users
from storage.models import Alert, AlertStatus, utcnow
from tests.harness import Harness
from tests.unit.chat_helpers import Watch, answer_all, person, tap_data
from tests.unit.test_chat_reminders import due_now, reminded_person, reminders_to, schedule_of
from tests.unit.test_chat_reminders import tick as reminder_tick
from tests.unit.test_nudges import (
    MENTEE,
    hard_log,
    logged_days_ago,
    matched,
    nudges_to_mentor,
    silence_due,
    tick,
)

IN_TOUCH = "The program's supervisors are in touch with Iris at the moment"
VERY_HARD = "💛 That was a very hard day, and you still checked in."


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def open_case(sessionmaker, telegram_id: int) -> int:
    async with sessionmaker() as session:
        person_row = await users.get_by_telegram_id(session, telegram_id)
        case = await alert_flow.raise_by_tap(
            session,
            person_row,
            now=utcnow(),
            join_window=dt.timedelta(minutes=30),
            ack_within=dt.timedelta(minutes=5),
        )
        await session.commit()
        return case.alert.id


async def resolve(sessionmaker, alert_id: int) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(Alert).where(Alert.id == alert_id).values(status=AlertStatus.RESOLVED)
        )
        await session.commit()


async def test_reminders_pause_while_a_case_is_open_and_come_back_after(
    harness, sessionmaker, settings
) -> None:
    now = utcnow()
    uid = await reminded_person(sessionmaker, 330, now)
    case = await open_case(sessionmaker, 330)

    await reminder_tick(harness, sessionmaker, settings, now)
    assert await reminders_to(sessionmaker, 330) == []
    assert (await schedule_of(sessionmaker, uid)).due_at > now  # tomorrow's is planned

    await resolve(sessionmaker, case)
    await due_now(sessionmaker, uid, now)
    await reminder_tick(harness, sessionmaker, settings, now)
    assert len(await reminders_to(sessionmaker, 330)) == 1


async def test_a_silence_nudge_says_the_supervisors_are_in_touch(
    harness, sessionmaker, settings
) -> None:
    mentee, _, _ = await matched(sessionmaker)
    await logged_days_ago(sessionmaker, mentee, 3.2)
    await open_case(sessionmaker, MENTEE)
    now = utcnow()
    await silence_due(sessionmaker, mentee, now - dt.timedelta(minutes=5))
    await tick(harness, sessionmaker, settings, now)
    [nudge] = await nudges_to_mentor(sessionmaker)
    assert "Iris hasn't checked in for 3 days" in nudge.text
    assert IN_TOUCH in nudge.text and "You don't need to do anything more" in nudge.text
    assert "alert" not in nudge.text.casefold() and "crisis" not in nudge.text.casefold()


async def test_without_an_open_case_the_nudge_says_nothing_of_supervisors(
    harness, sessionmaker, settings
) -> None:
    mentee, _, _ = await matched(sessionmaker)
    await logged_days_ago(sessionmaker, mentee, 3.2)
    now = utcnow()
    await silence_due(sessionmaker, mentee, now - dt.timedelta(minutes=5))
    await tick(harness, sessionmaker, settings, now)
    [nudge] = await nudges_to_mentor(sessionmaker)
    assert "supervisors" not in nudge.text


async def test_a_hard_day_nudge_says_the_supervisors_are_in_touch(
    harness, watch, sessionmaker
) -> None:
    await matched(sessionmaker, shares=["hard_days"])
    await open_case(sessionmaker, MENTEE)
    await hard_log(person(harness, watch, MENTEE))
    [nudge] = await nudges_to_mentor(sessionmaker)
    assert "Iris had a hard day today" in nudge.text and IN_TOUCH in nudge.text


async def test_a_very_hard_day_is_met_warmly_with_the_sos_button_at_hand(
    harness, watch, sessionmaker
) -> None:
    await matched(sessionmaker)
    iris = person(harness, watch, MENTEE)
    sent = await iris.say("/log")
    await tap_data(iris, "log:symptom_intensity:10")
    before = len(harness.telegram.sent)
    await answer_all(iris, from_step=2)
    after = harness.telegram.sent[before:]
    [warm] = [s for s in after if s.text and VERY_HARD in s.text]
    assert "“🆘 My crisis plan” below shows your plan" in warm.text
    assert isinstance(warm.markup, ReplyKeyboardMarkup)
    assert warm.markup.keyboard[0][0].text == "🆘 My crisis plan"
    assert sent  # (the log's first question)


async def test_an_ordinary_day_gets_no_such_words(harness, watch, sessionmaker) -> None:
    await matched(sessionmaker)
    iris = person(harness, watch, MENTEE)
    await iris.send("/log")
    await answer_all(iris)  # symptoms 3, mood 6
    assert not any(VERY_HARD in t for t in iris.texts())
