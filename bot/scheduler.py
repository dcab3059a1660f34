"""The scheduler: a few short periodic ticks; the database says what is due.

Each kind of due thing (``DUE``) has a handler that receives the rows one tick claimed
(``storage.schedules.claim_due``), writes what must be sent to the outbox and sets each
row's next time, all in the transaction that claimed them. Any number of bot processes
can run the same ticks: a row is claimed by one of them only.

The ticks are timed by the event loop's monotonic clock (``Ticks``), never by the wall
clock: APScheduler's interval trigger schedules by wall time, so an NTP step of an hour
back stopped escalation and reminders for an hour, even once the clock was right again.
What is *due* is still decided by wall time (UTC, in the database): a tick during a step
back finds nothing new due, and the first tick after the correction finds it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import where
from bot.escalation import escalate_due
from bot.settings import Settings
from handlers.due import DUE, Handler, Tick
from storage import schedules
from storage.models import utcnow

log = logging.getLogger(__name__)


def due_handlers() -> dict[str, Handler]:
    """Every kind of scheduled thing (``storage.schedules.KINDS``), and who handles it
    (each handler registers itself, ``handlers.due``). A kind without one is a mistake
    that would leave its rows due forever: it stops the bot at start, loudly."""
    import handlers  # noqa: F401  (every router module, so every handler has registered)

    missing = sorted(set(schedules.KINDS) - set(DUE))
    if missing:
        raise RuntimeError(f"schedule kinds without a due handler: {', '.join(missing)}")
    return {kind: DUE[kind] for kind in schedules.KINDS}


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


class Ticks:
    """Periodic jobs timed by the event loop's monotonic clock.

    A job runs every ``seconds`` after the previous run was *due*; a run that takes longer
    than the period is not overlapped by the next one, and the runs it made late are not
    made up (one run, then the period again). A job that raises is logged (its type and
    where, never its message, which may quote a person) and runs again next time.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, job: Callable[..., Awaitable[Any]], *args: Any) -> None:
        name = getattr(job, "__name__", "tick")
        self._tasks.append(asyncio.create_task(self._repeat(seconds, job, args), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @staticmethod
    async def _repeat(seconds: float, job: Callable[..., Awaitable[Any]], args: tuple) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + seconds
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await job(*args)
            except Exception as error:
                log.error(
                    "tick %s failed (%s at %s); it runs again in %gs",
                    getattr(job, "__name__", "?"),
                    type(error).__name__,
                    where(error),
                    seconds,
                )
            due = max(due + seconds, loop.time())


def start_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, i18n: I18n
) -> Ticks:
    """Two short ticks: overdue alerts, and everything else that is due. (A schedule kind
    without a handler stops it here, at start, not at the first tick that finds one due.)"""
    due_handlers()
    ticks = Ticks()
    ticks.every(settings.escalation_tick_seconds, escalate_due, sessionmaker, settings, i18n)
    ticks.every(settings.scheduler_tick_seconds, handle_due, sessionmaker, settings, i18n)
    return ticks
