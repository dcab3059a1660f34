"""Invites: codes that carry a role, a number of uses and an expiry; a use is taken atomically."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import invites
from storage.models import Invite, Role, utcnow


async def new_invite(
    sessionmaker: async_sessionmaker[AsyncSession], uses: int = 1, **kwargs: float
) -> Invite:
    async with sessionmaker() as session, session.begin():
        return await invites.create(session, Role.MENTOR, uses=uses, **kwargs)


async def uses_left(sessionmaker: async_sessionmaker[AsyncSession], invite: Invite) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(Invite.uses_left).where(Invite.id == invite.id))


async def test_a_new_invite_has_an_unguessable_code_and_is_usable(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await new_invite(sessionmaker), await new_invite(sessionmaker)
    assert first.code != second.code and len(first.code) >= 16
    async with sessionmaker() as session:
        found = await invites.find_usable(session, first.code)
        assert (found.id, found.role, found.uses_left) == (first.id, "mentor", 1)


async def test_an_invite_expires_after_its_days(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    invite = await new_invite(sessionmaker, expires_in_days=2)
    assert (
        dt.timedelta(days=2) - dt.timedelta(minutes=1)
        < invite.expires_at - utcnow()
        <= dt.timedelta(days=2)
    )
    async with sessionmaker() as session, session.begin():
        stored = await session.get(Invite, invite.id)
        stored.expires_at = utcnow() - dt.timedelta(seconds=1)
    async with sessionmaker() as session:
        assert await invites.find_usable(session, invite.code) is None


async def test_an_invite_without_an_expiry_never_expires(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    invite = await new_invite(sessionmaker, uses=2)
    assert invite.expires_at is None
    async with sessionmaker() as session:
        assert await invites.find_usable(session, invite.code) is not None


async def test_each_use_takes_one_until_none_is_left(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    invite = await new_invite(sessionmaker, uses=2)
    taken = []
    for _ in range(3):
        async with sessionmaker() as session, session.begin():
            taken.append(await invites.use(session, invite))
    assert taken == [True, True, False]
    assert await uses_left(sessionmaker, invite) == 0
    async with sessionmaker() as session:
        assert await invites.find_usable(session, invite.code) is None


async def test_two_people_using_the_last_use_at_once_exactly_one_gets_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    invite = await new_invite(sessionmaker, uses=1)
    both_found = asyncio.Event()
    found = 0

    async def use_it() -> bool:
        nonlocal found
        async with sessionmaker() as session:
            usable = await invites.find_usable(session, invite.code)
            assert usable is not None  # both see one use left
            found += 1
            if found == 2:
                both_found.set()
            await both_found.wait()
            took = await invites.use(session, usable)
            await asyncio.sleep(0.05)  # the transaction stays open while the reply is sent
            await session.commit()
            return took

    results = await asyncio.wait_for(asyncio.gather(use_it(), use_it()), timeout=10)

    assert sorted(results) == [False, True]
    assert await uses_left(sessionmaker, invite) == 0
