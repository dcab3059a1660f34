"""A restarted worker releases at once what a dead process had claimed, and never what a
live one holds (storage/presence.py, DeliveryWorker.release_claims_of_the_gone)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery import DeliveryWorker
from storage import outbox
from storage.models import OutboxMessage
from storage.presence import announce_presence

LEASE = dt.timedelta(seconds=30)


async def queue(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> None:
    async with sessionmaker() as session, session.begin():
        await outbox.enqueue(
            session, key=key, chat_id=-1001, method="sendMessage", params={"text": "alert"},
            urgent=True,
        )  # fmt: skip


async def claim(sessionmaker: async_sessionmaker[AsyncSession], worker: int) -> list[str]:
    async with sessionmaker() as session, session.begin():
        claimed = await outbox.claim_due(session, limit=1, lease=LEASE, worker=worker)
    return [row.key for row in claimed]


async def claimed_until(
    sessionmaker: async_sessionmaker[AsyncSession], key: str
) -> dt.datetime | None:
    async with sessionmaker() as session:
        statement = select(OutboxMessage.claimed_until).where(OutboxMessage.key == key)
        return await session.scalar(statement)


async def test_the_claims_of_a_gone_worker_are_released_and_a_live_ones_kept(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    gone, alive, restarted = [await announce_presence(engine) for _ in range(3)]
    assert len({gone.id, alive.id, restarted.id}) == 3
    await queue(sessionmaker, "alert:1:l0:channel")
    await queue(sessionmaker, "alert:2:l0:channel")
    assert await claim(sessionmaker, gone.id) == ["alert:1:l0:channel"]
    assert await claim(sessionmaker, alive.id) == ["alert:2:l0:channel"]
    await gone.close()  # its process ended: its lock is free

    assert await restarted.is_gone(gone.id)
    assert not await restarted.is_gone(alive.id)
    worker = DeliveryWorker(None, sessionmaker, presence=restarted)  # type: ignore[arg-type]
    assert await worker.release_claims_of_the_gone() == 1

    assert await claimed_until(sessionmaker, "alert:1:l0:channel") is None
    assert await claimed_until(sessionmaker, "alert:2:l0:channel") is not None
    assert await claim(sessionmaker, restarted.id) == ["alert:1:l0:channel"], "due again now"
    assert await worker.release_claims_of_the_gone() == 0, "its own claims are its own"
    await alive.close()
    await restarted.close()


async def test_a_claim_is_no_copy_of_an_alert(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """While a row is claimed its message id column names the worker; nothing reads it as
    a message Telegram answered (the alert buttons are re-authorised against those)."""
    from storage import alerts

    presence = await announce_presence(engine)
    await queue(sessionmaker, "alert:3:l0:channel")
    await claim(sessionmaker, presence.id)
    async with sessionmaker() as session:
        assert await alerts.copies_of(session, 3) == []
        assert await outbox.outcome_of(session, "alert:3:l0:channel") == (outbox.PENDING, None)
    await presence.close()
