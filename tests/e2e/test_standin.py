"""The stand-in speaks the real Bot API: checked with aiogram's own client, not our bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from tests.e2e.standin import TelegramStandIn

TOKEN = "123456:TEST"


@pytest.fixture
async def tg(standin: TelegramStandIn) -> AsyncIterator[Bot]:
    """aiogram's real Bot client pointed at the stand-in."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    # Not session.close(): it sleeps 250 ms for TLS connections to wind down, and this is HTTP.
    if session._session is not None:
        await session._session.close()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons
        ]
    )


def dumped(commands: list[BotCommand]) -> list[dict]:
    return [command.model_dump(exclude_none=True) for command in commands]


async def test_get_me_describes_the_bot_behind_the_token(tg: Bot) -> None:
    me = await tg.get_me()

    assert (me.id, me.is_bot, me.username, me.first_name) == (
        123456,
        True,
        "peerbot_test_bot",
        "peerbot",
    )


async def test_sent_message_comes_back_whole_and_can_be_edited(
    tg: Bot, standin: TelegramStandIn
) -> None:
    ana = standin.user(1001)
    markup = keyboard(("Yes", "answer:yes"), ("No", "answer:no"))

    sent = await tg.send_message(
        ana.id, "Are you <b>ok</b>?", parse_mode="HTML", reply_markup=markup
    )

    assert sent.text == "Are you ok?"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 8, 2)]
    assert sent.chat.id == ana.id and sent.chat.type == "private"
    assert sent.from_user.id == 123456 and sent.from_user.is_bot
    assert sent.reply_markup.model_dump() == markup.model_dump()
    call = await standin.wait_for("sendMessage")
    assert call.params["chat_id"] == ana.id
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "answer:yes"

    edited = await tg.edit_message_text("Thanks!", chat_id=ana.id, message_id=sent.message_id)

    assert edited.text == "Thanks!" and edited.edit_date is not None
    assert edited.reply_markup is None  # not repeated, so Telegram drops it
    assert standin.messages_to(ana.id) == ["Thanks!"]


async def test_edits_that_telegram_refuses(tg: Bot, standin: TelegramStandIn) -> None:
    ana = standin.user(1001)
    sent = await tg.send_message(ana.id, "Same", reply_markup=keyboard(("Ok", "ok")))
    user_message = (await standin.send_text(ana, "mine"))["message"]

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg.edit_message_text(
            "Same", chat_id=ana.id, message_id=sent.message_id, reply_markup=keyboard(("Ok", "ok"))
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await tg.edit_message_text("New", chat_id=ana.id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await tg.edit_message_text("New", chat_id=ana.id, message_id=user_message["message_id"])

    await tg.edit_message_reply_markup(chat_id=ana.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg.edit_message_reply_markup(chat_id=ana.id, message_id=sent.message_id)


async def test_telegram_html_rules_are_enforced(tg: Bot, standin: TelegramStandIn) -> None:
    ana = standin.user(1001)

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await tg.send_message(ana.id, "<div>hi</div>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await tg.send_message(ana.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await tg.send_message(ana.id, "x", reply_markup=keyboard(("Too long", "x" * 65)))
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await tg.send_message(ana.id, "x" * 4097)

    escaped = await tg.send_message(ana.id, "1 &lt; 2 &amp; <i>3</i>", parse_mode="HTML")
    assert escaped.text == "1 < 2 & 3"


async def test_updates_are_delivered_until_confirmed_by_offset(
    tg: Bot, standin: TelegramStandIn
) -> None:
    ana = standin.user(1001, "Ana", "es")
    bot_message = await tg.send_message(ana.id, "Pick one", reply_markup=keyboard(("A", "pick:a")))
    queued = await standin.send_text(ana, "/start CODE123")
    shown = await standin.next_reply(ana.id)
    callback_id = await standin.press(ana, shown.message, "pick:a")

    updates = await tg.get_updates(timeout=0)

    assert [u.update_id for u in updates] == [queued["update_id"], queued["update_id"] + 1]
    command = updates[0].message
    assert command.text == "/start CODE123"
    assert command.from_user.language_code == "es"
    assert [(e.type, e.offset, e.length) for e in command.entities] == [("bot_command", 0, 6)]
    callback = updates[1].callback_query
    assert (callback.id, callback.data) == (callback_id, "pick:a")
    assert callback.message.message_id == bot_message.message_id
    assert await tg.answer_callback_query(callback.id)

    assert len(await tg.get_updates(timeout=0)) == 2  # nothing confirmed yet
    assert await tg.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []
    assert standin.offsets == [updates[-1].update_id + 1]
    assert standin.pending_updates == []


async def test_long_poll_answers_as_soon_as_an_update_is_queued(
    tg: Bot, standin: TelegramStandIn
) -> None:
    ana = standin.user(1001)
    started = time.monotonic()
    assert await tg.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9  # an empty long poll lasts its timeout

    mark = standin.mark()
    poll = asyncio.create_task(tg.get_updates(timeout=5))
    await standin.wait_for("getUpdates", after=mark)  # the poll is waiting now
    started = time.monotonic()
    await standin.send_text(ana, "hello")
    updates = await poll

    assert time.monotonic() - started < 0.5
    assert [u.message.text for u in updates] == ["hello"]


async def test_user_media_edits_and_groups_validate_as_aiogram_updates(
    tg: Bot, standin: TelegramStandIn
) -> None:
    ana = standin.user(1001, username="ana")
    group = standin.group(-100500, "Supervisors", is_forum=True)
    first = await standin.send_text(ana, "typo")
    await standin.send_sticker(ana)
    await standin.send_photo(ana)
    await standin.send_caption_photo(ana, "my pill box")
    await standin.send_voice(ana, duration=7)
    await standin.send_document(ana, "diary.txt", "text/plain")
    await standin.edit_text(ana, first["message"]["message_id"], "fixed")
    await standin.send_text(ana, "/help@peerbot_test_bot", chat=group, thread_id=3)

    updates: list[Update] = await tg.get_updates(timeout=0)

    (text, sticker, photo, captioned, voice, document, edited, in_group) = updates
    assert text.message.text == "typo"
    assert sticker.message.sticker.emoji == "🙂"
    assert len(photo.message.photo) == 2 and photo.message.caption is None
    assert captioned.message.caption == "my pill box"
    assert voice.message.voice.duration == 7
    assert document.message.document.file_name == "diary.txt"
    assert edited.edited_message.text == "fixed"
    assert edited.edited_message.message_id == text.message.message_id
    assert in_group.message.chat.type == "supergroup" and in_group.message.chat.is_forum
    assert in_group.message.message_thread_id == 3
    assert in_group.message.entities[0].length == len("/help@peerbot_test_bot")
    file_ids = {sticker.message.sticker.file_unique_id, voice.message.voice.file_unique_id}
    assert len(file_ids) == 2


async def test_commands_are_kept_per_scope_and_language(tg: Bot, standin: TelegramStandIn) -> None:
    spanish = [BotCommand(command="start", description="Empezar")]
    english = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="help", description="Help"),
    ]
    private = BotCommandScopeAllPrivateChats()

    assert await tg.set_my_commands(spanish, language_code="es")
    assert await tg.set_my_commands(english, scope=private)

    assert dumped(await tg.get_my_commands(language_code="es")) == dumped(spanish)
    assert dumped(await tg.get_my_commands(scope=private)) == dumped(english)
    assert await tg.get_my_commands() == []
    assert standin.commands_for("es") == [{"command": "start", "description": "Empezar"}]

    assert await tg.delete_my_commands(language_code="es")
    assert await tg.get_my_commands(language_code="es") == []


async def test_injected_429_raises_retry_after_once(tg: Bot, standin: TelegramStandIn) -> None:
    standin.fail("sendMessage", 429, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as raised:
        await tg.send_message(1001, "hi")

    assert raised.value.retry_after == 7
    assert "retry after 7" in raised.value.message
    assert (await tg.send_message(1001, "hi")).text == "hi"
    assert [call.status for call in standin.calls] == [429, 200]


async def test_server_errors_once_and_for_a_while(tg: Bot, standin: TelegramStandIn) -> None:
    standin.fail("getMe", 500)
    with pytest.raises(TelegramServerError):
        await tg.get_me()
    assert (await tg.get_me()).id == 123456

    standin.fail_for("sendMessage", 502, seconds=0.3, chat_id=7)
    with pytest.raises(TelegramServerError):
        await tg.send_message(7, "down")
    assert await tg.send_message(8, "other chats still work")
    await asyncio.sleep(0.35)
    assert (await tg.send_message(7, "up again")).text == "up again"


class DoesNotExist(TelegramMethod[bool]):
    __returning__ = bool
    __api_method__: ClassVar[str] = "doesNotExist"


async def test_unknown_method_answers_404(tg: Bot, standin: TelegramStandIn) -> None:
    with pytest.raises(TelegramNotFound, match="Not Found"):
        await tg(DoesNotExist())

    assert standin.calls[-1].status == 404


async def test_blocked_chat_raises_forbidden(tg: Bot, standin: TelegramStandIn) -> None:
    standin.blocked_chats.add(1001)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await tg.send_message(1001, "hello?")

    assert standin.messages_to(1001) == []


async def test_enforced_rate_limits_answer_429(tg: Bot, standin: TelegramStandIn) -> None:
    standin.enforce_limits(per_second=30, per_chat_per_second=1)

    await tg.send_message(1001, "first")
    with pytest.raises(TelegramRetryAfter) as raised:
        await tg.send_message(1001, "too soon")
    await tg.send_message(1002, "another chat is fine")

    assert raised.value.retry_after == 1
    assert standin.rate_limited == 1
    assert standin.messages_to(1001) == ["first"]


async def test_a_group_takes_its_messages_a_minute_and_no_more(
    tg: Bot, standin: TelegramStandIn
) -> None:
    standin.enforce_limits(per_second=30, per_chat_per_second=100, per_group_per_minute=2)
    group = standin.group(-100778, "Supervisors")

    await tg.send_message(group.id, "one")
    await tg.send_message(group.id, "two")
    with pytest.raises(TelegramRetryAfter) as raised:
        await tg.send_message(group.id, "three within the minute")
    await tg.send_message(1001, "a person's chat is not a group")

    assert 59 <= raised.value.retry_after <= 60
    assert standin.messages_to(group.id) == ["one", "two"]


async def test_a_hung_request_is_answered_only_when_released_and_does_nothing(
    tg: Bot, standin: TelegramStandIn
) -> None:
    standin.hang("sendMessage", chat_id=1001)
    stuck = asyncio.create_task(tg.send_message(1001, "stuck", request_timeout=30))
    call = await standin.wait_for("sendMessage", lambda c: c.error == "hung: no answer")
    await tg.send_message(1002, "others go through")
    assert not stuck.done() and not call.ok

    standin.release_hung()
    with pytest.raises(TelegramServerError):
        await stuck
    assert standin.messages_to(1001) == []


async def test_forum_topics(tg: Bot, standin: TelegramStandIn) -> None:
    group = standin.group(-100777, "Supervisors", is_forum=True)

    topic = await tg.create_forum_topic(group.id, "Ana (mentee)")
    sent = await tg.send_message(group.id, "New mentee", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert await tg.close_forum_topic(group.id, topic.message_thread_id)

    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await tg.send_message(group.id, "late", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await tg.create_forum_topic(standin.group(-100888).id, "x")


async def test_chat_info_actions_and_deletion(tg: Bot, standin: TelegramStandIn) -> None:
    ana = standin.user(1001, "Ana", username="ana_p")

    chat = await tg.get_chat(ana.id)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (1001, "private", "Ana", "ana_p")
    assert await tg.send_chat_action(ana.id, "typing")
    sent = await tg.send_message(ana.id, "temporary")
    assert await tg.delete_message(ana.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await tg.delete_message(ana.id, sent.message_id)
    assert standin.messages_to(ana.id) == []


async def test_webhook_blocks_polling_until_deleted(tg: Bot, standin: TelegramStandIn) -> None:
    await standin.send_text(standin.user(1001), "queued")
    assert await tg.set_webhook("https://example.invalid/hook")
    assert (await tg.get_webhook_info()).url == "https://example.invalid/hook"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await tg.get_updates(timeout=0)

    assert await tg.delete_webhook(drop_pending_updates=True)
    assert (await tg.get_webhook_info()).pending_update_count == 0


async def test_next_reply_follows_sends_and_edits_per_chat(
    tg: Bot, standin: TelegramStandIn
) -> None:
    ana, ben = standin.user(1001), standin.user(1002, "Ben", "en")
    question = await tg.send_message(
        ana.id, "How are you?", reply_markup=keyboard(("Good", "mood:good"))
    )
    await tg.send_message(ben.id, "Hi Ben")
    await tg.edit_message_text("How are you today?", chat_id=ana.id, message_id=question.message_id)

    first, second = await standin.next_reply(ana.id), await standin.next_reply(ana.id)

    assert (first.method, first.text) == ("sendMessage", "How are you?")
    assert first.buttons == [[("Good", "mood:good")]]
    assert first.button("goo") == "mood:good"
    assert (second.method, second.text, second.buttons) == (
        "editMessageText",
        "How are you today?",
        [],
    )
    assert (await standin.next_reply(ben.id)).text == "Hi Ben"
    with pytest.raises(AssertionError, match="no button containing 'Bad'"):
        first.button("Bad")

    callback_id = await standin.tap(ana, first, "Good")
    (update,) = await tg.get_updates(timeout=0)
    assert (update.callback_query.id, update.callback_query.data) == (callback_id, "mood:good")
    # The callback carries the message as it reads now, like Telegram's.
    assert update.callback_query.message.text == "How are you today?"


async def test_waiting_times_out_with_the_recent_calls(tg: Bot, standin: TelegramStandIn) -> None:
    await tg.get_me()

    with pytest.raises(AssertionError, match=r"(?s)waiting for a sendMessage call.*getMe"):
        await standin.wait_for("sendMessage", timeout=0.05)
    with pytest.raises(AssertionError, match="a reply in chat 5"):
        await standin.next_reply(5, timeout=0.05)


async def test_aiogram_dispatcher_polls_and_echoes(tg: Bot, standin: TelegramStandIn) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    ana = standin.user(1001)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            tg, handle_signals=False, polling_timeout=1, close_bot_session=False
        )
    )
    update = await standin.send_text(ana, "ping")

    reply = await standin.next_reply(ana.id)
    await standin.wait_confirmed(update)
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, timeout=5)

    assert reply.text == "echo: ping"
    assert standin.offsets[-1] == update["update_id"] + 1
    allowed = (await standin.wait_for("getUpdates")).params["allowed_updates"]
    assert allowed == ["message"]
