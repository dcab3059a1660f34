"""Callback data and inline keyboards. Callback data is only a hint: handlers re-check it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder


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


class NoteAction(CallbackData, prefix="note"):
    action: str  # "trim" | "skip"


class CancelFlow(CallbackData, prefix="cancel"):
    pass


def rows(buttons: Iterable[InlineKeyboardButton], *widths: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.add(*buttons)
    builder.adjust(*widths)
    return builder.as_markup()


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def with_rows(
    markup: InlineKeyboardMarkup, *extra: Sequence[InlineKeyboardButton]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*markup.inline_keyboard, *[list(row) for row in extra]]
    )
