"""Health facts for `peerbot status` and /status, written where a problem is noticed."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert
from storage.models import SystemStatus, utcnow

SUPERVISOR_CHANNEL = "supervisor_channel"


async def report(session: AsyncSession, key: str, value: str) -> None:
    values = {"key": key, "value": value[:300], "updated_at": utcnow()}
    await session.execute(upsert(session, SystemStatus.__table__, ["key"]), values)


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(SystemStatus).where(SystemStatus.key == key))


async def all_reports(session: AsyncSession) -> list[SystemStatus]:
    return list((await session.execute(select(SystemStatus).order_by(SystemStatus.key))).scalars())
