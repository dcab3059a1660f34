"""Engines and sessions: SQLite (WAL, busy timeout) by default, PostgreSQL through asyncpg."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from storage.sqlite_inline import WriteGate, connector

BUSY_TIMEOUT_MS = 5000


def create_engine(url: str, *, lock_wait: float | None = None) -> AsyncEngine:
    """``lock_wait``: how long a SQLite statement waits for a lock before it fails
    (``BUSY_TIMEOUT_MS`` unless given)."""
    parsed = make_url(url)
    # An update holds its connection while the bot talks to Telegram (tens to hundreds of
    # ms), so the pool must hold as many connections as updates are in flight.
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40)
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("peerbot keeps its state in a SQLite file: give DATABASE_URL a path")
    path = Path(parsed.database).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        # Whatever driver the URL names, SQLite runs through our inline one (see its module).
        parsed.set(drivername="sqlite+inline"),
        async_creator=connector(str(path), _wait_limit(lock_wait), WriteGate()),
        # Sessions end with their own commit or rollback; a second rollback on the way back
        # to the pool would only cost time.
        pool_reset_on_return=None,
        pool_size=32,
        max_overflow=96,
    )
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _wait_limit(lock_wait: float | None) -> Callable[[], float]:
    if lock_wait is not None:
        return lambda: lock_wait
    return lambda: BUSY_TIMEOUT_MS / 1000  # read when a statement waits: a test may shorten it


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is safe with WAL and
    # spares an fsync per commit. No busy timeout: SQLite would sleep in the event loop's
    # thread; the inline connection waits for locks itself (up to BUSY_TIMEOUT_MS).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@event.listens_for(Session, "after_begin")
def _touched(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info["touched"] = True  # SQL ran: there is something to commit or release


def has_work(session: AsyncSession) -> bool:
    """Whether committing would do anything: SQL ran, or objects wait to be flushed.

    (A session that only re-attached a remembered person has begun a transaction on
    paper; committing it would cost time and change nothing.)"""
    sync = session.sync_session
    return bool(sync.info.get("touched") or sync.new or sync.dirty or sync.deleted)


async def commit(session: AsyncSession) -> None:
    await session.commit()
    session.sync_session.info["touched"] = False


def claimed_from(session: AsyncSession, column: Any, due: Select[Any]) -> ColumnElement[bool]:
    """``column IN (due)`` for a claiming UPDATE (the outbox, schedules).

    On PostgreSQL the due rows are locked with ``FOR UPDATE SKIP LOCKED`` in a MATERIALIZED
    CTE, which runs the locking SELECT once. As ``id IN (subquery)`` the planner may re-run
    it per outer row (a nested-loop semi join on a table without statistics), each run
    skipping the rows the UPDATE already took: every due row was claimed, whatever the
    limit. On SQLite the UPDATE holds the write lock; the caller re-checks its conditions
    in the UPDATE's own WHERE, which is what makes the claim atomic there.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        return column.in_(select(locked.c[column.key]))
    return column.in_(due.scalar_subquery())


def insert(session: AsyncSession) -> Any:
    """The session's dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite)."""
    return _insert_in(session.get_bind().dialect.name)


def _insert_in(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert(session: AsyncSession, table: Table, keys: Iterable[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE, in the session's dialect; execute it with the row.

    Built once per table: constructing and cache-keying it anew costs more than running it.
    """
    return upsert_for(session.get_bind().dialect.name, table, tuple(keys))


@cache
def upsert_for(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    """``upsert`` for a dialect by name (for SQL compiled once, outside a session)."""
    statement = _insert_in(dialect)(table)
    changes = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=changes)
