"""The inbox: no update is confirmed to Telegram before it is stored, none is lost or doubled.

First the storage (`storage/inbox.py`), then the poller (`bot/polling.py`) over the
in-process fake Telegram, feeding a small dispatcher whose handler can be held open.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiogram import Dispatcher, Router
from aiogram.types import ErrorEvent, Message, Update
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import polling
from bot.delivery import DeliveryWorker
from bot.polling import Poller, poll
from storage import inbox
from storage.models import InboxUpdate, SystemStatus
from tests.fakes import People
from tests.unit.scripted_telegram import ScriptedTelegram, scripted_bot
from tests.waiting import until

# --- Storage


def as_json(update: Update) -> str:
    return update.model_dump_json(exclude_unset=True)


async def test_saving_is_idempotent_and_says_which_updates_are_new(
    session: AsyncSession,
) -> None:
    people = People()
    sam = people.user(7)
    first, second = people.text(sam, "hello"), people.text(sam, "again")

    assert await inbox.save(session, [(first.update_id, as_json(first))]) == {first.update_id}
    new = await inbox.save(
        session, [(first.update_id, as_json(first)), (second.update_id, as_json(second))]
    )
    await session.commit()

    assert new == {second.update_id}
    assert [row.update_id for row in await inbox.pending(session)] == [1, 2]


async def test_pending_is_in_update_id_order_and_done_forgets(session: AsyncSession) -> None:
    await inbox.save(session, [(30, "{}"), (10, "{}"), (20, "{}")], attempts=0)
    await inbox.count_attempt(session, [10, 20])
    await inbox.done(session, [30])
    await session.commit()

    rows = await inbox.pending(session)
    assert [(row.update_id, row.attempts) for row in rows] == [(10, 1), (20, 1)]


async def test_the_payload_is_encrypted_at_rest(session: AsyncSession) -> None:
    people = People()
    words = people.text(people.user(7), "I feel like giving up today")
    await inbox.save(session, [(words.update_id, as_json(words))])
    await session.commit()

    raw = await session.scalar(text("SELECT payload FROM inbox"))
    assert "giving up" not in raw
    [row] = await inbox.pending(session)
    assert Update.model_validate_json(row.payload).message.text == "I feel like giving up today"


async def test_the_offset_is_kept_but_not_trusted_when_old(session: AsyncSession) -> None:
    assert await inbox.load_offset(session) is None
    await inbox.save_offset(session, 41)
    await inbox.save_offset(session, 42)
    await session.commit()
    assert await inbox.load_offset(session) == 42

    week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    await session.execute(update(SystemStatus).values(updated_at=week_ago))
    await session.commit()
    assert await inbox.load_offset(session) is None


# --- The poller


@dataclass
class Bench:
    """A dispatcher whose handler records each text and waits while `gate` is closed."""

    sessionmaker: async_sessionmaker[AsyncSession]
    handled: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[str] = field(default_factory=list)

    def dispatcher(self, *, errors_router: bool = True) -> Dispatcher:
        router = Router()

        @router.message()
        async def record(message: Message) -> None:
            await self.gate.wait()
            if message.text == "crash":
                raise RuntimeError("a bug")
            self.handled.append(message.text or "")

        if errors_router:

            @router.errors()
            async def apologise(event: ErrorEvent) -> None:
                self.errors.append(type(event.exception).__name__)

        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        return dispatcher

    async def inbox_ids(self) -> list[int]:
        async with self.sessionmaker() as session:
            return list((await session.scalars(select(InboxUpdate.update_id))).all())


@pytest.fixture
async def bench(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Bench]:
    yield Bench(sessionmaker)


def start(poller: Poller) -> asyncio.Task[None]:
    return asyncio.create_task(poller.run())


async def stop(poller: Poller, task: asyncio.Task[None]) -> None:
    poller.stop()
    await asyncio.wait_for(task, 5)


def make_poller(
    bench: Bench, *, errors_router: bool = True, in_flight_timeout: float = 2.0
) -> tuple[Poller, ScriptedTelegram]:
    bot, telegram = scripted_bot()
    poller = Poller(
        bot,
        bench.dispatcher(errors_router=errors_router),
        bench.sessionmaker,
        timeout=1,
        allowed_updates=["message"],
        in_flight_timeout=in_flight_timeout,
    )
    return poller, telegram


async def test_updates_are_stored_before_the_poll_that_confirms_them(bench: Bench) -> None:
    poller, telegram = make_poller(bench)
    people = People()
    sam, ana = people.user(7), people.user(8)
    checked: list[int] = []

    async def confirming(offset: int | None) -> None:
        if offset is not None:
            stored = set(await bench.inbox_ids())
            unhandled = [u for u in range(1, offset) if u not in stored]
            assert len(bench.handled) >= len(unhandled), f"{unhandled} confirmed unstored"
            checked.append(offset)

    telegram.before_get_updates = confirming
    task = start(poller)
    for person, words in ((sam, "one"), (ana, "two"), (sam, "three")):
        telegram.queue(people.text(person, words))
    await until(lambda: bool(checked) and checked[-1] == 4)

    assert bench.handled == [], "the handlers are still running (the gate is closed)"
    assert await bench.inbox_ids() == [1, 2, 3]
    bench.gate.set()
    await until(lambda: len(bench.handled) == 3)
    await until(lambda: not poller._finished)
    await asyncio.sleep(0.05)
    assert await bench.inbox_ids() == [], "handled updates are deleted"
    await stop(poller, task)
    assert sorted(bench.handled) == ["one", "three", "two"]


async def test_what_the_last_run_left_is_handled_first_in_order(bench: Bench) -> None:
    people = People()
    sam = people.user(7)
    updates = [people.text(sam, words) for words in ("first", "second", "third")]
    async with bench.sessionmaker() as session:
        await inbox.save(
            session, [(u.update_id, as_json(u)) for u in reversed(updates)], attempts=1
        )
        await session.commit()
    poller, telegram = make_poller(bench)
    for leftover in updates:  # Telegram hands them out again: they were never confirmed
        telegram.queue(leftover)
    telegram.queue(people.text(sam, "fourth"))
    bench.gate.set()

    task = start(poller)
    await until(lambda: len(bench.handled) == 4)
    await asyncio.sleep(0.2)
    await stop(poller, task)

    assert bench.handled == ["first", "second", "third", "fourth"], "each once, in order"
    assert telegram.offsets[0] == 4, "the first poll confirms what the inbox holds"
    assert await bench.inbox_ids() == []


async def test_an_update_that_failed_three_times_is_dropped(bench: Bench) -> None:
    people = People()
    poison, fine = people.text(people.user(7), "poison"), people.text(people.user(8), "fine")
    async with bench.sessionmaker() as session:
        await inbox.save(session, [(poison.update_id, as_json(poison))], attempts=3)
        await inbox.save(session, [(fine.update_id, as_json(fine))], attempts=2)
        await session.commit()
    poller, _ = make_poller(bench)
    bench.gate.set()

    task = start(poller)
    await until(lambda: bench.handled == ["fine"])
    await stop(poller, task)

    assert await bench.inbox_ids() == []


async def test_the_saved_offset_is_confirmed_at_start(bench: Bench) -> None:
    async with bench.sessionmaker() as session:
        await inbox.save_offset(session, 100)
        await session.commit()
    poller, telegram = make_poller(bench)

    task = start(poller)
    await until(lambda: bool(telegram.offsets))
    await stop(poller, task)

    assert telegram.offsets[0] == 100


async def test_an_update_that_fails_past_the_error_handlers_stays_for_the_next_start(
    bench: Bench,
) -> None:
    poller, telegram = make_poller(bench, errors_router=False)
    people = People()
    telegram.queue(people.text(people.user(7), "crash"))
    telegram.queue(people.text(people.user(8), "fine"))
    bench.gate.set()

    task = start(poller)
    await until(lambda: bench.handled == ["fine"])
    await asyncio.sleep(0.1)
    await stop(poller, task)

    async with bench.sessionmaker() as session:
        [row] = await inbox.pending(session)
    assert (row.update_id, row.attempts) == (1, 1)


async def test_an_error_the_error_handlers_handled_finishes_the_update(bench: Bench) -> None:
    poller, telegram = make_poller(bench)
    telegram.queue(People().text(People().user(7), "crash"))
    bench.gate.set()

    task = start(poller)
    await until(lambda: bench.errors == ["RuntimeError"])
    await asyncio.sleep(0.1)
    await stop(poller, task)

    assert await bench.inbox_ids() == []


async def test_get_updates_failures_back_off_and_honour_retry_after(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "BACKOFF_BASE", 0.01)
    poller, telegram = make_poller(bench)
    telegram.fail(500, method="getUpdates", times=2)
    telegram.fail(0, method="getUpdates")  # a network error
    telegram.fail(429, method="getUpdates", retry_after=1)
    telegram.queue(People().text(People().user(7), "still here"))
    bench.gate.set()

    task = start(poller)
    await until(lambda: bench.handled == ["still here"])
    await stop(poller, task)

    polls = [call for call in telegram.calls if call.method == "getUpdates"]
    assert [call.status for call in polls[:5]] == [500, 500, 0, 429, 200]
    assert polls[4].at - polls[3].at >= 1.0


async def test_stopping_cuts_a_slow_handler_short_and_keeps_its_update(bench: Bench) -> None:
    poller, telegram = make_poller(bench, in_flight_timeout=0.2)
    telegram.queue(People().text(People().user(7), "slow"))
    task = start(poller)
    await until(lambda: bool(telegram.offsets) and telegram.offsets[-1] == 2)

    started = time.monotonic()
    await stop(poller, task)

    assert time.monotonic() - started < 2
    assert bench.handled == []
    assert await bench.inbox_ids() == [1]


async def test_sigterm_stops_polling_lets_handlers_finish_and_stops_delivery(
    bench: Bench,
) -> None:
    bot, telegram = scripted_bot()
    delivery = DeliveryWorker(bot, bench.sessionmaker, poll_interval=0.05)
    delivering = asyncio.create_task(delivery.run())
    telegram.queue(People().text(People().user(7), "almost done"))
    polling_task = asyncio.create_task(
        poll(
            bot,
            bench.dispatcher(),
            bench.sessionmaker,
            timeout=1,
            allowed_updates=["message"],
            delivery=delivery,
        )
    )
    await until(lambda: bool(telegram.offsets) and telegram.offsets[-1] == 2)

    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.1)
    bench.gate.set()  # the handler finishes during the shutdown
    await asyncio.wait_for(polling_task, 5)
    await asyncio.wait_for(delivering, 5)

    assert bench.handled == ["almost done"]
    assert await bench.inbox_ids() == []
    polls = len(telegram.offsets)
    await asyncio.sleep(0.3)
    assert len(telegram.offsets) == polls, "no more polling"
