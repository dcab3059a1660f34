"""Reminders and nudges: /reminders, the reminder's buttons, and what the scheduler queues.

* The daily check-in reminder ([Log now] [Later] [Not today]) is queued by ``checkin_due``
  when the person's "checkin" row is due (flows/reminders.py decides when).
* Nudges to a mentor (a mentee gone quiet, a hard day the mentee shares) and the weekly
  digest are rendered here in the mentor's language, with a "reach out" button
  (handlers.keyboards.ReachOut, pressed in handlers/relay.py); flows/nudges.py decides.

Everything the scheduler sends goes through the outbox under an idempotency key, in the
transaction that claimed the row, so a second bot process or a repeated tick adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import mentee_summary, nudges, onboarding, timezones
from flows import reminders as flow
from flows.states import ChangingReminder
from handlers import daily_log, measures, render  # /log's start for [Log now]; it tells us of logs
from handlers import trends as trend_charts
from handlers.due import Tick, handles
from handlers.filters import PRIVATE, TYPED, HasRole
from handlers.keyboards import CancelFlow, ReachOut, button, retire_buttons, rows, with_rows
from handlers.menu import LOGGERS
from storage import alerts as alert_records
from storage import daily_logs, matches, outbox, schedules
from storage.models import DailyLog, Role, User, utcnow
from storage.outbox import Queued
from storage.schedules import Due


class ReminderPress(CallbackData, prefix="rem"):
    action: str  # "log" | "quick" (three taps) | "later" | "skip"
    day: str  # the local date the reminder was for: other days' buttons are expired


class ReminderSetting(CallbackData, prefix="remset"):
    action: str  # "week" | "two_weeks" | "indefinite" | "resume" | "time"


class ReminderTime(CallbackData, prefix="remtime"):
    hhmm: str


def router() -> Router:
    r = Router(name="reminders")
    r.message.filter(PRIVATE)
    loggers = HasRole(*LOGGERS)
    r.message.register(show_reminders, Command("reminders"), loggers)
    r.callback_query.register(reminder_pressed, ReminderPress.filter(), loggers)
    r.callback_query.register(setting_pressed, ReminderSetting.filter(), loggers)
    r.callback_query.register(
        time_tapped, ReminderTime.filter(), StateFilter(ChangingReminder.time), loggers
    )
    r.message.register(time_typed, StateFilter(ChangingReminder.time), TYPED, loggers)
    return r


# --- the reminder's buttons ---------------------------------------------------------------


async def reminder_pressed(
    query: CallbackQuery,
    callback_data: ReminderPress,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    now = utcnow()
    today = timezones.today(user.timezone, now)
    if message is None or callback_data.day != today.isoformat() or not flow.is_reminded(user):
        await query.answer(_("This button has expired."))
        if message is not None:
            await retire_buttons(bot, message.chat.id, message.message_id)
        return
    if callback_data.action in ("log", "quick"):
        await query.answer()
        await retire_buttons(bot, message.chat.id, message.message_id)
        quick = callback_data.action == "quick"  # low-spoon mode: three taps
        await daily_log.start_log(message, user, session, state, settings, quick=quick)
        return
    if await daily_logs.get(session, user.id, today) is not None:
        await query.answer(_("You've already logged today. Thank you!"))
        await retire_buttons(bot, message.chat.id, message.message_id)
        return
    if callback_data.action == "later":
        await _snooze(query, message, user, session, settings, today, now)
    elif callback_data.action == "skip":
        await _not_today(query, message, user, session, settings, now)
    else:
        await query.answer(_("This button has expired."))


async def _snooze(
    query: CallbackQuery,
    message: Message,
    user: User,
    session: AsyncSession,
    settings: Settings,
    today: dt.date,
    now: dt.datetime,
) -> None:
    state = await flow.state_of(session, user)
    try:
        plan = flow.snooze(
            state,
            today,
            now,
            minutes=settings.reminder_snooze_minutes,
            per_day=settings.reminders_per_day,
        )
    except flow.Expired:
        await query.answer(_("This button has expired."))
        await retire_buttons(query.bot, message.chat.id, message.message_id)
        return
    await query.answer()
    if plan is not None:
        await flow.store(session, user, plan)
    await retire_buttons(query.bot, message.chat.id, message.message_id)
    when = dt.datetime.fromisoformat((plan.state if plan else state)["at"])
    await message.answer(
        _("Of course. I'll remind you once more around {time}.").format(
            time=timezones.local_now(user.timezone or "UTC", when).strftime("%H:%M")
        )
    )


async def _not_today(
    query: CallbackQuery,
    message: Message,
    user: User,
    session: AsyncSession,
    settings: Settings,
    now: dt.datetime,
) -> None:
    assert user.timezone is not None and user.checkin_time is not None
    state = await flow.state_of(session, user)
    plan = flow.not_today(
        user.timezone, user.checkin_time, state, now, per_day=settings.reminders_per_day
    )
    await flow.store(session, user, plan)
    await query.answer()
    await retire_buttons(query.bot, message.chat.id, message.message_id)
    await message.answer(
        _("That's fine. Be gentle with yourself today; I'll check in again tomorrow.")
    )


# --- /reminders ---------------------------------------------------------------------------


async def show_reminders(message: Message, user: User, session: AsyncSession) -> None:
    text, markup = await _settings_screen(session, user)
    await message.answer(text, reply_markup=markup)


async def _settings_screen(
    session: AsyncSession, user: User
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not flow.is_reminded(user):
        return _("You have no check-in reminder."), None
    assert user.timezone is not None and user.checkin_time is not None
    state = await flow.state_of(session, user)
    pause = flow.pause_of(state, flow.local_date(user.timezone, utcnow()))
    lines = [
        "⏰ <b>" + _("Your check-in reminder") + "</b>",
        _("Every day at {time} ({zone}).").format(
            time=user.checkin_time.strftime("%H:%M"),
            zone=escape(timezones.city_name(user.timezone, user.locale)),
        ),
    ]
    if pause == "indefinite":
        lines.append(_("Paused until you resume."))
    elif isinstance(pause, dt.date):
        day = format_skeleton("MMMMEd", pause, locale=user.locale)  # the locale's own order
        lines.append(_("Paused: reminders start again on {day}.").format(day=escape(day)))
    if pause is None:
        choices = [
            button(_("Pause a week"), ReminderSetting(action="week")),
            button(_("Pause two weeks"), ReminderSetting(action="two_weeks")),
            button(_("Pause until I resume"), ReminderSetting(action="indefinite")),
        ]
    else:
        choices = [button(_("▶ Resume"), ReminderSetting(action="resume"))]
    choices.append(button(_("Change time"), ReminderSetting(action="time")))
    return "\n".join(lines), rows(choices, 1)


async def setting_pressed(
    query: CallbackQuery,
    callback_data: ReminderSetting,
    user: User,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None or not flow.is_reminded(user):
        await query.answer(_("This button has expired."))
        return
    assert user.timezone is not None and user.checkin_time is not None
    action, now = callback_data.action, utcnow()
    if action == "time":
        await query.answer()
        await _ask_time(message, state)
        return
    current = await flow.state_of(session, user)
    if action == "resume":
        plan = flow.resumed(user.timezone, user.checkin_time, current, now)
        said = _("Reminders are back on. Welcome back.")
    elif action in (*flow.PAUSES, "indefinite"):
        plan = flow.paused(user.timezone, user.checkin_time, current, now, action)
        said = _("Reminders are paused. Take the time you need; /log works whenever you like.")
    else:
        await query.answer(_("This button has expired."))
        return
    await flow.store(session, user, plan)
    await query.answer(said)
    text, markup = await _settings_screen(session, user)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:  # a double tap: the screen already says so
        if "not modified" not in error.message:
            raise


async def _ask_time(message: Message, state: FSMContext) -> None:
    choices = [
        button(t.strftime("%H:%M"), ReminderTime(hhmm=t.strftime("%H%M")))
        for t in onboarding.CHECKIN_CHOICES
    ]
    markup = with_rows(rows(choices, 3), [button(_("✕ Cancel"), CancelFlow())])
    sent = await message.answer(
        _("What time suits you for the daily check-in? Tap one, or type a time like 19:30."),
        reply_markup=markup,
    )
    await state.set_state(ChangingReminder.time)
    await state.set_data({"prompt": sent.message_id})


async def time_tapped(
    query: CallbackQuery,
    callback_data: ReminderTime,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    prompt = (await state.get_data()).get("prompt")
    chosen = onboarding.parse_checkin_time(f"{callback_data.hhmm[:2]}:{callback_data.hhmm[2:]}")
    if message is None or prompt != message.message_id or chosen is None:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    await retire_buttons(query.bot, message.chat.id, message.message_id)
    await _set_time(message, user, session, state, settings, chosen)


async def time_typed(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    crisis_answered: bool = False,
) -> None:
    chosen = onboarding.parse_checkin_time(message.text or "")
    if chosen is None:
        if crisis_answered:  # after a crisis answer, a correction would be cold
            return
        await message.answer(
            _("Please send a time of day like 08:00 or 19:30, or tap one of the times above.")
        )
        return
    await retire_buttons(message.bot, message.chat.id, (await state.get_data()).get("prompt"))
    await _set_time(message, user, session, state, settings, chosen)


async def _set_time(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    chosen: dt.time,
) -> None:
    user.checkin_time = chosen
    now = utcnow()
    await flow.schedule_person(session, user, now)
    if user.role == Role.MENTOR and await schedules.get(session, flow.DIGEST, user.id):
        await flow.schedule_digest(session, user, now, settings.digest_weekday)
    await measures.schedule_person(session, user, now)  # the weekly questions move with it
    await state.clear()
    await message.answer(
        _("Done: I'll check in with you every day at {time} ({zone}).").format(
            time=chosen.strftime("%H:%M"),
            zone=escape(timezones.city_name(user.timezone or "UTC", user.locale)),
        )
    )


# --- what the scheduler queues ------------------------------------------------------------


def _params(text: str, markup: InlineKeyboardMarkup | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup.model_dump(exclude_none=True)
    return params


@lru_cache(maxsize=256)
def _reminder_params(locale: str, day: str, number: int, later: bool) -> Mapping[str, Any]:
    """The reminder as queued; the same for everyone of one language on one day, so it is
    built once (10,000 people can be due in the same minute)."""
    with get_i18n().use_locale(locale):
        if number == 1:
            text = _("🌿 Time for your daily check-in. How was today? It takes under a minute.")
        else:
            text = _("🌿 A gentle reminder: today's check-in is still open. No pressure at all.")
        choices = [
            button(_("📝 Log now"), ReminderPress(action="log", day=day)),
            button(daily_log.quick_label(), ReminderPress(action="quick", day=day)),
        ]
        if later:
            choices.append(button(_("⏰ Later"), ReminderPress(action="later", day=day)))
        choices.append(button(_("Not today"), ReminderPress(action="skip", day=day)))
    return _params(text, rows(choices, 1))


# What a reminder needs of a person: columns, not ORM objects (a tick reads thousands).
_REMINDED = select(
    User.id,
    User.telegram_id,
    User.locale,
    User.role,
    User.timezone,
    User.checkin_time,
    User.onboarded_at,
)


@handles(schedules.CHECKIN)
async def checkin_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """Queue the reminders that are due (one query for the people, one for today's logs,
    one insert, one upsert), and set each person's next one."""
    ids = [d.subject_id for d in due]
    people = {row.id: row for row in await session.execute(_REMINDED.where(User.id.in_(ids)))}
    logged = await _logged_since(session, ids, tick.now)
    # While a supervisor has a person's case open, a cheerful "time to log!" is out of place:
    # their reminders pause (the schedule still moves on) and start again once it is resolved.
    cared_for = await alert_records.with_open_cases(session, ids)
    queued, planned = [], []
    per_day = tick.settings.reminders_per_day
    for row in due:
        user = people.get(row.subject_id)
        if user is None or not flow.is_reminded(user):
            continue  # left the program or no longer logs: nothing more is due
        assert user.timezone is not None and user.checkin_time is not None
        today = flow.local_date(user.timezone, tick.now)
        claimed = flow.on_due(
            user.timezone,
            user.checkin_time,
            row.state,
            tick.now,
            logged_today=(user.id, today) in logged,
            per_day=per_day,
        )
        if claimed.number and user.id not in cared_for:
            day = claimed.day.isoformat()
            later = flow.offers_later(claimed.number, per_day)
            params = _reminder_params(user.locale, day, claimed.number, later)
            queued.append(
                Queued(
                    f"reminder:{user.id}:{day}:{claimed.number}",
                    user.telegram_id,
                    params,
                    on_undeliverable=f"pause_reminders:{user.id}",
                )
            )
        planned.append((user.id, claimed.plan.due_at, claimed.plan.state))
    await outbox.enqueue_many(session, queued)
    await schedules.set_many(session, flow.CHECKIN, planned)


async def _logged_since(
    session: AsyncSession, ids: list[int], now: dt.datetime
) -> set[tuple[int, dt.date]]:
    # Local dates differ by zone, by a day at most either way from UTC's.
    first = now.date() - dt.timedelta(days=1)
    statement = select(DailyLog.user_id, DailyLog.local_date).where(
        DailyLog.user_id.in_(ids), DailyLog.local_date >= first
    )
    return {(row.user_id, row.local_date) for row in await session.execute(statement)}


def _reach_out(match_id: int) -> InlineKeyboardMarkup:
    return rows([button(_("💬 Reach out"), ReachOut(match_id=match_id))], 1)


@handles(schedules.SILENCE)
async def silence_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """Mentees quiet for ``nudge_silent_days``: their mentor is nudged once per silence."""
    found = await nudges.silences(
        session, [d.subject_id for d in due], tick.now, tick.settings.nudge_silent_days
    )
    queued = []
    cared_for = await alert_records.with_open_cases(
        session, [silence.mentee.id for silence in found.nudges]
    )
    for silence in found.nudges:
        with tick.i18n.use_locale(silence.mentor.locale):
            text = _(
                "🌿 {name} hasn't checked in for {days} days. A short, friendly hello from you "
                "might mean a lot. No pressure on either of you."
            ).format(name=escape(silence.mentee.known_as), days=silence.days)
            if silence.mentee.id in cared_for:
                text += "\n\n" + supervisor_in_touch(silence.mentee.known_as)
            queued.append(
                Queued(
                    silence.key,
                    silence.mentor.telegram_id,
                    _params(text, _reach_out(silence.match.id)),
                )
            )
    await outbox.enqueue_many(session, queued)
    await schedules.set_many(session, nudges.SILENCE, [(m, at, {}) for m, at in found.later])


def supervisor_in_touch(name: str) -> str:
    """Why a mentee in an open case hears nothing from the bot, for their mentor: enough to
    understand the quiet, nothing of what they said; the mentor is not asked to handle it."""
    return _(
        "The program's supervisors are in touch with {name} at the moment, so their daily "
        "reminders are paused. You don't need to do anything more; a kind hello is still "
        "welcome."
    ).format(name=escape(name))


async def after_log(
    session: AsyncSession,
    user: User,
    day: dt.date,
    answers: Mapping[str, Any],
    settings: Settings,
) -> None:
    """A finished daily log: the mentee's silence starts again, and a hard day they share
    reaches their mentor (queued in this same transaction)."""
    limits = nudges.Thresholds(
        settings.nudge_silent_days, settings.hard_day_symptoms, settings.hard_day_mood
    )
    hard = await nudges.log_saved(session, user, day, answers, limits, utcnow())
    if hard is None:
        return
    with get_i18n().use_locale(hard.mentor.locale):
        text = _(
            "🌿 {name} had a hard day today and shares that with you. A kind word could help, "
            "if you have the energy for it."
        ).format(name=escape(hard.mentee.known_as))
        if await alert_records.any_open_case(session, user.id) is not None:
            text += "\n\n" + supervisor_in_touch(hard.mentee.known_as)
        markup = _reach_out(hard.match.id)
    await outbox.enqueue(
        session,
        key=nudges.hard_key(user.id, day),
        chat_id=hard.mentor.telegram_id,
        method="sendMessage",
        params=_params(text, markup),
    )


@handles(schedules.DIGEST)
async def digest_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """Each mentor's weekly digest: a line per active mentee, as much as they share."""
    settings, planned = tick.settings, []
    for row in due:
        mentor = await session.get(User, row.subject_id)
        if mentor is None or mentor.role != Role.MENTOR or not flow.is_reminded(mentor):
            continue
        assert mentor.timezone is not None and mentor.checkin_time is not None
        await _queue_digest(session, mentor, tick)
        due_at = flow.next_digest_at(
            mentor.timezone, mentor.checkin_time, settings.digest_weekday, tick.now
        )
        planned.append((mentor.id, due_at, {}))
    await schedules.set_many(session, flow.DIGEST, planned)


async def _queue_digest(session: AsyncSession, mentor: User, tick: Tick) -> None:
    lines, reach, charting = [], [], []
    for match in await matches.active_of_mentor(session, mentor.id):
        mentee = await session.get(User, match.mentee_id)
        if mentee is None:
            continue
        summary = await mentee_summary.summarize(
            session,
            mentee,
            hard_symptoms=tick.settings.hard_day_symptoms,
            hard_mood=tick.settings.hard_day_mood,
            now=tick.now,
        )
        with tick.i18n.use_locale(mentor.locale):
            lines.append(render.mentee_block(summary))
            reach.append(button(f"💬 {summary.name}", ReachOut(match_id=match.id)))
        if summary.shares_trends:  # their chart comes with it, only when they share trends
            charting.append(mentee)
    if not lines:
        return  # no mentee this week: nothing to sum up
    with tick.i18n.use_locale(mentor.locale):
        header = "🌿 <b>" + _("Your week with your mentees") + "</b>"
    day = timezones.today(mentor.timezone, tick.now).isoformat()
    text = "\n\n".join([header, *lines])
    await outbox.enqueue(
        session,
        key=f"digest:{mentor.id}:{day}",
        chat_id=mentor.telegram_id,
        method="sendMessage",
        params=_params(text, rows(reach, 1)),
    )
    for mentee in charting:  # after the digest's text (the outbox keeps the order queued)
        with tick.i18n.use_locale(mentor.locale):
            await trend_charts.queue_shared_chart(
                session,
                mentor,
                mentee,
                tick.settings,
                f"trends:{mentee.id}:digest:{mentor.id}:{day}",
            )


async def schedule_new_person(session: AsyncSession, user: User, settings: Settings) -> None:
    """Onboarding finished: the first reminder (and a mentor's digest) is scheduled."""
    now = utcnow()
    await flow.schedule_person(session, user, now)
    await flow.schedule_digest(session, user, now, settings.digest_weekday)
    await measures.schedule_person(session, user, now)  # a mentee's weekly questions


daily_log.AFTER_SAVE.append(after_log)  # a saved log restarts the silence, tells a hard day
