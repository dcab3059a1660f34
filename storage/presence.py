"""Which outbox worker holds a claim, and whether that worker's process is still alive.

A delivery worker claims outbox rows under a number of its own (``Presence.id``, recorded
in each claim: ``storage.outbox.claim_due``). While the process lives it holds a lock
named by that number, which the operating system or the database server lets go the
moment the process dies, ``kill -9`` included:

* SQLite (one host): an exclusive ``flock`` on ``<database>-workers/<id>.lock``;
* PostgreSQL (replicas on many hosts): a session-level advisory lock
  ``(ADVISORY_CLASS, id)`` on a connection kept open for it.

Anyone can then ask ``is_gone(id)``: could that lock be taken? Yes means its process is
dead, and its claims can be released at once instead of after their lease; no means it
is alive, and its claims are left alone. A claim of a live process is never released.

One window stays: on PostgreSQL, if the lock's connection breaks while the process lives
(a server restart), another process may find the lock free and release that worker's
claims; a send in flight may then be sent twice (a duplicate, never a loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: claims wait for their lease instead
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ADVISORY_CLASS = 0x7065_6572  # "peer": peerbot's outbox workers among other advisory locks


class Presence(Protocol):
    id: int

    async def is_gone(self, other: int) -> bool: ...

    async def close(self) -> None: ...


def _new_id() -> int:
    # Positive and within int4: it names a PostgreSQL advisory lock, and it is stored in
    # the outbox's BigInteger column.
    return secrets.randbelow(2**31 - 2) + 1


async def announce_presence(engine: AsyncEngine) -> Presence:
    """Take this process's worker identity and hold its lock until ``close()``."""
    if engine.dialect.name == "postgresql":
        return await _AdvisoryLockPresence.take(engine)
    database = engine.url.database
    if fcntl is None or not database:
        return _NoPresence()
    return await asyncio.to_thread(_FileLockPresence.take, Path(database).resolve())


class _NoPresence:
    """No way to tell who is alive: claims are never released early, only by their lease."""

    def __init__(self) -> None:
        self.id = _new_id()

    async def is_gone(self, other: int) -> bool:
        return False

    async def close(self) -> None:
        return None


class _FileLockPresence:
    """One lock file per live worker beside the SQLite file; the kernel drops a dead
    process's lock, so a file that can be locked belongs to a worker that is gone."""

    def __init__(self, folder: Path, worker_id: int, descriptor: int) -> None:
        self.folder = folder
        self.id = worker_id
        self._descriptor = descriptor

    @classmethod
    def take(cls, database: Path) -> _FileLockPresence:
        folder = database.with_name(database.name + "-workers")
        folder.mkdir(exist_ok=True)
        while True:
            worker_id = _new_id()
            descriptor = _locked(folder / f"{worker_id}.lock")
            if descriptor is not None:
                _sweep(folder)
                return cls(folder, worker_id, descriptor)

    async def is_gone(self, other: int) -> bool:
        return await asyncio.to_thread(self._is_gone, other)

    def _is_gone(self, other: int) -> bool:
        if other == self.id:
            return False
        path = self.folder / f"{other}.lock"
        if not path.exists():
            return True  # closed cleanly, or swept after it died
        descriptor = _locked(path)
        if descriptor is None:
            return False
        _forget(path, descriptor)
        return True

    async def close(self) -> None:
        _forget(self.folder / f"{self.id}.lock", self._descriptor)


def _locked(path: Path) -> int | None:
    """Open ``path`` and take its exclusive lock without waiting; None if it is held, or
    if the file was swept away between opening and locking (the lock would name nothing)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(descriptor).st_ino != os.stat(path).st_ino:
            raise FileNotFoundError(path)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _forget(path: Path, descriptor: int) -> None:
    """Remove a lock file whose lock we hold (ours, or a dead worker's), then let go."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(descriptor)


def _sweep(folder: Path) -> None:
    """Lock files of workers that died without claims would otherwise pile up."""
    for path in folder.glob("*.lock"):
        descriptor = _locked(path)
        if descriptor is not None:
            _forget(path, descriptor)


class _AdvisoryLockPresence:
    """A session-level advisory lock on a connection held for the worker's life; the
    server drops it when that connection ends, as it does when the process dies."""

    def __init__(self, engine: AsyncEngine, worker_id: int, connection: AsyncConnection) -> None:
        self.engine = engine
        self.id = worker_id
        self._connection = connection

    @classmethod
    async def take(cls, engine: AsyncEngine) -> _AdvisoryLockPresence:
        connection = await engine.connect()
        try:
            while True:
                worker_id = _new_id()
                if await _try_lock(connection, worker_id):
                    await connection.commit()  # the lock outlives the transaction
                    return cls(engine, worker_id, connection)
        except BaseException:
            await connection.close()
            raise

    async def is_gone(self, other: int) -> bool:
        if other == self.id:
            return False
        async with self.engine.connect() as connection:
            if not await _try_lock(connection, other):
                return False
            await connection.execute(
                text("SELECT pg_advisory_unlock(:class, :id)"),
                {"class": ADVISORY_CLASS, "id": other},
            )
            await connection.commit()
            return True

    async def close(self) -> None:
        # The connection goes back to the pool, its session alive: unlock explicitly.
        with contextlib.suppress(Exception):  # a broken connection has lost the lock anyway
            await self._connection.execute(
                text("SELECT pg_advisory_unlock(:class, :id)"),
                {"class": ADVISORY_CLASS, "id": self.id},
            )
            await self._connection.commit()
        await self._connection.close()


async def _try_lock(connection: AsyncConnection, worker_id: int) -> bool:
    statement = text("SELECT pg_try_advisory_lock(:class, :id)")
    return bool(await connection.scalar(statement, {"class": ADVISORY_CLASS, "id": worker_id}))
