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
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from flows import groups as rules
from handlers.group_render import in_languages, label_in_languages
from handlers.multilingual import languages_of
from storage import groups, outbox

log = logging.getLogger(__name__)

QUIET_FOR = 600  # seconds: one gentle word in a group per window this long


def gentle_words() -> str:
    return _(
        "💛 A word for everyone here: if things feel too heavy right now, you don't have to "
        "carry it alone. Tap 🆘 below for help in a private chat; nobody here will see it."
    )


async def gentle_post(
    bot: Bot, session: AsyncSession, message: Message, i18n: I18n, language: str
) -> bool:
    """Queue the gentle word, urgent and durable like every crisis answer (a 429 or a 5xx
    delays it, never loses it). Its key names the group's ten-minute window, so a hard
    evening's several messages bring it once (False: it is already on its way)."""
    chat_id = message.chat.id
    group = await groups.by_chat(session, chat_id)
    languages = languages_of(group, language)
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
    window = int(time.time() // QUIET_FOR)
    # Under the group's own keys, a facilitator's tidy-up can remove it later.
    key = f"group:{group.id}:gentle:{window}" if group else f"gentle:{chat_id}:{window}"
    if (await outbox.outcome_of(session, key))[0] is not None:
        return False
    params = {
        "text": in_languages(i18n, languages, gentle_words),
        "parse_mode": "HTML",
        "reply_markup": markup.model_dump(exclude_none=True),
    }
    if message.is_topic_message:
        params["message_thread_id"] = message.message_thread_id
    await outbox.enqueue(
        session, key=key, chat_id=chat_id, method="sendMessage", params=params, urgent=True
    )
    log.warning("crisis screening: a gentle word queued for a group")
    return True
