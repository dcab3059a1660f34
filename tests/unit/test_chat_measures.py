"""Weekly measures in chat, through the real dispatcher: the tick's invitation, who may press
it and which week, a typed answer, a sticker, Cancel, Start over a daily log half done, and
the rotation past the PSEQ-2 for someone who named no pain."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.scheduler import run_due
from flows import reminders
from handlers import measures
from storage import schedules
from storage.models import MeasureScore, Profile
from tests.harness import Harness
from tests.unit.alert_helpers import deliver, outbox_rows
from tests.unit.chat_helpers import EXPIRED, Watch, conversation, local_today, make_person, person

ANA, BEN = 341, 342
ZONE = "Europe/London"
CHECKIN = dt.time(19)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def due_now(sessionmaker, telegram_id: int, *, last: str | None = None, pain=False):
    """A mentee whose weekly questions are due at today's check-in time; that instant."""
    uid = await make_person(sessionmaker, telegram_id, zone=ZONE, checkin=CHECKIN)
    at = reminders.at_local(ZONE, local_today(ZONE), CHECKIN)
    state = {"weekday": local_today(ZONE).weekday(), "at": at.isoformat()}
    if last:
        state["last"] = last
    async with sessionmaker() as session:
        session.add(Profile(user_id=uid, symptoms=["pain"] if pain else ["fatigue"]))
        await schedules.set_due(session, schedules.MEASURE, uid, at, state)
        await session.commit()
    return uid, at


async def invited(harness, watch, sessionmaker, settings, telegram_id, at):
    await run_due(sessionmaker, settings, harness.dispatcher["i18n"], now=at)
    [row] = [r for r in await outbox_rows(sessionmaker, "measure:") if r.chat_id == telegram_id]
    return person(harness, watch, telegram_id), await deliver(sessionmaker, row), row


async def scores_of(sessionmaker) -> list[int]:
    async with sessionmaker() as session:
        return list((await session.execute(select(MeasureScore.score))).scalars())


async def test_only_this_weeks_invitation_counts_and_only_for_its_person(
    harness: Harness, watch: Watch, sessionmaker, settings
) -> None:
    uid, at = await due_now(sessionmaker, ANA, last="wsas")
    ana, invitation, _row = await invited(harness, watch, sessionmaker, settings, ANA, at)
    assert "Loneliness (UCLA-3): 3 short questions" in invitation.text
    async with sessionmaker() as session:
        planned = await schedules.get(session, schedules.MEASURE, uid)
    assert planned.due_at == at + dt.timedelta(days=7)  # next week, same time (no DST here)
    old = measures.MeasurePress(action="start", week="2020-01-06")
    assert await ana.press(old.pack(), invitation) == EXPIRED
    await make_person(sessionmaker, BEN, zone=ZONE)
    ben = person(harness, watch, BEN)
    start = measures.MeasurePress(action="start", week=local_today(ZONE).isoformat())
    assert await ben.press(start.pack(), invitation) == EXPIRED  # not his chat
    assert await ana.tap("Start", invitation) is None
    assert "Weekly questions · 1/3" in ana.last_text()
    ana.assert_no_apology()


async def test_typed_answers_a_sticker_and_back_then_saved(
    harness: Harness, watch: Watch, sessionmaker, settings
) -> None:
    _uid, at = await due_now(sessionmaker, ANA, last="wsas")
    ana, invitation, _row = await invited(harness, watch, sessionmaker, settings, ANA, at)
    await ana.tap("Start", invitation)
    assert "How often do you feel that you lack companionship?" in ana.last_text()
    assert ana.labels() == ["Hardly ever", "Some of the time", "Often", "✕ Cancel"]
    await ana.send("often")  # a label typed
    assert "2/3" in ana.last_text() and "left out" in ana.last_text()
    await ana.chat.sticker()
    assert any("can't read that" in t for t in ana.texts()[-2:])
    assert "2/3" in ana.last_text()  # asked again
    await ana.tap("◂ Back")
    assert "1/3" in ana.last_text()
    for label in ("Some of the time", "Hardly ever", "Often"):
        await ana.tap(label)
    assert "Loneliness (UCLA-3): 6 of 9" in ana.last_text()
    assert "Your first" in ana.last_text()  # no change to show yet
    assert await scores_of(sessionmaker) == [6]
    ana.assert_no_apology()


async def test_cancel_saves_nothing_and_start_waits_for_a_log_half_done(
    harness: Harness, watch: Watch, sessionmaker, settings
) -> None:
    _uid, at = await due_now(sessionmaker, ANA)
    ana, invitation, _row = await invited(harness, watch, sessionmaker, settings, ANA, at)
    await ana.send("/log")
    assert "Daily log · 1/10" in ana.last_text()
    assert await ana.tap("Start", invitation) == (
        "Please finish or /cancel what you're doing first, then tap Start again."
    )
    assert (await conversation(sessionmaker, ANA))[0] == "DailyLogging:answering"  # untouched
    await ana.send("/cancel")
    assert await ana.tap("Start", invitation) is None
    assert "Somatic symptoms" not in ana.last_text()  # the questions themselves
    assert "During the past 7 days" in ana.last_text()
    await ana.tap("Very much")
    await ana.tap("✕ Cancel")
    assert await scores_of(sessionmaker) == []
    assert (await conversation(sessionmaker, ANA))[0] is None
    ana.assert_no_apology()


async def test_pain_confidence_only_for_someone_who_named_pain(
    harness: Harness, watch: Watch, sessionmaker, settings
) -> None:
    _uid, at = await due_now(sessionmaker, ANA, last="ucla3")
    _ana, no_pain, _row = await invited(harness, watch, sessionmaker, settings, ANA, at)
    assert "Somatic symptoms (SSS-8)" in no_pain.text  # the PSEQ-2 passed over
    _uid, at = await due_now(sessionmaker, BEN, last="ucla3", pain=True)
    _ben, pain, _row = await invited(harness, watch, sessionmaker, settings, BEN, at)
    assert "Confidence despite pain (PSEQ-2): 2 short questions" in pain.text


def test_the_measure_row_is_a_persons() -> None:
    assert schedules.KINDS[schedules.MEASURE] == schedules.PERSON


async def test_wsas_numbers_with_their_anchors_and_the_work_items_opt_out(
    harness: Harness, watch: Watch, sessionmaker, settings
) -> None:
    _uid, at = await due_now(sessionmaker, ANA, last="sss8")
    ana, invitation, _row = await invited(harness, watch, sessionmaker, settings, ANA, at)
    assert "Work and social life (WSAS): 5 short questions" in invitation.text
    await ana.tap("Start", invitation)
    assert "People's problems sometimes affect" in ana.last_text()
    assert "Because of my symptoms my ability to work is impaired" in ana.last_text()
    assert ana.labels()[:3] == ["0 · Not at all", "1", "2 · Slightly"]
    assert ana.labels()[-2:] == ["Tick here: retired, or no job for other reasons", "✕ Cancel"]
    await ana.tap("Tick here")
    assert "2/5" in ana.last_text() and "home management" in ana.last_text()
    for _item in range(4):
        await ana.tap("8 · Very severely")
    saved = ana.last_text()
    assert "Work and social life (WSAS): 32 of 32" in saved
    assert "impact on daily life" not in saved  # the bands are of all five items
    assert await scores_of(sessionmaker) == [32]


async def test_measures_turned_on_for_someone_who_had_no_row_yet(
    harness: Harness, watch: Watch, sessionmaker
) -> None:
    uid = await make_person(sessionmaker, ANA, zone=ZONE, checkin=CHECKIN)
    ana = person(harness, watch, ANA)
    await ana.send("/measures")
    assert "Weekly questions are off" in ana.last_text()
    assert await ana.tap("Turn them on", ana.shown()) is None
    assert "Weekly questions are on" in ana.last_text() and "The next:" in ana.last_text()
    async with sessionmaker() as session:
        row = await schedules.get(session, schedules.MEASURE, uid)
    assert row is not None and row.due_at is not None
    ana.assert_no_apology()
