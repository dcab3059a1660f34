"""Pacing that learns, end to end: the real bot process against the stand-in, with two
weeks of logs prepared in the bot's database, and today's log given in chat.

* A day of more than planned yesterday, and today's log shows a crash: one gentle note.
* Two steady weeks: a weekly goal a little above the baseline, accepted with a tap and
  kept; in Spanish, another number typed instead.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from flows import timezones
from flows.onboarding import CONSENT_VERSION
from storage import daily_logs, users
from storage.migrate import upgrade_async
from storage.models import Role, utcnow
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn, TgUser
from tests.e2e.test_daily_log_e2e import reply_containing
from tests.e2e.test_reminders_e2e import sends_to, session_of
from tests.unit.chat_helpers import SAMPLE_ANSWERS

TIMEOUT = 15
ZONE = "Europe/London"
CALM = {"symptom_intensity": 4, "energy": 5, "mood": 6, "activity": "as_planned", "note": None}


async def prepare(url: str, telegram_id: int, locale: str, activities: list[str]) -> None:
    """An onboarded mentee with one log a day before today, oldest first."""
    await upgrade_async(url)
    async with session_of(url) as session:
        person = await users.create(
            session, telegram_id=telegram_id, locale=locale, pseudonym=f"Fern-{telegram_id}"
        )
        person.role = Role.MENTEE
        users.record_consent(session, person, CONSENT_VERSION)
        users.finish_onboarding(person, ZONE, dt.time(20))
        person.created_at = utcnow() - dt.timedelta(days=len(activities) + 1)
        await session.flush()
        today = timezones.today(ZONE)
        for back, activity in enumerate(reversed(activities), start=1):
            day = today - dt.timedelta(days=back)
            answers = {**SAMPLE_ANSWERS, **CALM, "activity": activity}
            await daily_logs.save(session, person.id, day, answers)
        await session.commit()


async def log_today(
    standin: TelegramStandIn, person: TgUser, *, intensity: str, activity: str, saved: str
) -> Reply:
    await standin.send_text(person, "/log")
    question = await reply_containing(standin, person.id, "1/10")
    for label in (intensity, "Done" if saved == "Saved" else "Listo", "5", activity):
        await standin.tap(person, question, label)
        question = await standin.next_reply(person.id, timeout=TIMEOUT)
    for label in ("3", "6", "7", "6", "3"):
        await standin.tap(person, question, label)
        question = await standin.next_reply(person.id, timeout=TIMEOUT)
    assert "10/10" in question.text
    await standin.send_text(person, "ok")
    return await reply_containing(standin, person.id, saved)


def goal_of(database: Path, telegram_id: int) -> dict:
    with sqlite3.connect(database) as connection:
        [(state,)] = connection.execute(
            "SELECT s.state FROM schedules s JOIN users u ON u.id = s.subject_id"
            " WHERE s.kind = 'pacing' AND u.telegram_id = ?",
            (telegram_id,),
        ).fetchall()
    return json.loads(state)


async def test_a_crash_after_a_day_of_more_gets_one_gentle_note(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    await prepare(f"sqlite+aiosqlite:///{database}", 611, "en", ["as_planned"] * 12 + ["more"])
    await bot_factory()
    ana = standin.user(611, "Ana", language_code="en")
    await log_today(standin, ana, intensity="7", activity="Less", saved="Saved")
    note = await reply_containing(standin, ana.id, "Something I noticed")
    assert "did more than you'd planned" in note.text
    assert "isn't your fault" in note.text
    assert "stop while you still have a little energy left" in note.text
    # The same day logged again: the pattern was named once.
    await log_today(standin, ana, intensity="7", activity="Less", saved="Saved")
    await standin.send_text(ana, "/today")  # handled after the second log is committed
    await reply_containing(standin, ana.id, "Symptoms")
    with sqlite3.connect(database) as connection:
        [(queued,)] = connection.execute(
            "SELECT count(*) FROM outbox WHERE key LIKE 'pacing:%:bust:%'"
        ).fetchall()
    assert queued == 1
    assert len(sends_to(standin, ana.id, "Something I noticed")) == 1
    assert goal_of(database, 611)["noted"] == [
        (timezones.today(ZONE) - dt.timedelta(days=1)).isoformat()
    ]


# 13 days before today, 3 of them less than planned.
STEADY = ["as_planned"] * 5 + ["less"] + ["as_planned", "less", "as_planned"] * 2 + ["as_planned"]


async def test_a_suggested_weekly_goal_is_accepted(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    # With today as planned: 11 active days of 14 → 5.5 a week, a baseline of 5 and a goal
    # of 6 (5.5 + 10 % reaches 6).
    await prepare(f"sqlite+aiosqlite:///{database}", 612, "en", STEADY)
    await bot_factory()
    ana = standin.user(612, "Ana", language_code="en")
    await log_today(standin, ana, intensity="4", activity="As planned", saved="Saved")
    offer = await reply_containing(standin, ana.id, "Your week ahead")
    assert "about 5 days a week" in offer.text
    assert "how about 6 days this week" in offer.text
    assert [t for row in offer.buttons for t, _ in row] == [
        "✓ 6 days sounds right",
        "✎ Choose another number",
        "Not now",
    ]
    await standin.tap(ana, offer, "sounds right")
    done = await reply_containing(standin, ana.id, "Your goal this week")
    assert "6 days" in done.text and done.buttons == []
    assert goal_of(database, 612)["goal"] == 6


async def test_a_goal_of_their_own_is_typed_in_spanish(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    await prepare(f"sqlite+aiosqlite:///{database}", 613, "es", STEADY)
    await bot_factory()
    lucia = standin.user(613, "Lucía", language_code="es")
    await log_today(standin, lucia, intensity="4", activity="Según lo planeado", saved="Guardado")
    offer = await reply_containing(standin, lucia.id, "Tu semana")
    await standin.tap(lucia, offer, "otro número")
    await reply_containing(standin, lucia.id, "del 1 al 7")
    await standin.send_text(lucia, "4")
    done = await reply_containing(standin, lucia.id, "4 días")
    assert "Tu meta" in done.text
    assert goal_of(database, 613)["goal"] == 4
