"""SQLite for asyncio, run in the event loop's own thread, that waits without blocking it.

Why inline: aiosqlite hands every call (cursor, execute, fetch, close, commit) to a worker
thread and back. On small indexed tables a statement takes microseconds, while each of
those hand-offs costs about 100 µs here, which took half the bot's throughput.

Why it never freezes the loop: SQLite's own busy handler *sleeps* while another
connection holds the lock it needs, which inline would stop the whole bot (no replies, no
alerts, no polling) for up to the busy timeout. So connections are opened with no busy
timeout at all: a statement that finds the database locked fails at once with
SQLITE_BUSY, and is tried again after an ``asyncio.sleep`` (1 ms, doubling to 20 ms), until
``wait_limit`` seconds have passed; then it fails with a clear "database is locked" error.
A statement is retried only where SQLite says that is safe: outside a transaction, or a
COMMIT. A write transaction therefore starts with ``BEGIN IMMEDIATE`` (which takes the
write lock first, and can be retried) rather than pysqlite's deferred BEGIN, so no
statement inside it ever meets a lock.

Writers of this process take turns through an asyncio lock (``WriteGate``) taken before
the first write of a transaction, so a second writer waits without blocking the loop,
and gives up with a clear error after ``wait_limit`` too (a transaction left open across
a hung request must not stop every other writer for good).

How it plugs into SQLAlchemy: a dialect of our own (``InlineDialect``, registered as
``sqlite+inline``) that is SQLAlchemy's aiosqlite dialect (types, SQL, exceptions) with
the DBAPI adapter replaced by ours, so SQLAlchemy never reaches into a driver's private
attributes (as its aiosqlite adapter does with aiosqlite's, e.g. to switch to AUTOCOMMIT).
It subclasses SQLAlchemy's asyncio adapter classes, which are not public API: the
SQLAlchemy minor version is pinned in pyproject.toml and constraints.txt, and
tests/unit/test_storage_sqlite_inline.py exercises every method the adapter overrides.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import parse_version_string
from sqlalchemy.util.concurrency import await_

T = TypeVar("T")

# Statements that write. pysqlite (legacy transaction control) begins a transaction
# implicitly before the first four; we begin it ourselves, IMMEDIATE.
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_WRITES = (*_DML, "BEGIN", "CREATE", "DROP", "ALTER")
FIRST_PAUSE = 0.001
LONGEST_PAUSE = 0.02  # well under the 50 ms a wait may hold anything else up


class DatabaseLocked(sqlite3.OperationalError):
    """The database stayed locked for longer than the wait limit: says by whom, and how long."""


class WriteGate:
    """One writing connection at a time within this process, per database."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def acquire(self, wait_limit: float) -> None:
        try:
            async with asyncio.timeout(wait_limit):
                await self._lock.acquire()
        except TimeoutError:
            raise DatabaseLocked(
                f"database is locked: another connection of this process has been writing "
                f"for more than {wait_limit:g} s (a transaction left open?)"
            ) from None

    def release(self) -> None:
        self._lock.release()


class InlineCursor:
    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._cursor = connection.driver.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, operation: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await self._connection.run(operation, lambda: self._cursor.execute(operation, parameters))
        return self

    async def executemany(self, operation: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(rows)  # a retry must see them all again
        await self._connection.run(operation, lambda: self._cursor.executemany(operation, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """A sqlite3 connection with awaitable methods that wait for locks without blocking."""

    def __init__(
        self, driver: sqlite3.Connection, gate: WriteGate, wait_limit: Callable[[], float]
    ) -> None:
        self.driver = driver
        self._wait_limit = wait_limit
        self.closed = False
        self._gate = gate
        self._writing = False

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    @property
    def wait_limit(self) -> float:
        """Seconds a statement waits for a lock before it fails (read when it waits)."""
        return self._wait_limit()

    @property
    def isolation_level(self) -> str | None:
        return self.driver.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self.driver.isolation_level = value  # None is AUTOCOMMIT

    async def run(self, operation: str, call: Callable[[], T]) -> T:
        """Run one statement: take the write turn first if it writes, wait out locks."""
        await self._before(operation)
        try:
            if self.driver.in_transaction:
                return call()  # SQLite says: not safe to retry inside a transaction
            return await self._patiently(call)
        finally:
            self._after()

    async def execute_inline(self, operation: str, parameters: Sequence[Any]) -> None:
        """A statement whose rows nobody reads, run without a cursor of our own."""
        await self.run(operation, lambda: self.driver.execute(operation, parameters))

    async def commit(self) -> None:
        try:
            await self._patiently(self.driver.commit)  # a COMMIT may be retried
        finally:
            self._done_writing()

    async def rollback(self) -> None:
        try:
            self.driver.rollback()
        finally:
            self._done_writing()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.driver.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self.closed:
            return
        try:
            self.driver.close()
        finally:
            self._done_writing()
            self.closed = True

    def stop(self) -> None:
        self.closed = True
        self.driver.close()
        self._done_writing()

    async def _before(self, operation: str) -> None:
        if self._writing:
            return
        keyword = operation.lstrip()[:7].upper()
        if not keyword.startswith(_WRITES):
            return
        await self._gate.acquire(self.wait_limit)
        self._writing = True
        if keyword.startswith(_DML) and self._transactional and not self.driver.in_transaction:
            try:
                await self._patiently(lambda: self.driver.execute("BEGIN IMMEDIATE"))
            except BaseException:
                self._done_writing()
                raise

    @property
    def _transactional(self) -> bool:
        return self.driver.isolation_level is not None

    def _after(self) -> None:
        if self._writing and not self.driver.in_transaction:
            self._done_writing()  # a statement that committed by itself (DDL, autocommit)

    async def _patiently(self, call: Callable[[], T]) -> T:
        """``call()``, tried again after a short async sleep while the database is locked."""
        limit = self.wait_limit
        deadline = time.monotonic() + limit
        pause = FIRST_PAUSE
        while True:
            try:
                return call()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseLocked(
                        f"database is locked: another process has held SQLite's lock for "
                        f"more than {limit:g} s"
                    ) from error
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def _done_writing(self) -> None:
        if self._writing:
            self._writing = False
            self._gate.release()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY  # extended codes keep the primary in the low byte
    return "database is locked" in str(error)


def connector(path: str, wait_limit: Callable[[], float], gate: WriteGate) -> Any:
    """An ``async_creator`` for SQLAlchemy: a new inline connection to ``path``."""

    async def connect() -> InlineConnection:
        # timeout=0: no busy handler sleeping in the loop's thread; InlineConnection waits.
        driver = sqlite3.connect(path, timeout=0, check_same_thread=False)
        return InlineConnection(driver, gate, wait_limit)

    return connect


# --- SQLAlchemy's side ------------------------------------------------------------------


class _InlineAdapter(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite adapter, minus everything that reached into aiosqlite."""

    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value  # no thread to hand it to

    def rollback(self) -> None:
        if not self._connection.closed:
            AsyncAdapt_dbapi_connection.rollback(self)

    def commit(self) -> None:
        if not self._connection.closed:
            AsyncAdapt_dbapi_connection.commit(self)

    def _terminate_force_close(self) -> None:
        self._connection.stop()


class _InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self) -> None:
        # sqlite3 has every name the dialect reads from aiosqlite (which re-exports them).
        super().__init__(sqlite3, sqlite3)
        self.has_stop = True

    def connect(self, *args: Any, **kwargs: Any) -> _InlineAdapter:
        creator = kwargs.pop("async_creator_fn", None)
        if creator is None:
            raise sqlite3.ProgrammingError("sqlite+inline connects through async_creator only")
        return _InlineAdapter(self, await_(creator(*args, **kwargs)))


class InlineDialect(SQLiteDialect_aiosqlite):
    driver = "inline"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _InlineDBAPI()

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return parse_version_string(sqlite3.sqlite_version)


registry.register("sqlite.inline", __name__, "InlineDialect")
