"""Engines: SQLite is a file with WAL and foreign keys on; an in-memory database is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import users
from storage.db import create_engine, upsert
from storage.models import FsmRecord, utcnow


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://"])
def test_an_in_memory_sqlite_database_is_refused_with_a_hint(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        create_engine(url)


async def test_a_sqlite_file_in_a_folder_not_yet_there_is_created_with_wal_and_foreign_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "folder" / "peerbot.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
            busy_timeout = await connection.scalar(text("PRAGMA busy_timeout"))
            raw = await connection.get_raw_connection()
            wait_limit = raw.driver_connection.wait_limit
    finally:
        await engine.dispose()
    assert path.exists()
    assert (journal, foreign_keys) == ("wal", 1)
    # Brief locks by another process are waited out, by the connection, not by SQLite's
    # busy handler (which would sleep in the event loop's thread).
    assert busy_timeout == 0
    assert wait_limit >= 1


async def test_upsert_inserts_then_updates_the_same_row(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    table = FsmRecord.__table__
    for state in ("Onboarding:language", "Onboarding:consent"):
        async with sessionmaker() as session, session.begin():
            statement = upsert(session, table, ["key"])
            await session.execute(
                statement, {"key": "k", "state": state, "data": None, "updated_at": utcnow()}
            )
    async with sessionmaker() as session:
        rows = (await session.execute(select(FsmRecord.key, FsmRecord.state))).all()
    assert rows == [("k", "Onboarding:consent")]


async def test_what_an_update_wrote_can_still_be_read_after_its_commit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        user = await users.create(session, telegram_id=7, locale="en", pseudonym="Lark-101")
        await session.commit()
        # The reply is rendered after the commit; an expired object would need a lazy load,
        # which async SQLAlchemy refuses.
        assert (user.pseudonym, user.role) == ("Lark-101", "mentee")
