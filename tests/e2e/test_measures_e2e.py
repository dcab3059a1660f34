"""Weekly measures end to end: the real bot process, its scheduler tick (every second here)
and outbox delivery, against the stand-in.

* English: at the mentee's check-in time, this week's measure (the SSS-8) is offered; it is
  answered by taps (the bot killed with -9 halfway, and the next tap goes on), scored,
  stored with the change since their first score, and shown under the /trends chart.
  "Not this week" passes to the next measure; "Stop weekly questions" stops them, and
  /measures turns them on again.
* Spanish and German: no validated translation's wording is at hand, so no measure is
  offered: the week passes without a questionnaire, /measures says why, /trends shows no
  weekly scores.
* A mentor's weekly digest carries the chart of the mentee who shares trends, and not of
  the one who does not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from flows import measures as flow
from flows import reminders, timezones
from flows.mentee_summary import SHARE_TRENDS
from flows.onboarding import CONSENT_VERSION
from storage import daily_logs, schedules, users
from storage import measures as scores
from storage.migrate import upgrade_async
from storage.models import Match, Profile, Role, utcnow
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, TelegramStandIn
from tests.e2e.test_daily_log_e2e import reply_containing
from tests.e2e.test_reminders_e2e import session_of
from tests.unit.chat_helpers import SAMPLE_ANSWERS

TIMEOUT = 20
TICK = {"SCHEDULER_TICK_SECONDS": 1}
ZONE = "Europe/London"


async def prepare(
    url: str,
    telegram_id: int,
    locale: str,
    *,
    role: Role = Role.MENTEE,
    name: str = "Ana",
    logs: int = 3,
    shares: tuple[str, ...] = (),
    due: bool = True,
) -> int:
    """An onboarded person with ``logs`` days logged before today; a mentee's weekly
    questions due now (at their check-in time, as the tick would find them)."""
    await upgrade_async(url)
    async with session_of(url) as session:
        person = await users.create(
            session, telegram_id=telegram_id, locale=locale, pseudonym=f"Fern-{telegram_id}"
        )
        person.role, person.display_name = role, name
        users.record_consent(session, person, CONSENT_VERSION)
        # Their check-in time is this minute: the weekly questions are due at it, now.
        checkin = timezones.local_now(ZONE).time().replace(second=0, microsecond=0)
        users.finish_onboarding(person, ZONE, checkin)
        await session.flush()
        today = timezones.today(ZONE)
        for back in range(1, logs + 1):
            await daily_logs.save(
                session, person.id, today - dt.timedelta(days=back), SAMPLE_ANSWERS
            )
        session.add(Profile(user_id=person.id, symptoms=["fatigue"], shares=list(shares)))
        if role == Role.MENTEE and due:
            at = reminders.at_local(ZONE, today, checkin)
            state = {"weekday": today.weekday(), "at": at.isoformat()}
            await schedules.set_due(session, schedules.MEASURE, person.id, at, state)
        await session.commit()
        return person.id


def measure_row(database: Path, telegram_id: int) -> tuple[str | None, dict]:
    with sqlite3.connect(database) as connection:
        [(due_at, state)] = connection.execute(
            "SELECT s.due_at, s.state FROM schedules s JOIN users u ON u.id = s.subject_id"
            " WHERE s.kind = 'measure' AND u.telegram_id = ?",
            (telegram_id,),
        ).fetchall()
    return due_at, json.loads(state)


def stored_scores(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT measure, score, out_of, items FROM measure_scores ORDER BY local_date"
        ).fetchall()


# Answers to the SSS-8's eight items (0–4 each): 12 of 32, "high" in Gierk's bands.
SSS8_TAPS = ("Somewhat", "A little bit", "Somewhat", "A little bit", "Quite a bit",
             "Not at all", "Somewhat", "A little bit")  # fmt: skip


async def test_the_weekly_measure_is_asked_answered_by_taps_and_shown_under_trends(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    user_id = await prepare(url, 631, "en")
    async with session_of(url) as session:  # a first SSS-8 five weeks ago: 14 of 32
        first = flow.score(
            flow.SSS8,
            {flow.step_name(flow.SSS8, i): 2 for i in flow.INSTRUMENTS[flow.SSS8].items[:7]}
            | {"sss8_sleep": 0},
        )
        await scores.save(session, user_id, timezones.today(ZONE) - dt.timedelta(weeks=5), first)
        await session.commit()
    bot = await bot_factory(**TICK)
    ana = standin.user(631, "Ana", language_code="en")

    invitation = await reply_containing(standin, ana.id, "This week's questions")
    assert "Somatic symptoms (SSS-8): 8 short questions" in invitation.text
    assert [t for row in invitation.buttons for t, _ in row] == [
        "▶ Start",
        "Not this week",
        "Stop weekly questions",
    ]
    await standin.tap(ana, invitation, "Start")
    question = await reply_containing(standin, ana.id, "Weekly questions · 1/8")
    assert "During the past 7 days, how much have you been bothered" in question.text
    assert "Stomach or bowel problems" in question.text
    assert [t for row in question.buttons for t, _ in row][:5] == [
        "Not at all",
        "A little bit",
        "Somewhat",
        "Quite a bit",
        "Very much",
    ]
    for number, label in enumerate(SSS8_TAPS[:3], start=2):
        await standin.tap(ana, question, label)
        question = await reply_containing(standin, ana.id, f"{number}/8")

    bot.kill9()  # halfway: the answers so far are in the conversation state
    await bot.wait()  # gone, its poller lock with it, before the next one starts
    await bot_factory(**TICK)
    for number, label in enumerate(SSS8_TAPS[3:], start=5):
        await standin.tap(ana, question, label)
        if number <= 8:
            question = await reply_containing(standin, ana.id, f"{number}/8")
    saved = await reply_containing(standin, ana.id, "Saved")
    assert "Somatic symptoms (SSS-8): 12 of 32" in saved.text
    assert "high somatic symptom burden" in saved.text
    assert "Since your first (14 on" in saved.text and "down 2" in saved.text
    assert [(m, s, o) for m, s, o, _ in stored_scores(database)] == [
        ("sss8", 14, 32),
        ("sss8", 12, 32),
    ]
    assert json.loads(stored_scores(database)[-1][3]) == [2, 1, 2, 1, 3, 0, 2, 1]
    due_at, state = measure_row(database, 631)
    assert state["last"] == "sss8" and "offered" not in state
    assert dt.datetime.fromisoformat(due_at).replace(tzinfo=dt.UTC) > utcnow() + dt.timedelta(
        days=6
    )

    mark = len(standin.calls)
    await standin.send_text(ana, "/trends")
    call = await standin.wait_for("sendPhoto", timeout=TIMEOUT, after=mark)
    assert call.params["photo"]["content"][:8] == b"\x89PNG\r\n\x1a\n"
    caption = call.result["caption"]
    assert caption.startswith("Your last 4 weeks")  # the chart in words, then the scores
    assert "Weekly questions:" in caption
    assert "Somatic symptoms (SSS-8): 12 of 32" in caption and "down 2" in caption


async def test_not_this_week_moves_on_and_stop_stops_until_turned_on(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    user_id = await prepare(url, 632, "en")
    await bot_factory(**TICK)
    ana = standin.user(632, "Ana", language_code="en")
    invitation = await reply_containing(standin, ana.id, "Somatic symptoms (SSS-8)")
    await standin.tap(ana, invitation, "Not this week")
    await reply_containing(standin, ana.id, "That's fine")
    _due, state = measure_row(database, 632)
    assert state["last"] == "sss8" and "offered" not in state

    async with session_of(url) as session:  # a week later
        now = utcnow()
        row = await schedules.get(session, schedules.MEASURE, user_id)
        await schedules.set_due(
            session, schedules.MEASURE, user_id, now, {**row.state, "at": now.isoformat()}
        )
        await session.commit()
    invitation = await reply_containing(standin, ana.id, "This week's questions")
    assert "Work and social life (WSAS)" in invitation.text  # the next in the rotation
    await standin.tap(ana, invitation, "Stop weekly questions")
    await reply_containing(standin, ana.id, "no more weekly questions")
    due_at, state = measure_row(database, 632)
    assert due_at is None and state["stopped"] is True

    await standin.send_text(ana, "/measures")
    off = await reply_containing(standin, ana.id, "Weekly questions are off")
    await standin.tap(ana, off, "Turn them on")
    await reply_containing(standin, ana.id, "Weekly questions are on")
    due_at, state = measure_row(database, 632)
    assert due_at is not None and "stopped" not in state


NOT_OFFERED = {
    "es": ("Las preguntas semanales todavía no están disponibles en tu idioma", "Días registrados"),
    "de": ("Die wöchentlichen Fragen gibt es in deiner Sprache noch nicht", "Tage mit Eintrag"),
}


@pytest.mark.parametrize("language", ["es", "de"])
async def test_no_measure_is_offered_without_a_validated_translation(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path, language: str
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    telegram_id = 633 + list(NOT_OFFERED).index(language)
    await prepare(f"sqlite+aiosqlite:///{database}", telegram_id, language, logs=1)
    await bot_factory(**TICK)
    person = standin.user(telegram_id, "Lucía", language_code=language)
    for _second in range(TIMEOUT):  # the week's row is handled: moved on by a week
        await asyncio.sleep(1)
        due_at, state = measure_row(database, telegram_id)
        if due_at and dt.datetime.fromisoformat(due_at).replace(tzinfo=dt.UTC) > utcnow():
            break
    assert due_at and dt.datetime.fromisoformat(due_at).replace(
        tzinfo=dt.UTC
    ) > utcnow() + dt.timedelta(days=6)
    assert "offered" not in state
    said = [c for c in standin.calls if c.ok and str(c.params.get("chat_id")) == str(telegram_id)]
    assert said == []  # no invitation, and no questions in words nobody validated

    unavailable, logged = NOT_OFFERED[language]
    await standin.send_text(person, "/measures")
    await reply_containing(standin, person.id, unavailable)
    await standin.send_text(person, "/trends")
    words = await reply_containing(standin, person.id, logged)
    assert "📋" not in words.text  # no weekly scores


def photo_to(chat_id: int):
    def matches(call: Call) -> bool:
        return call.ok and str(call.params.get("chat_id")) == str(chat_id)

    return matches


async def test_the_weekly_digest_carries_the_chart_of_a_mentee_who_shares_trends(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    mentor = await prepare(url, 741, "en", role=Role.MENTOR, name="Mo", logs=0)
    sharing = await prepare(url, 642, "en", name="Iris", logs=4, shares=(SHARE_TRENDS,), due=False)
    private = await prepare(url, 643, "en", name="Noor", logs=4, due=False)
    async with session_of(url) as session:
        for mentee in (sharing, private):
            session.add(Match(mentee_id=mentee, mentor_id=mentor))
        await schedules.set_due(session, schedules.DIGEST, mentor, utcnow(), {})
        await session.commit()
    mark = len(standin.calls)
    await bot_factory(**TICK)
    await reply_containing(standin, 741, "Your week with your mentees")
    call = await standin.wait_for("sendPhoto", photo_to(741), timeout=TIMEOUT, after=mark)
    assert call.params["photo"]["content"][:8] == b"\x89PNG\r\n\x1a\n"
    caption = call.result["caption"]
    assert caption.startswith("Iris's last 4 weeks: 4 days logged.")
    assert "Mood" not in caption  # sharing trends is symptoms and energy only
    await asyncio.sleep(3)  # three more ticks: one chart, and none of Noor
    photos = [c for c in standin.calls if c.method == "sendPhoto" and photo_to(741)(c)]
    assert len(photos) == 1 and "Noor" not in photos[0].result["caption"]
