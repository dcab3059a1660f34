"""The delivery worker: drains the outbox within Telegram's limits, losing nothing.

    worker = DeliveryWorker(bot, sessionmaker, on_undeliverable=hook)
    task = asyncio.create_task(worker.run())   # until worker.stop() or cancel
    worker.wake()                             # rows were committed: look now

Who retries what
----------------
* **Outbox rows: this worker, and only it.** Each row is sent once per claim, with the
  session's ``RetryRequests`` switched off for that request (``bot.retry.single_attempt``),
  so a failure comes straight back here and is written down:

  - 429 ``retry_after``: the row is put back, due after ``retry_after``; its chat is held
    until then, and when 429s come from two or more chats within a couple of seconds
    (a bot-wide flood answer), every chat is held;
  - 5xx, network errors, timeouts, anything unexpected: the row is put back with
    exponential backoff and jitter (``backoff_base`` doubling up to ``backoff_cap``, or
    up to ``urgent_backoff_cap``, a few seconds, for urgent rows: alerts, their notes and
    edits, the direct copies supervisors get; so an alert goes out seconds after Telegram
    is back, not minutes). It is never given up for a transient error: an alert waits for
    Telegram to return;
  - permanent errors (403 blocked/kicked, 400 "chat not found" and other bad requests,
    404): the row is given up, logged loudly (ids and error type, never text), and if
    the row says what to do then (``on_undeliverable``), the worker's hook runs in the
    same transaction as the give-up;
  - 401 (the token was revoked): nothing is given up; everything is held for a minute.
* **Replies a handler sends directly** (the person is waiting): ``RetryRequests`` in the
  bot's session, for up to 75 s. The crisis answer is also an outbox row, held back while
  its update sends it, and released to this worker if that fails (``bot.crisis_answer``).
* **getUpdates**: the poller's own backoff (``bot.polling``).

Limits (in memory, per process): about 30 messages/s for the bot, one per second per
chat, and 20 a minute per group (chat_id < 0), the last ten of them spread over what is
left of the minute. A row that would wait longer than
``hold_horizon`` for its turn is put back, due when its turn comes, instead of holding
its claim. Rows to one chat go out in order, one at a time: while a row is put back
(429, an error), the chat's later rows are put back behind it. (Order holds within one
process; two workers may interleave one chat's rows.)

Bursts: alerts that wait together for one chat when its turn comes leave as one message
(``bot.combining``: each case's lines and its own buttons), so that fifty crisis
messages in a minute reach the group in a few messages and the on-call within seconds.
A row alone goes out exactly as queued.

Once, and only once?
--------------------
Rows are claimed atomically (``storage.outbox.claim_due``: a conditional UPDATE on
SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and the claim is committed before
anything is sent, so two workers never send one row. A claim is a lease: if the process
dies after claiming, the restarted bot releases every claim at once before its worker
starts (``release_claims_of_the_dead``; the poller lock, ``storage.poller_lock``, means
no other worker is alive to hold one), instead of waiting for the lease to end. No send
starts later than
``lease - request_timeout - 5 s`` after the claim, so a slow send cannot outlive its
lease and be claimed by another worker meanwhile.

One window remains: Telegram accepted a message and the process died (or the database
failed) before ``mark_sent`` committed. The row is then sent again after its lease
expires: a duplicate, never a loss. The Bot API has no idempotency key for sends, so
this cannot be closed from our side; it is milliseconds wide.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import inspect
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiogram.methods
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import BufferedInputFile
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Insert

from bot.combining import combined_params, take_next_message
from bot.retry import single_attempt
from bot.tracing import where
from flows import trends
from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import Claimed

log = logging.getLogger(__name__)

# on_undeliverable(session, claimed, error_text): runs inside the give-up's transaction.
# on_reached(session, claimed): a row that has such a fallback got through (the chat is
# reachable again); runs inside the transaction that marks it sent.
UndeliverableHook = Callable[[AsyncSession, Claimed, str], Awaitable[None] | None]

NOT_MODIFIED = "message is not modified"
LEASE_MARGIN = 5.0  # seconds between the last send's timeout and the lease's end
FLOOD_WINDOW = 2.0  # 429s from two chats within this many seconds: the whole bot is held
UNAUTHORIZED_HOLD = 60.0


@dataclass(frozen=True)
class Limits:
    """Telegram's limits for a bot (https://core.telegram.org/bots/faq#broadcasting-to-users)."""

    per_second: int = 30  # messages a second, all chats together
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_window: int = 20  # messages to one group ...
    group_window: float = 60.0  # ... per this many seconds
    group_interval: float = 1.0  # and at most one a second there, too
    # After this many in a window, a group's messages are spread over what is left of it,
    # so a burst never spends the minute's budget at once and leaves the group silent
    # (and the alerts waiting) for the rest of it.
    group_spread_after: int = 10
    margin: float = 0.05  # added to the all-chats window: our clock is not Telegram's
    # Added to each chat's interval and window. Telegram counts arrivals, and a request can
    # spend longer on its way than the one after it: with 0.05 s, two full suite runs of seven
    # drew a 429 from the stand-in under a busy suite, and a 429 holds up an alert.
    chat_margin: float = 0.2


class RateLimiter:
    """When the next message to a chat may start, from the sends started so far (in memory).

    A send is booked when it is decided (``started``), so that sends decided together
    share the budget, and re-stamped with the moment it really left (``left``): the
    windows count real departures, however long the event loop took to get there.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._everywhere: list[float] = []  # sorted departure times, last second or so
        self._last: dict[int, float] = {}
        self._groups: defaultdict[int, list[float]] = defaultdict(list)
        self._held: dict[int, float] = {}
        self._held_everywhere = 0.0
        self._flood_answers: deque[tuple[float, int]] = deque()

    def wait(self, chat_id: int, now: float | None = None) -> float:
        """Seconds until a message to ``chat_id`` may start (0: now)."""
        now = self.clock() if now is None else now
        limits = self.limits
        ready = max(self._held_everywhere, self._held.get(chat_id, 0.0))
        window = 1.0 + limits.margin
        _forget_until(self._everywhere, now - window)
        if len(self._everywhere) >= limits.per_second:
            ready = max(ready, self._everywhere[-limits.per_second] + window)
        interval = limits.group_interval if chat_id < 0 else limits.private_interval
        if chat_id in self._last:
            ready = max(ready, self._last[chat_id] + interval + limits.chat_margin)
        if chat_id < 0:
            sends = self._groups[chat_id]
            group_window = limits.group_window + limits.chat_margin
            _forget_until(sends, now - group_window)
            if len(sends) >= limits.group_per_window:
                ready = max(ready, sends[-limits.group_per_window] + group_window)
            elif len(sends) >= limits.group_spread_after:
                ready = max(ready, _spread(sends, limits.group_per_window, group_window))
        return max(0.0, ready - now)

    def started(self, chat_id: int, now: float | None = None) -> float:
        """Book a send to ``chat_id`` now; returns the booking, for ``left``."""
        now = self.clock() if now is None else now
        bisect.insort(self._everywhere, now)
        self._last[chat_id] = max(now, self._last.get(chat_id, now))
        if chat_id < 0:
            bisect.insort(self._groups[chat_id], now)
        if len(self._last) > 10_000:  # forget chats quiet for a minute
            self._forget_before(now - 60.0)
        return now

    def left(self, chat_id: int, booked: float, now: float | None = None) -> None:
        """The send booked at ``booked`` really left now: count it from now."""
        now = self.clock() if now is None else now
        if now <= booked:
            return
        for times in (self._everywhere, self._groups[chat_id] if chat_id < 0 else None):
            if times is not None:
                index = bisect.bisect_left(times, booked)
                if index < len(times) and times[index] == booked:
                    del times[index]  # (a booking already forgotten is counted anew)
                bisect.insort(times, now)
        self._last[chat_id] = max(now, self._last.get(chat_id, now))

    def everything_held_for(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        return max(0.0, self._held_everywhere - now)

    def flood_answer(self, chat_id: int, retry_after: float, now: float | None = None) -> bool:
        """Telegram said 429 for this chat; returns True when the whole bot is now held."""
        now = self.clock() if now is None else now
        until = now + retry_after
        self._held[chat_id] = max(self._held.get(chat_id, 0.0), until)
        while self._flood_answers and self._flood_answers[0][0] < now - FLOOD_WINDOW:
            self._flood_answers.popleft()
        self._flood_answers.append((now, chat_id))
        if len({chat for _, chat in self._flood_answers}) > 1:
            self.hold_everything(retry_after, now)
            return True
        return False

    def hold_everything(self, seconds: float, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self._held_everywhere = max(self._held_everywhere, now + seconds)

    def _forget_before(self, cutoff: float) -> None:
        for chat_id in [chat for chat, at in self._last.items() if at < cutoff]:
            del self._last[chat_id]
            self._groups.pop(chat_id, None)
        for chat_id in [chat for chat, until in self._held.items() if until < cutoff]:
            del self._held[chat_id]


def _spread(sends: list[float], budget: int, window: float) -> float:
    """When the next send may start if the budget left in the window (``sends`` are its
    sorted departures) is spread evenly until its oldest send leaves it."""
    left = budget - len(sends)
    return sends[-1] + (sends[0] + window - sends[-1]) / left


def _forget_until(times: list[float], cutoff: float) -> None:
    """Drop the sorted ``times`` at or before ``cutoff``."""
    del times[: bisect.bisect_right(times, cutoff)]


class Outcome(Enum):
    SENT = "sent"
    GIVEN_UP = "given up"
    LATER = "later"  # put back: the chat's other rows wait too


Result = tuple[Outcome, float]  # the outcome, and for LATER the delay it was put back with


class DeliveryWorker:
    """Sends what the outbox holds: claimed atomically, paced, retried, never lost."""

    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        on_undeliverable: UndeliverableHook | None = None,
        on_reached: Callable[[AsyncSession, Claimed], Awaitable[None]] | None = None,
        poll_interval: float = 0.2,
        limits: Limits | None = None,
        batch_size: int = 50,
        lease: float = 30.0,
        request_timeout: int = 10,
        backoff_base: float = 1.0,
        backoff_cap: float = 180.0,
        urgent_backoff_cap: float = 5.0,
        hold_horizon: float = 5.0,
    ) -> None:
        if lease < request_timeout + LEASE_MARGIN + 1:
            raise ValueError("the lease must outlast a request by more than LEASE_MARGIN")
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.on_undeliverable = on_undeliverable
        self.on_reached = on_reached
        self.poll_interval = poll_interval
        self.limiter = RateLimiter(limits or Limits())
        self.batch_size = batch_size
        self.lease = lease
        self.request_timeout = request_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.urgent_backoff_cap = urgent_backoff_cap
        self.hold_horizon = hold_horizon
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._failures: dict[int, int] = {}  # row id -> transient failures in a row
        self._alone: set[int] = set()  # rows whose combined message Telegram refused
        self._charts = Charts()  # digest charts, drawn without holding a batch
        # chat -> (when its put-back row is due again, that row's id)
        self._blocked: dict[int, tuple[float, int]] = {}

    # --- Running

    def wake(self) -> None:
        """Look for due rows now instead of at the next poll (after committing new rows)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the sends in flight, put back what waits for its turn, and end ``run``."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        """Drain the outbox until ``stop()`` or cancellation (a worker runs once)."""
        failures = 0
        woken = False
        while not self._stopping:
            try:
                claimed = await self.drain_once()
                failures = 0
            except Exception as error:  # the database is away: try again, lose nothing
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.error(
                    "outbox: draining failed (%s at %s); retrying in %.1fs",
                    type(error).__name__,
                    where(error),
                    delay,
                )
                await self._idle(delay)
                continue
            if claimed >= self.batch_size:
                continue  # more may be due
            # Woken by a commit that has not reached us yet (PostgreSQL): look again soon.
            timeout = 0.05 if woken and claimed == 0 else self.poll_interval
            woken = await self._idle(max(timeout, self.limiter.everything_held_for()))

    async def release_claims_of_the_dead(self) -> int:
        """Rows a killed predecessor had claimed (while its sends hung) are due again now,
        not when their lease ends; returns how many. Only for the bot starting under the
        poller lock (``bot.app``): then no live process holds a claim."""
        try:
            async with self.sessionmaker() as session:
                released = await outbox.release_all_claims(session)
                await session.commit()
        except Exception as error:  # the lease still frees them; never stop the worker here
            log.error(
                "outbox: releasing old claims failed (%s at %s)", type(error).__name__, where(error)
            )
            return 0
        if released:
            log.warning("outbox: %d rows claimed by a process that is gone are due again", released)
        return released

    async def _idle(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken; True if woken."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        woken = self._wake.is_set()
        self._wake.clear()
        return woken

    async def drain_once(self) -> int:
        """Claim one batch of due rows and deliver it; returns how many rows were claimed."""
        if self.limiter.everything_held_for() > 0:
            return 0
        async with self.sessionmaker() as session:
            claimed = await outbox.claim_due(
                session,
                limit=self.batch_size,
                lease=dt.timedelta(seconds=self.lease),
            )
            await session.commit()
        if claimed:
            deadline = time.monotonic() + self.lease - self.request_timeout - LEASE_MARGIN
            await self._deliver(claimed, deadline)
        return len(claimed)

    # --- One batch

    async def _deliver(self, claimed: list[Claimed], deadline: float) -> None:
        """Send each chat's rows in order, one at a time per chat, as the limits allow."""
        queues: dict[int, deque[Claimed]] = {}
        for row in claimed:
            queues.setdefault(row.chat_id, deque()).append(row)
        sending: dict[asyncio.Task[Result], list[Claimed]] = {}
        try:
            while queues or sending:
                soonest = float("inf")
                busy = {rows[0].chat_id for rows in sending.values()}
                for chat_id in list(queues):
                    if chat_id in busy:
                        continue
                    now = time.monotonic()  # fresh: putting rows back below takes time
                    wait = self.limiter.wait(chat_id, now)
                    until, blocker = self._blocked.get(chat_id, (0.0, 0))
                    behind = until - now
                    if behind > 0 and queues[chat_id][0].id > blocker:
                        # An earlier row to this chat was put back: these go after it.
                        await self._put_back(
                            queues.pop(chat_id), behind + 0.01, "held: earlier row"
                        )
                    elif self._stopping or now >= deadline:
                        await self._put_back(queues.pop(chat_id), 0.0, "not sent: stop or lease")
                    elif wait == 0:
                        # Alerts waiting together for this chat leave as one message.
                        rows = take_next_message(queues[chat_id], self._alone)
                        if not queues[chat_id]:
                            del queues[chat_id]
                        booked = self.limiter.started(chat_id, now)
                        sending[asyncio.create_task(self._send_rows(rows, booked))] = rows
                        busy.add(chat_id)
                    elif wait > self.hold_horizon or now + wait >= deadline:
                        held = queues.pop(chat_id)
                        await self._put_back(held, wait, "held: rate limit")
                        # Rows claimed meanwhile for this chat come due just behind these:
                        # order is kept, and waiting alerts are claimed together, to leave
                        # together in the chat's next message.
                        self._hold_behind(chat_id, now + wait, held[-1].id)
                    else:
                        soonest = min(soonest, wait)
                if not sending:
                    if queues:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopped.wait(), soonest)
                    continue
                timeout = None if soonest == float("inf") else soonest
                done, _ = await asyncio.wait(
                    sending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    rows = sending.pop(task)
                    if task.exception() is not None:
                        # Its outcome could not be written (the database?): the row keeps
                        # its lease and is sent again when that expires; the chat's later
                        # rows wait for it.
                        error = task.exception()
                        log.error(
                            "outbox: rows %s: recording the outcome failed (%s at %s)",
                            [row.id for row in rows],
                            type(error).__name__,
                            where(error),
                        )
                        outcome, delay = Outcome.LATER, self.lease
                    else:
                        outcome, delay = task.result()
                    self._note_outcome(rows[-1], outcome, delay)
        finally:
            for task in sending:
                task.cancel()  # only when cancelled ourselves: those rows keep their lease

    def _note_outcome(self, row: Claimed, outcome: Outcome, delay: float) -> None:
        """A row put back blocks its chat's later rows until it is due (in this process)."""
        now = time.monotonic()
        if outcome is Outcome.LATER:
            self._hold_behind(row.chat_id, now + delay, row.id)
        else:
            self._blocked.pop(row.chat_id, None)
        if len(self._blocked) > 1000:
            self._blocked = {chat: held for chat, held in self._blocked.items() if held[0] > now}

    def _hold_behind(self, chat_id: int, until: float, row_id: int) -> None:
        """Rows to ``chat_id`` after ``row_id`` wait until ``until`` (it was put back)."""
        held_until, blocker = self._blocked.get(chat_id, (0.0, 0))
        self._blocked[chat_id] = (max(held_until, until), max(blocker, row_id))

    async def _put_back(self, rows: deque[Claimed], delay: float, reason: str) -> None:
        try:
            async with self.sessionmaker() as session:
                for row in rows:
                    await outbox.retry_later(session, row.id, delay, reason)
                await session.commit()
        except Exception as error:  # they keep their lease and come back when it expires
            log.error("outbox: putting back %d rows failed (%s)", len(rows), type(error).__name__)

    # --- One message

    async def _send_rows(self, rows: list[Claimed], booked: float) -> Result:
        return await (
            self._send(rows[0], booked) if len(rows) == 1 else self._send_combined(rows, booked)
        )

    async def _send_combined(self, rows: list[Claimed], booked: float) -> Result:
        """Alerts that waited together for one chat, as one message (bot/combining.py).

        Only success and waiting are decided here. When Telegram refuses the combined
        message (400, 403, a migrated group...), each row goes back to be sent alone, where
        a refusal is handled as for any row: a bad request is not spread over many cases,
        and each row's own fallback runs."""
        lead = rows[0]
        self.limiter.left(lead.chat_id, booked)
        try:
            with single_attempt():
                result = await self.bot(
                    build_method("sendMessage", combined_params(rows)),
                    request_timeout=self.request_timeout,
                )
        except TelegramRetryAfter as error:
            self.limiter.flood_answer(lead.chat_id, float(error.retry_after))
            return await self._later_all(rows, error, float(error.retry_after))
        except TelegramUnauthorizedError as error:
            self.limiter.hold_everything(UNAUTHORIZED_HOLD)
            return await self._later_all(rows, error, UNAUTHORIZED_HOLD)
        except TelegramAPIError as error:
            if isinstance(error, TelegramServerError | TelegramNetworkError):
                return await self._retry_all(rows, error)
            log.warning(
                "outbox: %d rows combined for chat %s were refused (%s); each goes alone",
                len(rows),
                lead.chat_id,
                type(error).__name__,
            )
            self._alone.update(row.id for row in rows)
            return await self._later_all(rows, error, 0.0)
        except Exception as error:  # network, timeout, or unknown: transient
            return await self._retry_all(rows, error)
        self._failures.pop(lead.id, None)
        async with self.sessionmaker() as session:
            for row in rows:  # each case's row knows the message that carries it
                await outbox.mark_sent(session, row.id, result.message_id)
            if lead.on_undeliverable and self.on_reached is not None:
                await self.on_reached(session, lead)
            await session.commit()
        self._alone.difference_update(row.id for row in rows)
        return Outcome.SENT, 0.0

    async def _retry_all(self, rows: list[Claimed], error: Exception) -> Result:
        failures = self._failures.get(rows[0].id, 0) + 1
        self._failures[rows[0].id] = failures
        urgent = any(row.urgent for row in rows)
        return await self._later_all(rows, error, self._backoff(failures, urgent))

    async def _later_all(self, rows: list[Claimed], error: Exception, delay: float) -> Result:
        log.warning(
            "outbox: %d combined rows to chat %s not sent (%s); again in %.1fs",
            len(rows),
            rows[0].chat_id,
            type(error).__name__,
            delay,
        )
        async with self.sessionmaker() as session:
            for row in rows:
                await outbox.retry_later(session, row.id, delay, _error_text(error))
            await session.commit()
        return Outcome.LATER, delay

    # --- One row

    async def _send(self, row: Claimed, booked: float) -> Result:
        params = await self._into_topic(row)
        if params is None:
            return await self._later(row, RuntimeError("its forum topic is not created yet"), 1.0)
        try:
            params = await self._charts.drawn(row.id, params)
        except ChartPending as error:  # still drawing: this batch (and an alert) goes on
            return await self._later(row, error, CHART_PENDING_RETRY)
        except Exception as error:  # a stuck or broken drawing process: drawn again later
            return await self._later(row, error, CHART_RETRY)
        try:
            method = build_method(row.method, params)
        except (AttributeError, TypeError, ValidationError) as error:
            return await self._give_up(row, error, f"invalid payload: {type(error).__name__}")
        for _ in range(2):  # a second time only after a group became a supergroup
            self.limiter.left(row.chat_id, booked)
            try:
                with single_attempt():
                    result = await self.bot(method, request_timeout=self.request_timeout)
            except TelegramMigrateToChat as error:
                log.warning(
                    "outbox: row %s: chat %s moved to %s; sending there",
                    row.id,
                    row.chat_id,
                    error.migrate_to_chat_id,
                )
                method = build_method(
                    row.method, {**row.params, "chat_id": error.migrate_to_chat_id}
                )
                continue
            except TelegramRetryAfter as error:
                return await self._flood_answer(row, error)
            except TelegramBadRequest as error:
                if NOT_MODIFIED in error.message:  # an edit that was already made
                    return await self._sent(row, row.params.get("message_id"))
                return await self._give_up(row, error)
            except (
                TelegramForbiddenError,
                TelegramNotFound,
                TelegramEntityTooLarge,
                TelegramConflictError,
            ) as error:
                return await self._give_up(row, error)
            except TelegramUnauthorizedError as error:
                log.critical("outbox: Telegram refuses the bot's token; holding every message")
                self.limiter.hold_everything(UNAUTHORIZED_HOLD)
                return await self._later(row, error, UNAUTHORIZED_HOLD)
            except Exception as error:  # 5xx, network, timeout, or unknown: transient
                failures = self._failures.get(row.id, 0) + 1
                self._failures[row.id] = failures
                return await self._later(row, error, self._backoff(failures, row.urgent))
            # A message's id, or a new forum topic's thread id (what later rows refer to).
            sent_id = getattr(result, "message_id", None) or getattr(
                result, "message_thread_id", None
            )
            return await self._sent(row, sent_id)
        return await self._give_up(row, RuntimeError("chat migrated twice"))

    async def _into_topic(self, row: Claimed) -> dict[str, Any] | None:
        """Resolve ``message_thread_id: {"topic_of": key}`` to the thread that row created.

        None while that topic is still to be created; without a thread (the group's
        general chat) when its creation failed, so the message still arrives."""
        thread = row.params.get("message_thread_id")
        if not isinstance(thread, dict):
            return row.params
        async with self.sessionmaker() as session:
            status, thread_id = await outbox.outcome_of(session, thread["topic_of"])
        if status == outbox.PENDING:
            return None
        rest = {key: value for key, value in row.params.items() if key != "message_thread_id"}
        return (
            rest
            if status != outbox.SENT or not thread_id
            else {**rest, "message_thread_id": thread_id}
        )

    def _backoff(self, failures: int, urgent: bool) -> float:
        """Seconds before a transient failure is tried again. Urgent rows are capped low:
        a long cap saves nothing worth an alert waiting minutes after Telegram is back."""
        delay = self.backoff_base * 2 ** (failures - 1) * (0.75 + random.random() / 2)
        return min(self.urgent_backoff_cap if urgent else self.backoff_cap, delay)

    async def _sent(self, row: Claimed, message_id: int | None) -> Result:
        self._failures.pop(row.id, None)
        self._alone.discard(row.id)
        async with self.sessionmaker() as session:
            await outbox.mark_sent(session, row.id, message_id)
            if row.on_undeliverable and self.on_reached is not None:
                await self.on_reached(session, row)
            await session.commit()
        return Outcome.SENT, 0.0

    async def _flood_answer(self, row: Claimed, error: TelegramRetryAfter) -> Result:
        retry_after = float(error.retry_after)
        everywhere = self.limiter.flood_answer(row.chat_id, retry_after)
        log.warning(
            "outbox: row %s: 429 in chat %s, retry after %ss%s",
            row.id,
            row.chat_id,
            error.retry_after,
            "; holding every chat" if everywhere else "",
        )
        return await self._later(row, error, retry_after, quiet=True)

    async def _later(
        self, row: Claimed, error: Exception, delay: float, *, quiet: bool = False
    ) -> Result:
        if not quiet:
            log.warning(
                "outbox: row %s to chat %s failed (%s, attempt %s); retrying in %.1fs",
                row.id,
                row.chat_id,
                type(error).__name__,
                row.attempts,
                delay,
            )
        async with self.sessionmaker() as session:
            await outbox.retry_later(session, row.id, delay, _error_text(error))
            await session.commit()
        return Outcome.LATER, delay

    async def _give_up(self, row: Claimed, error: Exception, text: str | None = None) -> Result:
        error_text = text or _error_text(error)
        self._failures.pop(row.id, None)
        self._alone.discard(row.id)
        log.error(
            "outbox: GIVING UP row %s (key %s, %s) to chat %s: %s",
            row.id,
            row.key,
            row.method,
            row.chat_id,
            type(error).__name__,
        )
        async with self.sessionmaker() as session:
            await outbox.give_up(session, row.id, error_text)
            if row.on_undeliverable:
                if self.on_undeliverable is None:
                    log.error(
                        "outbox: row %s asks for %r when undeliverable, but no hook is set",
                        row.id,
                        row.on_undeliverable,
                    )
                else:
                    try:
                        outcome = self.on_undeliverable(session, row, error_text)
                        if inspect.isawaitable(outcome):
                            await outcome
                    except Exception as hook_error:
                        await session.rollback()
                        log.error(
                            "outbox: the undeliverable hook failed for row %s (%s at %s); "
                            "the row stays pending",
                            row.id,
                            type(hook_error).__name__,
                            where(hook_error),
                        )
                        failures = self._failures.get(row.id, 0) + 1
                        self._failures[row.id] = failures
                        return await self._later(
                            row, hook_error, self._backoff(failures, row.urgent)
                        )
            await session.commit()
        return Outcome.GIVEN_UP, 0.0


CHART_RETRY = 30.0  # seconds before a chart that could not be drawn is tried again
CHART_WAIT = 2.0  # seconds a batch waits on a chart (one takes a fifth of a second)
CHART_PENDING_RETRY = 5.0  # seconds before a chart still being drawn is looked at again


class ChartPending(Exception):
    """The chart is still being drawn; its row comes back for it."""


class Charts:
    """Charts drawn for outbox rows, each at most ``CHART_WAIT`` in a batch: a batch's rows
    are all sent before the next batch is claimed, so a chart drawn in line (the drawing
    process bounds it at 20 s when stuck) would keep a new crisis alert waiting behind a
    digest. A chart not ready in time goes on drawing; its row comes back and takes it."""

    def __init__(self) -> None:
        self._drawing: dict[int, asyncio.Task[dict[str, Any]]] = {}

    async def drawn(self, row_id: int, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not (isinstance(photo, dict) and "chart" in photo):
            return params
        task = self._drawing.get(row_id)
        if task is None:
            task = self._drawing[row_id] = asyncio.create_task(drawn(params))
            task.add_done_callback(_retrieved)  # a row that never comes back: no warning
        try:
            return await asyncio.wait_for(asyncio.shield(task), CHART_WAIT)
        except TimeoutError:
            if not task.done():
                raise ChartPending("the chart is still being drawn") from None
            raise  # drawn() itself gave up
        finally:
            if task.done():
                self._drawing.pop(row_id, None)


async def drawn(params: dict[str, Any]) -> dict[str, Any]:
    """A photo queued as a chart's data (``{"photo": {"chart": ...}}``, a mentor's weekly
    digest) is drawn now, off the event loop (``flows.trends.draw``): a PNG does not belong
    in the outbox's JSON, and the tick that queued it must not hold its transaction open
    while a chart is drawn."""
    photo = params.get("photo")
    if not (isinstance(photo, dict) and "chart" in photo):
        return params
    png = await trends.draw(trends.from_plain(photo["chart"]))
    return {**params, "photo": BufferedInputFile(png, filename="trends.png")}


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def build_method(name: str, params: dict[str, Any]) -> TelegramMethod[Any]:
    """The aiogram method object for a stored Bot API call ("sendMessage", its params)."""
    cls = getattr(aiogram.methods, name[:1].upper() + name[1:])
    if not (isinstance(cls, type) and issubclass(cls, TelegramMethod)):
        raise TypeError(f"{name!r} is not a Bot API method")
    return cls(**params)


def _error_text(error: Exception) -> str:
    """Error type and Telegram's description (which never repeats the message's text)."""
    if isinstance(error, TelegramAPIError):
        return f"{type(error).__name__}: {error.message}"[:200]
    return type(error).__name__


def wake_on_outbox_commits(engine: AsyncEngine, worker: DeliveryWorker) -> None:
    """Wake ``worker`` whenever a transaction that wrote outbox rows commits in this process.

    So an alert goes out as soon as the update that raised it commits, without waiting
    for the next poll, and without the code that wrote it having to know the worker.
    """
    flag = "peerbot_outbox_written"
    name = OutboxMessage.__tablename__

    def noted(conn: Any, clause: Any, *args: Any, **kwargs: Any) -> None:
        # ORM statements carry an annotated copy of the table: compare by name.
        if isinstance(clause, Insert) and getattr(clause.table, "name", None) == name:
            conn.info[flag] = True

    def committed(conn: Any) -> None:
        if conn.info.pop(flag, False):
            worker.wake()

    def rolled_back(conn: Any) -> None:
        conn.info.pop(flag, None)

    event.listen(engine.sync_engine, "after_execute", noted)
    event.listen(engine.sync_engine, "commit", committed)
    event.listen(engine.sync_engine, "rollback", rolled_back)
