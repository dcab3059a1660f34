"""Program groups as stored: a group follows its chat to a supergroup, keeps its people when
the bot is removed, and a person's erasure takes their place in every group."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import groups, personal_data, users
from storage.models import GroupKind, ProgramGroup, Role


async def _person(session: AsyncSession, telegram_id: int, role: Role = Role.MENTEE):
    return await users.create(
        session, telegram_id=telegram_id, locale="en", pseudonym=f"P{telegram_id}", role=role
    )


async def _group(session: AsyncSession, chat_id: int, kind: str = GroupKind.PEER) -> ProgramGroup:
    group = ProgramGroup(chat_id=chat_id, kind=kind, languages="en,es,de", timezone="Europe/Madrid")
    session.add(group)
    await session.flush()
    return group


async def test_a_migrated_group_keeps_its_people_under_the_new_chat_id(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        group = await _group(session, -100)
        ana = await _person(session, 1)
        ben = await _person(session, 2, Role.MENTOR)
        await groups.add_member(session, group.id, ana.id)
        await groups.add_member(session, group.id, ben.id, groups.FACILITATOR)
        assert await groups.move_chat(session, -100, -1001234)
    async with sessionmaker() as session:
        moved = await groups.by_chat(session, -1001234)
        assert moved is not None and await groups.by_chat(session, -100) is None
        assert moved.language_list == ["en", "es", "de"]
        assert [u.pseudonym for u in await groups.members(session, moved.id)] == ["P1", "P2"]
        facilitators = await groups.members(session, moved.id, groups.FACILITATOR)
        assert [u.pseudonym for u in facilitators] == ["P2"]


async def test_a_removed_bot_leaves_the_group_inactive_not_gone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        await _group(session, -200, GroupKind.ALUMNI)
        assert (await groups.alumni_group(session)) is not None
        await groups.set_active(session, -200, False)
        assert await groups.alumni_group(session) is None
    async with sessionmaker() as session:
        kept = await groups.by_chat(session, -200)
        assert kept is not None and not kept.active


async def test_erasure_takes_a_person_out_of_every_group_and_export_lists_them(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        group = await _group(session, -300)
        ana = await _person(session, 3)
        group.registered_by = ana.id
        await groups.add_member(session, group.id, ana.id, groups.FACILITATOR)
    async with sessionmaker() as session, session.begin():
        ana = await users.get_by_telegram_id(session, 3)
        exported = await personal_data.export(session, ana)
        assert exported["groups"] == [
            {
                "group": group.id,
                "kind": "peer",
                "as": "facilitator",
                "since": exported["groups"][0]["since"],
            }
        ]
        await personal_data.erase(session, ana)
    async with sessionmaker() as session:
        kept = await groups.by_chat(session, -300)
        assert kept is not None and kept.registered_by is None
        assert await groups.members(session, kept.id) == []
