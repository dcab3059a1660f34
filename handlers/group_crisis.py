"""Crisis words in a group, from someone the bot cannot write to privately (they never
started it, or blocked it): the supervisors have the alert already; the group gets a gentle
word addressed to everyone, with the 🆘 deep link, in the group's languages.

It is not a reply, names nobody and says nothing of what was written: the person is never
exposed in the group. At most one such word per group every ``QUIET_FOR`` (a hard evening
may bring several messages; the group needs the link once)."""

from __future__ import annotations

import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from flows import groups as rules
from handlers.group_render import in_languages, label_in_languages
from storage import groups

log = logging.getLogger(__name__)

QUIET_FOR = 600.0  # seconds between two gentle words in one group
_last_word: dict[int, float] = {}


def gentle_words() -> str:
    return _(
        "💛 A word for everyone here: if things feel too heavy right now, you don't have to "
        "carry it alone. Tap 🆘 below for help in a private chat; nobody here will see it."
    )


async def gentle_post(
    bot: Bot, session: AsyncSession, message: Message, i18n: I18n, language: str
) -> bool:
    """Post the gentle word (True), unless one was posted here moments ago or it failed."""
    chat_id = message.chat.id
    now = time.monotonic()
    if now - _last_word.get(chat_id, -QUIET_FOR) < QUIET_FOR:
        return False
    group = await groups.by_chat(session, chat_id)
    languages = group.language_list if group is not None else [language]
    username = (await bot.me()).username
    label = "🆘 " + label_in_languages(i18n, languages, lambda: _("Help now"))
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=label, url=f"https://t.me/{username}?start={rules.HELP_LINK}"
                )
            ]
        ]
    )
    try:
        sent = await bot.send_message(
            chat_id,
            in_languages(i18n, languages, gentle_words),
            reply_markup=markup,
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
        )
    except TelegramAPIError as error:
        log.warning("the gentle word in a group could not be posted (%s)", type(error).__name__)
        return False
    _last_word[chat_id] = now
    if group is not None:
        await groups.record_post(session, group.id, sent.message_id, "notice")
    return True
