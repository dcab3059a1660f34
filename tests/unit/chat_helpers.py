"""Helpers for the chat behaviour tests: people who are already onboarded, what they see,
what the bot answered to their taps, and what the database holds about them.

Everything here drives the real dispatcher through `tests.harness`; only the Bot API is
faked. A `Watch` is an aiogram request middleware on the fake session, so it sees every
call the bot makes, including the short answers to button taps ("toasts") and the files
it sends, which `FakeTelegram` records without their content.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.methods import AnswerCallbackQuery, SendDocument, TelegramMethod
from aiogram.types import Chat as TelegramChat
from aiogram.types import Document, Message, PhotoSize, Update, Voice
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows import timezones
from flows.onboarding import CONSENT_VERSION
from storage import daily_logs, users
from storage.models import Consent, DailyLog, FsmRecord, Role, User
from tests.fakes import BOT_USER, Sent
from tests.harness import Chat, Harness

EXPIRED = "This button has expired."
APOLOGIES = ("something went wrong", "try again")  # both apologies of handlers/errors.py

_message_ids = itertools.count(500_000)
_update_ids = itertools.count(500_000)


class Watch:
    """Every Bot API call the bot makes, in order (a request middleware on the fake)."""

    def __init__(self, harness: Harness) -> None:
        self.calls: list[TelegramMethod[Any]] = []
        harness.telegram.middleware(self)

    async def __call__(self, make_request: Any, bot: Any, method: TelegramMethod[Any]) -> Any:
        result = await make_request(bot, method)
        self.calls.append(method)  # what Telegram accepted: what the person sees
        return result

    def toasts(self, since: int = 0) -> list[AnswerCallbackQuery]:
        return [c for c in self.calls[since:] if isinstance(c, AnswerCallbackQuery)]

    def documents(self, since: int = 0) -> list[SendDocument]:
        return [c for c in self.calls[since:] if isinstance(c, SendDocument)]


@dataclass
class Person:
    """One person in a private chat with the bot."""

    harness: Harness
    watch: Watch
    chat: Chat
    updates: int = 0  # how many updates this person has sent (messages and taps)
    toasts: list[str | None] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.chat.id

    async def send(self, text: str) -> Sent:
        self.updates += 1
        return await self.chat.send(text)

    async def say(self, text: str) -> list[Sent]:
        """Send text; every call the bot made (it may be silent)."""
        self.updates += 1
        return await self.harness.feed(self.harness.people.text(self.chat.user, text))

    async def feed(self, update: Update) -> list[Sent]:
        self.updates += 1
        return await self.harness.feed(update)

    async def press(self, data: str, message: Message | None = None) -> str | None:
        """Press a button (any callback data) on ``message`` (default: the last shown).

        Returns the short answer shown to the person (None when the tap was answered
        silently). Fails when the bot did not answer the tap exactly once: an unanswered
        tap leaves the button spinning. Safe to run concurrently with other presses.
        """
        update = self.harness.people.press(self.chat.user, message or self.shown(), data)
        before = len(self.watch.calls)
        self.updates += 1
        await self.harness.feed(update)
        query_id = update.callback_query.id
        answers = [a for a in self.watch.toasts(before) if a.callback_query_id == query_id]
        assert len(answers) == 1, f"the tap {data!r} was answered {len(answers)} times"
        self.toasts.append(answers[0].text)
        return answers[0].text

    async def tap(self, label: str, message: Message | None = None) -> str | None:
        """Tap the button labelled ``label`` (exact match first, else contains)."""
        shown = message or self.shown()
        return await self.press(button_data(shown, label), shown)

    def shown(self) -> Message:
        return self.chat.shown()

    def texts(self) -> list[str]:
        return [t for t in self.chat.texts() if t]

    def last_text(self) -> str:
        return self.texts()[-1]

    def labels(self, message: Message | None = None) -> list[str]:
        return labels(message or self.shown())

    def assert_no_apology(self) -> None:
        said = "\n".join(self.texts() + [t or "" for t in self.toasts])
        for apology in APOLOGIES:
            assert apology not in said, f"the bot apologised for a failure: {said!r}"


def person(harness: Harness, watch: Watch, user_id: int, language: str = "en") -> Person:
    return Person(harness, watch, harness.chat(user_id, language))


def labels(message: Message) -> list[str]:
    markup = message.reply_markup
    return [b.text for row in (markup.inline_keyboard if markup else []) for b in row]


def button_data(message: Message, label: str) -> str:
    markup = message.reply_markup
    found = [b for row in (markup.inline_keyboard if markup else []) for b in row]
    for match in (
        lambda text: text == label,
        lambda text: text.casefold() == label.casefold(),
        lambda text: label.casefold() in text.casefold(),
    ):
        for b in found:
            if match(b.text) and b.callback_data:
                return b.callback_data
    raise AssertionError(f"no button {label!r} on the message; buttons: {[b.text for b in found]}")


# --- people who are already onboarded, straight in the database -------------------------


async def make_person(
    sessionmaker: async_sessionmaker[AsyncSession],
    telegram_id: int,
    *,
    locale: str = "en",
    zone: str = "Europe/London",
    role: Role = Role.MENTEE,
    checkin: dt.time = dt.time(20),
) -> int:
    """An onboarded person (consent given); returns their users.id."""
    async with sessionmaker() as session:
        user = await users.create(
            session, telegram_id=telegram_id, locale=locale, pseudonym="Fern-101", role=role
        )
        users.record_consent(session, user, CONSENT_VERSION)
        users.finish_onboarding(user, zone, checkin)
        await session.commit()
        return user.id


def local_today(zone: str) -> dt.date:
    return timezones.local_date(zone, dt.datetime.now(dt.UTC))


SAMPLE_ANSWERS: dict[str, Any] = {
    "symptom_intensity": 6,
    "symptoms": ["fatigue", "brain_fog"],
    "energy": 3,
    "activity": "more",
    "rest_breaks": 1,
    "sleep_quality": 4,
    "sleep_hours": 5.5,
    "mood": 5,
    "interference": 7,
    "note": "Long day at the clinic",
}


async def save_log(
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: int,
    day: dt.date,
    **changes: Any,
) -> None:
    async with sessionmaker() as session:
        await daily_logs.save(session, user_id, day, {**SAMPLE_ANSWERS, **changes})
        await session.commit()


# --- what the database holds -------------------------------------------------------------


async def count(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def user_row(sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int) -> User | None:
    async with sessionmaker() as session:
        return await users.get_by_telegram_id(session, telegram_id)


async def logs_of(
    sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int
) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(DailyLog)
            .join(User, User.id == DailyLog.user_id)
            .where(User.telegram_id == telegram_id)
            .order_by(DailyLog.local_date)
        )
        return [{"date": log.local_date, **daily_logs.answers_of(log)} for log in rows.scalars()]


async def consents_of(
    sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int
) -> list[Consent]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Consent)
            .join(User, User.id == Consent.user_id)
            .where(User.telegram_id == telegram_id)
        )
        return list(rows.scalars())


def fsm_key(chat_id: int, user_id: int | None = None) -> str:
    key = StorageKey(bot_id=BOT_USER.id, chat_id=chat_id, user_id=user_id or chat_id)
    return DefaultKeyBuilder(with_destiny=True).build(key)


async def conversation(
    sessionmaker: async_sessionmaker[AsyncSession], chat_id: int, user_id: int | None = None
) -> tuple[str | None, dict[str, Any]]:
    """The stored conversation state and data of a private chat (None, {} when none)."""
    async with sessionmaker() as session:
        record = await session.get(FsmRecord, fsm_key(chat_id, user_id))
        if record is None:
            return None, {}
        return record.state, json.loads(record.data) if record.data else {}


# --- updates People does not build -------------------------------------------------------


def media_update(user: Any, kind: str) -> Update:
    content: dict[str, Any] = {
        "photo": {"photo": [PhotoSize(file_id="ph", file_unique_id="ph1", width=90, height=90)]},
        "voice": {"voice": Voice(file_id="vo", file_unique_id="vo1", duration=3)},
        "document": {
            "document": Document(file_id="do", file_unique_id="do1", file_name="scan.pdf")
        },
    }[kind]
    return _update(user, "message", **content)


def edited_update(user: Any, text: str) -> Update:
    return _update(user, "edited_message", text=text, edit_date=int(dt.datetime.now().timestamp()))


def _update(user: Any, kind: str, **content: Any) -> Update:
    message = Message(
        message_id=next(_message_ids),
        date=dt.datetime.now(dt.UTC),
        chat=TelegramChat(id=user.id, type="private"),
        from_user=user,
        **content,
    )
    return Update(update_id=next(_update_ids), **{kind: message})


# --- the daily log, tap by tap ------------------------------------------------------------


def header(step: int) -> str:
    return f"Daily log · {step}/10"


ANSWERS = (
    ("symptom_intensity", "3"),
    ("symptoms", "pain"),
    ("symptoms", "done"),
    ("energy", "6"),
    ("activity", "as_planned"),
    ("rest_breaks", "2"),
    ("sleep_quality", "5"),
    ("sleep_hours", "7"),
    ("mood", "6"),
    ("interference", "4"),
)
STEP_OF_ANSWER = (1, 2, 2, 3, 4, 5, 6, 7, 8, 9)


async def answer_questions(p: Person, *, from_step: int = 1) -> None:
    """Tap through the log from ``from_step`` up to the note, with fixed answers (in any
    language: the buttons are found by their data)."""
    for step, (name, value) in zip(STEP_OF_ANSWER, ANSWERS, strict=True):
        if step >= from_step:
            await tap_data(p, f"log:{name}:{value}")


async def answer_all(p: Person, *, from_step: int = 1, note: str | None = None) -> None:
    """``answer_questions``, then skip or type the note."""
    await answer_questions(p, from_step=from_step)
    if note is None:
        await tap_data(p, "log:note:skip")
    else:
        await p.send(note)


async def tap_data(p: Person, data: str) -> None:
    """Tap the button carrying ``data`` on the message shown last; it must be there."""
    shown = p.shown()
    markup = shown.reply_markup
    datas = [b.callback_data for row in (markup.inline_keyboard if markup else []) for b in row]
    assert data in datas, f"no button {data!r} on the message shown; buttons: {datas}"
    assert await p.press(data, shown) is None, f"the tap {data!r} was refused"
