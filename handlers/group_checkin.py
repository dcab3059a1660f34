"""A group's weekly check-in: the invitation in the group at its local day and time, the
tap that opens a private two-step check-in (on the questionnaire engine), and a day later
the anonymous summary in the group (never of fewer than three answers).

The schedule row (kind ``group_checkin``, subject the group) alternates: ``invite`` posts
the invitation and makes the row due again ``SUMMARY_AFTER`` later as ``summary`` of that
week; ``summary`` posts it, takes the invitation's button off and makes the row due at the
next week's invitation. The check-in is open while the row says ``summary`` for that week.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import groups as rules
from flows.group_checkin import CHECKIN, ENERGY_NAMES, PAIN_NAMES
from handlers.due import Tick, handles
from handlers.filters import PRIVATE
from handlers.group_render import in_languages, label_in_languages
from handlers.group_tell import facilitators_and_registrar, group_name, person_name, tell
from handlers.keyboards import button, rows
from handlers.questionnaire import Conversation
from storage import groups, outbox, schedules
from storage.models import ProgramGroup, User, utcnow
from storage.schedules import Due

log = logging.getLogger(__name__)

INVITE, SUMMARY = "invite", "summary"
UNREACHABLE = "group_unreachable"  # the outbox's fallback when a group post cannot go


class CheckinAnswer(CallbackData, prefix="gca"):
    step: str
    value: str


class CheckinPress(CallbackData, prefix="gci"):
    """The invitation's button in the group; the handler re-checks group, week and person."""

    group: int
    week: str  # YYYYMMDD


# --- the private check-in, on the engine ------------------------------------------------------


class GroupCheckin(Conversation):
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
        answers = draft["answers"]
        week = dt.date.fromisoformat(draft["week"])
        group = await session.get(ProgramGroup, int(draft["group"]))
        await state.clear()
        if group is None or await open_week(session, group) != week:
            text = _("This week's group check-in closed before you finished, so nothing was saved.")
        else:
            await groups.add_member(session, group.id, user.id, await _role(session, group, user))
            await groups.save_checkin(
                session, group.id, user.id, week, answers["energy"], answers.get("pain")
            )
            text = _(
                "Thank you, saved. 💛 The group only ever sees an anonymous summary, and only "
                "once at least 3 people have checked in."
            )
        if edit:
            await message.edit_text(text)
        else:
            await message.answer(text)


CONVERSATION = GroupCheckin(CHECKIN, CheckinAnswer)


def router() -> Router:
    r = Router(name="group_checkin")
    r.callback_query.register(invitation_pressed, CheckinPress.filter())
    private = Router(name="group_checkin_private")
    private.message.filter(PRIVATE)
    CONVERSATION.register(private)
    r.include_router(private)
    return r


async def _role(session: AsyncSession, group: ProgramGroup, user: User) -> str:
    return await groups.role_in(session, group.id, user.id) or groups.MEMBER


async def open_week(session: AsyncSession, group: ProgramGroup) -> dt.date | None:
    """The week whose check-in is open now, if any (between invitation and summary)."""
    if not group.active:
        return None
    row = await schedules.get(session, schedules.GROUP_CHECKIN, group.id)
    state = dict(row.state or {}) if row is not None else {}
    if state.get("phase") != SUMMARY or not state.get("week"):
        return None
    return dt.date.fromisoformat(state["week"])


async def invitation_pressed(
    query: CallbackQuery,
    callback_data: CheckinPress,
    user: User | None,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    fsm_storage: BaseStorage,
    i18n: I18n,
) -> None:
    """Answered in the presser's own language (the toast); the check-in itself goes to
    their private chat, or, when the bot cannot write there, the tap opens that chat."""
    group = await session.get(ProgramGroup, callback_data.group)
    message = query.message if isinstance(query.message, Message) else None
    if group is None or message is None or message.chat.id != group.chat_id:
        await query.answer(_("This button has expired."))
        return
    week = await open_week(session, group)
    if week is None or f"{week:%Y%m%d}" != callback_data.week:
        await query.answer(_("This check-in has closed. The next one comes next week."))
        return
    username = (await bot.me()).username
    if not rules.is_program_member(user):
        # Not in the program yet: the tap opens the bot with the group's join link, which
        # carries them through onboarding and into the group.
        await query.answer(url=f"https://t.me/{username}?start={rules.join_link(group.id)}")
        return
    assert user is not None
    await groups.add_member(session, group.id, user.id, await _role(session, group, user))
    answered = {c.user_id for c in await groups.checkins_of_week(session, group.id, week)}
    if user.id in answered:
        await query.answer(_("You've checked in this week. Thank you! 💛"))
        return
    state = FSMContext(
        storage=fsm_storage,
        key=StorageKey(bot_id=bot.id, chat_id=user.telegram_id, user_id=user.telegram_id),
    )
    current = await state.get_state()
    if current is not None and current != CHECKIN.state.state:
        await query.answer(
            _(
                "Please finish what we're doing in our private chat first (or send /cancel there), then tap again."
            ),
            show_alert=True,
        )
        return
    try:
        await begin_privately(bot, state, group, week, user, settings, session)
    except TelegramForbiddenError:
        await _cannot_write_to(session, i18n, group, week, user)
        link = rules.checkin_link(group.id, week)
        await query.answer(url=f"https://t.me/{username}?start={link}")
        return
    await query.answer(_("I've sent you two quick questions in our private chat."))


async def begin_privately(
    bot: Bot,
    state: FSMContext,
    group: ProgramGroup,
    week: dt.date,
    user: User,
    settings: Settings,
    session: AsyncSession,
) -> None:
    """The first question, sent to their private chat (TelegramForbiddenError if blocked)."""
    draft: dict[str, Any] = {"answers": {}, "group": group.id, "week": week.isoformat()}
    context = await CONVERSATION.context(user, settings, session)
    draft["step"] = CHECKIN.first(draft["answers"], context).name
    text, markup = CONVERSATION.question(draft, context)
    sent = await bot.send_message(user.telegram_id, text, reply_markup=markup)
    await state.set_state(CHECKIN.state)
    await state.set_data({**draft, "prompt": sent.message_id})


async def begin_from_link(
    message: Message,
    state: FSMContext,
    user: User,
    link: rules.Link,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """``/start gc<group>_<week>`` (the tap of someone the bot could not write to)."""
    group = await session.get(ProgramGroup, link.group_id) if link.group_id else None
    week = await open_week(session, group) if group is not None else None
    if group is None or week is None or week != link.week:
        await message.answer(_("This check-in has closed. The next one comes next week."))
        return
    answered = {c.user_id for c in await groups.checkins_of_week(session, group.id, week)}
    if user.id in answered:
        await message.answer(_("You've checked in this week. Thank you! 💛"))
        return
    await groups.add_member(session, group.id, user.id, await _role(session, group, user))
    context = await CONVERSATION.context(user, settings, session)
    draft = {"answers": {}, "group": group.id, "week": week.isoformat()}
    await CONVERSATION.begin(message, state, draft, context)


async def _cannot_write_to(
    session: AsyncSession, i18n: I18n, group: ProgramGroup, week: dt.date, user: User
) -> None:
    """A member's private chat refused (they blocked the bot): their facilitators know."""
    name = person_name(user)
    people = [p for p in await facilitators_and_registrar(session, group) if p.id != user.id]
    await tell(
        session,
        i18n,
        people,
        f"group:{group.id}:blocked:{user.id}:{week:%Y%m%d}",
        lambda: _(
            "{name} tapped this week's check-in in “{group}”, but I can't write to them "
            "privately: they may have blocked me. Nothing is lost: the tap opened our chat for "
            "them, and once they unblock me they can check in as usual. You may want to ask "
            "how they are."
        ).format(name=name, group=group_name(group)),
    )


# --- the weekly schedule -------------------------------------------------------------------


async def schedule(session: AsyncSession, group: ProgramGroup, now: dt.datetime) -> None:
    """(Re)plan the group's next invitation from its settings (none: no weekly check-in)."""
    due = None
    if group.checkin_weekday is not None and group.checkin_time is not None:
        due = rules.next_checkin(group.checkin_weekday, group.checkin_time, group.timezone, now)
    await schedules.set_due(session, schedules.GROUP_CHECKIN, group.id, due, {"phase": INVITE})


@handles(schedules.GROUP_CHECKIN)
async def due_checkins(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    for row in due:
        group = await session.get(ProgramGroup, row.subject_id)
        if group is None:
            continue  # the group is gone: its row stays undue
        if row.state.get("phase") == SUMMARY and row.state.get("week"):
            await post_summary(session, group, dt.date.fromisoformat(row.state["week"]), tick)
            await schedule(session, group, tick.now)
        elif not group.active:
            await schedule(session, group, tick.now)  # out of the group: skip this week
        else:
            week = rules.week_of(tick.now, group.timezone)
            await post_invitation(session, group, week, tick)
            await schedules.set_due(
                session,
                schedules.GROUP_CHECKIN,
                group.id,
                tick.now + rules.SUMMARY_AFTER,
                {"phase": SUMMARY, "week": week.isoformat()},
            )


def invitation_text(i18n: I18n, languages: list[str]) -> str:
    return in_languages(
        i18n,
        languages,
        lambda: _(
            "🌿 Weekly check-in: how was your week? Tap below and I'll ask you 2 quick "
            "questions, privately."
        ),
    )


async def post_invitation(
    session: AsyncSession, group: ProgramGroup, week: dt.date, tick: Tick
) -> None:
    languages = group.language_list
    markup = rows(
        [
            button(
                label_in_languages(tick.i18n, languages, lambda: _("✅ Check in")),
                CheckinPress(group=group.id, week=f"{week:%Y%m%d}"),
            )
        ]
    )
    await outbox.enqueue(
        session,
        key=f"group:{group.id}:invite:{week:%Y%m%d}",
        chat_id=group.chat_id,
        method="sendMessage",
        on_undeliverable=f"{UNREACHABLE}:{group.id}",
        params={
            "text": invitation_text(tick.i18n, languages),
            "parse_mode": "HTML",
            "reply_markup": markup.model_dump(exclude_none=True),
        },
    )


def summary_text(i18n: I18n, languages: list[str], summary: rules.Summary | None) -> str:
    if summary is None:
        return in_languages(
            i18n,
            languages,
            lambda: _(
                "📊 Fewer than 3 people checked in this week, so there is no summary: that "
                "keeps everyone's answers private. See you next week. 💛"
            ),
        )

    def one() -> str:
        text = _("📊 This week's check-in: {answered} of {members} checked in.").format(
            answered=summary.answered, members=summary.members
        )
        text += " " + _energy_words(summary.energy)
        if summary.pain is not None:
            text += " " + _pain_words(summary.pain)
        return text

    return in_languages(i18n, languages, one)


def _energy_words(energy: str) -> str:
    if energy == rules.MIXED:
        return _("Energy was mixed.")
    return _("Energy mostly: {level}.").format(level=_plain(ENERGY_NAMES[energy]))


def _pain_words(pain: str) -> str:
    if pain == rules.MIXED:
        return _("Symptoms compared with last week: mixed.")
    return _("Symptoms compared with last week: mostly {change}.").format(
        change=str(PAIN_NAMES[pain]).lower()
    )


def _plain(label: Any) -> str:
    """A label without its emoji: "🪫 Low" → "low"."""
    return str(label).split(" ", 1)[-1].lower()


async def post_summary(
    session: AsyncSession, group: ProgramGroup, week: dt.date, tick: Tick
) -> None:
    answers = await groups.checkins_of_week(session, group.id, week)
    people = await groups.members(session, group.id)
    summary = rules.summary([a.energy for a in answers], [a.pain for a in answers], len(people))
    if group.active:
        await outbox.enqueue(
            session,
            key=f"group:{group.id}:summary:{week:%Y%m%d}",
            chat_id=group.chat_id,
            method="sendMessage",
            on_undeliverable=f"{UNREACHABLE}:{group.id}",
            params={
                "text": summary_text(tick.i18n, group.language_list, summary),
                "parse_mode": "HTML",
            },
        )
    invitation = await outbox.sent_message_id(session, f"group:{group.id}:invite:{week:%Y%m%d}")
    if invitation is not None and group.active:  # its button would only say "closed" now
        await outbox.enqueue(
            session,
            key=f"groupedit:{group.id}:invite:{week:%Y%m%d}",
            chat_id=group.chat_id,
            method="editMessageReplyMarkup",
            params={"message_id": invitation},  # no markup: the button goes
        )


# --- a facilitator's look at who has gone quiet -----------------------------------------------


async def quiet_list(session: AsyncSession, group: ProgramGroup, today: dt.date) -> str:
    """In the facilitator's language (the current locale): who has not checked in lately."""
    joined = await groups.joined_dates(session, group.id, groups.MEMBER)
    answered = await groups.checked_in_since(session, group.id, rules.quiet_since(today))
    quiet = rules.quiet_members(joined, answered, today, group.timezone)
    people = {p.id: p for p in await groups.members(session, group.id, groups.MEMBER)}
    if not quiet:
        return _(
            "Everyone in “{group}” has checked in at least once in the last two weeks. 🌿"
        ).format(group=group_name(group))
    names = "\n".join(f"• {person_name(people[i])}" for i in quiet if i in people)
    return (
        _("Not checked in for two weeks in “{group}”:").format(group=group_name(group))
        + "\n"
        + names
        + "\n\n"
        + _("A gentle private word often helps more than a reminder in the group.")
    )


# --- deep links: what a /start payload from a group asks for -------------------------------------


async def follow_link(
    message: Message,
    state: FSMContext,
    user: User,
    link: rules.Link,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """After /start (and after onboarding, for someone new): join the group, or check in."""
    if link.kind == rules.CHECKIN_LINK:
        await begin_from_link(message, state, user, link, session, settings)
        return
    group = await session.get(ProgramGroup, link.group_id) if link.group_id else None
    if group is None or not group.active:
        await message.answer(
            _("That group link no longer works. Ask the group's facilitator for a new one.")
        )
        return
    await groups.add_member(session, group.id, user.id, await _role(session, group, user))
    await message.answer(
        _(
            "You're now part of “{group}”. 🌿 Each week I'll invite the group to a two-tap "
            "check-in; the group only ever sees an anonymous summary."
        ).format(group=group_name(group))
    )


async def group_unreachable(session: AsyncSession, i18n: I18n, group_id: int) -> None:
    """A group post was refused for good (the bot removed or silenced while it was not
    looking): the group pauses, and its facilitators are told privately. Nothing is lost:
    the bot's return (``my_chat_member``) makes it active again."""
    group = await session.get(ProgramGroup, group_id)
    if group is None or not group.active:
        return
    group.active = False
    people = await facilitators_and_registrar(session, group)
    with i18n.context():
        await tell(
            session,
            i18n,
            people,
            f"group:{group.id}:unreachable:{utcnow():%Y%m%d}",
            lambda: _(
                "I couldn't post in the group “{group}”: I may have been removed, or lost the "
                "right to send messages. Nothing is lost: its settings, members and answers are "
                "kept, and weekly check-ins pause. Add me back, or give me back the right to "
                "send messages, and everything carries on."
            ).format(group=group_name(group)),
        )
    log.warning("group %s: a post could not be delivered; the group is paused", group.id)
