"""The inbox: updates received from Telegram, kept until their handler has finished.

Telegram forgets an update as soon as the next ``getUpdates`` carries a higher
offset, which a poller sends long before a slow handler is done. So every update
is written here (its JSON, encrypted: it carries people's words) and committed
*before* that next call; the row is deleted when the update has been handled. What
is still here after a crash is handled again at the next start.

The offset the poller confirmed last is kept too (in ``system_status``), so after a
restart Telegram is told at once which updates are already ours: an update that was
handled and deleted, but not yet confirmed when the process died, is not handed
out (and handled) a second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert, upsert
from storage.models import InboxUpdate, SystemStatus, utcnow

OFFSET_KEY = "telegram.update_offset"
# Telegram numbers updates sequentially, but picks a random start after a week without
# any; an offset older than this is not trusted (it could hide the new updates).
OFFSET_MAX_AGE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Pending:
    update_id: int
    payload: str  # the update's JSON
    attempts: int  # how many times it was handed to the dispatcher already


async def save(
    session: AsyncSession, updates: Iterable[tuple[int, str]], *, attempts: int = 1
) -> set[int]:
    """Store ``(update_id, json)`` pairs; returns the ids that were new (a repeat is ignored).

    ``attempts`` is what a new row starts with: 1 when it is handed to the dispatcher
    right after this commits.
    """
    rows = [
        {"update_id": update_id, "payload": payload, "attempts": attempts, "received_at": utcnow()}
        for update_id, payload in updates
    ]
    if not rows:
        return set()
    statement = (
        insert(session)(InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(InboxUpdate.update_id)
    )
    return set((await session.scalars(statement)).all())


async def pending(session: AsyncSession) -> list[Pending]:
    """Every update not yet handled, oldest first (Telegram's own order)."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.attempts).order_by(
            InboxUpdate.update_id
        )
    )
    return [Pending(row.update_id, row.payload, row.attempts) for row in rows]


async def count_attempt(session: AsyncSession, update_ids: Sequence[int]) -> None:
    """Note that these updates are being handed to the dispatcher once more."""
    if update_ids:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(update_ids))
            .values(attempts=InboxUpdate.attempts + 1)
        )


async def done(session: AsyncSession, update_ids: Iterable[int]) -> None:
    """Forget updates whose handling has finished."""
    ids = list(update_ids)
    if ids:
        await session.execute(delete(InboxUpdate).where(InboxUpdate.update_id.in_(ids)))


async def save_offset(session: AsyncSession, offset: int) -> None:
    """Remember the next offset to confirm (the highest update id received + 1)."""
    await session.execute(
        upsert(session, SystemStatus.__table__, ["key"]),
        {"key": OFFSET_KEY, "value": str(offset), "updated_at": utcnow()},
    )


async def load_offset(
    session: AsyncSession, *, max_age: dt.timedelta = OFFSET_MAX_AGE
) -> int | None:
    """The offset saved last, unless it is older than ``max_age`` (then None)."""
    row = (
        await session.execute(
            select(SystemStatus.value, SystemStatus.updated_at).where(
                SystemStatus.key == OFFSET_KEY
            )
        )
    ).first()
    if row is None or row.updated_at < utcnow() - max_age:
        return None
    try:
        return int(row.value)
    except ValueError:
        return None
