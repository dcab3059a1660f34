"""The program's groups as stored: which chats are program groups, and who is in them.

``flows.groups`` (languages of a post, who may register whom) builds on this."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import GroupKind, GroupMember, ProgramGroup, User

FACILITATOR, MEMBER = "facilitator", "member"


async def by_chat(session: AsyncSession, chat_id: int) -> ProgramGroup | None:
    return await session.scalar(select(ProgramGroup).where(ProgramGroup.chat_id == chat_id))


async def alumni_group(session: AsyncSession) -> ProgramGroup | None:
    """The program's alumni group that is in use (the oldest, if there are several)."""
    return await session.scalar(
        select(ProgramGroup)
        .where(ProgramGroup.kind == GroupKind.ALUMNI, ProgramGroup.active.is_(True))
        .order_by(ProgramGroup.id)
        .limit(1)
    )


async def groups_of(session: AsyncSession, user_id: int) -> list[ProgramGroup]:
    """The groups a person (users.id) is in, oldest first."""
    rows = await session.scalars(
        select(ProgramGroup)
        .join(GroupMember, GroupMember.group_id == ProgramGroup.id)
        .where(GroupMember.user_id == user_id)
        .order_by(ProgramGroup.id)
    )
    return list(rows)


async def members(session: AsyncSession, group_id: int, role: str | None = None) -> list[User]:
    """The group's people (``role``: only facilitators or only members), in joining order."""
    statement = (
        select(User)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.joined_at, User.id)
    )
    if role is not None:
        statement = statement.where(GroupMember.role == role)
    return list(await session.scalars(statement))


async def role_in(session: AsyncSession, group_id: int, user_id: int) -> str | None:
    return await session.scalar(
        select(GroupMember.role).where(
            GroupMember.group_id == group_id, GroupMember.user_id == user_id
        )
    )


async def add_member(
    session: AsyncSession, group_id: int, user_id: int, role: str = MEMBER
) -> None:
    """Adds the person, or changes their role if they are in already."""
    found = await session.get(GroupMember, (group_id, user_id))
    if found is None:
        session.add(GroupMember(group_id=group_id, user_id=user_id, role=role))
    else:
        found.role = role
    await session.flush()


async def remove_member(session: AsyncSession, group_id: int, user_id: int) -> bool:
    result = await session.execute(
        delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    )
    return bool(result.rowcount)


async def move_chat(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """Telegram migrated the group to a supergroup: the group keeps everything, new id."""
    result = await session.execute(
        update(ProgramGroup).where(ProgramGroup.chat_id == old_chat_id).values(chat_id=new_chat_id)
    )
    return bool(result.rowcount)


async def set_active(session: AsyncSession, chat_id: int, active: bool) -> ProgramGroup | None:
    """The bot was removed or demoted (False), or is back (True); the group is kept."""
    group = await by_chat(session, chat_id)
    if group is not None:
        group.active = active
        await session.flush()
    return group
