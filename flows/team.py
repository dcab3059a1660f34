"""Who on the program's team hears of something that is not a crisis.

Running the program (a mentee waiting for a mentor, a rematch) is the admins' business;
care (a concern in a session note, a boundary flag) is the supervisors'. Each falls back
on the other way in, so that nothing is told to nobody. (Crisis alerts have their own,
wider path: flows/alerts.py.)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage import oncall, users
from storage.models import Role

Recipient = tuple[int, str]  # a chat id, and the language to write there in


async def admins(
    session: AsyncSession, supervisor_chat_id: int | None, default_locale: str
) -> list[Recipient]:
    """Every onboarded admin, privately; without admins, the supervisors' group."""
    people = await users.list_with_roles(session, [Role.ADMIN])
    found = [(a.telegram_id, a.locale) for a in people if a.is_onboarded]
    if not found and supervisor_chat_id is not None:
        found = [(supervisor_chat_id, default_locale)]
    return found


async def supervisors(
    session: AsyncSession, supervisor_chat_id: int | None, default_locale: str
) -> list[Recipient]:
    """The supervisors' group; without one, every supervisor privately."""
    if supervisor_chat_id is not None:
        return [(supervisor_chat_id, default_locale)]
    return [(s.telegram_id, s.locale) for s in await oncall.supervisors(session)]
