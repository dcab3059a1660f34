"""The outbox hands out crisis alerts before anything else that is due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import outbox
from storage.models import utcnow


async def test_an_alert_is_claimed_before_reminders_that_fell_due_earlier(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    earlier = utcnow() - dt.timedelta(minutes=5)
    async with sessionmaker() as session, session.begin():
        for n in range(3):
            await outbox.enqueue(
                session, key=f"reminder:{n}", chat_id=100 + n, method="sendMessage",
                params={"text": "time for your check-in"}, due_at=earlier,
            )  # fmt: skip
        await outbox.enqueue(
            session, key="alert:1:l0:channel", chat_id=-1001, method="sendMessage",
            params={"text": "alert"}, urgent=True,
        )  # fmt: skip

    async with sessionmaker() as session, session.begin():
        first = await outbox.claim_due(session, limit=1, lease=dt.timedelta(seconds=30))
        rest = await outbox.claim_due(session, limit=10, lease=dt.timedelta(seconds=30))

    assert [row.key for row in first] == ["alert:1:l0:channel"]
    assert sorted(row.key for row in rest) == ["reminder:0", "reminder:1", "reminder:2"]


async def test_the_same_key_twice_is_one_message(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        for _ in range(2):
            await outbox.enqueue(
                session, key="alert:7:l0:dm:5", chat_id=5, method="sendMessage",
                params={"text": "alert"}, urgent=True,
            )  # fmt: skip
    async with sessionmaker() as session, session.begin():
        claimed = await outbox.claim_due(session, limit=10, lease=dt.timedelta(seconds=30))
    assert [row.key for row in claimed] == ["alert:7:l0:dm:5"]
