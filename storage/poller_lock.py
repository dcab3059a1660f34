"""One poller per database: a second ``peerbot run`` on the same database is refused.

Each bot process remembers people and conversation state between updates
(``storage.users.KnownUsers``, ``storage.fsm.SqlStorage``), which is right only while one
process handles every update. Two pollers on one bot token each get some of a person's
updates (Telegram ends one's long poll when the other's starts), so a daily log whose taps
alternated between them broke ("This button has expired"). So the poller holds a lock
for as long as it runs, which the system releases when the process ends, however it ends
(``kill -9`` included):

* PostgreSQL: a session-level advisory lock, on a connection kept open for it (in
  autocommit, so it never sits idle in a transaction);
* SQLite: an exclusive ``flock`` on a file beside the database, holding the poller's
  process id and host for the message.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# pg_try_advisory_lock's key: "peerbot poller", as a 64-bit number.
ADVISORY_KEY = int.from_bytes(b"peerpoll", "big") & 0x7FFF_FFFF_FFFF_FFFF


class AnotherPoller(RuntimeError):
    """Another process already polls Telegram with this database."""


class PollerLock:
    """Held for as long as this process polls; ``release()`` when it stops."""

    def __init__(self, connection: AsyncConnection | None = None, file: Any = None) -> None:
        self._connection = connection
        self._file = file

    async def still_ours(self, engine: AsyncEngine) -> bool:
        """Whether this process may go on polling. A PostgreSQL lock dies with its
        connection (a restarted server, a dropped network): then it is taken again on a new
        one, and False means another poller took it meanwhile. A database that cannot be
        reached now says nothing either way (True): nobody else can take the lock there."""
        if self._file is not None:
            return True  # a flock lives as long as the process
        if self._connection is not None:
            try:
                await self._connection.scalar(text("SELECT 1"))
                return True
            except Exception:  # the connection, and with it the lock, is gone
                await _drop(self._connection)
                self._connection = None
        try:
            self._connection = (await _take_advisory(engine))._connection
        except AnotherPoller:
            return False
        except Exception:
            return True  # the database is down: try again at the next check
        return True

    async def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await _drop(connection)
        if self._file is not None:
            file, self._file = self._file, None
            file.close()  # closing the descriptor releases the flock


async def _drop(connection: AsyncConnection) -> None:
    """Ends the database session, which releases the lock (a pooled connection would keep
    it); a connection that is already dead has nothing left to end."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()


async def take(engine: AsyncEngine) -> PollerLock:
    """The poller's lock on ``engine``'s database, or ``AnotherPoller`` if it is taken."""
    if engine.dialect.name == "postgresql":
        return await _take_advisory(engine)
    return _take_file(Path(engine.url.database or "").resolve().with_suffix(".poller"))


async def _take_advisory(engine: AsyncEngine) -> PollerLock:
    connection = await engine.connect()
    try:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
        )
        holder = None
        if not taken:
            holder = await connection.scalar(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key LIMIT 1"
                ),
                {"key": ADVISORY_KEY},
            )
    except BaseException:
        await connection.close()
        raise
    if not taken:
        await connection.close()  # it holds nothing
        raise AnotherPoller(f"(PostgreSQL backend pid {holder})" if holder else "")
    return PollerLock(connection=connection)


def _take_file(path: Path) -> PollerLock:
    import fcntl  # POSIX only, like the rest of the bot's deployment

    file = path.open("a+")
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip()
        file.close()
        raise AnotherPoller(f"({holder})" if holder else "") from None
    file.seek(0)
    file.truncate()
    file.write(f"process {os.getpid()} on {socket.gethostname()}")
    file.flush()
    return PollerLock(file=file)
