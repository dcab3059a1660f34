"""Never frozen, never split: the bot under an outside writer, a second bot, a clock step.

* Another process (`peerbot match confirm`, a backup) holding SQLite's write lock must not
  freeze the bot: it keeps talking to Telegram while its own writes wait their turn.
* A second bot started on the same database is refused with a clear message: two
  pollers would each hand a person's updates to a process that remembers a different
  conversation ("This button has expired" in the middle of a daily log).
* A wall clock stepped back (an NTP step) must not stop the periodic ticks: an alert
  nobody acknowledges is still escalated on time once the clock is right again.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.poller_lock import ADVISORY_KEY
from tests.e2e.botproc import BotProcess
from tests.e2e.conftest import REPO_ROOT, StartBot, bot_env
from tests.e2e.standin import TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    SUPERVISOR_CHAT,
    channel_alert,
    onboarded_mentee,
    supervisors_on_call,
    to_chat,
)

TIMEOUT = 15
POSTGRES_URL = os.environ.get("PEERBOT_TEST_POSTGRES_URL")
WALL_CLOCK = Path(__file__).resolve().parent / "wallclock"


async def answered(standin: TelegramStandIn, person, text: str, timeout: float = TIMEOUT) -> float:
    """Send ``text``; how long the bot took to answer it."""
    sent = time.monotonic()
    await standin.send_text(person, text)
    await standin.next_reply(person.id, timeout=timeout)
    return time.monotonic() - sent


# --- 16: an outside writer ---------------------------------------------------------------------


def hold_the_write_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        other.execute("COMMIT")
    finally:
        other.close()


async def test_the_bot_keeps_talking_to_telegram_while_another_process_holds_the_database(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    # Short ticks, so the bot tries to write (claiming what is due) while the lock is held.
    process = await bot_factory(ESCALATION_TICK_SECONDS=0.2, SCHEDULER_TICK_SECONDS=0.2)
    ana = standin.user(1601, "Ana", language_code="en")
    await answered(standin, ana, "/help")

    locked = threading.Event()
    holder = asyncio.create_task(
        asyncio.to_thread(hold_the_write_lock, tmp_path / "peerbot.sqlite3", 2.0, locked)
    )
    await asyncio.to_thread(locked.wait, 5)
    held_from = time.monotonic()
    await holder
    held_until = time.monotonic()
    await asyncio.sleep(1.2)

    polls = [
        call.at
        for call in standin.calls
        if call.method.lower() == "getupdates" and held_from - 1.2 <= call.at <= held_until + 1.2
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    # POLLING_TIMEOUT is 1 s: a long poll follows another at most about a second apart,
    # unless the bot's event loop stood still waiting for the database.
    assert polls and max(gaps, default=0) < 1.6, process.failure(
        f"the bot stopped polling while another process held the database: gaps {gaps}"
    )
    assert await answered(standin, ana, "/help") < 3


# --- 12: a second bot on the same database --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/peerbot.sqlite3"
        return
    if not POSTGRES_URL:
        pytest.skip("PEERBOT_TEST_POSTGRES_URL is not set")
    import asyncpg

    admin = make_url(POSTGRES_URL)
    name = f"peerbot_e2e_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await connection.close()


async def test_a_second_bot_on_the_same_database_is_refused_and_the_first_goes_on(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path, database_url: str
) -> None:
    first = await bot_factory(DATABASE_URL=database_url)
    ana = standin.user(1201, "Ana", language_code="en")
    await answered(standin, ana, "/help")

    env = bot_env(standin, tmp_path) | {"DATABASE_URL": database_url}
    second = BotProcess(env, cwd=tmp_path, log_path=tmp_path / "second.log")
    await second.start()
    try:
        code = await asyncio.wait_for(second.wait(), 30)
    except TimeoutError:
        raise second.failure("a second bot on the same database was not refused") from None
    finally:
        await second.stop()

    assert code != 0
    said = second.log_text()
    assert "Another peerbot is already polling Telegram with this database" in said, said
    assert "Traceback" not in said
    assert first.running
    assert await answered(standin, ana, "/help") < 3


async def test_a_bot_whose_lock_connection_dropped_takes_it_again_or_stops_for_the_other(
    standin: TelegramStandIn, bot_factory: StartBot, database_url: str
) -> None:
    """PostgreSQL's lock lives on a connection: a restarted server or a dropped network ends
    it, and a second bot could then start polling beside the first."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a flock lives as long as the process")
    import asyncpg

    bot = await bot_factory(DATABASE_URL=database_url, POLLER_LOCK_CHECK_SECONDS=0.5)
    ana = standin.user(1211, "Ana", language_code="en")
    await answered(standin, ana, "/help")
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    other = await asyncpg.connect(dsn)
    try:
        first_holder = await _lock_holder(other)
        await other.execute("SELECT pg_terminate_backend($1)", first_holder)
        retaken = await _wait_for_holder(other, lambda pid: pid not in (None, first_holder))
        assert retaken, bot.failure("the bot did not take its lock again")
        assert bot.running
        assert await answered(standin, ana, "/help") < 3

        # This time another process takes the lock first: the bot stops, and says why.
        await other.execute("SELECT pg_terminate_backend($1)", retaken)
        deadline = time.monotonic() + 5
        while not await other.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY):
            assert time.monotonic() < deadline, "the bot's lock was never released"
            await asyncio.sleep(0.01)
        try:
            code = await asyncio.wait_for(bot.wait(), 30)
        except TimeoutError:
            raise bot.failure("the bot went on polling beside another poller") from None
        said = bot.log_text()
        assert code == 3, said[-3000:]
        assert "POLLER LOCK LOST" in said and "Another peerbot is already polling" in said
    finally:
        await other.close()


async def _lock_holder(connection) -> int | None:
    return await connection.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = $1 LIMIT 1",
        ADVISORY_KEY,
    )


async def _wait_for_holder(connection, wanted, timeout: float = 15) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = await _lock_holder(connection)
        if wanted(holder):
            return holder
        await asyncio.sleep(0.1)
    return None


# --- 13: the wall clock stepped back ------------------------------------------------------


async def test_a_wall_clock_stepped_back_an_hour_does_not_stop_escalation(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 1301, "en", "Europe/London", "Heron-13")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    step = tmp_path / "wall-clock-step"
    step.write_text("0")
    process = await bot_factory(
        **ALERT_ENV
        | {
            "ESCALATION_ACK_MINUTES": 0.1,  # six seconds
            "PYTHONPATH": os.pathsep.join([str(WALL_CLOCK), str(REPO_ROOT)]),
            "PEERBOT_TEST_WALL_CLOCK_FILE": step,
        }
    )
    mentee = standin.user(1301, "Rosalind", language_code="en")

    await standin.send_text(mentee, "I want to kill myself tonight")
    alerted = await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT)
    step.write_text("-3600")  # NTP steps the clock an hour back…
    await asyncio.sleep(2.5)
    step.write_text("0")  # …and a moment later it is right again

    try:
        # The group's message of the case is edited to say so (tests/e2e/test_cases_e2e.py).
        again = await standin.wait_for(
            "editMessageText", to_chat(SUPERVISOR_CHAT, "Alert #1 escalated"), timeout=TIMEOUT
        )
    except AssertionError as error:
        raise process.failure(f"escalation stopped after the clock step: {error}") from None
    assert again.at - alerted.at < 6 + 5  # the acknowledgement time, a tick and some slack
