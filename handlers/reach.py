"""A supervisor writes to the person of an alert through the bot ("Write to them through me").

Tap the button on any copy of the alert (the channel's or one's own), then type: the
message reaches the person in their own chat, headed "your program's supervisor", with
one-tap answers below it in their language. Their replies come back to the supervisor.
Either side ends it with /end (the supervisor also with a button or /cancel). Every press
is re-checked against our records: the alert's own copies, the open conversation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import crisis_plan, reach
from flows import relay as relay_flow
from flows.reach import Talk
from handlers import long_text
from handlers.alerts import (
    WriteToThem,
    announce,
    authorised_press,
    copy_view,
    language_name,
    refresh_copies,
)
from handlers.filters import NOT_COMMAND, PRIVATE
from handlers.keyboards import button, rows
from storage import outbox, users
from storage.models import AlertStatus, User, utcnow
from storage.outbox import Claimed

log = logging.getLogger(__name__)

SENT_MARK = "✍"  # as in the mentor relay: a quiet mark, not a reply per message


class CaseReply(CallbackData, prefix="casereply"):
    """The person's one-tap answer to the supervisor. Names nobody: it only ever answers
    the presser's own open conversation."""

    answer: str  # "safe" | "help"


class CaseEnd(CallbackData, prefix="caseend"):
    """The supervisor's "End the conversation" (re-checked: the presser must be its supervisor)."""

    alert_id: int


ANSWERS = ("safe", "help")


class InCaseTalk(Filter):
    """Passes (with ``talk``) when the person is in an open case conversation, on either side."""

    async def __call__(
        self,
        event: TelegramObject,
        user: User | None = None,
        session: AsyncSession | None = None,
        crisis_said_in: str | None = None,
    ) -> bool | dict[str, Any]:
        if user is None or session is None:
            return False
        talk = await reach.talk_of(session, user)
        if not talk or _said_before(event, talk.conversation.opened_at):
            return False
        if crisis_said_in not in (None, reach.SUPERVISOR_CHAT):
            # Screened before the conversation began (it opened while this message was
            # still being answered): its words are the alert's, not an answer to pass on.
            return False
        return {"talk": talk}


def _said_before(event: TelegramObject, opened_at: dt.datetime) -> bool:
    """A message sent before the conversation began is not part of it, even when it is
    handled after (handled again after a restart, or late under load): the crisis message
    that raised the alert must not come back to the supervisor as the person's answer.
    Telegram dates messages to the second, so one of the same second still counts."""
    return isinstance(event, Message) and event.date < opened_at.replace(microsecond=0)


def router() -> Router:
    r = Router(name="reach")
    r.callback_query.register(write_pressed, WriteToThem.filter())
    r.callback_query.register(reply_pressed, CaseReply.filter())
    r.callback_query.register(end_pressed, CaseEnd.filter())
    talking = InCaseTalk()
    idle = StateFilter(None)
    r.message.register(end_command, Command("end"), PRIVATE, idle, talking)
    # /cancel is a way back for the supervisor; for the person it keeps its usual meaning.
    r.message.register(end_command, Command("cancel"), PRIVATE, idle, talking, _as_supervisor)
    r.message.register(pass_on, PRIVATE, StateFilter(None), NOT_COMMAND, talking)
    r.edited_message.register(edit_not_passed_on, PRIVATE, talking)
    return r


async def _as_supervisor(message: Message, talk: Talk) -> bool:
    return message.from_user is not None and message.from_user.id == talk.supervisor.telegram_id


# ----- "Write to them through me" (supervisors) -------------------------------------------


async def write_pressed(
    query: CallbackQuery,
    callback_data: WriteToThem,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    pressed = await authorised_press(query, callback_data.alert_id, "write", user, session)
    if pressed is None or user is None:
        return
    alert, message, where = pressed
    try:
        opened = await reach.open_talk(session, alert, user, utcnow())
    except reach.CannotWrite:
        await query.answer(_("This case is closed: there is nobody to write to."), show_alert=True)
        return
    if isinstance(opened, reach.Taken):
        await query.answer(
            _("{name} is already writing to them through me.").format(name=opened.by.known_as),
            show_alert=True,
        )
        return
    try:
        await bot.send_message(
            user.telegram_id, writing_intro(opened.talk), reply_markup=_end(opened.talk)
        )
    except TelegramAPIError:
        # A supervisor who never opened a private chat with the bot cannot be written to.
        await query.answer(
            _("Open a private chat with me first (send /start), then tap again."), show_alert=True
        )
        return
    in_group = message.chat.id != user.telegram_id
    await query.answer(_("Write to them in our private chat.") if in_group else None)
    await refresh_copies(session, alert, settings, i18n, skip=where)
    text, markup = await copy_view(session, alert, settings, where)
    with contextlib.suppress(TelegramBadRequest):  # a double tap: the message already says so
        await message.edit_text(text, reply_markup=markup)


def writing_intro(talk: Talk) -> str:
    """For the supervisor, in their language: what happens to what they type, and how it ends."""
    return _(
        "✉️ You're writing to <b>{who}</b> (alert #{id}) through me. Type your message: it "
        "reaches them as “your program's supervisor”, without your name. They read {language}. "
        "Their answers come here, until one of you sends /end."
    ).format(
        who=escape(talk.person.pseudonym),
        id=talk.alert.id,
        language=language_name(talk.person.locale),
    )


def _end(talk: Talk) -> InlineKeyboardMarkup:
    return rows([button(_("End the conversation"), CaseEnd(alert_id=talk.alert.id))])


# ----- messages, both ways ----------------------------------------------------------------


async def pass_on(
    message: Message,
    user: User,
    session: AsyncSession,
    talk: Talk,
    i18n: I18n,
    bot: Bot,
) -> None:
    """A plain message of either side goes to the other, and into the case's history."""
    key = f"case:{talk.conversation.id}:{user.id}:{message.message_id}"
    if (await outbox.outcome_of(session, key))[0] is None:  # not handled before (a re-run)
        if user.id == talk.supervisor.id:
            if message.text is None:
                await message.answer(_("Only typed words reach them from here. Nothing was sent."))
                return
            await _to_person(session, i18n, talk, message.text, key)
        else:
            await _to_supervisor(session, i18n, talk, message, key)
    with contextlib.suppress(TelegramAPIError):  # a mark is a courtesy, not a delivery
        await bot.set_message_reaction(
            message.chat.id, message.message_id, reaction=[ReactionTypeEmoji(emoji=SENT_MARK)]
        )


async def _to_person(session: AsyncSession, i18n: I18n, talk: Talk, text: str, key: str) -> None:
    first = not await reach.has_written(session, talk.alert.id)
    reach.record(session, talk, talk.supervisor, text, utcnow())
    person = talk.person
    pieces = long_text.parts(text)
    with i18n.use_locale(person.locale):
        heading = _("💬 <b>Your program's supervisor</b>:")
        footer = _(
            "<i>You can answer here, in your own words or with a tap. What you send now "
            "goes to the supervisor, until one of you sends /end.</i>"
        )
        markup = one_tap_answers()
    for number, piece in enumerate(pieces):
        shown = (heading + "\n" if number == 0 else "") + escape(piece)
        last = number == len(pieces) - 1
        if last and first:
            shown += "\n\n" + footer
        await outbox.enqueue(
            session,
            key=key if number == 0 else f"{key}:{number}",
            chat_id=person.telegram_id,
            method="sendMessage",
            params=_html(shown, markup if last else None),
            on_undeliverable=f"tell_supervisor:{talk.supervisor.id}" if number == 0 else None,
            urgent=True,  # someone in crisis waits for it
        )


def one_tap_answers() -> InlineKeyboardMarkup:
    """For the person, in their language: an answer without having to find words."""
    return rows(
        [
            button(_("💛 I'm safe for now"), CaseReply(answer="safe")),
            button(_("🆘 I need help now"), CaseReply(answer="help")),
        ],
        1,
    )


async def _to_supervisor(
    session: AsyncSession, i18n: I18n, talk: Talk, message: Message, key: str
) -> None:
    supervisor = talk.supervisor
    said = message.text if message.text is not None else message.caption
    reach.record(session, talk, talk.person, said or f"[{message.content_type}]", utcnow())
    with i18n.use_locale(supervisor.locale):
        heading = _("💬 <b>{who}</b> (alert #{id}):").format(
            who=escape(talk.person.pseudonym), id=talk.alert.id
        )
    if message.text is not None:
        for number, piece in enumerate(long_text.parts(message.text)):
            shown = (heading + "\n" if number == 0 else "") + escape(piece)
            part_key = key if number == 0 else f"{key}:{number}"
            await _enqueue(session, part_key, supervisor, "sendMessage", _html(shown))
        return
    # A voice message, a photo…: the heading, then the message itself.
    await _enqueue(session, f"{key}:from", supervisor, "sendMessage", _html(heading))
    params = {"from_chat_id": message.chat.id, "message_id": message.message_id}
    await _enqueue(session, key, supervisor, "copyMessage", params)


async def _enqueue(
    session: AsyncSession, key: str, to: User, method: str, params: dict[str, Any]
) -> None:
    await outbox.enqueue(
        session, key=key, chat_id=to.telegram_id, method=method, params=params, urgent=True
    )


async def reply_pressed(
    query: CallbackQuery,
    callback_data: CaseReply,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    """The person's one-tap answer. "I need help now" also joins their case as a tap, so
    the on-call is paged again if it was not already at the top severity."""
    talk = await reach.talk_of(session, user) if user is not None else None
    if (
        user is None
        or talk is None
        or talk.person.id != user.id
        or callback_data.answer not in ANSWERS
    ):
        await query.answer(_("This conversation has ended. /crisis shows your crisis lines."))
        return
    now = utcnow()
    said = str(
        _("💛 I'm safe for now") if callback_data.answer == "safe" else _("🆘 I need help now")
    )
    reach.record(session, talk, user, said, now)
    with i18n.use_locale(talk.supervisor.locale):
        tapped = (
            _("💛 {who} (alert #{id}) tapped: I'm safe for now.")
            if callback_data.answer == "safe"
            else _("🆘 {who} (alert #{id}) tapped: I need help now.")
        ).format(who=escape(talk.person.pseudonym), id=talk.alert.id)
    stamp = f"{now.timestamp():.0f}"
    await _enqueue(
        session,
        f"case:{talk.conversation.id}:tap:{stamp}:{callback_data.answer}",
        talk.supervisor,
        "sendMessage",
        _html(tapped),
    )
    if callback_data.answer == "help":
        case = await alert_flow.raise_by_tap(
            session,
            user,
            now=now,
            join_window=dt.timedelta(minutes=settings.alert_join_minutes),
            ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
        )
        await announce(session, case, settings, i18n)
        emergency = crisis_plan.where_to_call(user.locale, user.timezone).lines.emergency
        await query.answer(
            _("I've told the supervisor. If you're in danger right now, call {number}.").format(
                number=emergency
            ),
            show_alert=True,
        )
        return
    await query.answer(_("Sent to the supervisor. Thank you."))


async def edit_not_passed_on(message: Message) -> None:
    await message.answer(
        _("Edits aren't passed on: the first version was sent. Send the change as a new message.")
    )


# ----- ending it ----------------------------------------------------------------------------


async def end_command(
    message: Message, user: User, session: AsyncSession, talk: Talk, settings: Settings, i18n: I18n
) -> None:
    await _end_talk(session, settings, i18n, talk, user)
    await message.answer(ended_for(talk, user, await relay_flow.current(session, user)))


async def end_pressed(
    query: CallbackQuery,
    callback_data: CaseEnd,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    talk = await reach.talk_on_alert(session, callback_data.alert_id)
    if user is None or talk is None or talk.supervisor.id != user.id:
        await query.answer(_("This conversation has already ended."))
        return
    await query.answer()
    await _end_talk(session, settings, i18n, talk, user)
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(ended_for(talk, user, None))


async def _end_talk(
    session: AsyncSession, settings: Settings, i18n: I18n, talk: Talk, by: User
) -> None:
    """Close it, tell the other side in their language, and show it on the alert's copies."""
    now = utcnow()
    reach.end_talk(session, talk, by, now)
    other = talk.other_side(by)
    with i18n.use_locale(other.locale):
        if other.id == talk.person.id:
            notice = _(
                "The supervisor has ended the conversation for now. If things get hard again, "
                "/crisis shows your crisis lines at any time."
            )
            mentor = await relay_flow.current(session, other)
            if mentor is not None:
                notice += "\n" + _("What you send now goes to {name} again.").format(
                    name=escape(mentor.other.known_as)
                )
        else:
            notice = _("{who} ended the conversation (alert #{id}).").format(
                who=escape(talk.person.pseudonym), id=talk.alert.id
            )
    await _enqueue(
        session, f"case:{talk.conversation.id}:ended", other, "sendMessage", _html(notice)
    )
    if talk.alert.status != AlertStatus.RESOLVED:
        await refresh_copies(session, talk.alert, settings, i18n, skip=(0, 0))


def ended_for(talk: Talk, me: User, mentor: relay_flow.Conversation | None) -> str:
    """What the one who ended it reads."""
    if me.id == talk.supervisor.id:
        return _(
            "Your conversation with {who} (alert #{id}) has ended. The case stays open until "
            "someone resolves it."
        ).format(who=escape(talk.person.pseudonym), id=talk.alert.id)
    text = _(
        "Your conversation with the supervisor has ended. /crisis is there whenever you need it."
    )
    if mentor is not None:
        text += "\n" + _("What you send now goes to {name} again.").format(
            name=escape(mentor.other.known_as)
        )
    return text


# ----- when a message to the person cannot be delivered (bot/undeliverable.py) -------------


async def tell_supervisor(
    session: AsyncSession, i18n: I18n, row: Claimed, supervisor_id: str
) -> None:
    """The person blocked the bot or left: the supervisor must know their words did not arrive."""
    supervisor = await session.get(User, int(supervisor_id)) if supervisor_id.isdigit() else None
    if supervisor is None:
        return
    person = await users.get_by_telegram_id(session, row.chat_id)
    who = escape(person.pseudonym) if person else "?"
    with i18n.context(), i18n.use_locale(supervisor.locale):
        text = _(
            "⚠️ I couldn't deliver your message to {who}: they may have blocked the bot or "
            "left. The case stays open."
        ).format(who=who)
    await _enqueue(session, f"undelivered:{row.key}", supervisor, "sendMessage", _html(text))


def _html(text: str, markup: InlineKeyboardMarkup | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    return params
