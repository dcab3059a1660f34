"""Filters that read our own records: a person's role and whether they finished onboarding."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from storage.models import Role, User


class HasRole(Filter):
    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, user: User | None = None) -> bool:
        return user is not None and user.is_onboarded and user.role in self.roles


class Onboarded(Filter):
    async def __call__(self, event: TelegramObject, user: User | None = None) -> bool:
        return user is not None and user.is_onboarded


class NotAnsweredAlready(Filter):
    """False when crisis screening has already answered this message: a fallback's hint
    ("I'm not sure what to do with that") must not follow a crisis answer."""

    async def __call__(self, event: TelegramObject, crisis_answered: bool = False) -> bool:
        return not crisis_answered
