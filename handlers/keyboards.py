"""Callback data and inline keyboards. Callback data is only a hint: handlers re-check it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


class ConsentChoice(CallbackData, prefix="consent"):
    agree: bool


class ZoneChoice(CallbackData, prefix="tz"):
    zone: str


class CheckinChoice(CallbackData, prefix="ci"):
    hhmm: str


class LogAnswer(CallbackData, prefix="log"):
    step: str
    value: str


class CancelFlow(CallbackData, prefix="cancel"):
    pass


class HelpNow(CallbackData, prefix="helpnow"):
    """ "I need to talk to someone now": names nobody, so it only ever asks for the presser."""


class HelpNowAfterLog(CallbackData, prefix="helpnowlog"):
    """The same, under a saved three-tap log (lowest mood): away from the 🆘 view, so the
    answer carries the crisis lines as it does from the log's questions."""


def rows(buttons: Iterable[InlineKeyboardButton], *widths: int) -> InlineKeyboardMarkup:
    """Lay buttons out in rows of the given widths, the last width repeating.

    (aiogram's InlineKeyboardBuilder does the same but deep-copies every button,
    which costs more than the rest of a daily-log step together.)
    """
    pending = list(buttons)
    widths = widths or (1,)
    layout: list[list[InlineKeyboardButton]] = []
    while pending:
        width = widths[min(len(layout), len(widths) - 1)]
        layout.append(pending[:width])
        del pending[:width]
    return InlineKeyboardMarkup(inline_keyboard=layout)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def with_rows(
    markup: InlineKeyboardMarkup, *extra: Sequence[InlineKeyboardButton]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*markup.inline_keyboard, *[list(row) for row in extra]]
    )


def is_current_prompt(query: CallbackQuery, draft: Mapping[str, Any], step: str) -> bool:
    """Only the buttons of the question being asked now count; older (or forged) ones do not.
    A step-by-step flow keeps the step and the id of the message that asked it."""
    return (
        isinstance(query.message, Message)
        and draft.get("step") == step
        and draft.get("prompt") == query.message.message_id
    )


async def retire_buttons(bot: Bot, chat_id: int, message_id: int | None) -> None:
    """Take the buttons off an earlier message, so they cannot be pressed later.

    A message already gone or too old to edit has nothing left to tidy."""
    if message_id:
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )


class ReachOut(CallbackData, prefix="reach"):
    """A mentor's "reach out" on a nudge: opens the relay to that match's mentee.
    The handler re-checks that the presser is the match's mentor and the match active."""

    match_id: int


def button_label() -> str:
    """The 🆘 button's words (handlers/crisis.py's filter knows them in every language)."""
    return _("🆘 My crisis plan")


def crisis_keyboard() -> ReplyKeyboardMarkup:
    """The 🆘 button that stays on the person's keyboard, in their language: it shows their
    crisis plan and the numbers to call, whatever they are in the middle of."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=button_label())]],
        is_persistent=True,
        resize_keyboard=True,
    )
