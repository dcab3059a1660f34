"""Groups: the program's groups and what the bot does in them.

In a chat registered as a program group (``/group setup``, handlers/group_setup.py): ``/rules``
in the group's languages, a facilitator's tools (``/group``: pin the rules, remove the bot's
old posts, who has gone quiet — privately), members registered as they show up (a program
member who writes in the group, joins it, or taps its check-in), and the bot's own place in
the chat followed (removed, demoted, back, the group migrated to a supergroup). Anything
personal goes to the person's private chat. Any other command in a group gets a pointer to
a private chat, as before; people talking to each other get silence.
"""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from flows import groups as rules
from handlers import group_checkin, group_setup, texts
from handlers.filters import COMMAND, IN_GROUP, OnLoop
from handlers.group_render import in_languages, label_in_languages
from handlers.group_tell import facilitators_and_registrar, group_name, tell
from handlers.keyboards import button, rows
from storage import groups, outbox, users
from storage.models import ProgramGroup, User, utcnow

log = logging.getLogger(__name__)

GONE = {"left", "kicked"}


class GroupTool(CallbackData, prefix="gt"):
    """A facilitator's tool under ``/group``; the handler re-checks the presser's role."""

    action: str  # "pin" | "tidy" | "quiet"
    group: int


def router() -> Router:
    r = Router(name="group")
    r.message.filter(IN_GROUP)
    r.message.register(moved, OnLoop(F.migrate_to_chat_id))
    r.message.register(moved, OnLoop(F.migrate_from_chat_id))
    r.message.register(group_command, Command("group"))
    r.message.register(show_rules, Command("rules"))
    r.callback_query.register(tool_pressed, GroupTool.filter())
    r.message.register(point_to_private_chat, COMMAND)
    r.message.register(note_member)  # group talk is people talking to each other
    r.edited_message.register(stay_quiet, IN_GROUP)
    r.my_chat_member.register(bot_status_changed, IN_GROUP)
    r.chat_member.register(member_changed, IN_GROUP)
    return r


# --- commands --------------------------------------------------------------------------------


def _for_this_bot(message: Message, username: str | None) -> bool:
    addressed = (message.text or "").split()[0].partition("@")[2]
    return not addressed or addressed.lower() == (username or "").lower()


async def point_to_private_chat(
    message: Message, bot: Bot, user: User | None, session: AsyncSession
) -> None:
    me = await bot.me()
    if not _for_this_bot(message, me.username):
        return  # a command for another bot in the group
    group = await groups.by_chat(session, message.chat.id)
    if group is not None and not rules.is_program_member(user):
        await message.reply(group_setup.not_a_member_line(), reply_markup=_open_chat(me.username))
        return
    await message.reply(texts.private_chat_only(), reply_markup=_open_chat(me.username))


def _open_chat(username: str | None, payload: str | None = None) -> InlineKeyboardMarkup:
    link = f"https://t.me/{username}" + (f"?start={payload}" if payload else "")
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="peerbot ▸", url=link)]]
    )


async def group_command(
    message: Message,
    command: CommandObject,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    me = await bot.me()
    if not _for_this_bot(message, me.username):
        return
    if (command.args or "").strip().lower() == "setup":
        await group_setup.start(message, user, session, state, bot)
        return
    group = await groups.by_chat(session, message.chat.id)
    if group is None:
        await message.reply(
            _("This group isn't a program group yet. A mentor or admin can send /group setup.")
        )
        return
    role = await groups.role_in(session, group.id, user.id) if user is not None else None
    if not rules.is_program_member(user):
        await message.reply(group_setup.not_a_member_line())
        return
    if not rules.may_facilitate(user, role):
        await message.reply(
            _("The group's tools are for its facilitators. /rules shows the group's rules.")
        )
        return
    markup = rows(
        [
            button(_("📌 Pin the rules"), GroupTool(action="pin", group=group.id)),
            button(_("🧹 Remove my old posts"), GroupTool(action="tidy", group=group.id)),
            button(
                _("👀 Who hasn't checked in (privately)"), GroupTool(action="quiet", group=group.id)
            ),
        ],
        1,
    )
    sent = await message.reply(_("Facilitator tools:"), reply_markup=markup)
    await groups.record_post(session, group.id, sent.message_id, "tools")


def rules_text(i18n: I18n, languages: list[str]) -> str:
    return in_languages(i18n, languages, _rules_in_one)


def _rules_in_one() -> str:
    return (
        _("<b>📋 Our group's rules</b>")
        + "\n"
        + _(
            "1. What is shared here stays here.\n"
            "2. Be kind: every body and every pace is different.\n"
            "3. Share what helped you, not what others should do; no medical advice.\n"
            "4. No selling, and no one's contact details without asking.\n"
            "5. In a crisis, tap 🆘 below: it opens a private chat with help."
        )
    )


def _help_button(i18n: I18n, languages: list[str], username: str | None) -> InlineKeyboardMarkup:
    label = "🆘 " + label_in_languages(i18n, languages, lambda: _("Help now"))
    link = f"https://t.me/{username}?start={rules.HELP_LINK}"
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, url=link)]])


async def show_rules(message: Message, bot: Bot, session: AsyncSession, i18n: I18n) -> None:
    """The rules in the group's languages (anyone may ask: rules are no secret)."""
    me = await bot.me()
    if not _for_this_bot(message, me.username):
        return
    group = await groups.by_chat(session, message.chat.id)
    if group is None:
        await message.reply(
            _("This group isn't a program group yet. A mentor or admin can send /group setup.")
        )
        return
    sent = await message.answer(
        rules_text(i18n, group.language_list),
        reply_markup=_help_button(i18n, group.language_list, me.username),
    )  # answer() keeps a forum topic's thread
    await groups.record_post(session, group.id, sent.message_id, "rules")


# --- a facilitator's tools ----------------------------------------------------------------------


async def tool_pressed(
    query: CallbackQuery,
    callback_data: GroupTool,
    user: User | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Each press re-reads the presser's place in the group; the answer is a toast in their
    own language, and anything personal goes to their private chat."""
    group = await session.get(ProgramGroup, callback_data.group)
    message = query.message if isinstance(query.message, Message) else None
    if group is None or message is None or message.chat.id != group.chat_id:
        await query.answer(_("This button has expired."))
        return
    if user is not None and user.is_onboarded:
        await users.refresh_role(session, user)
    role = await groups.role_in(session, group.id, user.id) if user is not None else None
    if not rules.may_facilitate(user, role):
        await query.answer(
            _("Only this group's facilitators can use these buttons."), show_alert=True
        )
        return
    assert user is not None
    if callback_data.action == "pin":
        await _pin_rules(query, group, bot, session, i18n)
    elif callback_data.action == "tidy":
        await _tidy(query, group, bot, session, keep={message.message_id})
    elif callback_data.action == "quiet":
        await _quiet(query, group, user, bot, session)
    else:
        await query.answer(_("This button has expired."))


async def _pin_rules(
    query: CallbackQuery, group: ProgramGroup, bot: Bot, session: AsyncSession, i18n: I18n
) -> None:
    me = await bot.me()
    try:
        sent = await bot.send_message(
            group.chat_id,
            rules_text(i18n, group.language_list),
            reply_markup=_help_button(i18n, group.language_list, me.username),
        )
        await groups.record_post(session, group.id, sent.message_id, "rules")
        await bot.pin_chat_message(group.chat_id, sent.message_id, disable_notification=True)
    except TelegramBadRequest as error:
        log.warning("group %s: pinning failed (%s)", group.id, type(error).__name__)
        await _tell_no_rights(session, i18n, group, "pin")
        await query.answer(
            _(
                "I can't pin here: I need to be an admin allowed to pin messages. I've told the facilitators privately."
            ),
            show_alert=True,
        )
        return
    await groups.mark_pinned(session, group.id, sent.message_id)
    await query.answer(_("Rules posted and pinned."))


async def _tidy(
    query: CallbackQuery, group: ProgramGroup, bot: Bot, session: AsyncSession, keep: set[int]
) -> None:
    """Remove the bot's posts but the pinned rules, the tools pressed now and the open
    check-in's invitation (its button still counts)."""
    week = await group_checkin.open_week(session, group)
    if week is not None:
        invitation = await outbox.sent_message_id(session, f"group:{group.id}:invite:{week:%Y%m%d}")
        if invitation is not None:
            keep = keep | {invitation}
    removed, refused = [], 0
    for message_id in await groups.removable_posts(session, group, keep):
        try:
            await bot.delete_message(group.chat_id, message_id)
            removed.append(message_id)
        except TelegramBadRequest as error:
            if "not found" in str(error):
                removed.append(message_id)  # gone already: forget it
            else:
                refused += 1
    await groups.forget_posts(session, group.id, removed)
    text = _("Removed {count} of my old posts.").format(count=len(removed))
    if refused:
        text += " " + _("Some could not be removed: I may need the admin right to delete messages.")
    await query.answer(text, show_alert=bool(refused))


async def _quiet(
    query: CallbackQuery, group: ProgramGroup, user: User, bot: Bot, session: AsyncSession
) -> None:
    text = await group_checkin.quiet_list(session, group, rules.week_of(utcnow(), group.timezone))
    try:
        await bot.send_message(user.telegram_id, text)
    except TelegramForbiddenError:
        username = (await bot.me()).username
        await query.answer(
            _(
                "I can't write to you privately yet. Open a chat with me (@{bot}), tap Start, then press again."
            ).format(bot=username),
            show_alert=True,
        )
        return
    await query.answer(_("Sent to you privately."))


async def _tell_no_rights(
    session: AsyncSession, i18n: I18n, group: ProgramGroup, what: str
) -> None:
    people = await facilitators_and_registrar(session, group)
    await tell(
        session,
        i18n,
        people,
        f"group:{group.id}:rights:{what}:{utcnow():%Y%m%d%H}",
        lambda: _(
            "In “{group}” I can't pin or remove messages: I'm not an admin there, or I'm missing "
            "those rights. To let me, make me an admin with “Pin messages” and “Delete messages”. "
            "Check-ins carry on either way."
        ).format(group=group_name(group)),
    )


# --- who is in the group --------------------------------------------------------------------------


async def note_member(message: Message, user: User | None, session: AsyncSession) -> None:
    """A program member who writes in a program group is one of its members from now on.
    Nothing is said: the group is people talking to each other."""
    if rules.is_program_member(user):
        group = await groups.by_chat(session, message.chat.id)
        if group is not None and group.active:
            assert user is not None
            if await groups.role_in(session, group.id, user.id) is None:
                await groups.add_member(session, group.id, user.id)


async def stay_quiet(message: Message) -> None:
    pass


async def member_changed(
    event: ChatMemberUpdated, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    """Someone joined or left (the bot sees this as an admin): a program member is
    registered; anyone else is welcomed by name with the link to join the program."""
    group = await groups.by_chat(session, event.chat.id)
    person = event.new_chat_member.user
    if group is None or person.is_bot:
        return
    user = await users.get_by_telegram_id(session, person.id)
    status = event.new_chat_member.status
    if status in GONE:
        if user is not None:
            await groups.remove_member(session, group.id, user.id)
        return
    if event.old_chat_member.status not in GONE | {"restricted"}:
        return  # a change of rights, not a join
    if rules.is_program_member(user):
        assert user is not None
        if await groups.role_in(session, group.id, user.id) is None:
            await groups.add_member(session, group.id, user.id)
        return
    if not group.active:
        return
    username = (await bot.me()).username
    name = escape(person.first_name)
    text = in_languages(
        i18n,
        group.language_list,
        lambda: _(
            "Welcome, {name}! 🌿 {name} isn't in the program yet: to take part in the weekly "
            "check-ins, tap below and I'll explain, privately."
        ).format(name=name),
    )
    label = label_in_languages(i18n, group.language_list, lambda: _("Join the program"))
    link = f"https://t.me/{username}?start={rules.join_link(group.id)}"
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, url=link)]])
    # Through the outbox: when a whole cohort joins at once, the group's flood limit delays
    # their welcomes instead of dropping them. Under the group's keys, a tidy-up removes it;
    # the join's own time in the key makes a redelivered update welcome nobody twice.
    await outbox.enqueue(
        session,
        key=f"group:{group.id}:welcome:{person.id}:{event.date:%Y%m%d%H%M%S}",
        chat_id=group.chat_id,
        method="sendMessage",
        params={
            "text": text,
            "parse_mode": "HTML",
            "reply_markup": markup.model_dump(exclude_none=True),
        },
    )


# --- the bot's own place in the group --------------------------------------------------------------


async def bot_status_changed(
    event: ChatMemberUpdated, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    """Removed, unable to post, demoted, or back: the group and everything in it is kept;
    its facilitators (and whoever registered it) are told privately what it means."""
    group = await groups.by_chat(session, event.chat.id)
    new, old = event.new_chat_member, event.old_chat_member
    if group is None:
        if old.status in GONE and new.status in ("member", "administrator"):
            await _say_hello(bot, event.chat.id)  # in the language of whoever added it
        return
    key = f"group:{group.id}:status:{event.date:%Y%m%d%H%M%S}"
    people = await facilitators_and_registrar(session, group)
    if new.status in GONE or (
        new.status == "restricted" and not getattr(new, "can_send_messages", True)
    ):
        await groups.set_active(session, group.chat_id, False)
        gone = new.status in GONE
        await tell(session, i18n, people, key, lambda: _removed_words(group, gone))
        log.warning("group %s: the bot was %s", group.id, "removed" if gone else "silenced")
        return
    was_away = old.status in GONE or not group.active
    if was_away:
        await groups.set_active(session, group.chat_id, True)
        await tell(
            session,
            i18n,
            people,
            key,
            lambda: _(
                "I'm back in “{group}”: its settings, members and check-ins carry on."
            ).format(group=group_name(group)),
        )
        return
    if old.status == "administrator" and new.status != "administrator":
        await tell(
            session,
            i18n,
            people,
            key,
            lambda: _(
                "I'm no longer an admin in “{group}”. I can still post the weekly check-ins, but "
                "I can't pin the rules or remove my old posts. To allow that, make me an admin "
                "with “Pin messages” and “Delete messages”."
            ).format(group=group_name(group)),
        )


async def _say_hello(bot: Bot, chat_id: int) -> None:
    try:
        await bot.send_message(
            chat_id,
            _(
                "Hello! 🌿 I'm the program's companion. A mentor or admin of the program can "
                "make this a program group with /group setup."
            ),
        )
    except TelegramAPIError as error:
        log.warning("a new group: hello not posted (%s)", type(error).__name__)


def _removed_words(group: ProgramGroup, gone: bool) -> str:
    if gone:
        return _(
            "I was removed from the group “{group}”. Nothing is lost: its settings, members and "
            "check-in answers are kept, and weekly check-ins pause. Add me back to the group and "
            "everything carries on."
        ).format(group=group_name(group))
    return _(
        "I can no longer post in the group “{group}” (my right to send messages was taken away). "
        "Nothing is lost, and weekly check-ins pause until I may post again."
    ).format(group=group_name(group))


async def moved(message: Message, session: AsyncSession) -> None:
    """Telegram migrated the group to a supergroup (a new chat id): the group follows it,
    with its members, answers and schedule. Both service messages may arrive; the second
    finds nothing left to move."""
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat.id
    if old is not None and await groups.move_chat(session, old, new):
        log.info("a program group moved to its supergroup")
