"""Outer middlewares: one update = one locked, transactional unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import users
from storage.fsm import SqlStorage

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UnitOfWork(BaseMiddleware):
    """Serialises one person's updates and gives each a session that commits at the end.

    The lock is held until the commit, so a second update from the same person reads
    the state the first one wrote. Writes are flushed only at the end (the FSM record
    included), which keeps SQLite's write lock short.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], fsm_storage: SqlStorage
    ) -> None:
        self._sessionmaker = sessionmaker
        self._fsm = fsm_storage
        self._isolation = SimpleEventIsolation()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context: EventContext | None = data.get(EVENT_CONTEXT_KEY)
        user_id = context.user_id if context else None
        if user_id is None:
            return await self._run(handler, event, data)
        key = StorageKey(bot_id=0, chat_id=user_id, user_id=user_id)
        async with self._isolation.lock(key):
            return await self._run(handler, event, data)

    async def _run(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self._sessionmaker() as session:
            data["session"] = session
            async with self._fsm.batch(session):
                result = await handler(event, data)
            await session.commit()
            return result


class KnownPerson(BaseMiddleware):
    """Puts the person (or None before their first /start) into the handler's data."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        telegram_user = data.get("event_from_user")
        session: AsyncSession = data["session"]
        data["user"] = (
            await users.get_by_telegram_id(session, telegram_user.id)
            if telegram_user is not None and not telegram_user.is_bot
            else None
        )
        return await handler(event, data)
