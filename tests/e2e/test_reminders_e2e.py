"""Reminders and nudges end to end: the real bot process, its scheduler tick (every second
here) and outbox delivery, against the local Bot API stand-in.

* A mentee who onboards in Kolkata (UTC+05:30) and picks the next minute gets the
  reminder within that minute, not before it, and [Log now] starts the daily log.
* Three silent days (prepared in the database the bot uses): the mentor is nudged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import zoneinfo
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from flows import nudges
from flows.onboarding import CONSENT_VERSION
from storage import crypto, daily_logs, schedules, users
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_async
from storage.models import Match, Role, utcnow
from tests.e2e.conftest import ENCRYPTION_KEY, StartBot
from tests.e2e.standin import Call, TelegramStandIn
from tests.e2e.test_daily_log_e2e import reply_containing, reply_with_button
from tests.unit.chat_helpers import SAMPLE_ANSWERS

TIMEOUT = 15
TICK = {"SCHEDULER_TICK_SECONDS": 1}
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
MENTEE, MENTOR = 601, 701
# Call.at is time.monotonic(); this turns it into a wall-clock instant.
WALL_OFFSET = time.time() - time.monotonic()


def wall(call: Call) -> dt.datetime:
    return dt.datetime.fromtimestamp(call.at + WALL_OFFSET, dt.UTC)


def reminder_to(chat_id: int):
    def matches(call: Call) -> bool:
        return (
            call.ok
            and str(call.params.get("chat_id")) == str(chat_id)
            and "daily check-in" in str(call.params.get("text", ""))
        )

    return matches


def sends_to(standin: TelegramStandIn, chat_id: int, words: str) -> list[Call]:
    return [
        c
        for c in standin.calls
        if c.ok
        and c.method.lower() == "sendmessage"
        and str(c.params.get("chat_id")) == str(chat_id)
        and words in str(c.params.get("text", ""))
    ]


@contextlib.asynccontextmanager
async def session_of(url: str) -> AsyncIterator[AsyncSession]:
    """A session on the bot's database, writing with the bot's encryption key."""
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(ENCRYPTION_KEY)))
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def test_reminder_arrives_at_the_local_time_in_kolkata(
    standin: TelegramStandIn, bot_factory: StartBot
) -> None:
    await bot_factory(**TICK)
    ana = standin.user(MENTEE, "Ana", language_code="en")
    await standin.send_text(ana, "/start")
    await standin.tap(ana, await reply_containing(standin, ana.id, "Hello"), "English")
    await standin.tap(ana, await reply_containing(standin, ana.id, "Do you agree"), "Yes, I agree")
    await reply_containing(standin, ana.id, "time zone")
    await standin.send_text(ana, "Kolkata")
    await reply_with_button(standin, ana.id, "20:00")
    # The next local minute, unless it starts too soon to finish onboarding before it.
    target = (utcnow() + dt.timedelta(seconds=63)).replace(second=0, microsecond=0)
    local = target.astimezone(KOLKATA)
    mark = standin.mark()
    await standin.send_text(ana, local.strftime("%H:%M"))
    await reply_containing(standin, ana.id, "All set")
    wait = (target - utcnow()).total_seconds() + 60
    call = await standin.wait_for("sendMessage", reminder_to(ana.id), timeout=wait, after=mark)
    arrived = wall(call)
    assert target <= arrived < target + dt.timedelta(seconds=60), (target, arrived)
    reminder = await reply_containing(standin, ana.id, "daily check-in")
    assert [t for row in reminder.buttons for t, _ in row] == [
        "📝 Log now",
        "🥄 Low on energy? 3 taps only",
        "⏰ Later",
        "Not today",
    ]
    await standin.tap(ana, reminder, "Log now")
    await reply_containing(standin, ana.id, "1/10")


async def prepare_silence(url: str) -> None:
    """A mentee matched 10 days ago whose last log was 3½ days ago; the silence row due."""
    await upgrade_async(url)
    async with session_of(url) as session:
        ids = {}
        for telegram_id, role in ((MENTEE, Role.MENTEE), (MENTOR, Role.MENTOR)):
            person = await users.create(
                session, telegram_id=telegram_id, locale="en", pseudonym=f"Fern-{telegram_id}"
            )
            person.role, person.display_name = role, "Iris" if role == Role.MENTEE else "Mo"
            users.record_consent(session, person, CONSENT_VERSION)
            users.finish_onboarding(person, "Europe/London", dt.time(20))
            await session.flush()
            ids[role] = person.id
        now = utcnow()
        session.add(
            Match(
                mentee_id=ids[Role.MENTEE],
                mentor_id=ids[Role.MENTOR],
                started_at=now - dt.timedelta(days=10),
            )
        )
        last = now - dt.timedelta(days=3, hours=12)
        log = await daily_logs.save(session, ids[Role.MENTEE], last.date(), SAMPLE_ANSWERS)
        log.created_at = log.updated_at = last
        await schedules.set_due(session, nudges.SILENCE, ids[Role.MENTEE], now)
        await session.commit()


async def test_three_silent_days_nudge_the_mentor_once(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await prepare_silence(f"sqlite+aiosqlite:///{tmp_path}/peerbot.sqlite3")
    await bot_factory(**TICK)
    call = await standin.wait_for(
        "sendMessage",
        lambda c: c.ok and "hasn't checked in" in str(c.params.get("text", "")),
        timeout=TIMEOUT,
    )
    assert str(call.params["chat_id"]) == str(MENTOR)
    assert "Iris hasn't checked in for 3 days" in call.params["text"]
    await asyncio.sleep(3)  # three more ticks
    assert len(sends_to(standin, MENTOR, "hasn't checked in")) == 1
    assert sends_to(standin, MENTEE, "hasn't checked in") == []
