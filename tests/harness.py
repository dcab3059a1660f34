"""Talk to the real dispatcher in process, as a person would, with Telegram faked.

    chat = await harness.chat(user_id=7, language="es")
    reply = await chat.send("/start")
    reply = await chat.tap("Español")

Every update goes through the same middlewares, routers and database as in
production; only the HTTP calls to Telegram are answered by `FakeTelegram`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update, User

from bot.app import build_dispatcher
from bot.settings import Settings
from tests.fakes import FakeTelegram, People, Sent, fake_bot


@dataclass
class Harness:
    dispatcher: Dispatcher
    bot: Bot
    telegram: FakeTelegram
    people: People = field(default_factory=People)

    def chat(self, user_id: int = 7, language: str = "en", first_name: str = "Sam") -> Chat:
        return Chat(self, self.people.user(user_id, language, first_name))

    async def feed(self, update: Update) -> list[Sent]:
        before = len(self.telegram.sent)
        await self.dispatcher.feed_update(self.bot, update)
        return self.telegram.sent[before:]


@dataclass
class Chat:
    harness: Harness
    user: User

    @property
    def id(self) -> int:
        return self.user.id

    async def send(self, text: str) -> Sent:
        return _last_text(await self.harness.feed(self.harness.people.text(self.user, text)))

    async def send_update(self, update: Update) -> list[Sent]:
        return await self.harness.feed(update)

    async def sticker(self) -> Sent:
        return _last_text(await self.harness.feed(self.harness.people.sticker(self.user)))

    async def press(self, data: str, message: Message | None = None) -> list[Sent]:
        shown = message or self.shown()
        return await self.harness.feed(self.harness.people.press(self.user, shown, data))

    async def tap(self, label: str, message: Message | None = None) -> list[Sent]:
        """Press the button whose text contains ``label`` on the message shown last."""
        shown = message or self.shown()
        return await self.press(button_data(shown, label), shown)

    def shown(self) -> Message:
        return self.harness.telegram.last_message(self.id)

    def texts(self) -> list[str]:
        return [sent.text or "" for sent in self.harness.telegram.sent if sent.chat_id == self.id]


def button_data(message: Message, label: str) -> str:
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            if label.casefold() in button.text.casefold() and button.callback_data:
                return button.callback_data
    labels = [b.text for row in (markup.inline_keyboard if markup else []) for b in row]
    raise AssertionError(f"no button with {label!r} on the message; buttons: {labels}")


def answered(sent: list[Sent], method: str = "answerCallbackQuery") -> list[Sent]:
    return [s for s in sent if s.method == method]


def _last_text(sent: list[Sent]) -> Sent:
    with_text = [s for s in sent if s.text]
    if not with_text:
        raise AssertionError(f"the bot said nothing; calls: {[s.method for s in sent]}")
    return with_text[-1]


def make_harness(settings: Settings, engine: Any) -> Harness:
    bot, telegram = fake_bot(settings)
    return Harness(build_dispatcher(settings, engine), bot, telegram)
