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


def test_0006_makes_ids_never_reused_and_keeps_data_indexes_and_references(
    tmp_path: Path,
) -> None:
    """A database from before 0006: its alert 7 and relay 4 were deleted but their sent
    outbox rows remain. After the upgrade, new ids start above them; nothing else changed."""
    path = tmp_path / "peerbot.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0005_honest")
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            INSERT INTO users (id, telegram_id, role, locale, pseudonym, created_at) VALUES
              (1, 11, 'mentee', 'en', 'Wren-1', '2026-01-01'),
              (2, 12, 'mentor', 'en', 'Oak-2', '2026-01-01');
            INSERT INTO alerts (id, user_id, category, severity, status, opened_at,
                                last_hit_at, escalation_level, raised_by)
              VALUES (1, 1, 'suicide', 3, 'open', '2026-01-01', '2026-01-01', 0, 'words');
            INSERT INTO alert_hits (alert_id, sentence, language, rule, category, severity,
                                    at, detector)
              VALUES (1, 'x', 'en', 'r', 'suicide', 3, '2026-01-01', 'lexicon');
            INSERT INTO matches (id, mentee_id, mentor_id, status, score, started_at) VALUES
              (1, 1, 2, 'ended', 0, '2026-01-01'), (2, 1, 2, 'ended', 0, '2026-01-01');
            INSERT INTO outbox (key, chat_id, payload, status, priority, attempts, due_at,
                                created_at) VALUES
              ('alert:7:l0:channel', -1, 'x', 'sent', 0, 1, '2026-01-01', '2026-01-01'),
              ('relay:4:9:3', 12, 'x', 'sent', 1, 1, '2026-01-01', '2026-01-01');
            """
        )
    indexes_before = {n: s for n, s in schema_of(path).items() if n.startswith(("ix_", "uq_"))}

    upgrade(url)

    with sqlite3.connect(path) as connection:
        counters = dict(connection.execute("SELECT name, seq FROM sqlite_sequence"))
        alerts = connection.execute("SELECT id, user_id, pseudonym FROM alerts").fetchall()
        hits = connection.execute("SELECT count(*) FROM alert_hits").fetchone()
        matches = connection.execute("SELECT count(*) FROM matches").fetchone()
        autoincrement = [
            name
            for name, sql in connection.execute("SELECT name, sql FROM sqlite_master")
            if sql and "AUTOINCREMENT" in sql
        ]
    assert (counters["alerts"], counters["relays"], counters["users"]) == (7, 4, 9)
    assert counters["matches"] == 2
    assert alerts == [(1, 1, "Wren-1")] and hits == (1,) and matches == (2,)
    assert {n: s for n, s in schema_of(path).items() if n in indexes_before} == indexes_before
    ids = {
        t.name for t in Base.metadata.tables.values() if [c.name for c in t.primary_key] == ["id"]
    }
    assert set(autoincrement) == ids
