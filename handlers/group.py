"""Groups: flows happen in private chats, so commands there get a pointer to one."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers import texts


def router() -> Router:
    r = Router(name="group")
    r.message.filter(F.chat.type.in_({"group", "supergroup"}))
    r.message.register(point_to_private_chat, F.text.startswith("/"))
    r.message.register(stay_quiet)  # group talk is people talking to each other
    r.edited_message.register(stay_quiet, F.chat.type.in_({"group", "supergroup"}))
    return r


async def point_to_private_chat(message: Message, bot: Bot) -> None:
    me = await bot.me()
    addressed = (message.text or "").split()[0].partition("@")[2]
    if addressed and addressed.lower() != (me.username or "").lower():
        return  # a command for another bot in the group
    link = f"https://t.me/{me.username}"
    await message.reply(
        texts.private_chat_only(),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="peerbot ▸", url=link)]]
        ),
    )


async def stay_quiet(message: Message) -> None:
    pass
