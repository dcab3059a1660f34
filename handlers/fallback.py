"""Last resort: whatever no other handler took still gets a short, kind answer."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.crisis import escape
from handlers.filters import COMMAND, PRIVATE, TEXT, NotAnsweredAlready
from handlers.keyboards import button_label, crisis_keyboard
from handlers.menu import LOGGERS
from storage.models import Role, User


def router() -> Router:
    r = Router(name="fallback")
    r.message.filter(PRIVATE, NotAnsweredAlready())
    r.edited_message.filter(NotAnsweredAlready())
    r.message.register(unknown_command, COMMAND)
    r.message.register(unexpected_text, TEXT)
    r.message.register(unexpected_media)
    r.edited_message.register(edited, PRIVATE)
    r.callback_query.register(expired_button)
    return r


async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know that command. /help lists what you can do."))


async def unexpected_text(message: Message, user: User | None = None) -> None:
    """Words nobody asked for are often how a hard day is told ("my pain is awful"): answer
    warmly, then say where each kind of help is."""
    if user is None or not user.is_onboarded or user.role not in LOGGERS:
        await message.answer(
            _(
                "I'm not sure what to do with that. /log starts today's log, and /help lists "
                "everything."
            )
        )
        return
    heard = _(
        "💛 Thank you for writing. I'm a bot, so I can't answer this in my own words, but I "
        "don't want to leave you without an answer."
    )
    if user.role == Role.MENTEE:
        where = _(
            "If today is hard: /log keeps a note of it, /mentor lets your mentor know, and the "
            "“{button}” button shows your crisis plan and who to call right now."
        )
    else:
        where = _(
            "If today is hard: /log keeps a note of it, and the “{button}” button shows your "
            "crisis plan and who to call right now."
        )
    await message.answer(
        heard + "\n\n" + where.format(button=escape(button_label())),
        reply_markup=crisis_keyboard(),
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
