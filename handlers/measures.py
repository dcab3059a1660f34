"""Weekly measures in chat: once a week at a mentee's check-in time, an invitation to this
week's short validated questionnaire ([Start] [Not this week] [Stop weekly questions]),
the questionnaire itself on the engine, its score with the change since their first, the
same under /trends, and /measures to turn them off or on again.

flows/measures.py holds the instruments, their wording, scoring and rotation. The person's
schedule row (kind "measure") keeps its state: ``last`` (the measure last asked, answered
or passed), ``offered`` and ``week`` (this week's invitation: its buttons count until the
next), ``weekday`` (theirs), ``at`` (when it was due) and ``stopped``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from html import escape
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_skeleton
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import measures as flow
from flows import reminders, timezones
from flows.questionnaire import Step
from handlers.due import Tick, handles
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import button, retire_buttons, rows
from handlers.questionnaire import Conversation
from storage import alerts as alert_records
from storage import measures as scores
from storage import outbox, schedules
from storage.models import Profile, Role, Schedule, User
from storage.outbox import Queued
from storage.schedules import Due

MEASURE = schedules.MEASURE


class MeasureAnswer(CallbackData, prefix="wm"):
    step: str
    value: str


class MeasurePress(CallbackData, prefix="wmi"):
    action: str  # "start" | "skip" (not this week) | "stop" | "on" (from /measures)
    week: str  # the local date it was offered: an older week's buttons have expired


NAMES = {
    flow.SSS8: __("Somatic symptoms"),
    flow.WSAS: __("Work and social life"),
    flow.UCLA3: __("Loneliness"),
    flow.PSEQ2: __("Confidence despite pain"),
}
MEANING = {  # which way is better, said plainly beside a change
    flow.SSS8: __("lower means less bothered by symptoms"),
    flow.WSAS: __("lower means less impact on daily life"),
    flow.UCLA3: __("lower means less lonely"),
    flow.PSEQ2: __("higher means more confident"),
}
# The manuals' bands. SSS-8: Gierk et al. 2014, as published. WSAS: Mundt et al. 2002 read
# totals below 10, 10–20 and above 20 as seen in subclinical groups, with significant
# impairment, and with moderately severe or worse difficulties; said here for the person.
BANDS = {
    "minimal": __("no to minimal somatic symptom burden"),
    "low": __("low somatic symptom burden"),
    "medium": __("medium somatic symptom burden"),
    "high": __("high somatic symptom burden"),
    "very_high": __("very high somatic symptom burden"),
    "subclinical": __("little impact on daily life"),
    "significant": __("a significant impact on daily life"),
    "severe": __("a severe impact on daily life"),
}


def title(measure: str) -> str:
    return f"{NAMES[measure]} ({flow.INSTRUMENTS[measure].short})"


# --- the questionnaire -----------------------------------------------------------------------


class WeeklyMeasure(Conversation):
    """This week's measure on the engine: its context is the person's language (which picks
    the validated wording), and each answer is labelled as published."""

    async def context(
        self, user: User | None, settings: Settings, session: AsyncSession | None = None
    ) -> Hashable:
        return user.locale if user is not None else get_i18n().current_locale

    def label(self, step: Step, value: str, context: Hashable) -> str:
        measure = step.name.split("_", 1)[0]
        if value == flow.NOT_APPLICABLE:
            return _("Tick here: retired, or no job for other reasons")
        wording = flow.wording(measure, str(context)) or flow.wording(measure, "en")
        assert wording is not None
        named = wording.answers.get(int(value), "")
        if len(flow.INSTRUMENTS[measure].values) <= 5:  # named answers only: as printed
            return named
        return f"{value} · {named}" if named else value

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
        measure = answers[flow.MEASURE]
        result = flow.score(measure, answers)
        day = timezones.today(user.timezone)
        await scores.save(session, user.id, day, result)
        row = await state_of(session, user.id)
        row.pop("offered", None)
        await _keep(session, user.id, {**row, "last": measure})
        await state.clear()
        await session.flush()
        history = (await scores.of_person(session, user.id)).get(measure, [])
        text = (
            _("✓ Saved. Thank you for answering this week's questions.")
            + "\n\n"
            + score_words(measure, history, user.locale)
            + "\n\n"
            + _("/trends shows them under your chart.")
        )
        if edit:
            await message.edit_text(text)
        else:
            await message.answer(text)


QUESTIONS = WeeklyMeasure(flow.QUESTIONS, MeasureAnswer)


def router() -> Router:
    r = Router(name="measures")
    r.message.filter(PRIVATE)
    mentees = HasRole(Role.MENTEE)
    r.message.register(show_measures, Command("measures"), mentees)
    r.callback_query.register(pressed, MeasurePress.filter(), mentees)
    QUESTIONS.register(r, mentees)
    return r


# --- the person's row --------------------------------------------------------------------------


async def state_of(session: AsyncSession, user_id: int) -> dict[str, Any]:
    row = await schedules.get(session, MEASURE, user_id)
    return dict(row.state or {}) if row is not None else {}


async def _keep(session: AsyncSession, user_id: int, state: Mapping[str, Any]) -> None:
    """Change the row's state, keeping when it is next due."""
    row = await schedules.get(session, MEASURE, user_id)
    due = row.due_at if row is not None else None
    await schedules.set_due(session, MEASURE, user_id, due, state)


def takes_part(user: Any) -> bool:
    """Mentees with a check-in time: the weekly questions come with it."""
    return user.role == Role.MENTEE and reminders.is_reminded(user)


def first_due(user: User, now: dt.datetime) -> tuple[dt.datetime, int]:
    """A week from today at their check-in time (they settle in first), and its weekday."""
    assert user.timezone is not None and user.checkin_time is not None
    day = timezones.local_date(user.timezone, now) + dt.timedelta(days=flow.FIRST_AFTER_DAYS)
    return reminders.at_local(user.timezone, day, user.checkin_time), day.weekday()


async def schedule_person(session: AsyncSession, user: User, now: dt.datetime) -> None:
    """A new mentee's first weekly questions; a changed check-in time moves them (same
    weekday, unless stopped)."""
    if not takes_part(user):
        return
    assert user.timezone is not None and user.checkin_time is not None
    state = await state_of(session, user.id)
    if state.get("stopped"):
        return
    if "weekday" in state:
        due = reminders.next_weekday_at(user.timezone, user.checkin_time, state["weekday"], now)
    else:
        due, weekday = first_due(user, now)
        state["weekday"] = weekday
    await schedules.set_due(session, MEASURE, user.id, due, {**state, "at": due.isoformat()})


async def backfill(session: AsyncSession, now: dt.datetime) -> int:
    """Mentees onboarded before weekly measures existed get their row (once)."""
    have = select(Schedule.subject_id).where(Schedule.kind == MEASURE)
    missing = select(User).where(
        User.onboarded_at.is_not(None),
        User.role == str(Role.MENTEE),
        User.timezone.is_not(None),
        User.checkin_time.is_not(None),
        User.id.not_in(have),
    )
    added = 0
    for user in (await session.execute(missing)).scalars():
        await schedule_person(session, user, now)
        added += 1
    return added


# --- the weekly tick -------------------------------------------------------------------------


@handles(MEASURE)
async def measure_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """Each due mentee's invitation to this week's measure, and their next week's row."""
    found = await session.scalars(select(User).where(User.id.in_([d.subject_id for d in due])))
    people = {user.id: user for user in found}
    cared_for = await alert_records.with_open_cases(session, list(people))
    queued, planned = [], []
    for row in due:
        user = people.get(row.subject_id)
        if user is None or not takes_part(user) or row.state.get("stopped"):
            continue  # left, no longer a mentee, or stopped: nothing more is due
        assert user.timezone is not None and user.checkin_time is not None
        state = dict(row.state)
        weekday = state.setdefault(
            "weekday", timezones.local_date(user.timezone, tick.now).weekday()
        )
        due_at = reminders.next_weekday_at(user.timezone, user.checkin_time, weekday, tick.now)
        invitation = await _invitation(session, user, state, tick, user.id in cared_for)
        if invitation is not None:
            queued.append(invitation[0])
            state = invitation[1]
        planned.append((user.id, due_at, {**state, "at": due_at.isoformat()}))
    await outbox.enqueue_many(session, queued)
    await schedules.set_many(session, MEASURE, planned)


async def _invitation(
    session: AsyncSession, user: User, state: dict[str, Any], tick: Tick, cared_for: bool
) -> tuple[Queued, dict[str, Any]] | None:
    """This week's invitation, or None: a week their reminders are paused, a case open (a
    supervisor is in touch: no questionnaire now), a day the bot was down for, or no
    measure with validated wording in their language."""
    today = timezones.local_date(user.timezone or "UTC", tick.now)
    scheduled = dt.datetime.fromisoformat(state["at"]) if state.get("at") else tick.now
    checkin = await reminders.state_of(session, user)
    if cared_for or reminders.pause_of(checkin, today) is not None:
        return None
    if timezones.local_date(user.timezone or "UTC", scheduled) != today:
        return None  # the bot was down on the day: next week, not a late one now
    profile = await session.get(Profile, user.id)
    choices = flow.offered(user.locale, profile.symptoms if profile is not None else None)
    measure = flow.next_in_rotation(state.get("last"), choices)
    if measure is None:
        return None
    week = today.isoformat()
    with tick.i18n.use_locale(user.locale):
        text, markup = invitation_message(measure, week)
    queued = Queued(
        f"measure:{user.id}:{week}:{measure}",
        user.telegram_id,
        {"text": text, "parse_mode": "HTML", "reply_markup": markup.model_dump(exclude_none=True)},
    )
    return queued, {**state, "offered": measure, "week": week}


def invitation_message(measure: str, week: str) -> tuple[str, InlineKeyboardMarkup]:
    count = len(flow.INSTRUMENTS[measure].items)
    text = "\n\n".join(
        [
            "🌿 <b>" + _("This week's questions") + "</b>",
            _(
                "{title}: {count} short questions, about a minute, all answered by tapping. "
                "Week by week they show you, and your program, what changes."
            ).format(title=escape(title(measure)), count=count),
            _("No right or wrong answers, and you can stop at any time."),
        ]
    )
    markup = rows(
        [
            button(_("▶ Start"), MeasurePress(action="start", week=week)),
            button(_("Not this week"), MeasurePress(action="skip", week=week)),
            button(_("Stop weekly questions"), MeasurePress(action="stop", week=week)),
        ],
        1,
    )
    return text, markup


# --- the invitation's buttons, and /measures ---------------------------------------------------


async def pressed(
    query: CallbackQuery,
    callback_data: MeasurePress,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(_("This button has expired."))
        return
    current = await state_of(session, user.id)
    action = callback_data.action
    if action == "on":
        await _turn_on(query, message, user, session, current)
        return
    # Only this week's invitation, while its measure is still offered.
    if current.get("week") != callback_data.week or not current.get("offered"):
        await query.answer(_("This button has expired."))
        await retire_buttons(bot, message.chat.id, message.message_id)
        return
    measure = current["offered"]
    if action == "start":
        running = await state.get_state()
        if running == QUESTIONS.flow.state.state:
            await query.answer()
            await QUESTIONS.resume(message, state, await QUESTIONS.context(user, settings))
            return
        if running is not None:  # a daily log half done: nothing of it is lost
            await query.answer(
                _("Please finish or /cancel what you're doing first, then tap Start again."),
                show_alert=True,
            )
            return
        await query.answer()
        await retire_buttons(bot, message.chat.id, message.message_id)
        context = await QUESTIONS.context(user, settings)
        await QUESTIONS.begin(message, state, {"answers": {flow.MEASURE: measure}}, context)
    elif action == "skip":
        current.pop("offered", None)
        await _keep(session, user.id, {**current, "last": measure})  # next week: the next one
        await query.answer()
        await _edit(message, _("That's fine. Next week there will be another short one."))
    elif action == "stop":
        current.pop("offered", None)
        await schedules.set_due(session, MEASURE, user.id, None, {**current, "stopped": True})
        await query.answer()
        await _edit(message, stopped_words())
    else:
        await query.answer(_("This button has expired."))


def stopped_words() -> str:
    return _(
        "Done: no more weekly questions. Your daily check-in stays as it is. If you'd like "
        "them back one day, /measures turns them on again."
    )


async def _turn_on(
    query: CallbackQuery, message: Message, user: User, session: AsyncSession, current: dict
) -> None:
    if current.get("at") and not current.get("stopped"):  # on already (a second tap)
        await query.answer()
        await _edit(message, on_words(user, current))
        return
    current.pop("stopped", None)
    await schedules.set_due(session, MEASURE, user.id, None, current)
    await schedule_person(session, user, dt.datetime.now(dt.UTC))
    await query.answer()
    await _edit(message, on_words(user, await state_of(session, user.id)))


async def show_measures(message: Message, user: User, session: AsyncSession) -> None:
    if not takes_part(user):
        await message.answer(_("Weekly questions come with a daily check-in time: /reminders."))
        return
    profile = await session.get(Profile, user.id)
    if not flow.offered(user.locale, profile.symptoms if profile is not None else None):
        await message.answer(not_in_this_language_words())
        return
    current = await state_of(session, user.id)
    if current.get("stopped") or not current:
        today = timezones.today(user.timezone).isoformat()
        await message.answer(
            _("Weekly questions are off."),
            reply_markup=rows(
                [button(_("Turn them on"), MeasurePress(action="on", week=today))], 1
            ),
        )
        return
    await message.answer(on_words(user, current))


def not_in_this_language_words() -> str:
    return _(
        "The weekly questions aren't available in your language yet. They are validated "
        "questionnaires, and their words may only be used in a translation that has been "
        "checked the same way; until the program has one, I'd rather ask nothing."
    )


def on_words(user: User, current: Mapping[str, Any]) -> str:
    assert user.timezone is not None and user.checkin_time is not None
    at = current.get("at")
    when = dt.datetime.fromisoformat(at) if at else None
    lines = [
        _(
            "Weekly questions are on: once a week at your check-in time, one short set of "
            "questions, each week a different one."
        )
    ]
    if when is not None:
        day = timezones.local_date(user.timezone, when)
        lines.append(
            _("The next: {day} at {time}.").format(
                day=escape(format_skeleton("MMMMEd", day, locale=user.locale)),
                time=user.checkin_time.strftime("%H:%M"),
            )
        )
    lines.append(_("Each invitation has a button to stop them."))
    return "\n".join(lines)


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramBadRequest as error:  # a double tap: it already says so
        if "not modified" not in error.message:
            raise


# --- scores in words: after answering, and under /trends ---------------------------------------


def score_words(measure: str, history: list[flow.Stored], locale: str) -> str:
    """The latest score of a measure, its band, and the change since the first."""
    latest = history[-1]
    line = _("{title}: {score} of {high} on {day}").format(
        title=escape(title(measure)),
        score=latest.total,
        high=latest.high,
        day=escape(format_skeleton("MMMd", latest.day, locale=locale)),
    )
    full = latest.high == flow.INSTRUMENTS[measure].score_range()[1]
    band = flow.band_of(measure, latest.total) if full else None
    if band is not None:
        line += " — " + str(BANDS[band])
    line += "."
    change = flow.change_since_start(measure, history)
    if change is None:
        if len(history) == 1:
            line += " " + _("Your first: later ones will show the change since this one.")
        return line
    first = _("{score} on {day}").format(
        score=change.first.total,
        day=escape(format_skeleton("MMMd", change.first.day, locale=locale)),
    )
    if change.difference == 0:
        moved = _("Since your first ({first}): the same.").format(first=first)
    elif change.difference < 0:
        moved = _("Since your first ({first}): down {points}").format(
            first=first, points=-change.difference
        )
        moved += f" ({MEANING[measure]})."
    else:
        moved = _("Since your first ({first}): up {points}").format(
            first=first, points=change.difference
        )
        moved += f" ({MEANING[measure]})."
    return line + " " + moved


async def weekly_words(session: AsyncSession, user: User, locale: str) -> str | None:
    """Every measure the person has answered, its latest score and change since the first
    (what /trends shows under the chart), or None before their first."""
    found = await scores.of_person(session, user.id)
    if not found:
        return None
    lines = ["📋 " + _("Weekly questions:")]
    for measure in flow.ROTATION:
        if found.get(measure):
            lines.append(score_words(measure, found[measure], locale))
    return "\n".join(lines)
