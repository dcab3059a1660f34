"""Assembling the Bot and the Dispatcher, and running them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Coroutine
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery import DeliveryWorker, wake_on_outbox_commits
from bot.i18n import PersonLocaleMiddleware, create_i18n
from bot.middlewares import CommitBeforeSpeaking, ForeignButtons, RefuseUnreadable, UnitOfWork
from bot.polling import poll
from bot.retry import RetryRequests
from bot.scheduler import start_scheduler
from bot.screening import CrisisScreening
from bot.settings import Settings
from bot.undeliverable import Undeliverable
from flows import alerts as alert_flow
from flows import reminders
from handlers import get_routers, measures
from handlers.menu import set_default_menus
from storage import crypto, keys, poller_lock
from storage.db import create_engine, create_sessionmaker
from storage.fsm import SqlStorage
from storage.migrate import upgrade_async
from storage.models import utcnow

log = logging.getLogger(__name__)


def configure_encryption(settings: Settings) -> None:
    if settings.encryption_key is not None:
        keys = crypto.parse_keys(settings.encryption_key.get_secret_value())
    else:
        keys = crypto.load_or_create_key_file(settings.data_dir)
    crypto.use_cipher(crypto.Cipher(keys))


def build_bot(settings: Settings, token: str, session: BaseSession | None = None) -> Bot:
    """The bot; ``session`` replaces the HTTP client (tests and benchmarks fake Telegram)."""
    session = session or AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(CommitBeforeSpeaking())
    session.middleware(RetryRequests())
    return Bot(
        token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )


def build_dispatcher(settings: Settings, engine: AsyncEngine) -> Dispatcher:
    """Middlewares in the order an update meets them, then the routers."""
    sessionmaker = create_sessionmaker(engine)
    storage = SqlStorage(sessionmaker)
    i18n = create_i18n(settings.default_locale)
    dispatcher = Dispatcher(storage=storage, disable_fsm=True, settings=settings, i18n=i18n)
    dispatcher.update.outer_middleware(UnitOfWork(sessionmaker, storage))
    dispatcher.update.outer_middleware(dispatcher.fsm)
    dispatcher.update.outer_middleware(PersonLocaleMiddleware(i18n))
    screening = CrisisScreening(settings, i18n)  # what people write: messages and their edits
    dispatcher.message.outer_middleware(screening)
    dispatcher.edited_message.outer_middleware(screening)
    unreadable = RefuseUnreadable()  # after screening: crisis words are read all the same
    dispatcher.message.outer_middleware(unreadable)
    dispatcher.edited_message.outer_middleware(unreadable)
    dispatcher.callback_query.outer_middleware(unreadable)
    dispatcher.callback_query.outer_middleware(ForeignButtons())
    dispatcher.include_routers(*get_routers())
    return dispatcher


def settle_memory() -> None:
    """Once start-up is done: what it loaded (the screening lexicons, the catalogs, the
    models, the dispatcher) lives as long as the process, so the cyclic garbage collector
    stops walking it (``gc.freeze``), and young objects are collected every 10,000
    allocations instead of 700. With Python's defaults, collection took 15 % of a busy
    bot's time (benchmarks/throughput.py); reference counting still frees almost
    everything an update makes at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def look_at_supervisor_chat(bot: Bot, settings: Settings) -> None:
    """Is the supervisor group reachable, and a forum (then each case gets a topic)?"""
    if settings.supervisor_chat_id is None:
        log.warning("SUPERVISOR_CHAT_ID is not set: alerts go to supervisors directly only")
        return
    try:
        chat = await bot.get_chat(settings.supervisor_chat_id)
    except TelegramAPIError as error:
        log.error(
            "SUPERVISOR CHAT %s IS UNREACHABLE (%s): alerts will go to supervisors directly",
            settings.supervisor_chat_id,
            type(error).__name__,
        )
        return
    if settings.supervisor_topics is None:
        settings.supervisor_topics = bool(chat.is_forum)


async def warn_if_alerts_go_nowhere(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Loudly, at start: an alert that reaches nobody, or nobody who may acknowledge it.
    (People in crisis are then told to call the crisis lines; /status and `peerbot status`
    say it too.)"""
    async with sessionmaker() as session:
        problems = await alert_flow.alerting_problems(session, settings.supervisor_chat_id)
    if "nobody" in problems:
        log.error(
            "NOBODY WILL RECEIVE ALERTS: SUPERVISOR_CHAT_ID is not set and there is no "
            "supervisor. People in crisis are told to call the crisis lines. Set "
            "SUPERVISOR_CHAT_ID to the supervisors' group and run "
            "`peerbot roles add <telegram id> supervisor` (see the README's set-up)."
        )
    elif "no_supervisor" in problems:
        log.error(
            "NO SUPERVISOR: alerts reach the supervisor channel, but nobody can acknowledge "
            "them and escalation pages nobody. Run `peerbot roles add <telegram id> supervisor`."
        )


async def schedule_missing_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """People onboarded before reminders existed get their daily reminder (and mentors
    their weekly digest); everyone else already has a row, so this adds nothing."""
    async with sessionmaker() as session:
        added = await reminders.backfill(session, utcnow(), settings.digest_weekday)
        added += await measures.backfill(session, utcnow())
        await session.commit()
    if added:
        log.info("reminders: scheduled %d missing reminder or digest rows", added)


async def run_polling(settings: Settings, token: str) -> None:
    """Long-poll through the inbox (bot/polling.py) and drain the outbox beside it
    (bot/delivery.py) until SIGTERM/SIGINT."""
    configure_encryption(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        polling_lock = await poller_lock.take(engine)  # before anything is changed
    except poller_lock.AnotherPoller as error:
        await engine.dispose()
        raise SecondPoller(str(error)) from None
    try:
        await _while_the_lock_is_ours(
            _run_polling(settings, token, engine), polling_lock, engine, settings
        )
    finally:
        await polling_lock.release()
        await engine.dispose()


async def _while_the_lock_is_ours(
    running: Coroutine[Any, Any, None],
    lock: poller_lock.PollerLock,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    """Runs the bot until it ends, or until another poller holds the database's lock (ours
    died with its connection and another bot took it): then this one stops, loudly, rather
    than break conversations by polling beside it."""
    bot_task = asyncio.create_task(running, name="bot")
    try:
        while True:
            done, _ = await asyncio.wait({bot_task}, timeout=settings.poller_lock_check_seconds)
            if done:
                return bot_task.result()
            if not await lock.still_ours(engine):
                log.critical("POLLER LOCK LOST: another peerbot polls with this database")
                raise SecondPoller("(it took over after this bot's database connection dropped)")
    finally:
        if not bot_task.done():  # lost the lock, or we are being stopped: the bot stops too
            bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bot_task


class SecondPoller(RuntimeError):
    """Another peerbot already polls Telegram with this database (the text says which)."""


class KeysDoNotOpen(RuntimeError):
    """Stored text exists that no configured key opens (the text names the columns)."""


async def _refuse_unopenable_data(engine: AsyncEngine) -> None:
    """A lost key file (a new one is made), or a rotation ended by dropping the old key
    before `peerbot keys rotate`: starting anyway would fail every person whose data it
    cannot read, so the bot does not start."""
    async with create_sessionmaker(engine)() as session:
        closed = await keys.unreadable(session, crypto.cipher())
    if closed:
        raise KeysDoNotOpen(", ".join(closed))


async def _run_polling(settings: Settings, token: str, engine: AsyncEngine) -> None:
    await upgrade_async(settings.resolved_database_url)
    await _refuse_unopenable_data(engine)
    bot = build_bot(settings, token)
    dispatcher = build_dispatcher(settings, engine)
    sessionmaker = create_sessionmaker(engine)
    await schedule_missing_reminders(sessionmaker, settings)
    # Outbox rows are retried by the worker alone (RetryRequests is bypassed for them).
    fallback = Undeliverable(dispatcher["i18n"], settings)
    delivery = DeliveryWorker(
        bot,
        sessionmaker,
        on_undeliverable=fallback.given_up,
        on_reached=fallback.reached,
    )
    wake_on_outbox_commits(engine, delivery)  # an alert goes out when its update commits
    dispatcher["delivery"] = delivery
    await delivery.release_claims_of_the_dead()  # we hold the poller lock: theirs are stale
    delivering = asyncio.create_task(delivery.run(), name="delivery")
    scheduler = start_scheduler(sessionmaker, settings, dispatcher["i18n"])
    workflow = {"dispatcher": dispatcher, "bots": (bot,), **dispatcher.workflow_data}
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await set_default_menus(bot, dispatcher["i18n"])
        await look_at_supervisor_chat(bot, settings)
        await warn_if_alerts_go_nowhere(sessionmaker, settings)
        await dispatcher.emit_startup(bot=bot, **workflow)
        settle_memory()
        try:
            await poll(
                bot,
                dispatcher,
                sessionmaker,
                timeout=settings.polling_timeout,
                allowed_updates=dispatcher.resolve_used_update_types(),
                delivery=delivery,
            )
        finally:
            await dispatcher.emit_shutdown(bot=bot, **workflow)
    finally:
        await scheduler.stop()
        delivery.stop()  # sends in flight finish; waiting rows stay in the outbox
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(delivering, timeout=3.0)
        await bot.session.close()
