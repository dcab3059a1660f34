"""Filters that read our own records: a person's role and whether they finished onboarding."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from storage import users
from storage.models import Role, User


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
