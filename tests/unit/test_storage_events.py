"""Event answers as stored: places up to the capacity, then a waiting list in order; a place
left goes to the first waiting; and a person's answers are exported and erased with them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import events, personal_data, users
from storage.models import EventRsvp, GroupEvent, ProgramGroup, User, utcnow


async def _event(session: AsyncSession, capacity: int | None) -> GroupEvent:
    group = ProgramGroup(chat_id=-100, languages="en,es,de", timezone="Europe/Madrid")
    session.add(group)
    await session.flush()
    creator = await users.create(session, telegram_id=1, locale="en", pseudonym="C1")
    return await events.add(
        session,
        GroupEvent(
            group_id=group.id,
            created_by=creator.id,
            kind="walk",
            title="Walk",
            starts_at=utcnow() + dt.timedelta(days=2),
            place="Park",
            capacity=capacity,
        ),
    )


async def _people(session: AsyncSession, count: int) -> list[int]:
    made = []
    for n in range(count):
        person = await users.create(session, telegram_id=10 + n, locale="es", pseudonym=f"P{n}")
        made.append(person.id)
    return made


async def test_places_fill_then_a_waiting_list_and_a_place_left_moves_it_up(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        event = await _event(session, capacity=2)
        a, b, c, d = await _people(session, 4)
        assert [await events.join(session, event, p) for p in (a, b, c, d)] == [
            "going",
            "going",
            "waiting",
            "waiting",
        ]
        assert await events.join(session, event, a) == "going"  # a second tap changes nothing
        assert await events.count(session, event.id, "going") == 2
        had, promoted = await events.leave(session, event, b)
        assert had and promoted is not None and promoted.id == c  # the first waiting
        assert [u.id for u in await events.people(session, event.id)] == [a, c]
        had, promoted = await events.leave(session, event, d)  # waiting: nobody moves
        assert had and promoted is None
        assert await events.leave(session, event, d) == (False, None)


async def test_no_limit_never_waits(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        event = await _event(session, capacity=None)
        people = await _people(session, 5)
        assert {await events.join(session, event, p) for p in people} == {"going"}


async def test_a_persons_answers_are_exported_and_erased_and_their_event_stays(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        event = await _event(session, capacity=3)
        (ana,) = await _people(session, 1)
        await events.join(session, event, ana)
        creator = await session.get(User, event.created_by)
        person = await session.get(User, ana)
        exported = await personal_data.export(session, person)
        assert exported["event_answers"][0]["event"] == "Walk"
        assert exported["event_answers"][0]["answer"] == "going"
        planned = await personal_data.export(session, creator)
        assert planned["events_you_planned"][0]["place"] == "Park"
        await personal_data.erase(session, person)
        await personal_data.erase(session, creator)
    async with sessionmaker() as session:
        assert (await session.scalars(select(EventRsvp))).all() == []
        kept = (await session.scalars(select(GroupEvent))).one()
        assert kept.created_by is None and kept.title == "Walk"
