"""aiogram FSM storage in our SQL database.

Within one update (``batch``) a conversation's record is read at most once and
written at most once, in the update's own transaction: the flow's answers and its
state change commit together, or not at all.

Committed records are also remembered in process, so the next update of the same
conversation needs no read. That is safe because one bot process consumes the
updates (Telegram hands each update to one getUpdates caller), and every write of
a conversation passes through this storage.

Most updates (a tap in a flow) change nothing but the conversation. On SQLite such
an update's records are written and committed on a connection kept for them, below
the ORM: one statement and a commit cost about 40 µs there, against about 350 µs
through a session's transaction, which was a fifth of a tap's time.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import commit, has_work, upsert, upsert_for
from storage.models import FsmRecord, utcnow
from storage.sqlite_inline import InlineConnection

REMEMBERED = 20_000  # conversations kept in memory; older ones are read again when needed


@dataclass
class _Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False
    _frozen: tuple[str | None, str] | None = None

    def frozen(self) -> tuple[str | None, str]:
        """(state, data as JSON), dumped once per change: it is both written and remembered."""
        if self._frozen is None:
            self._frozen = (self.state, _dump(self.data))
        return self._frozen

    def changed(self) -> None:
        self.dirty = True
        self._frozen = None

    @property
    def empty(self) -> bool:
        return self.state is None and not self.data


@dataclass
class Batch:
    session: AsyncSession
    records: dict[str, _Record] = field(default_factory=dict)


_batch: ContextVar[Batch | None] = ContextVar("peerbot_fsm_batch", default=None)


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._keys = DefaultKeyBuilder(with_destiny=True)
        self._committed: OrderedDict[str, tuple[str | None, str]] = OrderedDict()
        engine = sessionmaker.kw["bind"]
        self._alone = _AloneOnSqlite(engine) if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def batch(self, session: AsyncSession) -> AsyncIterator[Batch]:
        """Collect this update's reads and writes; ``commit(batch)`` stores them."""
        batch = Batch(session)
        token = _batch.set(batch)
        try:
            yield batch
        finally:
            _batch.reset(token)

    async def commit(self, batch: Batch) -> None:
        """Commit the update: its changed records together with whatever else its session
        holds, then remember them. Call it again after further changes."""
        changed = [(name, record) for name, record in batch.records.items() if record.dirty]
        if changed and self._alone is not None and not has_work(batch.session):
            await self._alone.write(changed)  # nothing else to be atomic with
        else:
            for name, record in changed:
                await _write(batch.session, name, record)
            if has_work(batch.session):
                await commit(batch.session)
        for name, record in batch.records.items():
            self._remember(name, record.frozen())

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        record = await self._read(key)
        record.state = state.state if isinstance(state, State) else state
        await self._changed(key, record)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        record = await self._read(key)
        record.data = dict(data)
        await self._changed(key, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._read(key)).data)

    async def close(self) -> None:
        self._committed.clear()
        if self._alone is not None:
            await self._alone.close()

    async def _read(self, key: StorageKey) -> _Record:
        name = self._keys.build(key)
        batch = _batch.get()
        if batch is not None and name in batch.records:
            return batch.records[name]
        if name in self._committed:
            self._committed.move_to_end(name)
            state, data = self._committed[name]
            record = _Record(state, json.loads(data), _frozen=(state, data))
        else:
            session = batch.session if batch is not None else None
            record = await self._load(session, name)
            self._remember(name, record.frozen())
        if batch is not None:
            batch.records[name] = record
        return record

    async def _changed(self, key: StorageKey, record: _Record) -> None:
        record.changed()
        if _batch.get() is None:  # outside an update: write through at once
            name = self._keys.build(key)
            async with self._sessionmaker() as session, session.begin():
                await _write(session, name, record)
            self._remember(name, record.frozen())

    async def _load(self, session: AsyncSession | None, name: str) -> _Record:
        if session is None:
            async with self._sessionmaker() as own:
                return await _load(own, name)
        return await _load(session, name)

    def _remember(self, name: str, frozen: tuple[str | None, str]) -> None:
        self._committed[name] = frozen
        self._committed.move_to_end(name)
        while len(self._committed) > REMEMBERED:
            self._committed.popitem(last=False)


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def _load(session: AsyncSession, name: str) -> _Record:
    row = (
        await session.execute(select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == name))
    ).first()
    if row is None:
        return _Record()
    data = row.data or "{}"
    return _Record(row.state, json.loads(data), _frozen=(row.state, data))


async def _write(session: AsyncSession, name: str, record: _Record) -> None:
    if record.empty:
        await session.execute(delete(FsmRecord).where(FsmRecord.key == name))
    else:
        state, data = record.frozen()
        values = {"key": name, "state": state, "data": data, "updated_at": utcnow()}
        await session.execute(upsert(session, FsmRecord.__table__, ["key"]), values)
    record.dirty = False


class _AloneOnSqlite:
    """Conversation records written and committed on a SQLite connection kept for them.

    The statements are SQLAlchemy's own, compiled once, with the columns' own bind
    processors (encryption, UTC times), so the rows are exactly what the ORM writes.
    The connection takes the process's write gate like every other, and nothing awaits
    between its statement and its commit, so two updates never share a transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: InlineConnection | None = None
        table = FsmRecord.__table__
        dialect = engine.dialect
        self._upsert = upsert_for(dialect.name, table, ("key",)).compile(dialect=dialect)
        self._delete = delete(table).where(table.c.key == bindparam("key")).compile(dialect=dialect)
        self._bind = {  # in the order of the upsert's parameters
            name: table.c[name].type.bind_processor(dialect) or _as_is
            for name in self._upsert.positiontup or ()
        }

    async def write(self, records: list[tuple[str, _Record]]) -> None:
        connection = await self._connect()
        now = utcnow()
        statement = ""
        try:
            for name, record in records:
                if record.empty:
                    statement = self._delete.string
                    await connection.execute_inline(statement, (name,))
                else:
                    state, data = record.frozen()
                    values = {"key": name, "state": state, "data": data, "updated_at": now}
                    statement = self._upsert.string
                    row = [self._bind[column](values[column]) for column in self._bind]
                    await connection.execute_inline(statement, row)
            await connection.commit()
        except sqlite3.OperationalError as error:
            # Locked for longer than the busy timeout: raised as the ORM would raise it.
            await connection.rollback()
            raise OperationalError(statement, None, error) from error
        except BaseException:
            await connection.rollback()
            raise
        for _name, record in records:
            record.dirty = False

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            pooled = await self._engine.raw_connection()  # configured like every connection
            self._connection = pooled.driver_connection
            pooled.detach()  # ours to keep and to close
        return self._connection


def _as_is(value: Any) -> Any:
    return value
