"""Outreach through the bot: /mentees, /reachout, /mentor, /end, and the relay itself.

While a relay is open, a person's plain messages (in no other conversation step,
never commands) go to the other side through the outbox, headed with the sender's
name. The sender gets a quiet ✍ reaction rather than a reply per message: a relayed
chat should read like a chat, and a neutral mark suits "I had an awful day" better
than a 👍. Every button is re-checked against our records when pressed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import alerts as alert_flow
from flows import crisis_plan, mentee_summary, team, timezones
from flows import relay as relay_flow
from flows.crisis_lines import CrisisLine, CrisisLines
from flows.relay import Conversation
from flows.states import Worrying
from handlers import long_text, render
from handlers.alerts import announce, staffed_now
from handlers.filters import NOT_COMMAND, NOT_TEXT, PRIVATE, TYPED, HasRole
from handlers.keyboards import ReachOut, button, retire_buttons, rows
from handlers.menu import LOGGERS
from handlers.plan_writing import give_back
from storage import cases, matches, outbox, profiles, reviews, users
from storage.models import Match, MatchStatus, Role, User, utcnow
from storage.outbox import Claimed

log = logging.getLogger(__name__)

SENT_MARK = "✍"
# Telegram counts what is shown (tags and entities aside): 4096 for a text, 1024 for a caption.
CAPTION_LIMIT = 1024
CAPTIONED = frozenset({"photo", "video", "document", "audio", "voice", "animation"})
OPENERS = (
    __(
        "Hi {name}, I was thinking of you today. No need to reply at length — how has your "
        "energy been?"
    ),
    __(
        "Hi {name}, just checking in. However today is going, you don't have to make it "
        "sound better than it is."
    ),
    __(
        "Hi {name}, I'm around this week if you'd like to talk — about pacing, a hard day, or "
        "nothing in particular. A short answer is perfectly fine."
    ),
    __(
        "Hi {name}, how have the last few days been? I know how much a flare can take out of "
        "you, so reply whenever you're able."
    ),
)
SHOW_OPENERS = -1


class MenteeChoice(CallbackData, prefix="mtr"):
    """A mentee's answer to /mentor: write now, or ask the mentor to reach out."""

    action: str  # "write" | "ask"
    match_id: int


class Opener(CallbackData, prefix="opener"):
    """A mentor's "Suggest an opener" (index -1), then the opener chosen."""

    match_id: int
    index: int


class Worried(CallbackData, prefix="worry"):
    """A mentor's "I'm worried about them" on a mentee of /mentees. Re-checked on every
    press and again when the alert is raised: the presser must be the match's mentor."""

    match_id: int


class WorryStep(CallbackData, prefix="worrystep"):
    action: str  # "skip" | "cancel"


class InRelay(Filter):
    """Passes (with ``conversation``) when the person is in an open conversation."""

    async def __call__(
        self, event: TelegramObject, user: User | None = None, session: AsyncSession | None = None
    ) -> bool | dict[str, Any]:
        if user is None or not user.is_onboarded or session is None:
            return False
        conversation = await relay_flow.current(session, user)
        return {"conversation": conversation} if conversation else False


def router() -> Router:
    r = Router(name="relay")
    r.message.filter(PRIVATE)
    mentors, mentees, loggers = HasRole(Role.MENTOR), HasRole(Role.MENTEE), HasRole(*LOGGERS)
    r.message.register(show_mentees, Command("mentees"), mentors)
    r.message.register(reach_out_command, Command("reachout"), mentors)
    r.message.register(mentor_command, Command("mentor"), mentees)
    r.message.register(end_command, Command("end"), loggers)
    r.callback_query.register(reach_out_pressed, ReachOut.filter())
    r.callback_query.register(mentee_choice, MenteeChoice.filter())
    r.callback_query.register(opener_pressed, Opener.filter())
    r.callback_query.register(worried_pressed, Worried.filter())
    worrying = StateFilter(Worrying.reason)
    r.callback_query.register(worry_step, WorryStep.filter(), worrying)
    r.message.register(worry_cancelled, Command("cancel"), worrying)
    r.message.register(worry_typed, worrying, TYPED)
    r.message.register(worry_not_text, worrying, NOT_TEXT)
    # Commands are never relayed, and a flow in progress (a daily log) keeps its answers.
    r.message.register(relay_message, StateFilter(None), loggers, NOT_COMMAND, InRelay())
    r.edited_message.register(edit_not_passed_on, PRIVATE, loggers, InRelay())
    return r


# ----- /mentees and /reachout (mentors) -----------------------------------------------------


async def show_mentees(
    message: Message, user: User, session: AsyncSession, settings: Settings
) -> None:
    found = await matches.active_of_mentor(session, user.id)
    if not found:
        await message.answer(no_mentees_yet())
        return
    blocks, buttons = [_("<b>Your mentees</b>")], []
    for match in found:
        mentee = await session.get(User, match.mentee_id)
        if mentee is None:
            continue
        summary = await mentee_summary.summarize(
            session,
            mentee,
            hard_symptoms=settings.hard_day_symptoms,
            hard_mood=settings.hard_day_mood,
        )
        blocks.append(render.mentee_block(summary))
        label = _("Reach out to {name}").format(name=_short(summary.name))
        buttons.append(button(label, ReachOut(match_id=match.id)))
        worried = _("I'm worried about {name}").format(name=_short(summary.name))
        buttons.append(button(worried, Worried(match_id=match.id)))
    blocks.append(_("<i>You see only what each mentee chose to share.</i>"))
    await message.answer("\n\n".join(blocks), reply_markup=rows(buttons, 1))


async def reach_out_command(
    message: Message, user: User, session: AsyncSession, i18n: I18n, bot: Bot
) -> None:
    found = await matches.active_of_mentor(session, user.id)
    if not found:
        await message.answer(no_mentees_yet())
        return
    if len(found) == 1:
        await open_and_tell(bot, session, i18n, user, found[0])
        return
    buttons = []
    for match in found:
        mentee = await session.get(User, match.mentee_id)
        if mentee is not None:
            buttons.append(button(_short(mentee.known_as), ReachOut(match_id=match.id)))
    await message.answer(_("Who would you like to write to?"), reply_markup=rows(buttons, 1))


async def reach_out_pressed(
    query: CallbackQuery,
    callback_data: ReachOut,
    user: User | None,
    session: AsyncSession,
    i18n: I18n,
    bot: Bot,
) -> None:
    """Also pressed on nudges the reminders send: the presser must be this match's mentor."""
    match = await matches.get(session, callback_data.match_id)
    if user is None or not user.is_onboarded or match is None:
        await query.answer(_("This button has expired."))
        return
    if match.mentor_id != user.id:
        await query.answer(_("That's not one of your mentees."))
        return
    if match.status != MatchStatus.ACTIVE:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    await open_and_tell(bot, session, i18n, user, match)


def no_mentees_yet() -> str:
    return _(
        "You don't have a mentee yet. I'll introduce you as soon as a match is confirmed — "
        "thank you for being here."
    )


# ----- "I'm worried about them" (mentors) -------------------------------------------------


async def worried_pressed(
    query: CallbackQuery,
    callback_data: Worried,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    """Ask for an optional reason; whatever the mentor was doing waits (see give_back)."""
    match = await _mentored(session, user, callback_data.match_id)
    if match is None or not isinstance(query.message, Message):
        await query.answer(_("That's not one of your mentees."))
        return
    await query.answer()
    mentee = await session.get(User, match.mentee_id)
    assert mentee is not None
    data = await state.get_data()
    if await state.get_state() == Worrying.reason.state:  # about another mentee now
        await retire_buttons(query.bot, query.message.chat.id, data.get("prompt"))
        paused = data.get("paused")
    else:
        paused = [await state.get_state(), data]
    sent = await query.message.answer(
        _(
            "What worries you about {name}? A few words help the supervisor understand; only "
            "the program's supervisors read them. Or tap Skip."
        ).format(name=escape(mentee.known_as)),
        reply_markup=rows(
            [
                button(_("Skip ▸"), WorryStep(action="skip")),
                button(_("✕ Cancel"), WorryStep(action="cancel")),
            ],
            1,
        ),
    )
    await state.set_state(Worrying.reason)
    await state.set_data({"match_id": match.id, "prompt": sent.message_id, "paused": paused})


async def worry_typed(
    message: Message,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    reason = (message.text or "").strip()
    if len(reason) > settings.note_max_length:
        await message.answer(
            _(
                "That's a little long for this: up to {limit} characters, please. Or tap Skip."
            ).format(limit=settings.note_max_length)
        )
        return
    await _raise_worry(message, user, session, state, settings, i18n, bot, reason or None)


async def worry_not_text(message: Message) -> None:
    await message.answer(
        _("I can only read typed words here. Type a few words, or tap Skip above.")
    )


async def worry_step(
    query: CallbackQuery,
    callback_data: WorryStep,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    data = await state.get_data()
    message = query.message if isinstance(query.message, Message) else None
    if message is None or data.get("prompt") != message.message_id:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    if callback_data.action == "skip":
        await _raise_worry(message, user, session, state, settings, i18n, bot, None)
    else:
        await _drop_worry(message, state, bot)


async def worry_cancelled(message: Message, state: FSMContext, bot: Bot) -> None:
    await _drop_worry(message, state, bot)


async def _drop_worry(message: Message, state: FSMContext, bot: Bot) -> None:
    data = await state.get_data()
    await retire_buttons(bot, message.chat.id, data.get("prompt"))
    resumed = await give_back(state, data)
    text = _("Stopped. Nothing was sent to the supervisors.")
    await bot.send_message(message.chat.id, text + ("\n\n" + resumed if resumed else ""))


async def _raise_worry(
    message: Message,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    reason: str | None,
) -> None:
    """Checked once more (the match may have ended meanwhile), then an alert for the mentee."""
    data = await state.get_data()
    await retire_buttons(bot, message.chat.id, data.get("prompt"))
    resumed = await give_back(state, data)
    match = await _mentored(session, user, data.get("match_id"))
    mentee = await session.get(User, match.mentee_id) if match is not None else None
    if user is None or mentee is None:
        await bot.send_message(
            message.chat.id,
            _(
                "You're no longer matched with this mentee, so I couldn't pass this on. If "
                "someone is in danger right now, call the emergency number."
            ),
        )
        return
    case = await alert_flow.raise_by_mentor(
        session,
        user,
        mentee,
        reason,
        now=utcnow(),
        join_window=dt.timedelta(minutes=settings.alert_join_minutes),
        ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
    )
    await announce(session, case, settings, i18n)
    log.warning(
        "mentor concern: alert %s %s for user %s, raised by mentor %s",
        case.alert.id,
        "opened" if case.is_new else "joined",
        mentee.id,
        user.id,
    )
    reachable = not await alert_flow.nobody_to_tell(session, settings.supervisor_chat_id)
    text = worry_confirmation(mentee, case.is_new, staffed_now(settings), reachable=reachable)
    await bot.send_message(message.chat.id, text + ("\n\n" + resumed if resumed else ""))


def worry_confirmation(mentee: User, is_new: bool, staffed: bool, *, reachable: bool) -> str:
    """What happens next, for the mentor: who knows now, and what to do if it can't wait."""
    name = escape(mentee.known_as)
    if not reachable:  # no channel and no supervisor: never "a supervisor knows"
        text = _(
            "Thank you for telling me. Right now nobody from the program can be told through "
            "me, so please don't wait for us."
        )
    elif is_new:
        text = _(
            "Thank you for telling me. I've let the program's on-call supervisor know you're "
            "worried about {name}. A supervisor will look into it and may contact you or {name}."
        ).format(name=name)
    else:
        text = _(
            "Thank you for telling me. The supervisors already have an open case about {name}; "
            "I've added your concern to it."
        ).format(name=name)
    if reachable and not staffed:
        text += "\n" + _(
            "It's outside the program's staffed hours, so the supervisors' reply may take longer."
        )
    emergency = crisis_plan.where_to_call(mentee.locale, mentee.timezone).lines.emergency
    text += "\n\n" + _("If you think {name} is in danger right now, call {number}.").format(
        name=name, number=escape(emergency)
    )
    return text


async def _mentored(session: AsyncSession, user: User | None, match_id: Any) -> Match | None:
    """The active match ``match_id`` when ``user`` is its mentor, by our records; else None."""
    if user is None or not user.is_onboarded or not isinstance(match_id, int):
        return None
    try:
        return await relay_flow.mentored_match(session, match_id, user)
    except relay_flow.NotYours:
        return None


# ----- /mentor (mentees) ------------------------------------------------------------------


async def mentor_command(
    message: Message, user: User, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    match = await matches.active_of_mentee(session, user.id)
    if match is None:
        await ask_admins_for_a_mentor(session, user, settings, i18n)
        waiting = _(
            "You're in the queue for a mentor, and I've let the program team know you're "
            "waiting. I'll introduce you as soon as a match is confirmed. Until then, your "
            "daily log and /crisis are here for you."
        )
        if await profiles.get(session, user.id) is None:
            waiting += "\n\n" + _(
                "It helps us find someone who fits if you tell me a little about yourself "
                "first: /profile (about two minutes, every question can be skipped)."
            )
        await message.answer(waiting)
        return
    mentor = await session.get(User, match.mentor_id)
    assert mentor is not None
    await message.answer(
        _(
            "Your mentor is {name}. Would you like to write to them now, or ask them to reach out "
            "when they can?"
        ).format(name=escape(mentor.known_as)),
        reply_markup=rows(
            [
                button(
                    _("Write to my mentor now"), MenteeChoice(action="write", match_id=match.id)
                ),
                button(
                    _("Ask my mentor to reach out"), MenteeChoice(action="ask", match_id=match.id)
                ),
            ],
            1,
        ),
    )


async def mentee_choice(
    query: CallbackQuery,
    callback_data: MenteeChoice,
    user: User | None,
    session: AsyncSession,
    i18n: I18n,
    bot: Bot,
) -> None:
    match = await matches.get(session, callback_data.match_id)
    if (
        user is None
        or match is None
        or match.mentee_id != user.id
        or match.status != MatchStatus.ACTIVE
        or callback_data.action not in ("write", "ask")
        or not isinstance(query.message, Message)
    ):
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    if callback_data.action == "write":
        await retire_buttons(bot, query.message.chat.id, query.message.message_id)
        await open_and_tell(bot, session, i18n, user, match)
        return
    mentor = await session.get(User, match.mentor_id)
    assert mentor is not None
    asked = await ask_mentor_to_reach_out(session, i18n, user, mentor, match)
    name = escape(mentor.known_as)
    await query.message.edit_text(
        _("I've let {name} know. They'll write to you here when they can.").format(name=name)
        if asked
        else _(
            "I've already let {name} know today. They'll write to you here when they can."
        ).format(name=name)
    )


async def ask_mentor_to_reach_out(
    session: AsyncSession, i18n: I18n, mentee: User, mentor: User, match: Match
) -> bool:
    """Nudge the mentor, once a day per match; False when they were nudged today already."""
    key = f"nudge:contact:{match.id}:{timezones.today(mentee.timezone).isoformat()}"
    if (await outbox.outcome_of(session, key))[0] is not None:
        return False
    with i18n.use_locale(mentor.locale):
        text = _(
            "{name} would like to hear from you. Reach out when you can — a short message is plenty."
        ).format(name=escape(mentee.known_as))
        markup = rows([button(_("Reach out"), ReachOut(match_id=match.id))])
    await outbox.enqueue(
        session,
        key=key,
        chat_id=mentor.telegram_id,
        method="sendMessage",
        params=_html(text, markup),
    )
    return True


async def ask_admins_for_a_mentor(
    session: AsyncSession, mentee: User, settings: Settings, i18n: I18n
) -> None:
    """Tell the program admins (else the supervisor chat) a mentee is waiting; once a day."""
    day = timezones.today(mentee.timezone).isoformat()
    recipients = await team.admins(session, settings.supervisor_chat_id, settings.default_locale)
    if not recipients:
        log.warning("mentee %s asked for a mentor: no admin or supervisor chat to tell", mentee.id)
    for chat_id, locale in recipients:
        with i18n.use_locale(locale):
            text = _(
                "A mentee ({pseudonym}) asked for a mentor and is still waiting. /match shows "
                "suggestions."
            ).format(pseudonym=escape(mentee.pseudonym))
        await outbox.enqueue(
            session,
            key=f"nudge:queue:{mentee.id}:{day}:{chat_id}",
            chat_id=chat_id,
            method="sendMessage",
            params=_html(text),
        )


# ----- opening and ending a conversation ---------------------------------------------------


async def open_and_tell(
    bot: Bot, session: AsyncSession, i18n: I18n, opener: User, match: Match
) -> None:
    opened = await relay_flow.open_conversation(session, match, opener)
    conversation = opened.conversation
    name = escape(conversation.other.known_as)
    text = _(
        "You're now writing to {name} through me. Everything you send is passed on until you "
        "send /end."
    ).format(name=name)
    if opened.others_open:
        text += "\n\n" + _(
            "Your other conversations stay open, but what you send now goes to {name}. "
            "/reachout switches between them."
        ).format(name=name)
    markup = None
    if conversation.i_am_mentor:
        markup = rows(
            [button(_("Suggest an opener"), Opener(match_id=match.id, index=SHOW_OPENERS))]
        )
    await bot.send_message(opener.telegram_id, text, reply_markup=markup)
    if opened.is_new:
        await _tell_opened(session, i18n, conversation)


async def _tell_opened(session: AsyncSession, i18n: I18n, conversation: Conversation) -> None:
    other, markup = conversation.other, None
    with i18n.use_locale(other.locale):
        text = _(
            "{name} opened a conversation with you through me. What you send here now reaches "
            "them, until one of you sends /end."
        ).format(name=escape(conversation.me.known_as))
        if await cases.open_of_person(session, other.id) is not None:
            # A supervisor's conversation comes first (handlers/reach.py): say so, truly.
            text = _(
                "{name} opened a conversation with you through me. While you are talking with "
                "the program's supervisor, what you send goes to them; after that, to {name}."
            ).format(name=escape(conversation.me.known_as))
        if not conversation.i_am_mentor:  # the mentor may be writing to someone else
            markup = rows(
                [
                    button(
                        _("Answer {name}").format(name=_short(conversation.me.known_as)),
                        ReachOut(match_id=conversation.match.id),
                    )
                ]
            )
    await outbox.enqueue(
        session,
        key=f"relay:{conversation.relay.id}:opened",
        chat_id=other.telegram_id,
        method="sendMessage",
        params=_html(text, markup),
    )


async def end_command(message: Message, user: User, session: AsyncSession, i18n: I18n) -> None:
    conversation = await relay_flow.current(session, user)
    if conversation is None:
        await message.answer(_("There's no conversation open right now."))
        return
    relay_flow.end(conversation)
    other = conversation.other
    text = _(
        "Your conversation with {name} has ended. What you send now stays between you and me."
    ).format(name=escape(other.known_as))
    still = await relay_flow.current(session, user)
    if still is not None:
        text = _(
            "Your conversation with {name} has ended. Your conversation with {other} is still "
            "open: what you send now goes to them."
        ).format(name=escape(other.known_as), other=escape(still.other.known_as))
    await message.answer(text)
    with i18n.use_locale(other.locale):
        again = "/reachout" if other.id == conversation.match.mentor_id else "/mentor"
        notice = _(
            "{name} ended the conversation for now. {command} opens it again whenever you like."
        ).format(name=escape(user.known_as), command=again)
    await outbox.enqueue(
        session,
        key=f"relay:{conversation.relay.id}:closed",
        chat_id=other.telegram_id,
        method="sendMessage",
        params=_html(notice),
    )


# ----- openers (mentors) -------------------------------------------------------------------


async def opener_pressed(
    query: CallbackQuery,
    callback_data: Opener,
    user: User | None,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    conversation = await _mentors_open_conversation(session, user, callback_data.match_id)
    if conversation is None or not isinstance(query.message, Message):
        await query.answer(_("This button has expired."))
        return
    mentee = escape(conversation.other.known_as)
    if callback_data.index == SHOW_OPENERS:
        await query.answer()
        lines = [_("Some ways to begin — tap a number to send it to {name}:").format(name=mentee)]
        lines += [
            f"{i}. {escape(_opener(i - 1, conversation))}" for i in range(1, len(OPENERS) + 1)
        ]
        numbers = [
            button(str(i + 1), Opener(match_id=conversation.match.id, index=i))
            for i in range(len(OPENERS))
        ]
        await query.message.answer("\n".join(lines), reply_markup=rows(numbers, len(OPENERS)))
        return
    key = f"relay:{conversation.relay.id}:opener:{query.message.message_id}"
    if not 0 <= callback_data.index < len(OPENERS) or (await outbox.outcome_of(session, key))[0]:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    opener = _opener(callback_data.index, conversation)
    await _pass_on_text(session, i18n, conversation, opener, key)
    await query.message.edit_text(
        _("Sent to {name}:").format(name=mentee) + f"\n<i>{escape(opener)}</i>", reply_markup=None
    )


def _opener(index: int, conversation: Conversation) -> str:
    """An opener in the mentor's language, with the mentee's name (not escaped)."""
    return str(OPENERS[index]).format(name=conversation.other.known_as)


async def _mentors_open_conversation(
    session: AsyncSession, user: User | None, match_id: int
) -> Conversation | None:
    if user is None or not user.is_onboarded:
        return None
    try:
        match = await relay_flow.mentored_match(session, match_id, user)
    except relay_flow.NotYours:
        return None
    for conversation in await relay_flow.conversations(session, user):
        if conversation.match.id == match.id:
            return conversation
    return None


# ----- the relay ------------------------------------------------------------------------------


async def relay_message(
    message: Message,
    user: User,
    session: AsyncSession,
    conversation: Conversation,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    crisis_answered: bool = False,
) -> None:
    # Message ids count per chat: the sender is part of the key.
    key = f"relay:{conversation.relay.id}:{user.id}:{message.message_id}"
    if (await outbox.outcome_of(session, key))[0] is None:  # not handled before (a re-run)
        await _pass_on(session, i18n, conversation, message, key)
        if crisis_answered and not conversation.i_am_mentor:
            await _guide_mentor(session, i18n, conversation, f"{key}:guidance")
        if conversation.i_am_mentor and _shares_contact(message):
            await _flag_boundary(session, settings, i18n, conversation, message)
            await message.answer(
                _(
                    "A gentle reminder: the program keeps contact between mentors and mentees "
                    "inside this chat, so nobody needs anyone's number or username. Your message "
                    "was passed on; a supervisor may check in with you about it."
                )
            )
    with contextlib.suppress(TelegramAPIError):  # a mark is a courtesy, not a delivery
        await bot.set_message_reaction(
            message.chat.id, message.message_id, reaction=[ReactionTypeEmoji(emoji=SENT_MARK)]
        )


async def _pass_on(
    session: AsyncSession, i18n: I18n, conversation: Conversation, message: Message, key: str
) -> None:
    if message.text is not None:
        await _pass_on_text(session, i18n, conversation, message.text, key)
        return
    name = conversation.me.known_as
    sender = f"<b>{escape(name)}</b>"
    params: dict[str, Any] = {"from_chat_id": message.chat.id, "message_id": message.message_id}
    caption = message.caption or ""
    if message.content_type in CAPTIONED and len(name) + 2 + len(caption) <= CAPTION_LIMIT:
        headed = f"{sender}: {escape(caption)}" if caption else sender
        params |= {"caption": headed, "parse_mode": "HTML"}
    else:  # a sticker, a video note, a long caption…: say who sent it first
        with i18n.use_locale(conversation.other.locale):
            heading = _("{name} sent:").format(name=sender)
        await _enqueue_for(session, conversation, f"{key}:from", "sendMessage", _html(heading))
    markup = await _answer_button(session, i18n, conversation)
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    await _enqueue_for(session, conversation, key, "copyMessage", params, tell_sender=True)


async def _pass_on_text(
    session: AsyncSession, i18n: I18n, conversation: Conversation, text: str, key: str
) -> None:
    """Relay text, headed with the sender's name; a long text in parts (handlers/long_text)."""
    sender = f"<b>{escape(conversation.me.known_as)}</b>"
    parts = [escape(part) for part in long_text.parts(text)]
    markup = await _answer_button(session, i18n, conversation)
    for number, part in enumerate(parts):
        shown = f"{sender}: {part}" if number == 0 else part
        last = number == len(parts) - 1
        await _enqueue_for(
            session,
            conversation,
            key if number == 0 else f"{key}:{number}",
            "sendMessage",
            _html(shown, markup if last else None),
            tell_sender=number == 0,
        )


async def _answer_button(
    session: AsyncSession, i18n: I18n, conversation: Conversation
) -> InlineKeyboardMarkup | None:
    """A mentor whose messages go to someone else now gets a button to answer this sender."""
    other = conversation.other
    if conversation.i_am_mentor or await relay_flow.is_focus_of(
        session, other.id, conversation.relay.id
    ):
        return None
    with i18n.use_locale(other.locale):
        label = _("Answer {name}").format(name=_short(conversation.me.known_as))
    return rows([button(label, ReachOut(match_id=conversation.match.id))])


async def _enqueue_for(
    session: AsyncSession,
    conversation: Conversation,
    key: str,
    method: str,
    params: dict[str, Any],
    *,
    tell_sender: bool = False,
) -> None:
    await outbox.enqueue(
        session,
        key=key,
        chat_id=conversation.other.telegram_id,
        method=method,
        params=params,
        on_undeliverable=f"tell_sender:{conversation.me.id}" if tell_sender else None,
    )


async def _guide_mentor(
    session: AsyncSession, i18n: I18n, conversation: Conversation, key: str
) -> None:
    """The mentor just received a message screening flagged. They are volunteers, often with
    their own illness: tell them, in their language, that a supervisor knows, what helps and
    what doesn't, and where the mentee can get help right now (the mentee's own lines)."""
    mentee, mentor = conversation.me, conversation.other
    where = crisis_plan.where_to_call(mentee.locale, mentee.timezone)
    with i18n.use_locale(mentor.locale):
        text = mentor_guidance(mentee.known_as, where.lines)
    await outbox.enqueue(
        session,
        key=key,
        chat_id=mentor.telegram_id,
        method="sendMessage",
        params=_html(text),
        urgent=True,  # it must arrive with the message it is about
    )


def mentor_guidance(name: str, lines: CrisisLines) -> str:
    name = escape(name)
    steps = [
        _("⚠️ <b>{name}'s message may mean they are in danger.</b>").format(name=name)
        + " "
        + _(
            "The program's on-call supervisor has been alerted and will reach out to them. "
            "You don't have to carry this alone."
        ),
        _("<b>What helps now</b>")
        + "\n"
        + _(
            "• Stay kind and calm. Reply as you would; listening is enough, you don't have to fix it."
        )
        + "\n"
        + _("• Don't promise to keep it secret: the supervisors know, to keep {name} safe.").format(
            name=name
        )
        + "\n"
        + _("• Don't handle it alone: the supervisor takes it from here. Look after yourself too."),
        _("If you think {name} is in danger right now, call {number}.").format(
            name=name, number=escape(lines.emergency)
        )
        + "\n"
        + _("{name}'s crisis lines ({country}): {lines}").format(
            name=name,
            country=escape(lines.country_name),
            lines="; ".join(_short_line(line) for line in lines.lines[:GUIDANCE_LINES]),
        ),
    ]
    return "\n\n".join(steps)


GUIDANCE_LINES = 2  # the first lines of their country: suicide and crisis lines come first


def _short_line(line: CrisisLine) -> str:
    contact = line.phone or line.text or line.chat or ""
    return f"{escape(line.name)}: {escape(contact)}"


async def edit_not_passed_on(message: Message, conversation: Conversation) -> None:
    await message.answer(
        _(
            "Edits aren't passed on: {name} has the first version. If the change matters, "
            "send it as a new message."
        ).format(name=escape(conversation.other.known_as))
    )


# ----- boundary flags ---------------------------------------------------------------------


def _shares_contact(message: Message) -> bool:
    if message.contact is not None:  # a contact card is a phone number by definition
        return True
    return relay_flow.shares_contact_details(message.text or message.caption or "")


async def _flag_boundary(
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    conversation: Conversation,
    message: Message,
) -> None:
    """A review item (with the words, encrypted) and a short note for supervisors (no words)."""
    mentor, mentee = conversation.me, conversation.other
    detail = message.text or message.caption  # none for a contact card (the review says so)
    reviews.add(session, reviews.BOUNDARY, mentor_id=mentor.id, mentee_id=mentee.id, detail=detail)
    recipients = await team.supervisors(
        session, settings.supervisor_chat_id, settings.default_locale
    )
    for chat_id, locale in recipients:
        with i18n.use_locale(locale):
            text = _(
                "Possible boundary issue: mentor {mentor} may have shared personal contact "
                "details with mentee {mentee} in a relayed message. See /review."
            ).format(mentor=escape(mentor.pseudonym), mentee=escape(mentee.pseudonym))
        await outbox.enqueue(
            session,
            key=f"boundary:{conversation.relay.id}:{message.message_id}:{chat_id}",
            chat_id=chat_id,
            method="sendMessage",
            params=_html(text),
        )
    log.info("relay %s: boundary flag for mentor %s", conversation.relay.id, mentor.id)


# ----- when a relayed message cannot be delivered (bot/undeliverable.py) ----------------


async def tell_sender(
    session: AsyncSession,
    i18n: I18n,
    row: Claimed,
    sender_id: str,
    words: Callable[[str], str] | None = None,
) -> None:
    """The recipient blocked the bot or left: tell the sender, in their language.
    ``words(name)``: what to say instead of "I couldn't deliver your message to …"."""
    sender = await session.get(User, int(sender_id)) if sender_id.isdigit() else None
    if sender is None:
        return
    recipient = await users.get_by_telegram_id(session, row.chat_id)
    name = escape(recipient.known_as) if recipient else "?"
    with i18n.context(), i18n.use_locale(sender.locale):
        text = (words or _undelivered)(name)
    await outbox.enqueue(
        session,
        key=f"undelivered:{row.key}",
        chat_id=sender.telegram_id,
        method="sendMessage",
        params=_html(text),
    )


def _undelivered(name: str) -> str:
    return _(
        "I couldn't deliver your message to {name} — they may have blocked the bot or left."
    ).format(name=name)


# ----- small helpers ----------------------------------------------------------------------


def _html(text: str, markup: InlineKeyboardMarkup | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    return params


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
