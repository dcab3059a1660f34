"""The program's groups as stored: which chats are program groups, and who is in them.

``flows.groups`` (languages of a post, who may register whom) builds on this."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    GroupCheckin,
    GroupKind,
    GroupMember,
    GroupPost,
    OutboxMessage,
    ProgramGroup,
    User,
)

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


# --- registration ---------------------------------------------------------------------------


async def register(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    title: str | None,
    languages: list[str],
    timezone: str,
    is_forum: bool,
    checkin_weekday: int | None,
    checkin_time: dt.time | None,
    registered_by: int,
) -> ProgramGroup:
    """A chat becomes a program group, or a group set up again keeps its id and members."""
    group = await by_chat(session, chat_id)
    if group is None:
        group = ProgramGroup(chat_id=chat_id, registered_by=registered_by)
        session.add(group)
    group.kind = kind
    group.title = title
    group.languages = ",".join(languages)
    group.timezone = timezone
    group.is_forum = is_forum
    group.checkin_weekday = checkin_weekday
    group.checkin_time = checkin_time
    group.active = True
    await session.flush()
    return group


async def facilitators_of(session: AsyncSession, group_id: int) -> list[User]:
    return await members(session, group_id, FACILITATOR)


# --- weekly check-ins -----------------------------------------------------------------------


async def save_checkin(
    session: AsyncSession,
    group_id: int,
    user_id: int,
    week: dt.date,
    energy: str,
    pain: str | None,
) -> None:
    """A member's answer for the week; answering again the same week replaces it."""
    found = await session.get(GroupCheckin, (group_id, user_id, week))
    if found is None:
        session.add(
            GroupCheckin(group_id=group_id, user_id=user_id, week=week, energy=energy, pain=pain)
        )
    else:
        found.energy, found.pain = energy, pain
    await session.flush()


async def checkins_of_week(
    session: AsyncSession, group_id: int, week: dt.date
) -> list[GroupCheckin]:
    rows = await session.scalars(
        select(GroupCheckin).where(GroupCheckin.group_id == group_id, GroupCheckin.week == week)
    )
    return list(rows)


async def checked_in_since(session: AsyncSession, group_id: int, since: dt.date) -> set[int]:
    """users.id of everyone who answered a check-in of this group on or after ``since``."""
    rows = await session.scalars(
        select(GroupCheckin.user_id).where(
            GroupCheckin.group_id == group_id, GroupCheckin.week >= since
        )
    )
    return set(rows)


# --- the bot's own posts in a group ---------------------------------------------------------


async def record_post(
    session: AsyncSession, group_id: int, message_id: int, kind: str, *, pinned: bool = False
) -> None:
    if await session.get(GroupPost, (group_id, message_id)) is None:
        session.add(GroupPost(group_id=group_id, message_id=message_id, kind=kind, pinned=pinned))
        await session.flush()


async def mark_pinned(session: AsyncSession, group_id: int, message_id: int) -> None:
    await session.execute(
        update(GroupPost).where(GroupPost.group_id == group_id).values(pinned=False)
    )
    await record_post(session, group_id, message_id, "rules", pinned=True)
    post = await session.get(GroupPost, (group_id, message_id))
    assert post is not None
    post.pinned = True
    await session.flush()


async def removable_posts(session: AsyncSession, group: ProgramGroup, keep: set[int]) -> list[int]:
    """Message ids of the bot's posts in the group, but for the pinned rules and ``keep``:
    those sent directly (``group_posts``) and those the outbox sent under the group's keys."""
    direct = await session.scalars(
        select(GroupPost.message_id).where(
            GroupPost.group_id == group.id, GroupPost.pinned.is_(False)
        )
    )
    queued = await session.scalars(
        select(OutboxMessage.message_id).where(
            OutboxMessage.key.like(f"group:{group.id}:%"),
            OutboxMessage.chat_id == group.chat_id,
            OutboxMessage.message_id.is_not(None),
        )
    )
    return sorted({*direct, *queued} - keep)


async def forget_posts(session: AsyncSession, group_id: int, message_ids: list[int]) -> None:
    if message_ids:
        await session.execute(
            delete(GroupPost).where(
                GroupPost.group_id == group_id, GroupPost.message_id.in_(message_ids)
            )
        )
        # The outbox's copies stay (delivery records), but their ids no longer name a post.
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.key.like(f"group:{group_id}:%"),
                OutboxMessage.message_id.in_(message_ids),
            )
            .values(message_id=None)
        )


async def joined_dates(
    session: AsyncSession, group_id: int, role: str | None = None
) -> dict[int, dt.datetime]:
    """users.id → when they joined the group, in joining order."""
    statement = (
        select(GroupMember.user_id, GroupMember.joined_at)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.joined_at)
    )
    if role is not None:
        statement = statement.where(GroupMember.role == role)
    return {row.user_id: row.joined_at for row in await session.execute(statement)}
