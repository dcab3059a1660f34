"""Shared fixtures: a migrated database on every backend under test, and the encryption key.

Tests that take `database_url` (or anything built on it) run on SQLite, and again on
PostgreSQL when PEERBOT_TEST_POSTGRES_URL points at a server (CI sets it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from storage import crypto
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import Base
from tests.harness import Harness, make_harness

POSTGRES_URL = os.environ.get("PEERBOT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(autouse=True)
def cipher() -> crypto.Cipher:
    """A fresh key per test; what the test stores is encrypted with it."""
    installed = crypto.Cipher([Fernet.generate_key()])
    crypto.use_cipher(installed)
    return installed


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """One scratch database for the whole run, migrated once, dropped at the end."""
    if not POSTGRES_URL:
        yield None
        return
    admin_url = make_url(POSTGRES_URL)
    name = f"peerbot_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(_admin(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin(url: URL, statement: str) -> None:
    engine = create_engine(url.render_as_string(hide_password=False))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test gets a copy (a copy costs a millisecond,
    migrating a quarter of a second, for each of hundreds of tests)."""
    path = tmp_path_factory.mktemp("template") / "peerbot.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_database: str | None,
    migrated_sqlite: Path,
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "peerbot.sqlite3"
        shutil.copyfile(migrated_sqlite, path)
        return f"sqlite+aiosqlite:///{path}"
    assert postgres_database is not None
    asyncio.run(empty_database(postgres_database))
    return postgres_database


async def empty_database(url: str) -> None:
    """Empty every table and restart its ids, as a fresh database would be.

    DELETE and ALTER SEQUENCE in one round trip: on tables this small, TRUNCATE (new files
    for every table and index) cost about ten times as much, for each of hundreds of tests."""
    engine = create_engine(url)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        sequences = (
            await connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
            )
        ).scalars()
        script = "; ".join(
            [f'DELETE FROM "{table}"' for table in tables]
            + [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
        )
        # The simple query protocol takes several statements at once; a prepared one does not.
        await (await connection.get_raw_connection()).driver_connection.execute(script)
    await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def harness(settings: Settings, engine: AsyncEngine) -> Harness:
    return make_harness(settings, engine)
