"""Conversation state in SQL: it survives restarts, fails with its update, and is read sparingly."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from flows.states import DailyLogging, Onboarding
from storage import db, fsm, users
from storage.crypto import Cipher
from storage.db import has_work
from storage.fsm import SqlStorage
from storage.models import FsmRecord, utcnow

ANA = StorageKey(bot_id=42, chat_id=7, user_id=7)
BEN = StorageKey(bot_id=42, chat_id=8, user_id=8)


@asynccontextmanager
async def one_update(
    storage: SqlStorage, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncSession]:
    """What the bot's unit-of-work middleware does around each update."""
    async with sessionmaker() as session:
        async with storage.batch(session) as batch:
            yield session
        await storage.commit(batch)


@contextmanager
def conversation_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements that touch conversation state while the block runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement: str, *_args) -> None:
        if "fsm_states" in statement:
            seen.append(statement.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def stored_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(FsmRecord))


async def test_a_conversation_continues_after_a_restart(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    async with one_update(storage, sessionmaker):
        state = FSMContext(storage, ANA)
        await state.set_state(DailyLogging.answering)
        await state.set_data({"step": "energy", "answers": {"symptom_intensity": 6}, "x": "Müde"})
    await storage.close()

    restarted = FSMContext(SqlStorage(sessionmaker), ANA)
    assert await restarted.get_state() == "DailyLogging:answering"
    assert await restarted.get_data() == {
        "step": "energy",
        "answers": {"symptom_intensity": 6},
        "x": "Müde",
    }


async def test_state_set_outside_an_update_is_written_at_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    await storage.set_state(ANA, Onboarding.timezone)
    await storage.update_data(ANA, {"language": "es"})

    restarted = SqlStorage(sessionmaker)
    assert await restarted.get_state(ANA) == "Onboarding:timezone"
    assert await restarted.get_data(ANA) == {"language": "es"}


async def test_an_update_that_fails_leaves_the_conversation_where_it_was(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    async with one_update(storage, sessionmaker):
        await storage.set_state(ANA, Onboarding.consent)
        await storage.set_data(ANA, {"language": "de"})

    with pytest.raises(RuntimeError, match="handler crashed"):
        async with one_update(storage, sessionmaker):
            await storage.set_state(ANA, Onboarding.timezone)
            await storage.update_data(ANA, {"consented": True})
            raise RuntimeError("handler crashed")

    for seen_by in (storage, SqlStorage(sessionmaker)):  # in memory, and after a restart
        assert await seen_by.get_state(ANA) == "Onboarding:consent"
        assert await seen_by.get_data(ANA) == {"language": "de"}


async def test_state_and_the_update_s_other_writes_commit_together_or_not_at_all(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        await users.create(session, telegram_id=7, locale="en", pseudonym="Wren-101")
    storage = SqlStorage(sessionmaker)

    with pytest.raises(IntegrityError):
        async with one_update(storage, sessionmaker) as session:
            await storage.set_state(ANA, Onboarding.consent)
            await users.create(session, telegram_id=7, locale="en", pseudonym="Wren-102")

    assert await storage.get_state(ANA) is None
    assert await SqlStorage(sessionmaker).get_state(ANA) is None
    assert await stored_rows(sessionmaker) == 0


async def test_clearing_a_conversation_deletes_its_row(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    async with one_update(storage, sessionmaker):
        await FSMContext(storage, ANA).set_state(DailyLogging.answering)
        await FSMContext(storage, ANA).set_data({"step": "mood"})
        await FSMContext(storage, BEN).set_state(Onboarding.language)
    assert await stored_rows(sessionmaker) == 2

    async with one_update(storage, sessionmaker):
        await FSMContext(storage, ANA).clear()

    assert await stored_rows(sessionmaker) == 1  # Ben's conversation is untouched
    restarted = SqlStorage(sessionmaker)
    assert (await restarted.get_state(ANA), await restarted.get_data(ANA)) == (None, {})
    assert await restarted.get_state(BEN) == "Onboarding:language"


async def test_clearing_outside_an_update_deletes_the_row_too(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    await storage.set_state(ANA, Onboarding.consent)
    await storage.set_data(ANA, {"language": "en"})
    await FSMContext(storage, ANA).clear()
    assert await stored_rows(sessionmaker) == 0


async def test_one_update_reads_a_conversation_once_and_writes_it_once(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    storage = SqlStorage(sessionmaker)
    with conversation_statements(engine) as statements:
        async with one_update(storage, sessionmaker):
            state = FSMContext(storage, ANA)
            assert await state.get_state() is None
            await state.set_state(DailyLogging.answering)
            await state.update_data(step="intensity")
            await state.update_data(answers={})
            assert await state.get_data() == {"step": "intensity", "answers": {}}
    assert statements == ["SELECT", "INSERT"]


async def test_a_remembered_conversation_is_served_without_a_query(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    storage = SqlStorage(sessionmaker)
    async with one_update(storage, sessionmaker):
        await storage.set_state(ANA, DailyLogging.answering)
        await storage.set_data(ANA, {"step": "mood"})

    with conversation_statements(engine) as statements:
        async with one_update(storage, sessionmaker):
            assert await storage.get_state(ANA) == "DailyLogging:answering"
            assert await storage.get_data(ANA) == {"step": "mood"}
        assert await storage.get_state(ANA) == "DailyLogging:answering"  # outside an update too
    assert statements == []


async def test_a_person_with_no_conversation_is_looked_up_once_then_remembered(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    storage = SqlStorage(sessionmaker)
    with conversation_statements(engine) as statements:
        for _ in range(3):
            async with one_update(storage, sessionmaker):
                assert await storage.get_state(BEN) is None
    assert statements == ["SELECT"]
    assert await stored_rows(sessionmaker) == 0  # reading writes nothing


async def test_the_oldest_conversations_are_forgotten_beyond_the_memory_limit_and_read_again(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fsm, "REMEMBERED", 2)
    storage = SqlStorage(sessionmaker)
    keys = [StorageKey(bot_id=42, chat_id=n, user_id=n) for n in (1, 2, 3)]
    for n, key in enumerate(keys, start=1):
        async with one_update(storage, sessionmaker):
            await storage.set_data(key, {"n": n})

    with conversation_statements(engine) as statements:
        assert await storage.get_data(keys[2]) == {"n": 3}
        assert await storage.get_data(keys[1]) == {"n": 2}
        assert statements == []
        assert await storage.get_data(keys[0]) == {"n": 1}  # forgotten, read again, still right
        assert statements == ["SELECT"]


# --- an update that changes nothing but the conversation (most taps) ------------------------------


async def a_remembered_conversation(
    storage: SqlStorage, sessionmaker: async_sessionmaker[AsyncSession], key: StorageKey
) -> None:
    async with one_update(storage, sessionmaker):
        await storage.set_state(key, DailyLogging.answering)
        await storage.set_data(key, {"step": "energy"})


async def test_a_tap_that_only_moves_the_conversation_on_is_stored_as_the_orm_stores_it(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: Cipher
) -> None:
    storage = SqlStorage(sessionmaker)
    await a_remembered_conversation(storage, sessionmaker, ANA)
    before = utcnow()

    async with one_update(storage, sessionmaker) as session:
        await storage.update_data(ANA, {"step": "mood", "note": "Müde, Schmerz 8"})
        assert await storage.get_state(ANA) == "DailyLogging:answering"
    assert not has_work(session)  # nothing was left in the update's own session

    restarted = SqlStorage(sessionmaker)
    assert await restarted.get_data(ANA) == {"step": "mood", "note": "Müde, Schmerz 8"}
    async with sessionmaker() as session:
        row = await session.scalar(select(FsmRecord))
        assert before <= row.updated_at <= utcnow()  # a UTC time, read back as the ORM wrote it
        on_disk = await session.scalar(text("SELECT data FROM fsm_states"))
    assert "Müde" not in on_disk and "Schmerz" not in on_disk
    assert "Müde" in cipher.decrypt(on_disk)


async def test_a_tap_that_ends_a_remembered_conversation_deletes_its_row(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    await a_remembered_conversation(storage, sessionmaker, ANA)
    await a_remembered_conversation(storage, sessionmaker, BEN)

    async with one_update(storage, sessionmaker):
        await FSMContext(storage, ANA).clear()

    assert await stored_rows(sessionmaker) == 1
    restarted = SqlStorage(sessionmaker)
    assert await restarted.get_state(ANA) is None
    assert await restarted.get_state(BEN) == "DailyLogging:answering"


async def test_many_taps_at_once_beside_a_slow_writer_all_land(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    storage = SqlStorage(sessionmaker)
    keys = [StorageKey(bot_id=42, chat_id=n, user_id=n) for n in range(100, 130)]
    for key in keys:
        await a_remembered_conversation(storage, sessionmaker, key)

    async def tap(key: StorageKey) -> None:
        async with one_update(storage, sessionmaker):
            await storage.update_data(key, {"step": f"mood of {key.user_id}"})

    async def slow_writer() -> None:  # another update holding its transaction open a while
        async with sessionmaker() as session, session.begin():
            await users.create(session, telegram_id=7, locale="en", pseudonym="Wren-101")
            await asyncio.sleep(0.05)

    await asyncio.wait_for(asyncio.gather(slow_writer(), *(tap(key) for key in keys)), 5)
    restarted = SqlStorage(sessionmaker)
    for key in keys:
        assert (await restarted.get_data(key))["step"] == f"mood of {key.user_id}"
    async with sessionmaker() as session:
        assert await users.get_by_telegram_id(session, 7) is not None


async def test_a_tap_that_cannot_be_stored_leaves_the_conversation_where_it_was(
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a file lock held by another process is a SQLite matter")
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)  # give up after 0.2 s, not 5
    storage = SqlStorage(sessionmaker)
    await a_remembered_conversation(storage, sessionmaker, ANA)
    locked, release = threading.Event(), threading.Event()

    def other_process_holding_the_write_lock() -> None:
        other = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            other.execute("COMMIT")
        finally:
            other.close()

    holder = asyncio.create_task(asyncio.to_thread(other_process_holding_the_write_lock))
    await asyncio.to_thread(locked.wait, 5)
    try:
        with pytest.raises(OperationalError, match="locked"):  # what the error handler knows
            async with one_update(storage, sessionmaker):
                await storage.update_data(ANA, {"step": "mood"})
    finally:
        release.set()
        await holder

    for seen_by in (storage, SqlStorage(sessionmaker)):  # in memory, and after a restart
        assert await seen_by.get_data(ANA) == {"step": "energy"}
    async with one_update(storage, sessionmaker):  # the lock is gone: the next tap is stored
        await storage.update_data(ANA, {"step": "mood"})
    assert await SqlStorage(sessionmaker).get_data(ANA) == {"step": "mood"}
