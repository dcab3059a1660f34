"""Queries on people: who they are, their role, language, time zone and consent."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from time import monotonic

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Consent,
    Role,
    User,
    utcnow,
)


async def get_by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    return (
        await session.execute(select(User).where(User.telegram_id == telegram_id))
    ).scalar_one_or_none()


async def create(
    session: AsyncSession,
    *,
    telegram_id: int,
    locale: str,
    pseudonym: str,
    role: Role = Role.MENTEE,
    invite_id: int | None = None,
) -> User:
    user = User(
        telegram_id=telegram_id,
        locale=locale,
        pseudonym=pseudonym,
        role=role,
        invite_id=invite_id,
    )
    session.add(user)
    await session.flush()
    return user


def record_consent(session: AsyncSession, user: User, version: int) -> None:
    now = utcnow()
    user.consent_version = version
    user.consent_at = now
    session.add(Consent(user_id=user.id, version=version, locale=user.locale, given_at=now))


def finish_onboarding(user: User, timezone: str, checkin_time: dt.time) -> None:
    user.timezone = timezone
    user.checkin_time = checkin_time
    if user.onboarded_at is None:
        user.onboarded_at = utcnow()


async def refresh_role(session: AsyncSession, user: User) -> str:
    """The person's role as stored now. The running bot remembers people for a while
    (KnownUsers); a role given or taken on the command line must count at once wherever
    alerts are concerned, so those places read it again. The remembered person is updated."""
    await session.refresh(user, attribute_names=["role"])
    return user.role


async def list_with_roles(session: AsyncSession, roles: list[Role]) -> list[User]:
    statement = select(User).where(User.role.in_(roles)).order_by(User.role, User.telegram_id)
    return list((await session.execute(statement)).scalars())


async def export(session: AsyncSession, user: User) -> dict[str, object]:
    """Everything we hold about a person, readable, for them to keep (storage.personal_data)."""
    from storage import personal_data  # it reads every table; this module is one of many

    return await personal_data.export(session, user)


async def erase(session: AsyncSession, user: User) -> None:
    """Delete the person, table by table, as ``storage.personal_data`` says."""
    from storage import personal_data

    await personal_data.erase(session, user)


class KnownUsers:
    """People seen recently, kept between updates so that most updates need no read.

    An entry is re-read after ``ttl`` seconds, which bounds how long a change made
    elsewhere (a role given on the command line) takes to be seen. Entries are
    re-attached to each update's session, so handlers change them as usual.
    """

    def __init__(self, ttl: float = 30.0, size: int = 20_000) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[int, tuple[User, float]] = OrderedDict()

    async def get(self, session: AsyncSession, telegram_id: int) -> User | None:
        entry = self._entries.get(telegram_id)
        if entry is not None and monotonic() - entry[1] < self._ttl:
            self._entries.move_to_end(telegram_id)  # the active stay; the quiet are dropped first
            session.add(entry[0])
            return entry[0]
        user = await get_by_telegram_id(session, telegram_id)
        if user is not None:
            self._entries[telegram_id] = (user, monotonic())
            self._trim()
        return user

    def settle(self, user: User | None) -> None:
        """After a commit: keep the person, or drop them if they were deleted."""
        if user is not None and inspect(user).was_deleted:
            self.forget(user.telegram_id)

    def forget(self, telegram_id: int) -> None:
        """After a failed update: the in-memory person may hold changes that were rolled back."""
        self._entries.pop(telegram_id, None)

    def _trim(self) -> None:
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
