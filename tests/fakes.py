"""In-process stand-ins for Telegram, for unit tests and benchmarks (no network).

`FakeTelegram` is an aiogram session that answers every Bot API call the way
Telegram would and records it; `People` builds the updates a person would send.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

from bot.app import build_bot
from bot.settings import Settings

QUERY_ANSWERED = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BOT_USER = User(id=123456, is_bot=True, first_name="peerbot", username="peerbot_test_bot")


@dataclass
class Sent:
    method: str
    chat_id: int | None
    text: str | None
    markup: Any
    message: Message | None


class FakeTelegram(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self._ids = itertools.count(1000)
        self._answered: set[str] = set()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, AnswerCallbackQuery):
            # Like Telegram: a button press can be answered once.
            if method.callback_query_id in self._answered:
                raise TelegramBadRequest(method=method, message=QUERY_ANSWERED)
            self._answered.add(method.callback_query_id)
        if isinstance(
            method, SendMessage | SendDocument | EditMessageText | EditMessageReplyMarkup
        ):
            chat_id = int(method.chat_id) if method.chat_id is not None else None
            message_id = getattr(method, "message_id", None) or next(self._ids)
            text = getattr(method, "text", None) or getattr(method, "caption", None)
            # Like Telegram: a reply keyboard belongs to the chat, not to the message.
            markup = method.reply_markup
            inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
            message = Message(
                message_id=message_id,
                date=dt.datetime.now(dt.UTC),
                chat=Chat(id=chat_id or 0, type="private"),
                from_user=BOT_USER,
                text=text,
                reply_markup=inline,
            ).as_(bot)
            self.sent.append(
                Sent(method.__api_method__, chat_id, text, method.reply_markup, message)
            )
            return message
        self.sent.append(
            Sent(method.__api_method__, getattr(method, "chat_id", None), None, None, None)
        )
        return True

    def last_message(self, chat_id: int) -> Message:
        """What the chat shows last: the newest message sent or edited there."""
        for sent in reversed(self.sent):
            if sent.chat_id == chat_id and sent.message is not None:
                return sent.message
        raise LookupError(f"nothing was sent to chat {chat_id}")

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


def fake_bot(settings: Any = None) -> tuple[Bot, FakeTelegram]:
    """peerbot's own Bot (its request middlewares included) over the fake Telegram."""
    telegram = FakeTelegram()
    return build_bot(settings or Settings(_env_file=None), "123456:TEST", telegram), telegram


def plain_bot() -> tuple[Bot, FakeTelegram]:
    """A bare aiogram Bot over the fake Telegram, for baselines."""
    telegram = FakeTelegram()
    bot = Bot(
        token="123456:TEST",
        session=telegram,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    return bot, telegram


@dataclass
class People:
    """Builds the updates people send; ids are unique per instance."""

    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def user(self, user_id: int, language_code: str = "en", first_name: str = "Sam") -> User:
        return User(id=user_id, is_bot=False, first_name=first_name, language_code=language_code)

    def text(
        self, user: User, text: str, chat_type: str = "private", chat_id: int | None = None
    ) -> Update:
        return self._message(user, chat_type, chat_id, text=text, entities=_command_entity(text))

    def sticker(self, user: User) -> Update:
        sticker = {
            "file_id": "CAACAgIAAxk",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._message(user, "private", None, sticker=sticker)

    def press(self, user: User, message: Message, data: str) -> Update:
        query = CallbackQuery(
            id=str(next(self._update_ids)),
            from_user=user,
            chat_instance="ci",
            message=message,
            data=data,
        )
        return Update(update_id=next(self._update_ids), callback_query=query)

    def _message(self, user: User, chat_type: str, chat_id: int | None, **content: Any) -> Update:
        chat = Chat(
            id=chat_id or user.id, type=chat_type, title="Group" if chat_type != "private" else None
        )
        message = Message(
            message_id=next(self._message_ids),
            date=dt.datetime.now(dt.UTC),
            chat=chat,
            from_user=user,
            **content,
        )
        return Update(update_id=next(self._update_ids), message=message)


def _command_entity(text: str) -> list[dict[str, Any]] | None:
    if not text.startswith("/"):
        return None
    return [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
