"""Updates per second: the full daily-log conversation vs a bare aiogram echo bot.

Both dispatchers get the same number of updates from the same simulated people, in
the same run, through aiogram's real dispatcher; Telegram is replaced by an
in-process fake (no network). peerbot uses a real SQLite file, so every update
pays for its database work: the person, the conversation state, the commit.

    python benchmarks/throughput.py [--people 300] [--concurrency 32]

Prints updates/s for each, the database statements per update, and last the ratio.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Dispatcher, F
from aiogram.types import CallbackQuery, Message, Update
from cryptography.fernet import Fernet
from sqlalchemy import event

from bot.app import build_dispatcher
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
    feed: Callable[[Update], Awaitable[object]],
    telegram: FakeTelegram,
    people: People,
    person_id: int,
) -> None:
    person = people.user(person_id)
    for tap in TAPS:
        if isinstance(tap, str):
            await feed(people.text(person, tap))
            continue
        shown = telegram.last_message(person_id)
        markup = shown.reply_markup
        data = markup.inline_keyboard[tap[0]][tap[1]].callback_data if markup else "none"
        await feed(people.press(person, shown, data))


async def measure(
    feed: Callable[[Update], Awaitable[object]],
    telegram: FakeTelegram,
    ids: range,
    concurrency: int,
) -> float:
    people = People()
    gate = asyncio.Semaphore(concurrency)

    async def one(person_id: int) -> None:
        async with gate:
            await play(feed, telegram, people, person_id)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in ids))
    return len(ids) * UPDATES_PER_PERSON / (time.perf_counter() - started)


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


async def main(people: int, concurrency: int) -> None:
    crypto.use_cipher(crypto.Cipher([Fernet.generate_key()]))
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), _env_file=None)
        await upgrade_async(settings.resolved_database_url)
        ids = range(10_000, 10_000 + people)
        await seed_people(settings, ids)

        echo_bot, echo_telegram = plain_bot()
        echo = echo_dispatcher()
        ours_bot, ours_telegram = fake_bot(settings)
        engine = create_engine(settings.resolved_database_url)
        ours = build_dispatcher(settings, engine)
        statements = 0

        def count(*_args: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)

        # Warm both up (imports, caches) on people outside the measured range.
        await measure(lambda u: echo.feed_update(echo_bot, u), echo_telegram, range(5), 5)
        await seed_people(settings, range(1, 6))
        await measure(lambda u: ours.feed_update(ours_bot, u), ours_telegram, range(1, 6), 5)
        statements = 0

        echo_rate = await measure(
            lambda u: echo.feed_update(echo_bot, u), echo_telegram, ids, concurrency
        )
        ours_rate = await measure(
            lambda u: ours.feed_update(ours_bot, u), ours_telegram, ids, concurrency
        )
        await engine.dispose()

        saved = sum(
            1
            for sent in ours_telegram.sent
            if sent.chat_id in ids and sent.text and sent.text.startswith("✓ Saved")
        )
        if saved != people:
            raise SystemExit(
                f"only {saved} of {people} daily logs were saved: the benchmark is not measuring the flow"
            )
        updates = people * UPDATES_PER_PERSON
        print(f"people: {people}, updates each: {UPDATES_PER_PERSON}, concurrency: {concurrency}")
        print(f"bare echo:        {echo_rate:8.0f} updates/s")
        print(f"peerbot logging:  {ours_rate:8.0f} updates/s")
        print(f"database statements per update: {statements / updates:.2f}")
        print(f"ratio: {ours_rate / echo_rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.concurrency))
