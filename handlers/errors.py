"""When something fails mid-update: tell the person, keep what they gave, log no text."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.exc import OperationalError

from bot.i18n import locale_for
from bot.tracing import where

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="errors")
    r.errors.register(apologise)
    return r


async def apologise(event: ErrorEvent, bot: Bot, i18n: I18n, **data: object) -> None:
    error = event.exception
    update = event.update
    # Never the exception whole: its message and a database error's parameters can quote
    # what the person typed. Its type and where it was raised say what to look at.
    log.error("update %s failed: %s at %s", update.update_id, type(error).__name__, where(error))
    chat_id = _chat_of(event)
    if chat_id is None:
        return
    with i18n.context(), i18n.use_locale(locale_for(dict(data), i18n.default_locale)):
        if isinstance(error, OperationalError):
            text = _(
                "I'm having trouble saving right now. What you entered before is kept — please try again in a moment."
            )
        else:
            text = _(
                "Sorry — something went wrong on my side. What you entered before is kept; please try again."
            )
        try:
            query = update.callback_query
            if query is None or not await _told_on_the_button(bot, query.id, text):
                await bot.send_message(chat_id, text)
        except TelegramAPIError:
            log.warning("could not tell chat about the failure of update %s", update.update_id)


async def _told_on_the_button(bot: Bot, query_id: str, text: str) -> bool:
    """A pop-up on the pressed button, unless the handler had answered it already (a
    button is answered once): then the caller says it in the chat instead."""
    try:
        await bot.answer_callback_query(query_id, text=text[:200], show_alert=True)
    except TelegramBadRequest:
        return False
    return True


def _chat_of(event: ErrorEvent) -> int | None:
    update = event.update
    message = update.message or update.edited_message
    if message is not None and message.chat.type == "private":
        return message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return None
