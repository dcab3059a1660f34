"""aiogram FSM storage in our SQL database.

Within one update (``batch``) a conversation's record is read at most once and
written at most once, in the update's own transaction: the flow's answers and its
state change commit together, or not at all.

Committed records are also remembered in process, so the next update of the same
conversation needs no read. That is safe because one bot process consumes the
updates (Telegram hands each update to one getUpdates caller), and every write of
a conversation passes through this storage.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import upsert
from storage.models import FsmRecord, utcnow

REMEMBERED = 20_000  # conversations kept in memory; older ones are read again when needed


@dataclass
class _Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False

    def frozen(self) -> tuple[str | None, str]:
        return self.state, _dump(self.data)


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

    @asynccontextmanager
    async def batch(self, session: AsyncSession) -> AsyncIterator[Batch]:
        """Collect this update's reads and writes; flush them into ``session`` on success.

        Call ``committed(batch)`` once the session has committed.
        """
        batch = Batch(session)
        token = _batch.set(batch)
        try:
            yield batch
            await self.flush(batch)
        finally:
            _batch.reset(token)

    async def flush(self, batch: Batch) -> None:
        """Write the batch's changed records into its session (not committing)."""
        for name, record in batch.records.items():
            if record.dirty:
                await _write(batch.session, name, record)

    def committed(self, batch: Batch) -> None:
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

    async def _read(self, key: StorageKey) -> _Record:
        name = self._keys.build(key)
        batch = _batch.get()
        if batch is not None and name in batch.records:
            return batch.records[name]
        if name in self._committed:
            self._committed.move_to_end(name)
            state, data = self._committed[name]
            record = _Record(state, json.loads(data))
        else:
            session = batch.session if batch is not None else None
            record = await self._load(session, name)
            self._remember(name, record.frozen())
        if batch is not None:
            batch.records[name] = record
        return record

    async def _changed(self, key: StorageKey, record: _Record) -> None:
        record.dirty = True
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
    return _Record(state=row.state, data=json.loads(row.data) if row.data else {})


async def _write(session: AsyncSession, name: str, record: _Record) -> None:
    if record.state is None and not record.data:
        await session.execute(delete(FsmRecord).where(FsmRecord.key == name))
    else:
        values = {
            "key": name,
            "state": record.state,
            "data": _dump(record.data),
            "updated_at": utcnow(),
        }
        await session.execute(upsert(session, FsmRecord.__table__, ["key"]), values)
    record.dirty = False
