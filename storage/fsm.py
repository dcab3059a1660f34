"""aiogram FSM storage in our SQL database.

Within one update (``batch``) a conversation's record is read at most once and
written at most once, in the update's own transaction: the flow's answers and its
state change commit together, or not at all.
"""

from __future__ import annotations

import json
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


@dataclass
class _Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    dirty: bool = False


@dataclass
class _Batch:
    session: AsyncSession
    records: dict[str, _Record] = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("peerbot_fsm_batch", default=None)


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._keys = DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def batch(self, session: AsyncSession) -> AsyncIterator[None]:
        """Collect this update's reads and writes; flush them into ``session`` on success."""
        batch = _Batch(session)
        token = _batch.set(batch)
        try:
            yield
            for key, record in batch.records.items():
                if record.dirty:
                    await _write(session, key, record)
        finally:
            _batch.reset(token)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        state_name = state.state if isinstance(state, State) else state
        await self._change(key, lambda record: setattr(record, "state", state_name))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._change(key, lambda record: setattr(record, "data", dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._read(key)).data)

    async def close(self) -> None:
        pass

    async def _read(self, key: StorageKey) -> _Record:
        name = self._keys.build(key)
        batch = _batch.get()
        if batch is None:
            async with self._sessionmaker() as session:
                return await _load(session, name)
        if name not in batch.records:
            batch.records[name] = await _load(batch.session, name)
        return batch.records[name]

    async def _change(self, key: StorageKey, change: Any) -> None:
        record = await self._read(key)
        change(record)
        record.dirty = True
        if _batch.get() is None:
            async with self._sessionmaker() as session, session.begin():
                await _write(session, self._keys.build(key), record)


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
            "data": json.dumps(record.data, separators=(",", ":")),
            "updated_at": utcnow(),
        }
        await session.execute(upsert(session, FsmRecord.__table__, values, ["key"]))
    record.dirty = False
