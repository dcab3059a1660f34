"""SQLite run inline in the event loop: writers take turns without freezing the bot."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "peerbot.sqlite3"


@pytest.fixture
async def engine(path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


async def write(session: AsyncSession, body: str) -> None:
    await session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})


async def bodies(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        return list((await session.execute(text("SELECT body FROM notes ORDER BY id"))).scalars())


class Ticker:
    """A task that notices when the event loop stops running other tasks."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.longest_gap = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.every)
            now = time.monotonic()
            self.longest_gap = max(self.longest_gap, now - last)
            self.ticks += 1
            last = now


async def test_a_second_writer_waits_for_one_holding_its_transaction_open_and_the_loop_runs_on(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first_has_written = asyncio.Event()
    waited: list[float] = []

    async def slow_handler() -> None:
        async with sessionmaker() as session, session.begin():
            await write(session, "first")
            first_has_written.set()
            await asyncio.sleep(0.2)  # e.g. sending the reply before the commit

    async def quick_handler() -> None:
        await first_has_written.wait()
        started = time.monotonic()
        async with sessionmaker() as session, session.begin():
            await write(session, "second")
        waited.append(time.monotonic() - started)

    async with Ticker() as ticker:
        await asyncio.wait_for(asyncio.gather(slow_handler(), quick_handler()), timeout=3)

    assert await bodies(sessionmaker) == ["first", "second"]
    assert waited[0] >= 0.15  # it really did wait for the first to commit…
    assert ticker.ticks >= 10  # …while the loop went on serving everyone else
    assert ticker.longest_gap < 0.15  # blocking would show as a gap of 0.2 s or more


async def test_a_write_waits_out_another_process_holding_the_write_lock(
    path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    locked = threading.Event()

    def backup_tool_holding_the_lock(seconds: float) -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO notes (body) VALUES ('other process')")
            locked.set()
            time.sleep(seconds)
            other.execute("COMMIT")
        finally:
            other.close()

    other_process = asyncio.create_task(asyncio.to_thread(backup_tool_holding_the_lock, 0.5))
    await asyncio.to_thread(locked.wait, 5)

    started = time.monotonic()
    async with sessionmaker() as session, session.begin():
        await write(session, "bot")
    waited = time.monotonic() - started
    await other_process

    assert waited >= 0.3
    assert await bodies(sessionmaker) == ["other process", "bot"]


async def test_reads_are_not_held_up_by_a_write_in_progress(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        await write(session, "committed earlier")

    async with sessionmaker() as writer:
        await write(writer, "not yet committed")  # holds this process's write turn

        async def reader() -> list[str]:
            async with sessionmaker() as session, session.begin():
                seen = list((await session.execute(text("SELECT body FROM notes"))).scalars())
                await session.execute(text("SELECT count(*) FROM notes"))
                return seen

        seen = await asyncio.wait_for(reader(), timeout=1)
        await writer.commit()

    assert seen == ["committed earlier"]


@pytest.mark.parametrize("ending", ["rollback", "error", "close"])
async def test_a_writer_that_gives_up_lets_the_next_one_write(
    sessionmaker: async_sessionmaker[AsyncSession], ending: str
) -> None:
    async with sessionmaker() as session, session.begin():
        await write(session, "kept")

    # A reader busy meanwhile, so that the next update gets another connection than the
    # one that gave up: the write turn must be handed back, not kept by that connection.
    bystander = sessionmaker()
    await bystander.execute(text("SELECT 1"))
    failed = sessionmaker()
    await write(failed, "abandoned")
    await bystander.close()
    if ending == "rollback":
        await failed.rollback()
    elif ending == "error":
        with pytest.raises(Exception, match="UNIQUE"):
            await failed.execute(text("INSERT INTO notes (id, body) VALUES (1, 'duplicate')"))
        await failed.rollback()
    await failed.close()

    async def next_update() -> None:
        async with sessionmaker() as session, session.begin():
            await write(session, "next")

    await asyncio.wait_for(next_update(), timeout=1)
    assert await bodies(sessionmaker) == ["kept", "next"]


async def test_many_concurrent_updates_all_land(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def update(n: int) -> None:
        async with sessionmaker() as session, session.begin():
            await write(session, f"update {n}")
            await asyncio.sleep(0.001 * (n % 3))

    await asyncio.wait_for(asyncio.gather(*(update(n) for n in range(30))), timeout=5)
    assert sorted(await bodies(sessionmaker)) == sorted(f"update {n}" for n in range(30))


def hold_the_write_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    """Another process (the CLI, a backup) holding SQLite's write lock for a while."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        other.execute("COMMIT")
    finally:
        other.close()


async def test_waiting_for_another_process_never_blocks_the_loop_for_more_than_50_ms(
    path: Path, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    locked = threading.Event()
    other_process = asyncio.create_task(asyncio.to_thread(hold_the_write_lock, path, 1.0, locked))
    await asyncio.to_thread(locked.wait, 5)

    async with Ticker(every=0.005) as ticker, sessionmaker() as session, session.begin():
        await write(session, "after the other process")
    await other_process

    assert await bodies(sessionmaker) == ["after the other process"]
    assert ticker.ticks >= 50  # the loop ran on while the write waited about a second
    assert ticker.longest_gap < 0.05


async def test_a_lock_held_longer_than_the_wait_limit_fails_with_a_clear_error(
    path: Path, engine: AsyncEngine
) -> None:
    impatient = create_sessionmaker(create_engine(f"sqlite+aiosqlite:///{path}", lock_wait=0.3))
    locked = threading.Event()
    other_process = asyncio.create_task(asyncio.to_thread(hold_the_write_lock, path, 1.0, locked))
    await asyncio.to_thread(locked.wait, 5)

    started = time.monotonic()
    with pytest.raises(OperationalError, match=r"database is locked: another process .* 0\.3 s"):
        async with impatient() as session, session.begin():
            await write(session, "never")
    waited = time.monotonic() - started
    await other_process

    assert 0.25 <= waited < 0.8
    async with impatient() as session, session.begin():  # the lock is gone: writes work again
        await write(session, "later")
    assert await bodies(impatient) == ["later"]


async def test_a_writer_of_this_process_stuck_with_its_transaction_open_times_out_the_next(
    path: Path, engine: AsyncEngine
) -> None:
    impatient = create_sessionmaker(create_engine(f"sqlite+aiosqlite:///{path}", lock_wait=0.3))
    stuck = impatient()
    await write(stuck, "stuck")  # e.g. a handler waiting on a request that hangs

    with pytest.raises(OperationalError, match="another connection of this process"):
        await asyncio.wait_for(_write_one(impatient, "next"), timeout=3)

    await stuck.rollback()
    await stuck.close()
    await _write_one(impatient, "after")
    assert await bodies(impatient) == ["after"]


async def _write_one(sessionmaker: async_sessionmaker[AsyncSession], body: str) -> None:
    async with sessionmaker() as session, session.begin():
        await write(session, body)


async def test_autocommit_connections_write_without_a_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("INSERT INTO notes (body) VALUES ('at once')"))
    # Committed by itself, and the pooled connection is back to transactions.
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert raw.driver_connection.isolation_level is not None
        seen = await connection.scalar(text("SELECT body FROM notes"))
    assert seen == "at once"
