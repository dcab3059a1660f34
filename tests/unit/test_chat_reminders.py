"""The daily check-in reminder as people live it, through the real dispatcher.

A tick (bot.scheduler.run_due with a fixed ``now``) queues what is due into the outbox;
the test delivers those rows as the delivery worker would and presses their buttons.
"""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.methods import EditMessageReplyMarkup

from bot.delivery import DeliveryWorker
from bot.scheduler import run_due
from bot.undeliverable import Undeliverable
from flows import reminders as flow
from handlers.reminders import ReminderPress
from storage import schedules, users
from storage.models import Role, utcnow
from tests.harness import Harness
from tests.unit.alert_helpers import deliver, outbox_rows, shown_message
from tests.unit.chat_helpers import (
    EXPIRED,
    Watch,
    answer_all,
    conversation,
    local_today,
    logs_of,
    make_person,
    person,
    save_log,
    user_row,
)
from tests.unit.scripted_telegram import scripted_bot
from tests.unit.test_chat_onboarding import onboard_by_taps

MENTEE, MENTOR, SUPERVISOR = 310, 810, 910
ZONE = "Europe/Berlin"


def daytime_zone() -> str:
    """A zone where it is now between 08:00 and 16:00, so that a "Later" an hour or two
    away falls on the same local day whenever the tests run (after local midnight the
    snoozed reminder is the next day's first)."""
    hour = utcnow().hour
    offset = next(o for o in range(-12, 15) if 8 <= (hour + o) % 24 < 16)
    return f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is three hours ahead of UTC


# Where the people whose reminder is due live: a reminder due "a minute ago" must fall on
# the same local day as now, whatever hour the tests run at.
HERE = daytime_zone()


BUTTONS = ["📝 Log now", "🥄 Low on energy? 3 taps only", "⏰ Later", "Not today"]


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


def minute_before(now: dt.datetime) -> dt.datetime:
    return (now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)


async def reminded_person(
    sessionmaker, telegram_id: int, now: dt.datetime, zone: str = HERE, **kw
) -> int:
    """A person whose check-in time was a minute before ``now``: their reminder is due."""
    local = flow.zoneinfo.ZoneInfo(zone)
    checkin = minute_before(now).astimezone(local).time()
    uid = await make_person(sessionmaker, telegram_id, zone=zone, checkin=checkin, **kw)
    await due_now(sessionmaker, uid, now)
    return uid


async def due_now(sessionmaker, user_id: int, now: dt.datetime) -> None:
    """The person's reminder is due (a minute before ``now``)."""
    at = minute_before(now)
    async with sessionmaker() as session:
        await schedules.set_due(session, flow.CHECKIN, user_id, at, {"at": at.isoformat()})
        await session.commit()


async def tick(harness: Harness, sessionmaker, settings, now: dt.datetime) -> dict[str, int]:
    return await run_due(sessionmaker, settings, harness.dispatcher["i18n"], now=now)


async def reminders_to(sessionmaker, telegram_id: int):
    return [r for r in await outbox_rows(sessionmaker, "reminder:") if r.chat_id == telegram_id]


async def delivered(sessionmaker, telegram_id: int):
    """Deliver the person's newest reminder row; the message as they see it."""
    row = (await reminders_to(sessionmaker, telegram_id))[-1]
    return await deliver(sessionmaker, row), row


async def schedule_of(sessionmaker, user_id: int):
    async with sessionmaker() as session:
        return await schedules.get(session, flow.CHECKIN, user_id)


async def test_reminder_at_their_time_and_log_now_starts_the_daily_log(
    harness, watch, sessionmaker, settings
):
    now = utcnow()
    uid = await reminded_person(sessionmaker, MENTEE, now)
    assert (await tick(harness, sessionmaker, settings, now)) == {"checkin": 1}
    message, row = await delivered(sessionmaker, MENTEE)
    assert "check-in" in row.text
    assert row.labels == BUTTONS
    p = person(harness, watch, MENTEE)
    assert await p.tap("Log now", message) is None
    assert "Daily log · 1/10" in p.last_text()
    state, data = await conversation(sessionmaker, MENTEE)
    assert state == "DailyLogging:answering" and data["date"] == local_today(HERE).isoformat()
    retired = [c for c in watch.calls if isinstance(c, EditMessageReplyMarkup)]
    assert [c.message_id for c in retired] == [message.message_id]  # no second tap possible
    # The next reminder is tomorrow's, at their time.
    row = await schedule_of(sessionmaker, uid)
    assert row.due_at > now and flow.local_date(HERE, row.due_at) > local_today(HERE)


async def test_later_brings_one_more_reminder_without_later_and_no_third(
    harness, watch, sessionmaker, settings
):
    now = utcnow()
    await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    first, _ = await delivered(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    assert await p.tap("Later", first) is None
    assert "remind you once more" in p.last_text()
    await tick(harness, sessionmaker, settings, now + dt.timedelta(minutes=30))
    assert len(await reminders_to(sessionmaker, MENTEE)) == 1  # not yet
    await tick(harness, sessionmaker, settings, utcnow() + dt.timedelta(minutes=61))
    rows = await reminders_to(sessionmaker, MENTEE)
    assert len(rows) == 2
    assert rows[1].labels == [
        "📝 Log now",
        "🥄 Low on energy? 3 taps only",
        "Not today",
    ]  # the second has no "Later"
    assert "still open" in rows[1].text
    # "Later" pressed again on the first reminder cannot bring a third one.
    assert await p.tap("Later", first) == EXPIRED
    for hours in (2, 3):
        await tick(harness, sessionmaker, settings, utcnow() + dt.timedelta(hours=hours))
    assert len(await reminders_to(sessionmaker, MENTEE)) == 2


async def test_a_double_tap_on_later_snoozes_once(harness, watch, sessionmaker, settings):
    now = utcnow()
    uid = await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    first, _ = await delivered(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.tap("Later", first)
    due = (await schedule_of(sessionmaker, uid)).due_at
    await p.tap("Later", first)  # a second press of the same button
    assert (await schedule_of(sessionmaker, uid)).due_at == due
    assert sum("remind you once more" in t for t in p.texts()) == 2  # same time both times
    p.assert_no_apology()


async def test_not_today_means_nothing_more_today(harness, watch, sessionmaker, settings):
    now = utcnow()
    uid = await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    first, _ = await delivered(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    assert await p.tap("Not today", first) is None
    assert "tomorrow" in p.last_text()
    row = await schedule_of(sessionmaker, uid)
    assert flow.local_date(HERE, row.due_at) == local_today(HERE) + dt.timedelta(days=1)
    await tick(harness, sessionmaker, settings, now + dt.timedelta(hours=2))
    assert len(await reminders_to(sessionmaker, MENTEE)) == 1


async def test_no_reminder_when_today_is_already_logged(harness, sessionmaker, settings):
    now = utcnow()
    uid = await reminded_person(sessionmaker, MENTEE, now)
    await save_log(sessionmaker, uid, local_today(HERE))
    assert (await tick(harness, sessionmaker, settings, now)) == {"checkin": 1}
    assert await reminders_to(sessionmaker, MENTEE) == []
    assert (await schedule_of(sessionmaker, uid)).due_at > now  # tomorrow's is set


async def test_two_ticks_at_once_send_one_reminder(harness, sessionmaker, settings):
    now = utcnow()
    uid = await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    await due_now(sessionmaker, uid, now)  # as if a second process had claimed it too
    await tick(harness, sessionmaker, settings, now)
    assert len(await reminders_to(sessionmaker, MENTEE)) == 1


async def test_yesterdays_reminder_buttons_are_expired(harness, watch, sessionmaker):
    await make_person(sessionmaker, MENTEE, zone=ZONE)
    yesterday = (local_today(ZONE) - dt.timedelta(days=1)).isoformat()
    markup = {
        "inline_keyboard": [
            [{"text": "📝 Log now", "callback_data": ReminderPress(action=a, day=yesterday).pack()}]
            for a in ("log", "later", "skip")
        ]
    }
    old = shown_message(MENTEE, 4242, "🌿 Time for your daily check-in.", markup)
    p = person(harness, watch, MENTEE)
    for action in ("log", "later", "skip"):
        assert await p.press(ReminderPress(action=action, day=yesterday).pack(), old) == EXPIRED
    assert (await conversation(sessionmaker, MENTEE))[0] is None  # no log was started
    p.assert_no_apology()


async def test_forged_reminder_presses_change_nothing(harness, watch, sessionmaker, settings):
    uid = await make_person(sessionmaker, MENTEE, zone=ZONE)
    await make_person(sessionmaker, SUPERVISOR, zone=ZONE, role=Role.SUPERVISOR)
    today = local_today(ZONE).isoformat()
    fake = shown_message(MENTEE, 4243, "x", None)
    p = person(harness, watch, MENTEE)
    # "Later" on a day no reminder was sent: there is nothing to snooze.
    assert await p.press(ReminderPress(action="later", day=today).pack(), fake) == EXPIRED
    assert await schedule_of(sessionmaker, uid) is None
    # Someone who gets no reminders cannot press one.
    s = person(harness, watch, SUPERVISOR)
    staff = shown_message(SUPERVISOR, 4244, "x", None)
    assert await s.press(ReminderPress(action="skip", day=today).pack(), staff) == EXPIRED
    assert await p.press("rem:zzz:" + today, fake) == EXPIRED
    p.assert_no_apology()


async def test_a_saved_log_stops_a_pending_later(harness, watch, sessionmaker, settings):
    now = utcnow()
    await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    first, _ = await delivered(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.tap("Later", first)
    await p.send("/log")
    await answer_all(p)
    assert len(await logs_of(sessionmaker, MENTEE)) == 1
    await tick(harness, sessionmaker, settings, utcnow() + dt.timedelta(minutes=61))
    assert len(await reminders_to(sessionmaker, MENTEE)) == 1


# --- /reminders -----------------------------------------------------------------------------


async def test_reminders_shows_time_and_zone_and_pauses_a_week(
    harness, watch, sessionmaker, settings
):
    uid = await make_person(sessionmaker, MENTEE, zone=ZONE, checkin=dt.time(19, 30))
    p = person(harness, watch, MENTEE)
    screen = await p.send("/reminders")
    assert "19:30" in screen.text and "Berlin" in screen.text
    assert p.labels() == ["Pause a week", "Pause two weeks", "Pause until I resume", "Change time"]
    assert "paused" in (await p.tap("Pause a week") or "")
    assert "Paused: reminders start again on" in p.shown().text  # the screen shows it at once
    assert p.labels() == ["▶ Resume", "Change time"]
    row = await schedule_of(sessionmaker, uid)
    assert row.due_at - utcnow() > dt.timedelta(days=6)
    # Nothing arrives during the pause, however often the tick runs.
    for day in (1, 3, 6):
        await tick(harness, sessionmaker, settings, utcnow() + dt.timedelta(days=day))
    assert await reminders_to(sessionmaker, MENTEE) == []
    # ... and it starts again on its own at the end.
    await tick(harness, sessionmaker, settings, row.due_at + dt.timedelta(seconds=5))
    assert len(await reminders_to(sessionmaker, MENTEE)) == 1


async def test_pause_until_resumed_then_resume(harness, watch, sessionmaker, settings):
    uid = await make_person(sessionmaker, MENTEE, zone=ZONE)
    p = person(harness, watch, MENTEE)
    await p.send("/reminders")
    await p.tap("Pause until I resume")
    assert (await schedule_of(sessionmaker, uid)).due_at is None
    screen = await p.send("/reminders")
    assert "Paused until you resume" in screen.text
    assert p.labels() == ["▶ Resume", "Change time"]
    await tick(harness, sessionmaker, settings, utcnow() + dt.timedelta(days=30))
    assert await reminders_to(sessionmaker, MENTEE) == []
    assert "back on" in (await p.tap("Resume") or "")
    row = await schedule_of(sessionmaker, uid)
    assert row.due_at is not None and row.due_at - utcnow() <= dt.timedelta(days=1)
    assert "Paused" not in p.shown().text


async def test_someone_who_blocked_the_bot_is_not_reminded_every_day_into_the_void(
    harness, watch, sessionmaker, settings
):
    now = utcnow()
    uid = await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    bot, telegram = scripted_bot()
    telegram.fail(403, chat_id=MENTEE, times=1)  # they blocked the bot
    hooks = Undeliverable(harness.dispatcher["i18n"])
    worker = DeliveryWorker(bot, sessionmaker, on_undeliverable=hooks.given_up)
    await worker.drain_once()

    assert (await schedule_of(sessionmaker, uid)).due_at is None  # paused, not retried daily
    await tick(harness, sessionmaker, settings, now + dt.timedelta(days=3))
    assert len(await reminders_to(sessionmaker, MENTEE)) == 1
    # Back one day, they see why and can turn reminders on again.
    p = person(harness, watch, MENTEE)
    assert "Paused until you resume" in (await p.send("/reminders")).text
    assert "back on" in (await p.tap("Resume") or "")


async def test_change_time_by_tap_and_by_typing(harness, watch, sessionmaker):
    uid = await make_person(sessionmaker, MENTOR, zone=ZONE, role=Role.MENTOR)
    p = person(harness, watch, MENTOR)
    await p.send("/reminders")
    await p.tap("Change time")
    assert "What time suits you" in p.last_text()
    await p.tap("08:00")
    assert "08:00" in p.last_text() and "Berlin" in p.last_text()
    assert (await user_row(sessionmaker, MENTOR)).checkin_time == dt.time(8)
    row = await schedule_of(sessionmaker, uid)
    assert row.due_at.astimezone(flow.zoneinfo.ZoneInfo(ZONE)).time() == dt.time(8)
    await p.send("/reminders")
    await p.tap("Change time")
    hint = await p.send("whenever")
    assert "like 08:00 or 19:30" in hint.text
    await p.send("7.45pm")
    assert "19:45" in p.last_text()
    row = await schedule_of(sessionmaker, uid)
    assert row.due_at.astimezone(flow.zoneinfo.ZoneInfo(ZONE)).time() == dt.time(19, 45)
    assert (await conversation(sessionmaker, MENTOR))[0] is None
    p.assert_no_apology()


async def test_reminders_is_for_people_who_log(harness, watch, sessionmaker):
    await make_person(sessionmaker, SUPERVISOR, zone=ZONE, role=Role.SUPERVISOR)
    s = person(harness, watch, SUPERVISOR)
    reply = await s.send("/reminders")
    assert reply.text.startswith("That one is for mentees and mentors.")


async def test_onboarding_schedules_the_first_reminder_at_the_chosen_time(
    harness, watch, sessionmaker
):
    p = person(harness, watch, MENTEE)
    await onboard_by_taps(p)
    user = await user_row(sessionmaker, MENTEE)
    row = await schedule_of(sessionmaker, user.id)
    local = row.due_at.astimezone(flow.zoneinfo.ZoneInfo(user.timezone))
    assert local.time() == dt.time(20) and row.due_at > utcnow()
    assert row.due_at - utcnow() <= dt.timedelta(days=1)


async def test_backfill_schedules_people_onboarded_before_reminders(sessionmaker):
    mentee = await make_person(sessionmaker, MENTEE, zone=ZONE)
    mentor = await make_person(sessionmaker, MENTOR, zone=ZONE, role=Role.MENTOR)
    await make_person(sessionmaker, SUPERVISOR, zone=ZONE, role=Role.SUPERVISOR)
    async with sessionmaker() as session:
        assert await flow.backfill(session, utcnow(), 0) == 3  # two reminders, one digest
        await session.commit()
    async with sessionmaker() as session:
        assert await flow.backfill(session, utcnow(), 0) == 0  # nothing twice
        digest = await schedules.get(session, flow.DIGEST, mentor)
        assert digest is not None and flow.local_date(ZONE, digest.due_at).weekday() == 0
        person_ = await users.get_by_telegram_id(session, MENTEE)
        assert person_ is not None and person_.id == mentee
        assert (await schedules.get(session, flow.CHECKIN, mentee)) is not None


async def test_crisis_words_while_changing_the_time_get_no_correction(harness, watch, sessionmaker):
    await make_person(sessionmaker, MENTEE, zone=ZONE)
    p = person(harness, watch, MENTEE)
    await p.send("/reminders")
    await p.tap("Change time")
    said = await p.say("I want to kill myself tonight")
    texts = " ".join(s.text or "" for s in said)
    assert texts and "like 08:00 or 19:30" not in texts  # the crisis answer, and nothing cold
    assert (await conversation(sessionmaker, MENTEE))[0] == "ChangingReminder:time"


async def test_the_reminders_low_spoon_button_starts_a_three_tap_log(
    harness, watch, sessionmaker, settings
):
    now = utcnow()
    await reminded_person(sessionmaker, MENTEE, now)
    await tick(harness, sessionmaker, settings, now)
    message, _row = await delivered(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    assert await p.tap("Low on energy? 3 taps only", message) is None
    assert "Daily log · 1/3" in p.last_text()
    for label in ("7", "3", "5"):
        await p.tap(label)
    assert "it counts as today's log" in p.shown().text
    [log] = await logs_of(sessionmaker, MENTEE)  # today's log: what reminders look for
    assert (log["date"], log["symptom_intensity"], log["activity"]) == (local_today(HERE), 7, None)
