"""The outer middleware that makes one update one locked, transactional unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.fsm import SqlStorage
from storage.users import KnownUsers

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UnitOfWork(BaseMiddleware):
    """Serialises one person's updates; gives each a session, the person, and one commit.

    The person's lock is held until the commit, so their next update reads what this
    one wrote. Writes are flushed only at the end (the conversation state included),
    which keeps SQLite's write lock short; the reply was sent by then.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], fsm: SqlStorage) -> None:
        self._sessionmaker = sessionmaker
        self._fsm = fsm
        self._people = KnownUsers()
        self._isolation = SimpleEventIsolation()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = data.get("event_from_user")
        telegram_id = sender.id if sender is not None and not sender.is_bot else None
        if telegram_id is None:
            return await self._run(handler, event, data, None)
        async with self._isolation.lock(telegram_id):
            return await self._run(handler, event, data, telegram_id)

    async def _run(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], telegram_id: int | None
    ) -> Any:
        async with self._sessionmaker() as session:
            data["session"] = session
            user = await self._people.get(session, telegram_id) if telegram_id else None
            data["user"] = user
            try:
                async with self._fsm.batch(session) as batch:
                    result = await handler(event, data)
                await session.commit()
            except BaseException:
                if telegram_id:
                    self._people.forget(telegram_id)
                raise
            self._fsm.committed(batch)
            self._people.settle(user)
            return result
