"""Migrations: a fresh file gets every table, running them again is harmless, models match them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import users
from storage.migrate import alembic_config, upgrade, upgrade_async
from storage.models import Base


def head(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def schema_of(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return dict(rows.fetchall())


def test_upgrade_on_an_empty_sqlite_file_creates_every_table(tmp_path: Path) -> None:
    path = tmp_path / "data" / "peerbot.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"

    upgrade(url)

    with sqlite3.connect(path) as connection:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    # sqlite_sequence is SQLite's own: the AUTOINCREMENT counters (ids are never reused).
    assert tables == set(Base.metadata.tables) | {"alembic_version", "sqlite_sequence"}
    assert version == [(head(url),)]


def test_a_second_upgrade_is_a_no_op_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "peerbot.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO invites (code, role, uses_left, created_at) "
            "VALUES ('keep-me', 'mentor', 1, '2026-01-01 00:00:00')"
        )
    before = schema_of(path)

    upgrade(url)

    assert schema_of(path) == before
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT code FROM invites").fetchall() == [("keep-me",)]
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head(url),)
        ]


async def test_upgrading_an_up_to_date_database_again_changes_nothing(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await users.create(session, telegram_id=7, locale="en", pseudonym="Sage-101")

    await upgrade_async(database_url)  # what the bot does at every start

    async with sessionmaker() as session:
        assert (await users.get_by_telegram_id(session, 7)).pseudonym == "Sage-101"
        versions = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [v for (v,) in versions] == [head(database_url)]


async def test_the_models_match_what_the_migrations_build(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
