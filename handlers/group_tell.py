"""Telling a group's facilitators something privately, each in their own language, through
the outbox (so a message that cannot go now goes later, and one already queued under the
same key is not queued twice)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from storage import groups, outbox
from storage.models import ProgramGroup, User


async def facilitators_and_registrar(session: AsyncSession, group: ProgramGroup) -> list[User]:
    """Whoever looks after the group: its facilitators and whoever registered it."""
    people = {person.id: person for person in await groups.facilitators_of(session, group.id)}
    if group.registered_by is not None and group.registered_by not in people:
        registrar = await session.get(User, group.registered_by)
        if registrar is not None:
            people[registrar.id] = registrar
    return [person for person in people.values() if person.is_onboarded]


async def tell(
    session: AsyncSession,
    i18n: I18n,
    people: Iterable[User],
    key: str,
    make: Callable[[], str],
    *,
    on_undeliverable: str | None = None,
) -> int:
    """Queue ``make()`` for each person in their language under ``key:<users.id>``
    (``on_undeliverable``: the outbox's fallback for a chat it cannot reach)."""
    told = 0
    for person in people:
        with i18n.use_locale(person.locale):
            text = make()
        await outbox.enqueue(
            session,
            key=f"{key}:{person.id}",
            chat_id=person.telegram_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"},
            on_undeliverable=on_undeliverable,
        )
        told += 1
    return told


def group_name(group: ProgramGroup) -> str:
    return escape(group.title or "") or "…"


def person_name(user: User) -> str:
    return escape(user.display_name or user.pseudonym)
