"""Last resort: whatever no other handler took still gets a short, kind answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.filters import NotAnsweredAlready


def router() -> Router:
    r = Router(name="fallback")
    r.message.filter(F.chat.type == "private", NotAnsweredAlready())
    r.edited_message.filter(NotAnsweredAlready())
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(unexpected_text, F.text)
    r.message.register(unexpected_media)
    r.edited_message.register(edited, F.chat.type == "private")
    r.callback_query.register(expired_button)
    return r


async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know that command. /help lists what you can do."))


async def unexpected_text(message: Message) -> None:
    await message.answer(
        _("I'm not sure what to do with that. /log starts today's log, and /help lists everything.")
    )


async def unexpected_media(message: Message) -> None:
    await message.answer(
        _("I can only read text messages and button taps. /help lists what you can do.")
    )


async def edited(message: Message) -> None:
    await message.answer(
        _(
            "I saw you edited a message. Edits don't change what I've already saved — if something needs correcting, send it again."
        )
    )


async def expired_button(query: CallbackQuery) -> None:
    await query.answer(_("This button has expired."))
