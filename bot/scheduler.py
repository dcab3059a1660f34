"""The scheduler: APScheduler runs a few short ticks; the database says what is due.

Each kind of due thing (``DUE``) has a handler that receives the rows one tick claimed
(``storage.schedules.claim_due``), writes what must be sent to the outbox and sets each
row's next time, all in the transaction that claimed them. Any number of bot processes
can run the same ticks: a row is claimed by one of them only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.escalation import escalate_due
from bot.settings import Settings
from storage import schedules
from storage.models import utcnow
from storage.schedules import Due

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    settings: Settings
    i18n: I18n
    now: dt.datetime


# handle(session, due rows, tick): queue what is due and set each row's next time.
Handler = Callable[[AsyncSession, list[Due], Tick], Awaitable[None]]


def due_handlers() -> dict[str, Handler]:
    """Every kind of scheduled thing, and who handles it."""
    from handlers import crisis, matching, reminders  # they import Tick: import when asked

    return {
        "plan_check": crisis.feeling_unanswered_due,
        "checkin": reminders.checkin_due,
        "silence": reminders.silence_due,
        "digest": reminders.digest_due,
        "match_checkin": matching.ask_how_match_feels,
    }


async def run_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    i18n: I18n,
    *,
    now: dt.datetime | None = None,
    batch: int = 1000,
) -> dict[str, int]:
    """One tick: claim and handle everything due, a batch per transaction. Returns counts."""
    tick = Tick(settings, i18n, now or utcnow())
    handled: dict[str, int] = {}
    for kind, handle in due_handlers().items():
        while True:
            async with sessionmaker() as session:
                due = await schedules.claim_due(session, kind, tick.now, limit=batch)
                if not due:
                    break
                with i18n.context():
                    await handle(session, due, tick)
                await session.commit()
            handled[kind] = handled.get(kind, 0) + len(due)
            if len(due) < batch:
                break
    return handled


async def handle_due(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, i18n: I18n
) -> None:
    """The periodic job: ``run_due``, logging instead of raising (the next tick retries)."""
    try:
        handled = await run_due(sessionmaker, settings, i18n)
    except Exception as error:  # the database is away: the rows stay due for the next tick
        log.error("scheduler: tick failed (%s); what was due stays due", type(error).__name__)
        return
    if handled:
        log.info("scheduler: handled %s", handled)


def start_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, i18n: I18n
) -> AsyncIOScheduler:
    """Two short ticks: overdue alerts, and everything else that is due."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job, seconds in (
        (escalate_due, settings.escalation_tick_seconds),
        (handle_due, settings.scheduler_tick_seconds),
    ):
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            args=(sessionmaker, settings, i18n),
            max_instances=1,  # a slow tick is not overlapped by the next one
            coalesce=True,
            id=job.__name__,
        )
    scheduler.start()
    return scheduler
