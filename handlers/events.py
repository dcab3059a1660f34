"""Group events in chat: ``/event`` (planning, on the questionnaire engine, always in the
planner's private chat), the group post and its RSVP buttons, the reminders a day and an
hour before, ``/events`` and cancelling.

- The group post is one message in the group's languages (a line per language for what
  depends on the language, the title and place once) and shows the group's time zone.
- A tap is answered with a toast in the presser's own language (the locale middleware has
  chosen it). Its data is only a hint: the event, the post it is on, the presser's place in
  the group and whether the event is still ahead are read again on every press.
- Everything private (reminders, "a place freed up", "cancelled") goes through the outbox
  in the person's language and with the time in their own time zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import zoneinfo
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_skeleton
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import events as plan
from flows import timezones
from flows.events import FIXED_GROUP, Options
from flows.events import Step as Field
from flows.questionnaire import Progress, Step
from flows.steps import InvalidAnswer
from handlers import start as onboarding
from handlers import texts
from handlers.due import Tick, handles
from handlers.filters import IN_GROUP, PRIVATE
from handlers.keyboards import button, rows
from handlers.multilingual import button_label, in_each, joined, languages_of
from handlers.questionnaire import Conversation, Refused
from storage import events as stored
from storage import groups, outbox, schedules, users
from storage.models import GroupEvent, ProgramGroup, Role, User, utcnow
from storage.outbox import Claimed
from storage.schedules import Due

log = logging.getLogger(__name__)

NEW_PAYLOAD = "evnew"  # t.me/<bot>?start=evnew<group id>: plan an event for that group
SHOW_PAYLOAD = "ev"  # t.me/<bot>?start=ev<event id>: the event, privately
UNREACHABLE = "event_unreachable"  # the outbox fallback of a reminder that cannot arrive
MAX_LISTED = 5


class EventStep(CallbackData, prefix="evq"):
    step: str
    value: str


class EventPress(CallbackData, prefix="ev"):
    """A member's answer on an event's post (or its private card): "go" or "no"."""

    event_id: int
    action: str


class EventAction(CallbackData, prefix="eva"):
    """The creator's (or an admin's) buttons in their private chat."""

    event_id: int
    action: str  # cancel | cancel_yes | keep | repost


class EventPlanner(Conversation):
    resumed = __("Let's pick up your event where you left off.")

    async def context(
        self, user: User | None, settings: Settings, session: AsyncSession | None = None
    ) -> Options:
        today = timezones.today(user.timezone if user is not None else None)
        if user is None or session is None:
            return Options((), today)
        return Options(tuple((str(g.id), _title(g)) for g in await plannable(session, user)), today)

    def label(self, step: Step, value: str, context: Any) -> str:
        if step.name == Field.GROUP:
            return dict(context.groups).get(value, value)
        return step.label(value)

    def hint(self, step: Step, error: InvalidAnswer) -> str:
        if isinstance(error, plan.PastDate):
            return _("That day has already gone. Please choose a day from today on.")
        if isinstance(error, plan.TooFar):
            return _("That is more than a year ahead. Please choose a nearer day.")
        return super().hint(step, error)

    async def special(
        self, step: str, value: str, draft: dict[str, Any], user: User, session: AsyncSession
    ) -> Progress | None:
        """A group's button is a hint: whether they may plan for it is read again."""
        if step != Field.GROUP:
            return None
        group = await _plannable_group(session, user, value)
        if group is None:
            raise Refused(_("You can't plan events for that group."))
        return Progress({**draft["answers"], Field.GROUP.value: str(group.id)}, Field.KIND.value)

    async def finish(
        self,
        message: Message,
        user: User,
        session: AsyncSession,
        state: FSMContext,
        draft: dict[str, Any],
        settings: Settings,
        *,
        edit: bool,
    ) -> None:
        await _create(message, user, session, state, draft, settings, edit=edit)


PLANNER = EventPlanner(plan.EVENT, EventStep)


def router() -> Router:
    r = Router(name="events")
    r.message.register(
        plan_for_group,
        CommandStart(deep_link=True, magic=F.args.regexp(rf"^{NEW_PAYLOAD}\d+$")),
        PRIVATE,
    )
    r.message.register(
        show_linked,
        CommandStart(deep_link=True, magic=F.args.regexp(rf"^{SHOW_PAYLOAD}\d+$")),
        PRIVATE,
    )
    r.message.register(start_planning, Command("event"), PRIVATE)
    r.message.register(list_events, Command("events"), PRIVATE)
    r.message.register(event_in_group, Command("event", "events"), IN_GROUP)
    r.callback_query.register(pressed, EventPress.filter())
    r.callback_query.register(creator_action, EventAction.filter())
    PLANNER.register(r)  # its state is only ever set in a private chat
    return r


# ----- who plans for which group ----------------------------------------------------------


async def plannable(session: AsyncSession, user: User) -> list[ProgramGroup]:
    """The active groups this person may plan events for (admins: every one)."""
    if not user.is_onboarded:
        return []
    if user.role == Role.ADMIN:
        found = await session.scalars(
            select(ProgramGroup).where(ProgramGroup.active.is_(True)).order_by(ProgramGroup.id)
        )
        return list(found)
    allowed = []
    for group in await groups.groups_of(session, user.id):
        if group.active and plan.may_plan(
            user.role, await groups.role_in(session, group.id, user.id)
        ):
            allowed.append(group)
    return allowed


async def _plannable_group(session: AsyncSession, user: User, value: str) -> ProgramGroup | None:
    if not value.isdecimal():
        return None
    return next((g for g in await plannable(session, user) if g.id == int(value)), None)


# ----- /event -----------------------------------------------------------------------------


async def start_planning(
    message: Message,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    if user is None or not user.is_onboarded:
        await message.answer(texts.not_onboarded())
        return
    context = await PLANNER.context(user, settings, session)
    if await PLANNER.resume(message, state, context):
        return
    if not context.groups:
        await message.answer(
            _(
                "You can plan events for the program groups you facilitate (or, as a mentor, "
                "are in). You have none yet: an admin registers a group with /group setup."
            )
        )
        return
    answers: dict[str, Any] = {}
    if len(context.groups) == 1:
        answers = {Field.GROUP.value: context.groups[0][0], FIXED_GROUP: True}
    await PLANNER.begin(message, state, {"answers": answers}, context)


async def plan_for_group(
    message: Message,
    command: CommandObject,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    """From the group's "Plan it privately" button: the group is chosen already."""
    if user is None or not user.is_onboarded:
        await message.answer(texts.not_onboarded())
        return
    group = await _plannable_group(session, user, (command.args or "")[len(NEW_PAYLOAD) :])
    if group is None:
        await message.answer(_("You can't plan events for that group."))
        return
    context = await PLANNER.context(user, settings, session)
    answers = {Field.GROUP.value: str(group.id), FIXED_GROUP: True}
    await state.clear()
    await PLANNER.begin(message, state, {"answers": answers}, context)


async def event_in_group(
    message: Message, user: User | None, session: AsyncSession, bot: Bot
) -> None:
    """/event in a group: planning takes a few steps, so it happens privately (the group
    would read every step); the button opens the private chat with the group chosen."""
    group = await groups.by_chat(session, message.chat.id)
    if group is None:
        await message.reply(
            _(
                "This group isn't one of the program's groups yet. An admin can register it with /group setup."
            )
        )
        return
    me = await bot.me()
    if (message.text or "").startswith("/events"):
        link = f"https://t.me/{me.username}"
        await message.reply(
            _(
                "Your groups' events, with times in your own time zone, are in our private chat: /events"
            ),
            reply_markup=_link_markup("📅 /events ▸", link),
        )
        return
    role = await groups.role_in(session, group.id, user.id) if user is not None else None
    if user is None or not plan.may_plan(user.role, role):
        await message.reply(
            _("Events are planned by the group's facilitators, mentors and admins.")
        )
        return
    link = f"https://t.me/{me.username}?start={NEW_PAYLOAD}{group.id}"
    await message.reply(
        _("Let's plan it in our private chat, so the group only sees the finished post."),
        reply_markup=_link_markup(_("📅 Plan it privately ▸"), link),
    )


def _link_markup(text: str, url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text, url=url)]])


async def _create(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    draft: dict[str, Any],
    settings: Settings,
    *,
    edit: bool,
) -> None:
    answers = draft["answers"]
    group = await _plannable_group(session, user, str(answers.get(Field.GROUP.value, "")))
    if group is None:  # their role or the group changed while they were answering
        await state.clear()
        await _say(message, _("You can't plan events for that group any more."), edit=edit)
        return
    day = dt.date.fromisoformat(answers[Field.DATE.value])
    start = plan.starts_at(day, answers[Field.TIME.value], group.timezone)
    now = utcnow()
    if start <= now:
        local_now = plan.group_now(group, now)
        context = await PLANNER.context(user, settings, session)
        await _say(
            message,
            _(
                "That time has already passed in the group's time zone ({zone}: it is {time} "
                "there now). Please choose another day or time."
            ).format(zone=group.timezone, time=local_now.strftime("%H:%M")),
            edit=edit,
        )
        answers = {**answers, plan.RETIME: True}
        await PLANNER.ask(message, state, {**draft, "answers": answers, "step": "date"}, context)
        return
    event = await stored.add(
        session,
        GroupEvent(
            group_id=group.id,
            created_by=user.id,
            kind=answers[Field.KIND.value],
            title=answers[Field.TITLE.value],
            starts_at=start,
            place=answers[Field.PLACE.value],
            access=list(answers.get(Field.ACCESS.value) or []),
            access_note=answers.get(Field.ACCESS_NOTE.value),
            capacity=plan.capacity_of(answers),
        ),
    )
    await state.clear()
    reminder = plan.first_reminder(start, now)
    if reminder is not None:
        stage, due = reminder
        await schedules.set_due(session, schedules.EVENT_REMINDER, event.id, due, {"stage": stage})
    posted = await _post(message.bot, session, event, group, get_i18n())
    text = _creator_card(event, group, user)
    if posted:
        text += "\n\n" + _posted_note(reminder)
    else:
        text += "\n\n" + _(
            "I couldn't post it in the group: am I still in it, and allowed to write? The "
            "event is saved; tap “Post again” once that is fixed."
        )
    await _say(message, text, edit=edit, markup=_creator_markup(event, posted))


def _posted_note(reminder: tuple[str, dt.datetime] | None) -> str:
    """What the planner is told of the reminders: only those still ahead are promised."""
    if reminder is None:
        return _("✓ Posted in the group. It starts within the hour, so there is no reminder.")
    if reminder[0] == plan.HOUR:
        return _("✓ Posted in the group. I'll remind those coming an hour before.")
    return _("✓ Posted in the group. I'll remind those coming a day and an hour before.")


async def _say(
    message: Message, text: str, *, edit: bool, markup: InlineKeyboardMarkup | None = None
) -> None:
    if edit:
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
    else:
        await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


# ----- the group post ---------------------------------------------------------------------


async def _post(
    bot: Bot | None, session: AsyncSession, event: GroupEvent, group: ProgramGroup, i18n: I18n
) -> bool:
    """Send the event's post to the group (the planner is waiting for it) and keep its id."""
    if bot is None:
        return False
    text, markup = await group_post(session, event, group, i18n)
    try:
        sent = await bot.send_message(
            group.chat_id, text, reply_markup=markup, disable_web_page_preview=True
        )
    except TelegramAPIError as error:
        log.warning("event %s: the group post failed: %s", event.id, type(error).__name__)
        return False
    event.post_chat_id, event.post_message_id = sent.chat.id, sent.message_id
    await session.flush()
    return True


async def group_post(
    session: AsyncSession, event: GroupEvent, group: ProgramGroup, i18n: I18n
) -> tuple[str, InlineKeyboardMarkup | None]:
    languages = languages_of(group, i18n.default_locale)
    zone = zoneinfo.ZoneInfo(group.timezone)
    local = event.starts_at.astimezone(zone)
    lines = [f"📅 <b>{escape(event.title)}</b>"]
    lines.append(
        joined(
            i18n,
            languages,
            lambda lang: f"{plan.KIND_NAMES[event.kind]} · {_when(local, lang)} ({group.timezone})",
        )
    )
    lines.append("📍 " + escape(event.place))
    if event.access:
        lines.append("♿ " + _access_line(i18n, languages, event.access))
    if event.access_note:
        lines.append("ℹ️ " + escape(event.access_note))
    going = await stored.count(session, event.id, stored.GOING)
    waiting = await stored.count(session, event.id, stored.WAITING)
    lines.append(_counts(going, waiting, event.capacity))
    if event.cancelled_at is not None:
        lines.insert(0, "❌ " + button_label(i18n, languages, lambda _lang: _("Cancelled")))
        return "\n".join(lines), None
    lines.append("")
    lines.append(
        joined(
            i18n,
            languages,
            lambda _lang: _("Tap to join; I'll remind you privately, in your own time zone."),
        )
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    "✓ " + button_label(i18n, languages, lambda _lang: _("I'm coming")),
                    EventPress(event_id=event.id, action="go"),
                )
            ],
            [
                button(
                    "✕ " + button_label(i18n, languages, lambda _lang: _("Can't come")),
                    EventPress(event_id=event.id, action="no"),
                )
            ],
        ]
    )
    return "\n".join(lines), markup


def _access_line(i18n: I18n, languages: list[str], access: list[str]) -> str:
    def names(_lang: str) -> str:
        return ", ".join(str(plan.ACCESS_NAMES[a]) for a in access if a in plan.ACCESS_NAMES)

    return " / ".join(text for _code, text in in_each(i18n, languages, names))


def _counts(going: int, waiting: int, capacity: int | None) -> str:
    shown = f"👥 {going}/{capacity}" if capacity is not None else f"👥 {going}"
    return shown + (f" · ⏳ {waiting}" if waiting else "")


def _when(local: dt.datetime, language: str) -> str:
    return f"{format_skeleton('MMMEd', local, locale=language)}, {local:%H:%M}"


async def _refresh_post(
    bot: Bot | None, session: AsyncSession, event: GroupEvent, i18n: I18n
) -> None:
    """The group post's counts brought up to date (a post gone or too old stays as it is)."""
    if bot is None or event.post_message_id is None or event.post_chat_id is None:
        return
    group = await session.get(ProgramGroup, event.group_id)
    if group is None:
        return
    text, markup = await group_post(session, event, group, i18n)
    with contextlib.suppress(TelegramAPIError):
        await bot.edit_message_text(
            text,
            chat_id=event.post_chat_id,
            message_id=event.post_message_id,
            reply_markup=markup,
            disable_web_page_preview=True,
        )


async def _event_named(session: AsyncSession, event_id: int) -> GroupEvent | None:
    """The event a button or link names. Its id is only a hint: a forged one too big for an
    INTEGER column is no event (the database would fail on it, and the person be told
    "something went wrong")."""
    return await stored.get(session, event_id) if 0 < event_id < 2**31 else None


# ----- RSVP -------------------------------------------------------------------------------


async def pressed(
    query: CallbackQuery,
    callback_data: EventPress,
    user: User | None,
    session: AsyncSession,
    i18n: I18n,
    bot: Bot,
) -> None:
    event = await _event_named(session, callback_data.event_id)
    message = query.message
    if (
        event is None
        or callback_data.action not in ("go", "no")
        or not isinstance(message, Message)
    ):
        await query.answer(_("This event no longer exists."))
        return
    on_post = message.chat.id == event.post_chat_id and message.message_id == event.post_message_id
    if message.chat.type != "private" and not on_post:
        await query.answer(_("This button has expired."))
        return
    closed = plan.closed_for_answers(event, utcnow())
    if closed == "cancelled":
        await query.answer(_("This event was cancelled."), show_alert=True)
        return
    if closed == "past":
        await query.answer(_("This event has already taken place."))
        return
    me = await bot.me()
    start_link = f"https://t.me/{me.username}?start={SHOW_PAYLOAD}{event.id}"
    if user is None:  # never started the bot: not in our records, so not in the group's
        await query.answer(
            _("Please start a chat with me first (it takes a minute), then tap again."),
            url=start_link,
        )
        return
    if await groups.role_in(session, event.group_id, user.id) is None:
        await query.answer(
            _("This event is for the group's members. A facilitator can add you."), show_alert=True
        )
        return
    if callback_data.action == "go":
        # Someone added to the program who has not started a chat with the bot keeps their
        # place, but no reminder can reach them: the toast opens the chat for them.
        await _join(query, session, event, user, None if user.is_onboarded else start_link)
    else:
        await _leave(query, session, event, user, i18n)
    await _refresh_post(bot, session, event, i18n)
    if message.chat.type == "private":
        await _refresh_card(message, session, event, user)


async def _join(
    query: CallbackQuery,
    session: AsyncSession,
    event: GroupEvent,
    user: User,
    start_link: str | None,
) -> None:
    before = await stored.rsvp_of(session, event.id, user.id)
    status = await stored.join(session, event, user.id)
    if before is not None:
        said = (
            _("You're already on the list.")
            if status == stored.GOING
            else _("You're already on the waiting list.")
        )
    elif status == stored.GOING:
        # Within the last hour the hour-before reminder has gone: none is promised.
        said = (
            _("✓ You're coming: {when}, your time. I'll remind you privately.")
            if plan.first_reminder(event.starts_at, utcnow()) is not None
            else _("✓ You're coming: {when}, your time.")
        ).format(when=_when(_in_zone(event.starts_at, user), user.locale))
    else:
        said = _(
            "It's full, so you're on the waiting list. I'll tell you privately if a place frees up."
        )
    if start_link is not None:
        await query.answer(
            _("✓ You're on the list. To get my reminders, start a chat with me."), url=start_link
        )
        return
    await query.answer(said, show_alert=status == stored.WAITING and before is None)


async def _leave(
    query: CallbackQuery, session: AsyncSession, event: GroupEvent, user: User, i18n: I18n
) -> None:
    had, promoted = await stored.leave(session, event, user.id)
    await query.answer(
        _("OK, you're off the list. Thank you for saying so.")
        if had
        else _("You weren't on the list; nothing to change.")
    )
    if promoted is not None:
        with i18n.use_locale(promoted.locale):
            text = _(
                "A place has freed up: you're now coming to “{title}”, {when} (your time)."
            ).format(
                title=escape(event.title),
                when=_when(_in_zone(event.starts_at, promoted), promoted.locale),
            )
        key = f"event:{event.id}:promoted:{promoted.id}:{utcnow().timestamp():.0f}"
        await _tell_privately(session, promoted.telegram_id, key, text)


def _in_zone(at: dt.datetime, person: User) -> dt.datetime:
    zone = (
        person.timezone if person.timezone and timezones.is_valid_zone(person.timezone) else "UTC"
    )
    return at.astimezone(zoneinfo.ZoneInfo(zone))


# ----- private cards and /events ----------------------------------------------------------


async def show_linked(
    message: Message,
    command: CommandObject,
    user: User | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    """From an event's toast or reminder link. Someone not set up yet begins as with a plain
    /start (the link is no invite); their answer to the event is kept meanwhile."""
    if user is None or not user.is_onboarded:
        plain = CommandObject(prefix="/", command="start", args=None)
        await onboarding.start(message, plain, session, state, settings, i18n, bot)
        return
    event = await _event_named(session, int((command.args or "")[len(SHOW_PAYLOAD) :]))
    if event is None or await groups.role_in(session, event.group_id, user.id) is None:
        await message.answer(_("I can't find that event among your groups' events."))
        return
    text, markup = await _card(session, event, user)
    await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def list_events(message: Message, user: User | None, session: AsyncSession) -> None:
    if user is None or not user.is_onboarded:
        await message.answer(texts.not_onboarded())
        return
    mine = [g.id for g in await groups.groups_of(session, user.id)]
    coming = await stored.upcoming(session, mine, utcnow())
    if not coming:
        await message.answer(_("No events are planned in your groups right now."))
        return
    for event in coming[:MAX_LISTED]:
        text, markup = await _card(session, event, user)
        await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


async def _card(
    session: AsyncSession, event: GroupEvent, user: User
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The event as this person sees it: their time zone, their language, their answer."""
    group = await session.get(ProgramGroup, event.group_id)
    text = _creator_card(event, group, user)
    rsvp = await stored.rsvp_of(session, event.id, user.id)
    if rsvp is not None:
        text += "\n\n" + (
            _("You're coming.") if rsvp.status == stored.GOING else _("You're on the waiting list.")
        )
    if plan.closed_for_answers(event, utcnow()) is not None:
        return text, None
    choices = [
        button(_("✓ I'm coming"), EventPress(event_id=event.id, action="go")),
        button(_("✕ Can't come"), EventPress(event_id=event.id, action="no")),
    ]
    if event.created_by == user.id or user.role == Role.ADMIN:
        choices.append(
            button(_("Cancel the event"), EventAction(event_id=event.id, action="cancel"))
        )
    return text, rows(choices, 2, 1)


async def _refresh_card(
    message: Message, session: AsyncSession, event: GroupEvent, user: User
) -> None:
    text, markup = await _card(session, event, user)
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)


def _creator_card(event: GroupEvent, group: ProgramGroup | None, user: User) -> str:
    local = _in_zone(event.starts_at, user)
    lines = [
        f"📅 <b>{escape(event.title)}</b> · {plan.KIND_NAMES[event.kind]}",
        _("🕙 {when} (your time)").format(when=_when(local, user.locale)),
    ]
    if group is not None and group.timezone != (user.timezone or "UTC"):
        there = event.starts_at.astimezone(zoneinfo.ZoneInfo(group.timezone))
        lines.append(
            _("   {when} in the group's time zone ({zone})").format(
                when=_when(there, user.locale), zone=group.timezone
            )
        )
    lines.append("📍 " + escape(event.place))
    if event.access:
        lines.append(
            "♿ "
            + ", ".join(str(plan.ACCESS_NAMES[a]) for a in event.access if a in plan.ACCESS_NAMES)
        )
    if event.access_note:
        lines.append("ℹ️ " + escape(event.access_note))
    lines.append(
        _("Places: {count}").format(count=event.capacity)
        if event.capacity is not None
        else _("Places: no limit")
    )
    if event.cancelled_at is not None:
        lines.insert(0, "❌ " + _("Cancelled"))
    return "\n".join(lines)


def _creator_markup(event: GroupEvent, posted: bool) -> InlineKeyboardMarkup:
    choices = []
    if not posted:
        choices.append(button(_("Post again"), EventAction(event_id=event.id, action="repost")))
    choices.append(button(_("Cancel the event"), EventAction(event_id=event.id, action="cancel")))
    return rows(choices, 1)


# ----- the creator's buttons: cancel, post again ------------------------------------------


async def creator_action(
    query: CallbackQuery,
    callback_data: EventAction,
    user: User | None,
    session: AsyncSession,
    i18n: I18n,
    bot: Bot,
) -> None:
    event = await _event_named(session, callback_data.event_id)
    message = query.message
    if (
        event is None
        or user is None
        or not isinstance(message, Message)
        or message.chat.type != "private"
        or not (event.created_by == user.id or user.role == Role.ADMIN)
    ):
        await query.answer(_("This button has expired."))
        return
    # The buttons stay under the creator's card: cancelling (everyone told "cancelled") or
    # posting again makes no sense once the event has begun.
    closed = plan.closed_for_answers(event, utcnow())
    if closed == "cancelled":
        await query.answer(_("This event was cancelled."))
        return
    if closed == "past":
        await query.answer(_("This event has already taken place."))
        return
    action = callback_data.action
    group = await session.get(ProgramGroup, event.group_id)
    if action == "cancel":
        await query.answer()
        await _edit_card(
            message,
            _creator_card(event, group, user)
            + "\n\n"
            + _("Cancel this event? Everyone coming, or waiting, will be told privately."),
            rows(
                [
                    button(
                        _("Yes, cancel it"), EventAction(event_id=event.id, action="cancel_yes")
                    ),
                    button(_("No, keep it"), EventAction(event_id=event.id, action="keep")),
                ],
                1,
            ),
        )
    elif action == "keep":
        await query.answer()
        await _edit_card(
            message,
            _creator_card(event, group, user),
            _creator_markup(event, event.post_message_id is not None),
        )
    elif action == "cancel_yes":
        told = await cancel_event(session, event, i18n)
        await query.answer()
        await _refresh_post(bot, session, event, i18n)
        await _edit_card(
            message,
            _creator_card(event, group, user)
            + "\n\n"
            + (
                ngettext(
                    "Cancelled. I'm telling {count} person privately.",
                    "Cancelled. I'm telling {count} people privately.",
                    told,
                ).format(count=told)
                if told
                else _("Cancelled. Nobody had signed up, so there is no one to tell.")
            ),
            None,
        )
    elif action == "repost" and group is not None and event.post_message_id is None:
        posted = await _post(bot, session, event, group, i18n)
        await query.answer(_("Posted.") if posted else _("I still can't post in the group."))
        if posted:
            await message.edit_reply_markup(reply_markup=_creator_markup(event, True))
    else:
        await query.answer(_("This button has expired."))


async def _edit_card(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """The creator's card, changed in place. A double tap edits in the same text again:
    Telegram refuses that as "not modified", which is no failure to report."""
    try:
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            raise


async def cancel_event(session: AsyncSession, event: GroupEvent, i18n: I18n) -> int:
    """Cancel it; everyone who answered is told privately, in their language and time."""
    event.cancelled_at = utcnow()
    await schedules.forget(session, schedules.EVENT_REMINDER, [event.id])
    told = 0
    for status in (stored.GOING, stored.WAITING):
        for person in await stored.people(session, event.id, status):
            with i18n.use_locale(person.locale):
                text = _(
                    "❌ “{title}” on {when} (your time) is cancelled. Sorry for the change of plan."
                ).format(
                    title=escape(event.title),
                    when=_when(_in_zone(event.starts_at, person), person.locale),
                )
            key = f"event:{event.id}:cancelled:{person.id}"
            await _tell_privately(session, person.telegram_id, key, text)
            told += 1
    await session.flush()
    return told


# ----- reminders --------------------------------------------------------------------------


@handles(schedules.EVENT_REMINDER)
async def remind(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """A day and an hour before: to each person coming, privately, in their language and
    time zone. A reminder that cannot arrive (blocked, never started) tells the creator."""
    for row in due:
        event = await stored.get(session, row.subject_id)
        if event is None or event.cancelled_at is not None:
            continue  # the claimed row stays unscheduled: nothing is due for it again
        stage = row.state.get("stage", plan.HOUR)
        for person in await stored.people(session, event.id, stored.GOING):
            await _tell_privately(
                session,
                person.telegram_id,
                f"event:{event.id}:{stage}:{person.id}",
                reminder_text(event, person, stage, tick.i18n),
                on_undeliverable=f"{UNREACHABLE}:{event.id}",
            )
        following = plan.next_reminder(stage, event.starts_at, tick.now)
        if following is not None:
            await schedules.set_due(
                session, schedules.EVENT_REMINDER, event.id, following[1], {"stage": following[0]}
            )


def reminder_text(event: GroupEvent, person: User, stage: str, i18n: I18n) -> str:
    with i18n.use_locale(person.locale):
        when = _when(_in_zone(event.starts_at, person), person.locale)
        head = (
            _("📅 Tomorrow: “{title}”, {when} (your time).")
            if stage == plan.DAY
            else _("📅 In an hour: “{title}”, {when} (your time).")
        ).format(title=escape(event.title), when=when)
        lines = [head, "📍 " + escape(event.place)]
        if event.access_note:
            lines.append("ℹ️ " + escape(event.access_note))
        lines.append(
            _(
                "Can't make it after all? That's fine: tap “Can't come” on the group's post, or use /events."
            )
        )
    return "\n".join(lines)


async def tell_creator_unreachable(
    session: AsyncSession, i18n: I18n, row: Claimed, event_id: str
) -> None:
    """A reminder could not reach a person coming: their place is kept; the creator is told,
    once per person and event, so they can tell them another way."""
    event = await stored.get(session, int(event_id)) if event_id.isdecimal() else None
    if event is None or event.created_by is None:
        return
    creator = await session.get(User, event.created_by)
    person = await users.get_by_telegram_id(session, row.chat_id)
    if creator is None or person is None:
        return
    with i18n.context(), i18n.use_locale(creator.locale):
        text = _(
            "{name} is coming to “{title}” but couldn't get my reminder: they may have "
            "blocked me or never started a chat with me. Their place is kept; maybe tell "
            "them another way."
        ).format(name=escape(person.known_as), title=escape(event.title))
    key = f"event:{event.id}:unreachable:{person.id}"
    await _tell_privately(session, creator.telegram_id, key, text)


async def _tell_privately(
    session: AsyncSession,
    chat_id: int,
    key: str,
    text: str,
    *,
    on_undeliverable: str | None = None,
) -> None:
    """A private message through the outbox: it survives a restart and a 429, and ``key``
    keeps a retried tick or tap from sending it twice."""
    await outbox.enqueue(
        session,
        key=key,
        chat_id=chat_id,
        method="sendMessage",
        params={"text": text, "parse_mode": "HTML"},
        on_undeliverable=on_undeliverable,
    )


def _title(group: ProgramGroup) -> str:
    return group.title or _("Group {number}").format(number=group.id)
