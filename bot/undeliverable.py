"""What the delivery worker does when an outbox row cannot reach its chat, or reaches it.

A row names its fallback in ``on_undeliverable`` as ``name`` or ``name:argument``
(the argument: whose message it was, for instance). One table says who handles each.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import reminders
from flows.alerts import (
    ALL_SUPERVISORS,
    NOBODY_REACHED,
    already_paged,
    copy_reached,
    direct_copy_failed,
    reach_supervisors_directly,
    supervisor_channel_reached,
)
from handlers.alerts import REPOST, repost_escalation
from handlers.events import UNREACHABLE, tell_creator_unreachable
from handlers.graduation import NEWS_UNREACHED, booster_unreached, news_unreached
from handlers.group_checkin import UNREACHABLE as UNREACHABLE_GROUP
from handlers.group_checkin import group_unreachable as pause_unreachable_group
from handlers.reach import tell_supervisor
from handlers.relay import tell_sender
from storage import outbox
from storage.models import utcnow
from storage.outbox import Claimed

log = logging.getLogger(__name__)

# fallback(session, the row given up, the error, the argument after ":")
Fallback = Callable[[AsyncSession, Claimed, str, str], Awaitable[None]]


def fallbacks(i18n: I18n, settings: Settings | None = None) -> dict[str, Fallback]:
    async def all_supervisors(session: AsyncSession, row: Claimed, error: str, paged: str) -> None:
        # The channel's copy: to every supervisor but those paged with it directly.
        await reach_supervisors_directly(session, row, error, already_paged(paged))

    async def tell_relay_sender(session: AsyncSession, row: Claimed, _: str, sender: str) -> None:
        # A relayed message the recipient could not get (blocked the bot, left): say so.
        await tell_sender(session, i18n, row, sender)

    async def tell_case_supervisor(
        session: AsyncSession, row: Claimed, _: str, supervisor: str
    ) -> None:
        # A supervisor's message to the person of an alert did not arrive: they must know.
        await tell_supervisor(session, i18n, row, supervisor)

    async def repost(session: AsyncSession, row: Claimed, _: str, fallback: str) -> None:
        # An escalation could not edit the channel's message of the case: post it anew.
        await repost_escalation(session, row, fallback)

    async def nobody_reached(session: AsyncSession, row: Claimed, error: str, _: str) -> None:
        await direct_copy_failed(session, row, error, now=utcnow())

    async def pause_reminders(session: AsyncSession, row: Claimed, _: str, person: str) -> None:
        log.warning("reminders of user %s paused: their chat cannot be reached", person)
        await reminders.pause_unreachable(session, int(person))

    async def event_unreachable(session: AsyncSession, row: Claimed, _: str, event: str) -> None:
        # An event reminder could not reach someone coming: their place stays; the creator
        # hears, so they can tell them another way.
        log.warning("event %s: a reminder could not be delivered", event)
        await tell_creator_unreachable(session, i18n, row, event)

    async def booster_not_reached(session: AsyncSession, row: Claimed, _: str, arg: str) -> None:
        # A graduate's booster check-in could not reach them: the admins hear of it.
        log.warning("a booster check-in could not reach its graduate")
        await booster_unreached(session, i18n, settings, row, arg)

    async def graduation_news_unreached(
        session: AsyncSession, row: Claimed, _: str, admin: str
    ) -> None:
        # An admin confirmed a graduation alone and was told both would hear: one did not.
        await tell_sender(session, i18n, row, admin, news_unreached)

    async def group_unreachable(session: AsyncSession, row: Claimed, _: str, group: str) -> None:
        # A group's post refused for good: the group pauses, its facilitators are told.
        await pause_unreachable_group(session, i18n, int(group))

    async def send_anew(session: AsyncSession, row: Claimed, _: str, __: str) -> None:
        # An edit Telegram refused for good: its words come as a new message instead.
        await outbox.enqueue(
            session,
            key=f"{row.key}:anew",
            chat_id=row.chat_id,
            method="sendMessage",
            params=_as_new_message(row.params),
            urgent=row.urgent,
        )

    return {
        ALL_SUPERVISORS: all_supervisors,
        outbox.SEND_ANEW: send_anew,
        UNREACHABLE: event_unreachable,
        UNREACHABLE_GROUP: group_unreachable,
        "booster_unreached": booster_not_reached,
        NEWS_UNREACHED: graduation_news_unreached,
        "tell_sender": tell_relay_sender,
        "tell_supervisor": tell_case_supervisor,
        "pause_reminders": pause_reminders,
        NOBODY_REACHED: nobody_reached,
        REPOST: repost,
    }


def _as_new_message(edit: dict[str, Any]) -> dict[str, Any]:
    """An edit's text and buttons as a message of their own (``enqueue`` adds the chat)."""
    return {
        k: v for k, v in edit.items() if k not in ("chat_id", "message_id", "inline_message_id")
    }


class Undeliverable:
    """The worker's two hooks, dispatching on the row's ``on_undeliverable``."""

    def __init__(self, i18n: I18n, settings: Settings | None = None) -> None:
        self.fallbacks = fallbacks(i18n, settings)

    async def given_up(self, session: AsyncSession, row: Claimed, error: str) -> None:
        name, _, argument = (row.on_undeliverable or "").partition(":")
        fallback = self.fallbacks.get(name)
        if fallback is None:
            log.error("outbox: row %s names an unknown fallback %r", row.id, name)
            return
        await fallback(session, row, error, argument)

    async def reached(self, session: AsyncSession, row: Claimed) -> None:
        name = (row.on_undeliverable or "").partition(":")[0]
        if name == ALL_SUPERVISORS:
            await supervisor_channel_reached(session, row)
        if name in (ALL_SUPERVISORS, NOBODY_REACHED):
            await copy_reached(session, row)
