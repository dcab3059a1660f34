"""Long polling through the inbox: nothing is confirmed to Telegram before it is stored.

aiogram's own polling asks for the next updates (whose offset tells Telegram to forget
the previous ones) while the previous updates' handlers may still be running; a crash
then loses those updates for good. Here every batch ``getUpdates`` returns is written
to the inbox (``storage.inbox``) and committed before the next ``getUpdates`` confirms
it; each update is handed to the dispatcher as a task and its row deleted when the
handler has finished (successfully, or with an error the errors router handled). At
start, what is left in the inbox is handled first, in ``update_id`` order.

When the inbox cannot be written (the database is failing), the updates are handled
from memory anyway, loudly: screening answers a crisis message with the crisis lines
without the database, and everything else tells the person it cannot save right now.

Handling is at least once: an update whose handler was cut short by a crash is handled
again from the start. The handlers are written for that (what an update changed is
committed before the bot speaks; a stale button press is refused), so a replay costs at
most a repeated reply. An update that keeps failing is dropped, loudly, after
``MAX_ATTEMPTS`` hand-overs, so it cannot stop the bot from starting.

One person's updates are handled in order: tasks are created in ``update_id`` order and
``UnitOfWork`` takes the person's FIFO lock before anything else can interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Sequence

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import DeliveryWorker
from bot.tracing import where
from storage import inbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # hand-overs to the dispatcher before an update is dropped
IN_FLIGHT_TIMEOUT = 5.0  # on stop: how long running handlers may take to finish
BACKOFF_BASE, BACKOFF_CAP = 1.0, 30.0  # getUpdates failures


async def poll(
    bot: Bot,
    dispatcher: Dispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    timeout: int,
    allowed_updates: Sequence[str] | None,
    delivery: DeliveryWorker | None = None,
    handle_signals: bool = True,
    in_flight_timeout: float = IN_FLIGHT_TIMEOUT,
) -> None:
    """Poll until SIGTERM/SIGINT: then stop asking, let running handlers finish (briefly),
    and stop ``delivery`` (its task ends when its sends in flight are done)."""
    poller = Poller(
        bot,
        dispatcher,
        sessionmaker,
        timeout=timeout,
        allowed_updates=allowed_updates,
        in_flight_timeout=in_flight_timeout,
    )
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for number in signals:
        loop.add_signal_handler(number, poller.stop)
    try:
        await poller.run()
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
        if delivery is not None:
            delivery.stop()


class Poller:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        timeout: int,
        allowed_updates: Sequence[str] | None,
        in_flight_timeout: float = IN_FLIGHT_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.sessionmaker = sessionmaker
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates) if allowed_updates is not None else None
        self.in_flight_timeout = in_flight_timeout
        self._stop = asyncio.Event()
        self._handling: set[asyncio.Task[None]] = set()
        self._replayed: set[int] = set()
        self._unstored: set[int] = set()  # handled from memory: no inbox row to delete
        self._finished: list[int] = []
        self._finished_event = asyncio.Event()
        self._closing = False

    def stop(self) -> None:
        """Stop asking Telegram for updates; ``run`` returns when the handlers are done."""
        if not self._stop.is_set():
            log.info("stopping: no more getUpdates")
        self._stop.set()

    async def run(self) -> None:
        forgetting = asyncio.create_task(self._forget_finished())
        try:
            offset = await self._replay_leftovers()
            await self._poll(offset)
        finally:
            await self._wait_for_handlers()
            self._closing = True  # the forgetter ends after the deletion it may be in
            self._finished_event.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(forgetting, 5.0)
            await self._forget(self._take_finished())

    # --- Start: what the last run left

    async def _replay_leftovers(self) -> int | None:
        """Hand what is still in the inbox to the dispatcher; returns the offset to confirm."""
        async with self.sessionmaker() as session:
            leftovers = await inbox.pending(session)
            offset = await inbox.load_offset(session)
            dropped = [row for row in leftovers if row.attempts >= MAX_ATTEMPTS]
            replay = [row for row in leftovers if row.attempts < MAX_ATTEMPTS]
            for row in dropped:
                log.error(
                    "inbox: DROPPING update %s: its handling failed %s times",
                    row.update_id,
                    row.attempts,
                )
            await inbox.done(session, [row.update_id for row in dropped])
            await inbox.count_attempt(session, [row.update_id for row in replay])
            await session.commit()
        if replay:
            log.info("inbox: handling %d updates left from the last run", len(replay))
        for row in replay:
            try:
                update = Update.model_validate_json(row.payload, context={"bot": self.bot})
            except ValidationError:
                log.error("inbox: update %s cannot be read back; dropping it", row.update_id)
                self._finish(row.update_id)
                continue
            self._replayed.add(row.update_id)
            self._start(update)
        if leftovers:
            after_leftovers = leftovers[-1].update_id + 1
            offset = max(offset, after_leftovers) if offset is not None else after_leftovers
        return offset

    # --- Polling

    async def _poll(self, offset: int | None) -> None:
        get_updates = GetUpdates(
            offset=offset, timeout=self.timeout, allowed_updates=self.allowed_updates
        )
        # Wait longer than the long poll itself, so a quiet poll is not taken for a timeout.
        request_timeout = int((self.bot.session.timeout or 60) + self.timeout)
        failures = 0
        while not self._stop.is_set():
            updates = await self._get_updates(get_updates, request_timeout)
            if updates is None:  # stopped while waiting
                return
            if isinstance(updates, Exception):
                failures += 1
                await self._back_off(updates, failures)
                continue
            failures = 0
            # What was replayed from the inbox is not taken twice (the offset covers it,
            # unless the saved offset was too old to trust).
            fresh = [u for u in updates if u.update_id not in self._replayed]
            if not fresh:
                if updates:
                    get_updates.offset = max(u.update_id for u in updates) + 1
                continue
            try:
                new = await self._store(fresh)
            except Exception as error:
                # The database is failing. Waiting for it would leave a person in crisis
                # without their crisis lines, which screening can give from memory: the
                # updates are handled now, without the inbox's second chance.
                log.critical(
                    "DATABASE FAILING: %d updates could not be stored in the inbox (%s at %s); "
                    "handling them from memory: a crash now would lose them",
                    len(fresh),
                    type(error).__name__,
                    where(error),
                )
                new = {u.update_id for u in fresh}
                self._unstored.update(new)
            get_updates.offset = max(u.update_id for u in updates) + 1
            for update in fresh:
                if update.update_id in new:
                    self._start(update)

    async def _get_updates(
        self, get_updates: GetUpdates, request_timeout: int
    ) -> list[Update] | Exception | None:
        """The next updates, the error that came instead, or None when told to stop."""
        fetching = asyncio.ensure_future(self.bot(get_updates, request_timeout=request_timeout))
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not fetching.done():
                # Stopping: what this poll would return is not confirmed, so it is not lost.
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetching
        if fetching.cancelled():
            return None
        if fetching.exception() is not None:
            return fetching.exception()  # type: ignore[return-value]
        return fetching.result()

    async def _back_off(self, error: BaseException, failures: int) -> None:
        if isinstance(error, TelegramRetryAfter):
            delay = float(error.retry_after)
        else:
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failures - 1))
            delay *= 0.75 + random.random() / 2
        log.warning(
            "getUpdates failed (%s, %d in a row); trying again in %.1fs",
            type(error).__name__,
            failures,
            delay,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def _store(self, updates: list[Update]) -> set[int]:
        """Write the batch (and the offset that will confirm it) and commit; the new ids."""
        rows = [(u.update_id, u.model_dump_json(exclude_unset=True)) for u in updates]
        async with self.sessionmaker() as session:
            new = await inbox.save(session, rows)
            await inbox.save_offset(session, max(u.update_id for u in updates) + 1)
            await session.commit()
        return new

    # --- Handling

    def _start(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update: Update) -> None:
        try:
            response = await self.dispatcher.feed_update(self.bot, update)
            if isinstance(response, TelegramMethod):
                await self.dispatcher.silent_call_request(self.bot, response)
        except Exception as error:
            # The errors router handles what handlers raise; this got past it. Keep the
            # update: it is handled again at the next start (at most MAX_ATTEMPTS times).
            log.error(
                "update %s failed outside the handlers (%s at %s); kept for the next start",
                update.update_id,
                type(error).__name__,
                where(error),
            )
            return
        self._finish(update.update_id)

    def _finish(self, update_id: int) -> None:
        if update_id in self._unstored:
            self._unstored.discard(update_id)
            return
        self._finished.append(update_id)
        self._finished_event.set()

    def _take_finished(self) -> list[int]:
        finished, self._finished = self._finished, []
        self._finished_event.clear()
        return finished

    async def _forget_finished(self) -> None:
        """Delete finished updates from the inbox, many in one transaction when busy."""
        while not self._closing:
            await self._finished_event.wait()
            finished = self._take_finished()
            if not await self._forget(finished):
                self._finished[:0] = finished
                if not self._closing:
                    await asyncio.sleep(1.0)
                self._finished_event.set()

    async def _forget(self, update_ids: list[int]) -> bool:
        if not update_ids:
            return True
        try:
            async with self.sessionmaker() as session:
                await inbox.done(session, update_ids)
                await session.commit()
        except Exception as error:
            log.error(
                "inbox: deleting %d handled updates failed (%s at %s)",
                len(update_ids),
                type(error).__name__,
                where(error),
            )
            return False
        return True

    async def _wait_for_handlers(self) -> None:
        if not self._handling:
            return
        log.info("waiting for %d updates being handled", len(self._handling))
        _, still_running = await asyncio.wait(set(self._handling), timeout=self.in_flight_timeout)
        for task in still_running:
            task.cancel()  # their updates stay in the inbox for the next start
        if still_running:
            log.warning(
                "%d updates were cut short; they are handled at the next start", len(still_running)
            )
            await asyncio.wait(still_running, timeout=1.0)
