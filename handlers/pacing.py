"""Pacing that learns, in chat: after a saved log, a gentle note when it completes a boom
and bust, and (at most once a week) a weekly goal to accept, change or leave.

flows/pacing.py decides; this renders. Both messages go through the outbox under an
idempotency key, in the log's own transaction, so they arrive after the saved summary and
a replayed log adds nothing. The person's pacing state is their "pacing" schedule row
(never due): the goal they hold, the week last offered and the booms already noted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import daily_log as log_flow
from flows import pacing as flow
from flows import questionnaire as q
from flows import timezones
from flows.questionnaire import Kind
from flows.states import PacingGoal
from handlers import daily_log
from handlers.due import Tick, handles
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import button, retire_buttons, rows
from handlers.menu import LOGGERS
from handlers.questionnaire import Conversation
from storage import daily_logs, outbox, schedules
from storage.models import User
from storage.schedules import Due


class PacingPress(CallbackData, prefix="pace"):
    action: str  # "accept" | "change" | "later"
    who: int  # users.id the suggestion was made to: re-checked against the presser
    week: str  # the day it was offered: an older week's buttons have expired


class GoalAnswer(CallbackData, prefix="pacegoal"):
    step: str
    value: str


GOAL_CHOICES = tuple(str(n) for n in range(1, flow.MAX_GOAL + 1))

GOAL = q.Questionnaire(
    name="pacing_goal",
    state=PacingGoal.answering,
    header=__("Your weekly pacing goal"),
    steps=(
        q.Step(
            "goal",
            Kind.NUMBER,
            __(
                "On how many days this week would you like to do what you plan? Tap a number, "
                "or type one from 1 to 7. Fewer is fine: it's your week."
            ),
            choices=GOAL_CHOICES,
            parse=q.whole_number(1, flow.MAX_GOAL),
            widths=(7,),
            hint=__("Please tap a number, or type a whole number from 1 to 7."),
        ),
    ),
)


class ChangingGoal(Conversation):
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
        goal = int(draft["answers"]["goal"])
        current = await state_of(session, user.id)
        await _store(session, user.id, {**current, "goal": goal, "goal_set": _today(user)})
        await state.clear()
        text = goal_set_words(goal)
        if edit:
            await message.edit_text(text)
        else:
            await message.answer(text)


CHANGE = ChangingGoal(GOAL, GoalAnswer)


def router() -> Router:
    r = Router(name="pacing")
    r.message.filter(PRIVATE)
    loggers = HasRole(*LOGGERS)
    r.callback_query.register(pressed, PacingPress.filter(), loggers)
    CHANGE.register(r, loggers)
    return r


# --- the person's pacing state -----------------------------------------------------------


# Days since joining before pacing can say anything: a usual level needs seven logs (one
# of them may be for the day before joining).
JOINED_DAYS = flow.MIN_LOGS_FOR_USUAL - 2


async def state_of(session: AsyncSession, user_id: int) -> dict[str, Any]:
    row = await schedules.get(session, schedules.PACING, user_id)
    return dict(row.state or {}) if row is not None else {}


async def _store(session: AsyncSession, user_id: int, state: Mapping[str, Any]) -> None:
    await schedules.set_due(session, schedules.PACING, user_id, None, state)


@handles(schedules.PACING)
async def never_due(session: AsyncSession, due: list[Due], tick: Tick) -> None:
    """Pacing rows are never due (they keep state); one made due by hand is left unscheduled."""


def _today(user: User) -> str:
    return timezones.today(user.timezone).isoformat()


def days_of(logs: list[Any]) -> list[flow.Day]:
    return [
        flow.Day(log.local_date, log.symptom_intensity, log.energy, log.activity) for log in logs
    ]


# --- after a saved log -------------------------------------------------------------------


async def after_log(
    session: AsyncSession,
    user: User,
    day: dt.date,
    answers: Mapping[str, Any],
    settings: Settings,
) -> None:
    """A boom and bust this log completes, gently named once; the weekly goal, once a week.
    Not on a very hard day: then the log's own words of care come alone."""
    if log_flow.very_hard_day(answers):
        return
    if (day - user.created_at.date()).days < JOINED_DAYS:
        return  # too new for a usual level: nothing to read (most updates of a new program)
    state = await state_of(session, user.id)
    offered = state.get("offered")
    due = flow.is_due(dt.date.fromisoformat(offered) if offered else None, day)
    crash = flow.may_be_a_crash(answers.get("symptom_intensity"), answers.get("energy"))
    if not due and not crash:
        return  # most days: nothing to name, nothing to offer, the weeks before not read
    await session.flush()  # today's log is among the days read
    logs = await daily_logs.since(session, user.id, day - dt.timedelta(days=flow.WINDOW_DAYS))
    days = days_of(logs)
    before = dict(state)
    pattern = flow.completed_by(days, day) if crash else None
    if pattern is not None and pattern.boom.isoformat() not in state.get("noted", []):
        state = await _name_boom_bust(session, user, day, pattern, state)
        if state.get("noted_on") == day.isoformat():
            await _store(session, user.id, state)
            return  # one pacing message a log: the weekly goal can wait for the next
    if due:
        suggestion = flow.suggest(days, day, state.get("goal"))
        if suggestion is not None:
            week = day.isoformat()
            state = {**state, "offered": week, "offer": suggestion.goal}
            text, markup = suggestion_message(suggestion, state.get("goal"), user.id, week)
            await outbox.enqueue(
                session,
                key=f"pacing:{user.id}:goal:{week}",
                chat_id=user.telegram_id,
                method="sendMessage",
                params={
                    "text": text,
                    "parse_mode": "HTML",
                    "reply_markup": markup.model_dump(exclude_none=True),
                },
            )
    if state != before:
        await _store(session, user.id, state)


async def _name_boom_bust(
    session: AsyncSession,
    user: User,
    day: dt.date,
    pattern: flow.BoomBust,
    state: dict[str, Any],
) -> dict[str, Any]:
    """Name the pattern once (its boom remembered), and at most once a week."""
    boom = pattern.boom.isoformat()
    state = {**state, "noted": [*state.get("noted", []), boom][-8:]}
    last = state.get("noted_on")
    if not flow.note_allowed(dt.date.fromisoformat(last) if last else None, day):
        return state
    await outbox.enqueue(
        session,
        key=f"pacing:{user.id}:bust:{boom}",
        chat_id=user.telegram_id,
        method="sendMessage",
        params={"text": boom_bust_words(), "parse_mode": "HTML"},
    )
    return {**state, "noted_on": day.isoformat()}


daily_log.AFTER_SAVE.append(after_log)


# --- the words ---------------------------------------------------------------------------


def boom_bust_words() -> str:
    return _(
        "🌱 Something I noticed: a day or two ago you did more than you'd planned, and today "
        "is a harder day. That boom and bust happens to so many of us, and it isn't your "
        "fault.\n\n"
        "One thing that helps some people: on a good day, stop while you still have a little "
        "energy left, and save the rest for tomorrow."
    )


def days_words(count: int) -> str:
    # Counts here are 1 to 7: in en, es and de only 1 is singular.
    return _("1 day") if count == 1 else _("{count} days").format(count=count)


def suggestion_message(
    suggestion: flow.Suggestion, current: int | None, user_id: int, week: str
) -> tuple[str, InlineKeyboardMarkup]:
    lines = ["🌿 <b>" + _("Your week ahead") + "</b>"]
    lines.append(
        _(
            "Looking at your logs of the last few weeks: on about {days} a week, you do what "
            "you planned and don't crash afterwards."
        ).format(days=days_words(suggestion.baseline))
    )
    goal = days_words(suggestion.goal)
    if suggestion.reason is flow.Reason.GROW:
        lines.append(
            _("If it feels right, how about {goal} this week? Just a little step up.").format(
                goal=goal
            )
        )
    elif suggestion.reason is flow.Reason.CRASH_WEEK:
        lines.append(
            _(
                "This week had a hard patch, so no stepping up for now: how about {goal}, and "
                "plenty of rest in between?"
            ).format(goal=goal)
        )
    elif suggestion.reason is flow.Reason.AFTER_EXERTION:
        lines.append(
            _(
                "Your body seems to ask for payback a day or two after active days, so "
                "holding steady may be kinder than doing more: how about {goal} again?"
            ).format(goal=goal)
        )
    else:
        lines.append(
            _("How about keeping to {goal} this week? Steady weeks are a good base.").format(
                goal=goal
            )
        )
    if current is not None:
        lines.append(_("(Your goal so far: {goal}.)").format(goal=days_words(current)))
    lines.append(_("It's only a suggestion: you know your body best."))
    markup = rows(
        [
            button(
                _("✓ {goal} sounds right").format(goal=goal),
                PacingPress(action="accept", who=user_id, week=week),
            ),
            button(
                _("✎ Choose another number"), PacingPress(action="change", who=user_id, week=week)
            ),
            button(_("Not now"), PacingPress(action="later", who=user_id, week=week)),
        ],
        1,
    )
    return "\n\n".join(lines), markup


def goal_set_words(goal: int) -> str:
    return _(
        "✓ Your goal this week: {goal} of doing what you plan. On the other days, rest counts "
        "too. In a week we'll look at it again together."
    ).format(goal=days_words(goal))


# --- the suggestion's buttons ------------------------------------------------------------


async def pressed(
    query: CallbackQuery,
    callback_data: PacingPress,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    current = await state_of(session, user.id)
    # Only the person it was made to, and only this week's: the state says which week.
    if (
        message is None
        or callback_data.who != user.id
        or current.get("offered") != callback_data.week
        or not current.get("offer")
    ):
        await query.answer(_("This button has expired."))
        if message is not None and callback_data.who == user.id:
            await retire_buttons(bot, message.chat.id, message.message_id)
        return
    action = callback_data.action
    if action == "accept":
        goal = int(current["offer"])
        await _store(session, user.id, {**current, "goal": goal, "goal_set": _today(user)})
        await query.answer()
        await _edit(message, goal_set_words(goal))
    elif action == "later":
        await query.answer()
        await _edit(
            message,
            _("That's fine. No goal needed: I'll offer one again in a week or so."),
        )
    elif action == "change":
        await query.answer()
        await retire_buttons(bot, message.chat.id, message.message_id)
        context = await CHANGE.context(user, settings)
        await CHANGE.begin(message, state, {"answers": {}}, context)
    else:
        await query.answer(_("This button has expired."))


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramBadRequest as error:  # a double tap: it already says so
        if "not modified" not in error.message:
            raise
