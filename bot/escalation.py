"""The escalation tick: alerts not acknowledged in time are re-sent, wider each time.

Scheduling is data: APScheduler only runs this short tick; the database says what is
due, and each escalation is claimed with a conditional UPDATE, so any number of bot
processes can run the tick without paging anyone twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows import alerts as alert_flow
from handlers.alerts import announce
from storage import alerts
from storage.models import utcnow

log = logging.getLogger(__name__)


async def escalate_due(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, i18n: I18n
) -> int:
    """One tick: escalate every alert whose acknowledgement is overdue. Returns how many."""
    ack_within = dt.timedelta(minutes=settings.escalation_ack_minutes)
    escalated = 0
    async with sessionmaker() as session:
        now = utcnow()
        for alert in await alerts.due_for_escalation(session, now):
            level = await alert_flow.escalate(session, alert, now, ack_within)
            if level is None:
                continue
            await session.refresh(alert)
            case = alert_flow.Case(alert, is_new=False, added=[])
            with i18n.context():
                await announce(session, case, settings, i18n, level=level)
            await session.commit()
            escalated += 1
            log.warning("alert %s not acknowledged in time: escalated to level %s", alert.id, level)
    return escalated
