"""Filters: where a message was written and what it holds, checked on the event loop; and
those that read our own records (a person's role, whether they finished onboarding)."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter
from sqlalchemy.ext.asyncio import AsyncSession

from storage import users
from storage.models import Role, User


class OnLoop(Filter):
    """An ``F`` expression checked on the event loop.

    aiogram runs a bare ``F`` filter, a plain function, in a worker thread: a thread hop
    for each one, some 22 for each update, a large part of the bot's work when it is busy
    (see docs/architecture.md). Wrapped in a ``Filter`` it is a plain call.
    """

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


PRIVATE = OnLoop(F.chat.type == "private")
IN_GROUP = OnLoop(F.chat.type.in_({"group", "supergroup"}))
TEXT = OnLoop(F.text)
NOT_TEXT = OnLoop(~F.text)
COMMAND = OnLoop(F.text.startswith("/"))
NOT_COMMAND = OnLoop(~F.text.startswith("/"))
TYPED = OnLoop(F.text & ~F.text.startswith("/"))  # words typed in answer, not a command


class HasRole(Filter):
    """The person has one of ``roles``. ``fresh``: read the role from the database, not
    from what the bot remembers of them (for everything that touches alerts: a supervisor
    removed on the command line loses them at once)."""

    def __init__(self, *roles: Role, fresh: bool = False) -> None:
        self.roles = frozenset(roles)
        self.fresh = fresh

    async def __call__(
        self, event: TelegramObject, user: User | None = None, session: AsyncSession | None = None
    ) -> bool:
        if user is None or not user.is_onboarded:
            return False
        if self.fresh and session is not None:
            await users.refresh_role(session, user)
        return user.role in self.roles


class Onboarded(Filter):
    async def __call__(self, event: TelegramObject, user: User | None = None) -> bool:
        return user is not None and user.is_onboarded


class NotAnsweredAlready(Filter):
    """False when crisis screening has already answered this message: a fallback's hint
    ("I'm not sure what to do with that") must not follow a crisis answer."""

    async def __call__(self, event: TelegramObject, crisis_answered: bool = False) -> bool:
        return not crisis_answered
