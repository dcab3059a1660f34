"""The outbox: messages that must arrive later or to someone else.

A row is written in the same transaction as the change that caused it, under an
idempotency key (writing the same key twice keeps one row). The delivery worker
claims due rows atomically — a conditional UPDATE on SQLite, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL — so two processes never send one row twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import claimed_from, insert
from storage.models import OutboxMessage, utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"
URGENT, NORMAL = 0, 1  # priorities: urgent rows are claimed first and retried quickly
# The fallback of an edit whose words must arrive: when Telegram refuses the edit for good
# (the message deleted, too old to edit), the new text is sent as a message of its own.
SEND_ANEW = "send_anew"


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    chat_id: int
    method: str
    params: dict[str, Any]
    attempts: int
    on_undeliverable: str | None  # what to do when the chat cannot be reached at all
    urgent: bool = False  # safety-critical (alerts and what follows them): retried quickly
    # What this row adds to one message with others waiting for its chat (bot/combining.py).
    combine: dict[str, Any] | None = None


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    chat_id: int,
    method: str,
    params: Mapping[str, Any],
    due_at: dt.datetime | None = None,
    on_undeliverable: str | None = None,
    urgent: bool = False,
    combine: Mapping[str, Any] | None = None,
) -> None:
    """Queue one Bot API call (``method`` with ``params``); a repeated ``key`` is ignored.
    Urgent rows (crisis alerts) are claimed before everything else that is due. A row with
    ``combine`` may leave in one message with others waiting for its chat (bot/combining.py)."""
    payload = _payload(method, chat_id, params, on_undeliverable, combine)
    statement = (
        insert(session)(OutboxMessage)
        .values(
            key=key,
            chat_id=chat_id,
            payload=payload,
            status=PENDING,
            priority=URGENT if urgent else NORMAL,
            attempts=0,
            due_at=due_at or utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    await session.execute(statement)


@dataclass(frozen=True)
class Queued:
    """One row for ``enqueue_many``: a Bot API call to ``chat_id`` under ``key``."""

    key: str
    chat_id: int
    params: Mapping[str, Any]
    method: str = "sendMessage"
    on_undeliverable: str | None = None  # as for ``enqueue``


async def enqueue_many(
    session: AsyncSession, rows: Sequence[Queued], *, due_at: dt.datetime | None = None
) -> None:
    """``enqueue`` for many rows in one executemany (a tick queues thousands of reminders);
    repeated keys are ignored the same way."""
    if not rows:
        return
    now = utcnow()
    values = [
        {
            "key": row.key,
            "chat_id": row.chat_id,
            "payload": _payload(row.method, row.chat_id, row.params, row.on_undeliverable),
            "status": PENDING,
            "priority": NORMAL,
            "attempts": 0,
            "due_at": due_at or now,
            "created_at": now,
        }
        for row in rows
    ]
    # The Core table, not the ORM entity: the ORM's bulk path costs more than the INSERT.
    statement = insert(session)(OutboxMessage.__table__).on_conflict_do_nothing(
        index_elements=["key"]
    )
    await session.execute(statement, values)


def _payload(
    method: str,
    chat_id: int,
    params: Mapping[str, Any],
    on_undeliverable: str | None,
    combine: Mapping[str, Any] | None = None,
) -> str:
    """A row's payload as stored: the Bot API call, its fallback by name if any, and what
    it adds to a combined message if it may be combined."""
    payload: dict[str, Any] = {"method": method, "params": {"chat_id": chat_id, **params}}
    if on_undeliverable:
        payload["on_undeliverable"] = on_undeliverable
    if combine:
        payload["combine"] = dict(combine)
    return json.dumps(payload, ensure_ascii=False)


async def claim_due(session: AsyncSession, *, limit: int, lease: dt.timedelta) -> list[Claimed]:
    """Claim up to ``limit`` due rows for ``lease``; commit right after to make the claim
    visible."""
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == PENDING,
            OutboxMessage.due_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.priority, OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    chosen = claimed_from(session, OutboxMessage.id, due)
    statement = (
        update(OutboxMessage)
        .where(
            chosen,
            # Re-checked in the UPDATE itself: on SQLite this is what makes the claim atomic.
            OutboxMessage.status == PENDING,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(
            {
                OutboxMessage.claimed_until: now + lease,
                OutboxMessage.attempts: OutboxMessage.attempts + 1,
            }
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.key,
            OutboxMessage.chat_id,
            OutboxMessage.payload,
            OutboxMessage.attempts,
            OutboxMessage.priority,
        )
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    claimed = []
    for row in sorted(rows, key=lambda r: r.id):
        payload = json.loads(row.payload)
        claimed.append(
            Claimed(
                id=row.id,
                key=row.key,
                chat_id=row.chat_id,
                method=payload["method"],
                params=payload["params"],
                attempts=row.attempts,
                on_undeliverable=payload.get("on_undeliverable"),
                urgent=row.priority == URGENT,
                combine=payload.get("combine"),
            )
        )
    return claimed


async def mark_sent(session: AsyncSession, row_id: int, message_id: int | None = None) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            status=SENT,
            sent_at=utcnow(),
            message_id=message_id,
            claimed_until=None,
            last_error=None,
        )
    )


async def retry_later(session: AsyncSession, row_id: int, delay: float, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            {
                OutboxMessage.due_at: utcnow() + dt.timedelta(seconds=delay),
                OutboxMessage.claimed_until: None,
                OutboxMessage.last_error: error[:200],
            }
        )
    )


async def give_up(session: AsyncSession, row_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            {
                OutboxMessage.status: FAILED,
                OutboxMessage.claimed_until: None,
                OutboxMessage.last_error: error[:200],
            }
        )
    )


async def release_all_claims(session: AsyncSession) -> int:
    """Make every claimed row due again now; returns how many. Only for a worker starting
    under the poller lock (storage.poller_lock): no other worker is alive, so every claim
    was left by a process that died while sending."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.claimed_until.is_not(None))
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def outcome_of(session: AsyncSession, key: str) -> tuple[str | None, int | None]:
    """(status, message or thread id) of the row with ``key``; (None, None) when there is none."""
    row = (
        await session.execute(
            select(OutboxMessage.status, OutboxMessage.message_id).where(OutboxMessage.key == key)
        )
    ).first()
    if row is None:
        return None, None
    return row.status, row.message_id if row.status == SENT else None


async def sent_message_id(session: AsyncSession, key: str) -> int | None:
    """The Telegram message id a sent row got (to edit it later), or None."""
    return await session.scalar(
        select(OutboxMessage.message_id).where(
            and_(OutboxMessage.key == key, OutboxMessage.status == SENT)
        )
    )


async def count(session: AsyncSession, status: str) -> int:
    """How many rows have ``status`` (PENDING, SENT or FAILED)."""
    statement = (
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)
    )
    return int(await session.scalar(statement) or 0)


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    status: str


async def rows_with_keys(session: AsyncSession, keys: Sequence[str]) -> list[Row]:
    """The rows under ``keys``, in the order of ``keys`` (missing keys are left out)."""
    statement = select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.status).where(
        OutboxMessage.key.in_(keys)
    )
    found = {row.key: Row(row.id, row.key, row.status) for row in await session.execute(statement)}
    return [found[key] for key in keys if key in found]


async def hold(session: AsyncSession, row_ids: Sequence[int], until: dt.datetime) -> None:
    """Keep the worker off these pending rows until ``until``: their caller sends them."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == PENDING)
        .values(due_at=until)
    )


async def release(session: AsyncSession, row_ids: Sequence[int], error: str) -> None:
    """Hand these pending rows to the worker now: their caller could not send them."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == PENDING)
        .values(due_at=utcnow(), claimed_until=None, last_error=error[:200])
    )
