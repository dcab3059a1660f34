"""An asyncio SQLite connection that runs each statement in the event loop's own thread.

aiosqlite hands every call (cursor, execute, fetch, close, commit) to a worker thread
and back. On small indexed tables a statement takes microseconds, while each of those
hand-offs costs about 100 µs here and takes half the bot's throughput. So SQLAlchemy's
aiosqlite dialect is given this connection instead (through ``async_creator``, its
documented hook), with the same interface and no thread.

Running inline is safe because no await that really waits happens inside a write
transaction of ours, with one exception that this module guards: a write transaction
left open across a real await (a handler that flushes, then sends a message). One
connection of the process writing at a time, decided by an asyncio lock *before* the
first write, makes a second writer wait its turn without blocking the loop. Only
another process holding the write lock (the CLI, a backup) makes a statement wait, for
at most the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

# pysqlite (legacy transaction control) begins a transaction implicitly before these.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN", "CREATE", "DROP", "ALTER")


class WriteGate:
    """One writing connection at a time within this process, per database."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        await self._lock.acquire()

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
        await self._connection.before(operation)
        try:
            self._cursor.execute(operation, parameters)
        finally:
            self._connection.after()
        return self

    async def executemany(self, operation: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        await self._connection.before(operation)
        try:
            self._cursor.executemany(operation, rows)
        finally:
            self._connection.after()
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
    """The parts of aiosqlite.Connection that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, driver: sqlite3.Connection, gate: WriteGate) -> None:
        self.driver = driver
        self._gate = gate
        self._writing = False
        # SQLAlchemy's dialect checks these two names to see the connection is open.
        self._conn = self._connection = driver

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    @property
    def isolation_level(self) -> str | None:
        return self.driver.isolation_level

    async def before(self, operation: str) -> None:
        if not self._writing and operation.lstrip()[:7].upper().startswith(_WRITES):
            await self._gate.acquire()
            self._writing = True

    def after(self) -> None:
        if self._writing and not self.driver.in_transaction:
            self._done_writing()  # a statement that committed by itself (DDL, autocommit)

    async def execute_inline(self, operation: str, parameters: Sequence[Any]) -> None:
        """A statement whose rows nobody reads, run without a cursor of our own."""
        await self.before(operation)
        try:
            self.driver.execute(operation, parameters)
        finally:
            self.after()

    async def commit(self) -> None:
        try:
            self.driver.commit()
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
        if self._connection is None:
            return
        try:
            self.driver.close()
        finally:
            self._done_writing()
            self._connection = None

    def stop(self) -> None:
        self.driver.close()
        self._done_writing()

    def _done_writing(self) -> None:
        if self._writing:
            self._writing = False
            self._gate.release()


def connector(path: str, timeout: float, gate: WriteGate) -> Any:
    """An ``async_creator`` for SQLAlchemy: a new inline connection to ``path``."""

    async def connect() -> InlineConnection:
        driver = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        return InlineConnection(driver, gate)

    return connect
