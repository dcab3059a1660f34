"""Updates per second: the full daily-log conversation vs a bare aiogram echo bot.

Both dispatchers get the same number of updates from the same simulated people, in
the same run, through aiogram's real dispatcher; Telegram is replaced by an
in-process fake (no network). peerbot uses a real SQLite file, so every update
pays for its database work: the person, the conversation state, the commit.

    python benchmarks/throughput.py [--people 300] [--concurrency 32] [--rounds 5] [--turn 50]

The two take turns of 50 people each, so both meet the same machine. Prints each
round, the median updates/s of each, the database statements per update,
and last the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Dispatcher, F
from aiogram.types import CallbackQuery, Message, Update
from cryptography.fernet import Fernet
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_dispatcher, settle_memory
from bot.settings import Settings
from flows.onboarding import new_pseudonym
from storage import crypto
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_async
from storage.models import User
from tests.fakes import FakeTelegram, People, fake_bot, plain_bot

# One daily log, as taps: (button row, column) on the message shown, or text to type.
TAPS: list[tuple[int, int] | str] = [
    "/log",
    (1, 2),  # symptoms 8
    (0, 0),  # pain
    (0, 1),  # fatigue
    (5, 0),  # done
    (0, 4),  # energy 4
    (1, 0),  # as planned
    (0, 3),  # 3 rest breaks
    (1, 0),  # sleep quality 6
    (0, 3),  # 7 hours
    (0, 5),  # mood 5
    (1, 1),  # interference 7
    "Walked to the shop and rested after.",
]
UPDATES_PER_PERSON = len(TAPS)
PEOPLE = People()  # one source of update ids: Telegram's are unique, and the fake checks it


def echo_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dispatcher.callback_query()
    async def tapped(query: CallbackQuery) -> None:
        await query.answer()

    return dispatcher


async def play(
    feed: Callable[[Update], Awaitable[object]], telegram: FakeTelegram, person_id: int
) -> None:
    person = PEOPLE.user(person_id)
    for tap in TAPS:
        if isinstance(tap, str):
            await feed(PEOPLE.text(person, tap))
            continue
        shown = telegram.last_message(person_id)
        markup = shown.reply_markup
        data = markup.inline_keyboard[tap[0]][tap[1]].callback_data if markup else "none"
        await feed(PEOPLE.press(person, shown, data))


async def measure(
    feed: Callable[[Update], Awaitable[object]],
    telegram: FakeTelegram,
    ids: range,
    concurrency: int,
) -> float:
    """Seconds taken to play a daily log for each of ``ids``."""
    gate = asyncio.Semaphore(concurrency)

    async def one(person_id: int) -> None:
        async with gate:
            await play(feed, telegram, person_id)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in ids))
    return time.perf_counter() - started


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")  # transaction control, not counted


class StatementCounter:
    """Counts the SQL statements SQLite runs on the engine's connections, whether they
    came through the ORM or not (conversation state is written below it); transaction
    control (BEGIN, COMMIT) is not counted."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.counting = False
        self.statements = 0
        event.listen(engine.sync_engine, "connect", self._trace)

    def _trace(self, _dbapi_connection: object, record: Any) -> None:
        record.driver_connection.driver.set_trace_callback(self._ran)

    def _ran(self, statement: str) -> None:
        if self.counting and not statement.lstrip().upper().startswith(_CONTROL):
            self.statements += 1


async def seed_people(settings: Settings, ids: range) -> None:
    engine = create_engine(settings.resolved_database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for telegram_id in ids:
            session.add(
                User(
                    telegram_id=telegram_id,
                    locale="en",
                    pseudonym=new_pseudonym(),
                    timezone="Europe/Madrid",
                    checkin_time=dt.time(20),
                    consent_version=1,
                    consent_at=dt.datetime.now(dt.UTC),
                    onboarded_at=dt.datetime.now(dt.UTC),
                )
            )
    await engine.dispose()


async def main(people: int, concurrency: int, rounds: int, turn: int) -> None:
    crypto.use_cipher(crypto.Cipher([Fernet.generate_key()]))
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), _env_file=None)
        await upgrade_async(settings.resolved_database_url)
        # Each round's people are new, so every round plays the same first log of the day.
        crowds = [range(10_000 + n * people, 10_000 + (n + 1) * people) for n in range(rounds)]
        await seed_people(settings, range(crowds[0].start, crowds[-1].stop))

        echo_bot, echo_telegram = plain_bot()
        echo = echo_dispatcher()
        ours_bot, ours_telegram = fake_bot(settings)
        engine = create_engine(settings.resolved_database_url)
        counter = StatementCounter(engine)
        ours = build_dispatcher(settings, engine)

        # Warm both up (imports, caches) on people outside the measured range, counting
        # peerbot's statements meanwhile (the counter stays out of the measured rounds).
        warmup = range(1, 41)
        await seed_people(settings, warmup)
        await measure(lambda u: echo.feed_update(echo_bot, u), echo_telegram, warmup, 8)
        counter.counting = True
        await measure(lambda u: ours.feed_update(ours_bot, u), ours_telegram, warmup, 8)
        counter.counting = False
        per_update = counter.statements / (len(warmup) * UPDATES_PER_PERSON)
        settle_memory()  # as `peerbot run` does once started; the setting is the process's

        # Alternate the two in short turns (a few hundred updates each), so that both see
        # the same machine: its speed here drifts by a quarter within seconds.
        echo_rates, ours_rates = [], []
        for crowd in crowds:
            echo_seconds = ours_seconds = 0.0
            for start in range(crowd.start, crowd.stop, turn):
                ids = range(start, min(start + turn, crowd.stop))
                echo_seconds += await measure(
                    lambda u: echo.feed_update(echo_bot, u), echo_telegram, ids, concurrency
                )
                ours_seconds += await measure(
                    lambda u: ours.feed_update(ours_bot, u), ours_telegram, ids, concurrency
                )
            echo_rates.append(len(crowd) * UPDATES_PER_PERSON / echo_seconds)
            ours_rates.append(len(crowd) * UPDATES_PER_PERSON / ours_seconds)
        await engine.dispose()

        everyone = range(crowds[0].start, crowds[-1].stop)
        saved = sum(
            1
            for sent in ours_telegram.sent
            if sent.chat_id in everyone and sent.text and sent.text.startswith("✓ Saved")
        )
        if saved != len(everyone):
            raise SystemExit(
                f"only {saved} of {len(everyone)} daily logs were saved: "
                "the benchmark is not measuring the flow"
            )
        echo_rate, ours_rate = median(echo_rates), median(ours_rates)
        print(
            f"people: {people} a round in turns of {turn}, {rounds} rounds, "
            f"{UPDATES_PER_PERSON} updates each, concurrency {concurrency}"
        )
        print(
            "rounds (echo / peerbot updates/s): "
            + ", ".join(f"{e:.0f} / {o:.0f}" for e, o in zip(echo_rates, ours_rates, strict=True))
        )
        print(f"bare echo:        {echo_rate:8.0f} updates/s (median)")
        print(f"peerbot logging:  {ours_rate:8.0f} updates/s (median)")
        print(f"database statements per update: {per_update:.2f}")
        print(f"ratio: {ours_rate / echo_rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turn", type=int, default=50, help="people per turn of each bot")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.concurrency, args.rounds, args.turn))
