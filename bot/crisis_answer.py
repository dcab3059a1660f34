"""The crisis answer to the person: at once, exactly once, and never lost.

Its messages are written to the outbox under keys made of the update they answer, held
back from the delivery worker, and committed (with the alert) before the first is sent.
Then they are sent directly, each retried within the update for ``DIRECT_BUDGET``
seconds and marked sent as soon as Telegram has taken it. What could not be sent is
handed to the worker, which retries for as long as it takes: the person gets it late,
never not at all. An update handled again after a crash finds its answer's rows, and
what was sent is not sent again (Telegram takes no idempotency key: a crash in the
moment between its answer and our mark sends that message twice, never not at all).

When the database cannot be written, nothing can be kept for later: the answer goes
straight out from memory, and the log says loudly that the database is failing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Limits
from bot.middlewares import commit_now
from bot.retry import retry_budget
from storage import outbox
from storage.models import utcnow

log = logging.getLogger(__name__)

Markup = ReplyKeyboardMarkup | InlineKeyboardMarkup | None
Answer = Sequence[tuple[str, Markup]]

DIRECT_BUDGET = 20.0  # seconds of retries within the update; then the worker takes over
REQUEST_TIMEOUT = 10  # seconds for one attempt: a hung request must not eat the budget
HOLD = dt.timedelta(seconds=60)  # the worker keeps off while the update sends (> both)
# Telegram takes about one message a second in a chat: the parts of one answer leave that
# far apart, as the delivery worker paces them, rather than drawing a 429 and its wait.
PART_INTERVAL = Limits.private_interval + Limits.chat_margin


async def send(
    bot: Bot, session: AsyncSession, chat_id: int, answer: Answer, update_id: int | str
) -> bool:
    """Send ``answer`` to ``chat_id`` once, through the outbox if it cannot go now. False
    when the chat refuses the bot (blocked, never started): then no retry will reach it,
    and the caller must find another way (in a group: a gentle post, bot/screening.py)."""
    keys = [f"crisis:{update_id}:{number}" for number in range(len(answer))]
    try:
        rows = await _keep(session, chat_id, answer, keys)
    except SQLAlchemyError as error:
        await database_failed(session, error, f"the crisis answer to update {update_id}")
        await send_from_memory(bot, chat_id, answer)
        return True
    last: float | None = None  # when the previous part left
    for index, ((text, markup), row) in enumerate(zip(answer, rows, strict=True)):
        if row.status != outbox.PENDING:
            continue  # sent before the process died (or given up by the worker)
        if last is not None:
            await asyncio.sleep(last + PART_INTERVAL - time.monotonic())
        last = time.monotonic()
        try:
            with retry_budget(DIRECT_BUDGET):
                sent = await bot.send_message(
                    chat_id, text, reply_markup=markup, request_timeout=REQUEST_TIMEOUT
                )
        except AiogramError as error:
            await _hand_to_worker(session, rows[index:], update_id, error)
            return not isinstance(error, TelegramForbiddenError)
        await outbox.mark_sent(session, row.id, sent.message_id)
        await commit_now()  # before anything else: a crash now must not send it twice
    return True


async def _keep(
    session: AsyncSession, chat_id: int, answer: Answer, keys: list[str]
) -> list[outbox.Row]:
    """The answer's outbox rows, held back for the update to send, committed."""
    held_until = utcnow() + HOLD
    for key, (text, markup) in zip(keys, answer, strict=True):
        params: dict[str, object] = {"text": text, "parse_mode": "HTML"}
        if markup is not None:
            params["reply_markup"] = markup.model_dump(exclude_none=True)
        await outbox.enqueue(
            session,
            key=key,
            chat_id=chat_id,
            method="sendMessage",
            params=params,
            due_at=held_until,
            urgent=True,
        )
    rows = await outbox.rows_with_keys(session, keys)
    # Handled again after a crash: the rows exist, and this update sends them again now.
    await outbox.hold(session, [row.id for row in rows], held_until)
    await commit_now()
    return rows


async def _hand_to_worker(
    session: AsyncSession, rows: Sequence[outbox.Row], update_id: int | str, error: AiogramError
) -> None:
    log.warning(
        "crisis answer to update %s could not be sent now (%s): the outbox delivers it",
        update_id,
        type(error).__name__,
    )
    try:
        await outbox.release(session, [row.id for row in rows], type(error).__name__)
        await commit_now()
    except SQLAlchemyError as db_error:  # still held: the worker sends it when the hold ends
        await database_failed(session, db_error, f"handing update {update_id}'s answer over")


async def send_from_memory(bot: Bot, chat_id: int, answer: Answer) -> None:
    """No database to keep it in: send it now, retrying within the update, and log a loss."""
    for text, markup in answer:
        try:
            await bot.send_message(chat_id, text, reply_markup=markup)
        except AiogramError as error:
            log.critical(
                "CRISIS ANSWER LOST for chat %s: the database is failing and Telegram said %s",
                chat_id,
                type(error).__name__,
            )
            return


async def database_failed(session: AsyncSession, error: SQLAlchemyError, doing: str) -> None:
    """Say loudly what is wrong (the error's kind, never its SQL or parameters), and leave
    the session usable for what can still be done without writing."""
    log.critical(
        "DATABASE FAILING (%s: %s) while storing %s; check the disk, the file's permissions "
        "and whichever process holds the database's lock",
        type(error).__name__,
        _reason(error),
        doing,
    )
    try:
        await session.rollback()
    except SQLAlchemyError:
        log.error("the rollback after the database failure failed too")


def _reason(error: SQLAlchemyError) -> str:
    """The driver's own words ("database is locked", "attempt to write a readonly
    database"): they name the fault and carry no parameters."""
    original = getattr(error, "orig", None)
    return str(original.args[0])[:120] if original is not None and original.args else "?"
