"""One update = one locked unit of work, committed before the bot says anything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.unreadable import has_control_characters
from storage.fsm import Batch, SqlStorage
from storage.users import KnownUsers

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# The commit of the update being handled in this task, for CommitBeforeSpeaking.
_commit_pending: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "peerbot_commit_pending", default=None
)


async def commit_now() -> None:
    """Commit what the update being handled has changed so far (a crisis answer's outbox
    rows before it is sent, and its bookkeeping right after)."""
    commit = _commit_pending.get()
    if commit is not None:
        await commit()


class UnitOfWork(BaseMiddleware):
    """Serialises one person's updates; gives each a session, the person, and commits.

    What an update changed is committed before the bot's first API call for it (see
    CommitBeforeSpeaking): a person who sees the next question can rely on the
    answer before it being stored, whatever happens to the process afterwards. What
    is changed after that is committed at the end. Writes are flushed only at those
    moments, which keeps SQLite's write lock short. The person's lock is held until
    the end, so their next update reads what this one wrote.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], fsm: SqlStorage) -> None:
        self._sessionmaker = sessionmaker
        self._fsm = fsm
        self._people = KnownUsers()
        self._turns: dict[int, _Turn] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = data.get("event_from_user")
        telegram_id = sender.id if sender is not None and not sender.is_bot else None
        if telegram_id is None:
            return await self._run(handler, event, data, None)
        turn = self._turns.get(telegram_id)
        if turn is None:
            turn = self._turns[telegram_id] = _Turn()
        turn.queued += 1
        try:
            async with turn.lock:
                return await self._run(handler, event, data, telegram_id)
        finally:
            turn.queued -= 1
            if not turn.queued:  # nobody waits: forget the lock (people come and go)
                del self._turns[telegram_id]

    async def _run(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], telegram_id: int | None
    ) -> Any:
        async with self._sessionmaker() as session:
            data["session"] = session
            user = await self._people.get(session, telegram_id) if telegram_id else None
            data["user"] = user
            try:
                async with self._fsm.batch(session) as batch:
                    token = _commit_pending.set(lambda: self._commit(batch, user))
                    try:
                        result = await handler(event, data)
                    finally:
                        _commit_pending.reset(token)
                await self._commit(batch, user)
            except BaseException:
                if telegram_id:
                    self._people.forget(telegram_id)
                raise
            return result

    async def _commit(self, batch: Batch, user: Any) -> None:
        await self._fsm.commit(batch)
        self._people.settle(user)


class _Turn:
    """One person's updates, one at a time: the lock and how many updates hold or want it."""

    __slots__ = ("lock", "queued")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.queued = 0


class ForeignButtons(BaseMiddleware):
    """A button in someone's private chat can be pressed by that someone only.

    Telegram never delivers anything else, so anything else is forged: refuse it before
    any handler could act on the wrong person's chat.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            chat = event.message.chat
            if chat.type == "private" and chat.id != event.from_user.id:
                log.warning(
                    "refused a button of chat %s pressed by Telegram user %s",
                    chat.id,
                    event.from_user.id,
                )
                await event.answer(_("This button has expired."))
                return None
        return await handler(event, data)


class RefuseUnreadable(BaseMiddleware):
    """Text or button data with control characters (a NUL byte) goes no further.

    It comes after crisis screening, which has read it already: words of crisis are never
    lost to this. No handler sees it, so nothing fails half-way and the conversation stays
    where it was; in a private chat the person is told what to do. The text is not logged.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and has_control_characters(event.text or event.caption):
            log.info("refused a message with control characters in chat %s", event.chat.id)
            if event.chat.type == "private":
                await event.answer(
                    _(
                        "I can't read that message: it contains invisible control characters "
                        "(such as a NUL byte), which sometimes come with copied text. Please "
                        "type it again, or paste it without them. Nothing you gave me before "
                        "is lost."
                    )
                )
            return None
        if isinstance(event, CallbackQuery) and has_control_characters(event.data):
            log.warning("refused a button with control characters from %s", event.from_user.id)
            await event.answer(_("This button has expired."))
            return None
        return await handler(event, data)


class CommitBeforeSpeaking(BaseRequestMiddleware):
    """Before the bot sends anything for an update, that update's changes are committed."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Any,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        commit = _commit_pending.get()
        if commit is not None and not isinstance(method, GetUpdates):
            await commit()
        return await make_request(bot, method)
