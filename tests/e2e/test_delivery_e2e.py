"""Nothing is lost on the way out or in: the real bot process, its outbox and its inbox.

The test writes outbox rows straight into the bot's SQLite file (as a flow would, in
its own transaction), makes the Bot API stand-in refuse, flood-limit or fail, and kills
the bot with SIGKILL at the worst moments. Every message still arrives, exactly once;
every update a person sent is still answered.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import crypto, outbox
from storage.db import create_engine, create_sessionmaker
from tests import waiting
from tests.e2e.conftest import ENCRYPTION_KEY, StartBot
from tests.e2e.standin import Call, TelegramStandIn

TIMEOUT = 15


@pytest.fixture
async def bots_database(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the bot's own SQLite file, encrypting with the bot's key."""
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(ENCRYPTION_KEY)))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/peerbot.sqlite3")
    yield create_sessionmaker(engine)
    await engine.dispose()


async def enqueue(
    sessionmaker: async_sessionmaker[AsyncSession], key: str, chat_id: int, text: str
) -> None:
    async with sessionmaker() as session:
        await outbox.enqueue(
            session, key=key, chat_id=chat_id, method="sendMessage", params={"text": text}
        )
        await session.commit()


def outbox_row(database: Path, key: str) -> dict[str, object]:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute(
            "SELECT status, attempts, message_id, claimed_until, last_error FROM outbox"
            " WHERE key = ?",
            (key,),
        ).fetchone()
    return dict(row)


def sends_to(standin: TelegramStandIn, chat_id: int) -> list[Call]:
    return [
        call
        for call in standin.calls
        if call.method.lower() == "sendmessage" and call.params.get("chat_id") == chat_id
    ]


def to(chat_id: int, status: int | None = None) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return call.params.get("chat_id") == chat_id and (status is None or call.status == status)

    return matches


until = partial(waiting.until, timeout=TIMEOUT, every=0.05)


async def test_a_row_written_by_another_process_is_delivered(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    bots_database: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await bot_factory()
    await enqueue(bots_database, "nudge:601", 601, "Your mentor would like to hear from you.")

    call = await standin.wait_for("sendMessage", to(601, 200), timeout=TIMEOUT)

    assert call.result["text"] == "Your mentor would like to hear from you."
    await until(lambda: outbox_row(tmp_path / "peerbot.sqlite3", "nudge:601")["status"] == "sent")
    row = outbox_row(tmp_path / "peerbot.sqlite3", "nudge:601")
    assert row["message_id"] == call.result["message_id"]


# Slow on purpose (~35 s): Telegram answers 429 for 30 s, then 500 twice.
@pytest.mark.timeout(90)
async def test_a_message_survives_30_seconds_of_429_and_then_two_500s(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    bots_database: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await bot_factory()
    standin.fail_for("sendMessage", 429, 30, retry_after=10, chat_id=-602)
    standin.fail("sendMessage", 500, times=2, chat_id=-602)  # once the 429s are over
    await enqueue(bots_database, "alert:602", -602, "Crisis alert: someone needs you now.")

    await standin.wait_for("sendMessage", to(-602, 200), timeout=60)
    await asyncio.sleep(1.5)  # a second copy would have come by now

    calls = sends_to(standin, -602)
    statuses = [call.status for call in calls]
    assert statuses.count(200) == 1, "delivered exactly once"
    assert statuses[-3:] == [500, 500, 200]
    refused = [call.at for call in calls if call.status == 429]
    assert 3 <= len(refused) <= 4
    assert all(b - a >= 9.9 for a, b in itertools.pairwise(refused)), (
        "retry_after is honoured: no call came back sooner than asked"
    )
    assert outbox_row(tmp_path / "peerbot.sqlite3", "alert:602")["status"] == "sent"


async def test_kill_9_before_a_row_is_sent_then_restart_sends_it_once(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    bots_database: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    database = tmp_path / "peerbot.sqlite3"
    bot = await bot_factory()
    failing_until = time.monotonic() + 4
    standin.fail_for("sendMessage", 500, 4, chat_id=603)
    await enqueue(bots_database, "relay:603", 603, "A message from your mentor.")
    await standin.wait_for("sendMessage", to(603, 500), timeout=TIMEOUT)
    # The worker wrote the failure down and put the row back; now the process dies.
    await until(lambda: outbox_row(database, "relay:603")["last_error"] is not None)
    bot.kill9()
    await bot.wait()
    assert outbox_row(database, "relay:603")["status"] == "pending"

    await asyncio.sleep(max(0.0, failing_until - time.monotonic()))  # the failure is over
    await bot_factory()
    await standin.wait_for("sendMessage", to(603, 200), timeout=TIMEOUT)
    await asyncio.sleep(1.0)

    assert [call.status for call in sends_to(standin, 603)].count(200) == 1
    assert outbox_row(database, "relay:603")["status"] == "sent"


async def test_kill_9_while_an_update_is_handled_then_restart_answers_it(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    bot = await bot_factory()
    sam = standin.user(604, "Sam", language_code="en")
    failing_until = time.monotonic() + 3
    standin.fail_for("sendMessage", 500, 3, chat_id=604)  # the reply hangs in retries
    update = await standin.send_text(sam, "/help")
    await standin.wait_for("sendMessage", to(604, 500), timeout=TIMEOUT)
    # Telegram has been told it may forget the update: only the inbox has it now.
    await standin.wait_confirmed(update, timeout=TIMEOUT)
    bot.kill9()
    await bot.wait()
    assert update["update_id"] not in [u["update_id"] for u in standin.pending_updates]
    assert not [call for call in sends_to(standin, 604) if call.ok]

    await asyncio.sleep(max(0.0, failing_until - time.monotonic()))
    await bot_factory()
    reply = await standin.next_reply(604, timeout=TIMEOUT)

    assert "peer-mentorship" in reply.text and "/start" in reply.text
    await asyncio.sleep(1.0)
    assert len([call for call in sends_to(standin, 604) if call.ok]) == 1
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0


async def test_sigterm_stops_the_bot_cleanly(
    standin: TelegramStandIn, bot_factory: StartBot
) -> None:
    bot = await bot_factory()
    sam = standin.user(605, "Sam", language_code="en")
    await standin.send_text(sam, "/help")
    await standin.next_reply(605, timeout=TIMEOUT)

    started = time.monotonic()
    assert await bot.stop(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert "Traceback" not in bot.log_text()
