"""The daily symptom and pacing log: /log, /today, /history, and the taps in between."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import daily_log, timezones
from flows.daily_log import Options, Step
from flows.questionnaire import Progress
from handlers import render
from handlers.alerts import HELP_NOW_LABEL
from handlers.filters import PRIVATE, HasRole
from handlers.keyboards import (
    HelpNow,
    HelpNowAfterLog,
    LogAnswer,
    button,
    button_label,
    crisis_keyboard,
)
from handlers.menu import LOGGERS
from handlers.questionnaire import Conversation
from storage import daily_logs
from storage.models import User

DITTO = "ditto"  # "Same as yesterday" on the first question
HELP = "help"  # someone to talk to, offered after the lowest moods
QUICK = daily_log.QUICK  # "Low on energy? 3 taps only" on the first question


class DailyLog(Conversation):
    """The log on the questionnaire engine, with two rules of its own: "Same as yesterday"
    on its first question, and someone to talk to offered right after the lowest moods."""

    waiting = __("Your daily log is waiting where you left it: /log picks it up.")

    async def context(
        self, user: User | None, settings: Settings, session: AsyncSession | None = None
    ) -> Options:
        return _options(settings.log_symptoms, settings.note_max_length)

    def extras(self, draft: dict[str, Any], step: str) -> tuple[str, ...]:
        marks = ()
        quick = daily_log.is_quick(draft.get("answers") or {})
        if step == Step.INTENSITY and draft.get("ditto") and not quick:
            marks += (DITTO,)
        if step == Step.INTENSITY and not quick:
            marks += (QUICK,)
        offer = daily_log.offers_help(Step(step), draft.get("answers") or {})
        if offer and not draft.get("help_asked"):
            marks += (HELP,)
        return marks

    def decorate(
        self, extras: tuple[Any, ...], step: str, text: str, markup: list[list[Any]]
    ) -> str:
        if DITTO in extras:
            markup.append([button(_("↺ Same as yesterday"), LogAnswer(step=step, value=DITTO))])
        if QUICK in extras:
            markup.append([button(quick_label(), LogAnswer(step=step, value=QUICK))])
        if HELP in extras:  # after the lowest moods: someone to talk to, beside carrying on
            text = (
                _(
                    "💛 I'm sorry today is so hard. If you need to talk to someone now, tap "
                    "“{button}”. Or answer below, and we'll carry on."
                ).format(button=HELP_NOW_LABEL)
                + "\n\n"
                + text
            )
            markup.append([button(str(HELP_NOW_LABEL), HelpNow())])
        return text

    async def special(
        self, step: str, value: str, draft: dict[str, Any], user: User, session: AsyncSession
    ) -> Progress | None:
        if step == Step.INTENSITY and value == DITTO:
            if not draft.get("ditto"):
                raise daily_log.InvalidAnswer(value)
            same = daily_log.same_as_yesterday(draft["ditto"])
            return Progress(same.answers, same.step)
        if step == Step.INTENSITY and value == QUICK:
            quick = daily_log.go_quick(draft.get("answers") or {})
            return Progress(quick.answers, quick.step)
        return None

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
        day = dt.date.fromisoformat(draft["date"])
        quick = daily_log.is_quick(draft["answers"])
        answers = daily_log.quick_answers(draft["answers"]) if quick else draft["answers"]
        await daily_logs.save(session, user.id, day, answers)
        for after in AFTER_SAVE:  # what else a saved log sets going (nudges, ...)
            await after(session, user, day, answers, settings)
        await state.clear()
        if quick:
            await self._finish_quick(message, answers, day, user, edit=edit)
            return
        text = (
            _("✓ Saved. Thank you for checking in.")
            + "\n\n"
            + render.log_summary(draft["answers"], day, user.locale)
            + "\n\n"
            + render.pacing_word(draft["answers"]["activity"])
        )
        if edit:
            await message.edit_text(text)
        else:
            await message.answer(text)
        if daily_log.very_hard_day(draft["answers"]):
            await message.answer(very_hard_day_words(), reply_markup=crisis_keyboard())

    async def _finish_quick(
        self, message: Message, answers: Mapping[str, Any], day: dt.date, user: User, *, edit: bool
    ) -> None:
        """A three-tap log saved: said warmly, as a full check-in. After the lowest moods the
        offer of someone to talk to comes here (there is no next question to carry it)."""
        text = (
            _(
                "✓ Saved. Three taps on a hard day is a real check-in, and it counts as "
                "today's log. Thank you for looking after yourself."
            )
            + "\n\n"
            + render.log_summary(answers, day, user.locale)
        )
        markup = None
        if answers.get(Step.MOOD) is not None and answers[Step.MOOD] <= daily_log.HELP_OFFER_MOOD:
            text += "\n\n" + _(
                "💛 I'm sorry today is so hard. If you need to talk to someone now, tap “{button}”."
            ).format(button=HELP_NOW_LABEL)
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[button(str(HELP_NOW_LABEL), HelpNowAfterLog())]]
            )
        if edit:
            await message.edit_text(text, reply_markup=markup)
        else:
            await message.answer(text, reply_markup=markup)
        if daily_log.very_hard_day(answers):
            await message.answer(very_hard_day_words(), reply_markup=crisis_keyboard())


def quick_label() -> str:
    return _("🥄 Low on energy? 3 taps only")


LOG = DailyLog(daily_log.LOG, LogAnswer)

# What else a saved log sets going, in the log's transaction: each feature adds itself here
# (handlers/reminders.py: the mentee's silence starts again, a shared hard day is told).
AFTER_SAVE: list[
    Callable[[AsyncSession, User, dt.date, Mapping[str, Any], Settings], Awaitable[None]]
] = []


@lru_cache(maxsize=8)
def _options(symptoms: tuple[str, ...], note_limit: int) -> Options:
    return Options(tuple(symptoms), note_limit)


def router() -> Router:
    r = Router(name="daily_log")
    r.message.filter(PRIVATE)
    loggers = HasRole(*LOGGERS)
    r.message.register(start_log, Command("log"), loggers)
    r.message.register(show_today, Command("today"), loggers)
    r.message.register(show_history, Command("history"), loggers)
    LOG.register(r, loggers)
    return r


async def start_log(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    *,
    quick: bool = False,
) -> None:
    """/log, or the reminder's buttons: the full log, or (``quick``) the three-tap one."""
    context = await LOG.context(user, settings)
    if await LOG.resume(message, state, context):
        return
    today = timezones.today(user.timezone)
    if await daily_logs.get(session, user.id, today) is not None:
        await message.answer(
            _("You've already logged today. Your answers now will replace today's log.")
        )
    yesterday = await daily_logs.get(session, user.id, today - dt.timedelta(days=1))
    ditto = daily_logs.answers_of(yesterday) if yesterday else None
    draft = {
        "date": today.isoformat(),
        "step": Step.INTENSITY.value,
        "answers": {QUICK: True} if quick else {},
        # a three-tap day has too little to copy: "Same as yesterday" needs a full log
        "ditto": ditto if ditto and daily_log.is_full(ditto) else None,
    }
    await LOG.begin(message, state, draft, context)


async def is_current_question(query: CallbackQuery, state: FSMContext) -> bool:
    """The pressed message is the log question being asked now."""
    return await LOG.is_current_question(query, state)


async def ask_again_after_help(message: Message, state: FSMContext, settings: Settings) -> None:
    """After "I need to talk to someone now" from the log: the same question, below the
    answer, without the offer (it was taken); the log goes on from there."""
    draft = await state.get_data()
    context = await LOG.context(None, settings)
    await LOG.ask(message, state, {**draft, "help_asked": True}, context)


async def show_today(message: Message, user: User, session: AsyncSession) -> None:
    today = timezones.today(user.timezone)
    log = await daily_logs.get(session, user.id, today)
    if log is None:
        await message.answer(_("No log yet today. /log takes under a minute."))
        return
    await message.answer(render.log_summary(daily_logs.answers_of(log), today, user.locale))


async def show_history(message: Message, user: User, session: AsyncSession) -> None:
    today = timezones.today(user.timezone)
    days = [today - dt.timedelta(days=offset) for offset in range(6, -1, -1)]
    logs = await daily_logs.since(session, user.id, days[0])
    by_day = {log.local_date: daily_logs.answers_of(log) for log in logs}
    await message.answer(render.history(by_day, days, user.locale))


def very_hard_day_words() -> str:
    """Below the summary of a very hard day: it is seen, and the 🆘 view is one tap away (the
    keyboard comes again with it). The offer of someone to talk to came with the mood."""
    return _(
        "💛 That was a very hard day, and you still checked in. Please be gentle with "
        "yourself. If things get too much, “{button}” below shows your plan and who to "
        "call, in one tap."
    ).format(button=button_label())
