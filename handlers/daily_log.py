"""The daily symptom and pacing log: /log, /today, /history, and the taps in between."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import daily_log, timezones
from flows.daily_log import Step
from flows.states import DailyLogging
from handlers import reminders, render
from handlers.alerts import HELP_NOW_LABEL
from handlers.filters import HasRole
from handlers.keyboards import (
    CancelFlow,
    HelpNow,
    LogAnswer,
    NoteAction,
    button,
    is_current_prompt,
    retire_buttons,
    rows,
    with_rows,
)
from handlers.menu import LOGGERS
from storage import daily_logs
from storage.models import User

DITTO = "ditto"
Question = Callable[[frozenset[str], "Options"], tuple[str, InlineKeyboardMarkup]]


def router() -> Router:
    r = Router(name="daily_log")
    r.message.filter(F.chat.type == "private")
    loggers = HasRole(*LOGGERS)
    r.message.register(start_log, Command("log"), loggers)
    r.message.register(show_today, Command("today"), loggers)
    r.message.register(show_history, Command("history"), loggers)
    answering = StateFilter(DailyLogging.answering)
    r.callback_query.register(answer_tapped, LogAnswer.filter(), answering, loggers)
    r.callback_query.register(note_action, NoteAction.filter(), answering, loggers)
    r.message.register(answer_typed, answering, loggers, F.text, ~F.text.startswith("/"))
    r.message.register(not_an_answer, answering, loggers, ~F.text)
    return r


async def start_log(
    message: Message, user: User, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    draft = await state.get_data()
    if await state.get_state() == DailyLogging.answering.state and draft.get("step"):
        await message.answer(_("Let's pick up where you left off."))
        await _ask(message, state, draft, settings)
        return
    today = timezones.today(user.timezone)
    if await daily_logs.get(session, user.id, today) is not None:
        await message.answer(
            _("You've already logged today. Your answers now will replace today's log.")
        )
    yesterday = await daily_logs.get(session, user.id, today - dt.timedelta(days=1))
    draft = {
        "date": today.isoformat(),
        "step": Step.INTENSITY.value,
        "answers": {},
        "ditto": daily_logs.answers_of(yesterday) if yesterday else None,
    }
    await state.set_state(DailyLogging.answering)
    await _ask(message, state, draft, settings)


async def answer_tapped(
    query: CallbackQuery,
    callback_data: LogAnswer,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    draft = await state.get_data()
    if not is_current_prompt(query, draft, callback_data.step):
        if _shows_a_step_taken(query, draft, callback_data, settings):
            await _catch_up(query, draft, settings)
            return
        await query.answer(_("This button has expired."))
        return
    step = Step(callback_data.step)
    try:
        if step is Step.INTENSITY and callback_data.value == DITTO and draft.get("ditto"):
            progress = daily_log.same_as_yesterday(draft["ditto"])
        else:
            progress = daily_log.choose(
                step, callback_data.value, draft["answers"], settings.log_symptoms
            )
    except daily_log.InvalidAnswer:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    draft = {**draft, "answers": progress.answers}
    if progress.step is None:
        await _save(query.message, user, session, state, draft, settings, edit=True)
        return
    draft["step"] = progress.step.value
    await state.set_data(draft)
    await _show(query.message, draft, settings)


def _shows_a_step_taken(
    query: CallbackQuery, draft: dict[str, Any], answer: LogAnswer, settings: Settings
) -> bool:
    """The pressed message is the question being asked, but it still shows a step already
    answered, and the tap gives that same answer: it was stored, and the edit showing the
    next question never arrived (the process died while it hung). The tap is that one
    handled again, or pressed again on the question left behind."""
    message = query.message
    return (
        isinstance(message, Message)
        and draft.get("prompt") == message.message_id
        and _is_on(message, query.data)
        and daily_log.repeats_a_taken_answer(
            answer.step,
            answer.value,
            draft.get("step"),
            draft.get("answers", {}),
            settings.log_symptoms,
        )
    )


def _is_on(message: Message, data: str | None) -> bool:
    """The message, as Telegram showed it when pressed, carries a button with ``data``."""
    markup = message.reply_markup
    return markup is not None and any(
        button.callback_data == data for row in markup.inline_keyboard for button in row
    )


async def _catch_up(query: CallbackQuery, draft: dict[str, Any], settings: Settings) -> None:
    """Bring the question shown up to date; the answer given before stands."""
    with contextlib.suppress(TelegramBadRequest):  # a replayed tap's query has expired
        await query.answer()
    await _show(query.message, draft, settings)


async def answer_typed(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    crisis_answered: bool = False,
) -> None:
    draft = await state.get_data()
    step = Step(draft["step"])
    try:
        progress = daily_log.type_answer(
            step, message.text or "", draft["answers"], settings.note_max_length
        )
    except daily_log.TooLong as too_long:
        await state.set_data({**draft, "note_draft": message.text})
        await message.answer(
            _(
                "That note is {length} characters long; notes can be up to {limit}. I've kept what "
                "you wrote: send a shorter version, or keep the first {limit} characters."
            ).format(length=too_long.length, limit=too_long.limit),
            reply_markup=rows(
                [
                    button(
                        _("Keep the first {limit}").format(limit=too_long.limit),
                        NoteAction(action="trim"),
                    ),
                    button(_("Skip the note"), NoteAction(action="skip")),
                ],
                1,
            ),
        )
        return
    except daily_log.InvalidAnswer:
        if not crisis_answered:  # after a crisis answer, a correction would be cold
            await message.answer(_hint_for(step))
        await _ask(message, state, draft, settings)
        return
    draft = {**draft, "answers": progress.answers}
    if progress.step is None:
        await retire_buttons(bot, message.chat.id, draft.get("prompt"))
        await _save(message, user, session, state, draft, settings, edit=False)
        return
    draft["step"] = progress.step.value
    await _ask(message, state, draft, settings)  # the question above loses its buttons


async def note_action(
    query: CallbackQuery,
    callback_data: NoteAction,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    draft = await state.get_data()
    kept = draft.get("note_draft")
    if draft.get("step") != Step.NOTE.value or (callback_data.action == "trim" and not kept):
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    note = kept[: settings.note_max_length].strip() if callback_data.action == "trim" else None
    answers = {**draft["answers"], Step.NOTE.value: note}
    await retire_buttons(query.bot, query.message.chat.id, draft.get("prompt"))
    await _save(
        query.message, user, session, state, {**draft, "answers": answers}, settings, edit=True
    )


async def not_an_answer(
    message: Message, state: FSMContext, settings: Settings, crisis_answered: bool = False
) -> None:
    """A sticker, photo, voice message or file where a tap or text was expected."""
    draft = await state.get_data()
    if not crisis_answered:  # a captioned photo screening answered needs no correction
        await message.answer(_("I can't read that here, so I'll ask again."))
    await _ask(message, state, draft, settings)


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


async def _ask(
    message: Message, state: FSMContext, draft: dict[str, Any], settings: Settings
) -> None:
    """Ask the current question in a new message, which becomes the one whose buttons count.

    The copy asked before (above a crisis answer, say) loses its buttons as the new one is
    sent: two live copies of one question, one of them answering "expired", confuse."""
    if message.bot is not None:
        await retire_buttons(message.bot, message.chat.id, draft.get("prompt"))
    text, markup = _question(draft, settings)
    sent = await message.answer(text, reply_markup=markup)
    await state.set_data({**draft, "prompt": sent.message_id})


async def is_current_question(query: CallbackQuery, state: FSMContext) -> bool:
    """The pressed message is the log question being asked now."""
    if await state.get_state() != DailyLogging.answering.state:
        return False
    draft = await state.get_data()
    return isinstance(query.message, Message) and draft.get("prompt") == query.message.message_id


async def ask_again_after_help(message: Message, state: FSMContext, settings: Settings) -> None:
    """After "I need to talk to someone now" from the log: the same question, below the
    answer, without the offer (it was taken); the log goes on from there."""
    draft = await state.get_data()
    await _ask(message, state, {**draft, "help_asked": True}, settings)


async def _show(message: Message, draft: dict[str, Any], settings: Settings) -> None:
    text, markup = _question(draft, settings)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            raise


async def _save(
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
    await daily_logs.save(session, user.id, day, draft["answers"])
    await reminders.after_log(session, user, day, draft["answers"], settings)  # nudges
    await state.clear()
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
        from handlers.crisis import crisis_keyboard  # handlers.crisis imports this module

        await message.answer(very_hard_day_words(), reply_markup=crisis_keyboard())


def very_hard_day_words() -> str:
    """Below the summary of a very hard day: it is seen, and the 🆘 view is one tap away (the
    keyboard comes again with it). The offer of someone to talk to came with the mood."""
    from handlers.crisis import button_label  # handlers.crisis imports this module

    return _(
        "💛 That was a very hard day, and you still checked in. Please be gentle with "
        "yourself. If things get too much, “{button}” below shows your plan and who to "
        "call, in one tap."
    ).format(button=button_label())


def _hint_for(step: Step) -> str:
    if step is Step.SLEEP_HOURS:
        return _("Please tap a button, or type the hours as a number such as 6.5.")
    if step in daily_log.SCALE_STEPS:
        return _("Please tap a button, or type a whole number from 0 to 10.")
    return _("Please tap one of the buttons.")


def _question(draft: dict[str, Any], settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    step = Step(draft["step"])
    chosen = draft["answers"].get(Step.SYMPTOMS.value, ()) if step is Step.SYMPTOMS else ()
    return _rendered_question(
        step,
        get_i18n().current_locale,
        frozenset(chosen),
        bool(draft.get("ditto")) and step is Step.INTENSITY,
        Options(settings.log_symptoms, settings.note_max_length),
        daily_log.offers_help(step, draft["answers"]) and not draft.get("help_asked"),
    )


@dataclass(frozen=True)
class Options:
    symptoms: tuple[str, ...]
    note_limit: int


@lru_cache(maxsize=2048)
def _rendered_question(
    step: Step,
    locale: str,
    chosen: frozenset[str],
    ditto: bool,
    options: Options,
    offer_help: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of a question. The same for everyone with the same choices so
    far, so it is built once per language: building buttons costs more than the database."""
    header = _("Daily log · {number}/{total}").format(
        number=daily_log.step_number(step), total=len(daily_log.ORDER)
    )
    text, markup = QUESTIONS[step](chosen, options)
    if ditto:
        markup = with_rows(
            markup, [button(_("↺ Same as yesterday"), LogAnswer(step=step, value=DITTO))]
        )
    if offer_help:  # after the lowest moods: someone to talk to, beside carrying on
        text = (
            _(
                "💛 I'm sorry today is so hard. If you need to talk to someone now, tap "
                "“{button}”. Or answer below, and we'll carry on."
            ).format(button=HELP_NOW_LABEL)
            + "\n\n"
            + text
        )
        markup = with_rows(markup, [button(str(HELP_NOW_LABEL), HelpNow())])
    cancel = button(_("✕ Cancel"), CancelFlow())
    return f"<i>{header}</i>\n\n{text}", with_rows(markup, [cancel])


def _scale(step: Step, question: LazyProxy, low: LazyProxy, high: LazyProxy) -> Question:
    def build(chosen: frozenset[str], options: Options) -> tuple[str, InlineKeyboardMarkup]:
        buttons = (button(str(n), LogAnswer(step=step, value=str(n))) for n in range(11))
        return f"{question}\n<i>0 = {low} · 10 = {high}</i>", rows(buttons, 6, 5)

    return build


def _symptoms(chosen: frozenset[str], options: Options) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        button(
            ("✓ " if s in chosen else "") + render.symptom_name(s),
            LogAnswer(step=Step.SYMPTOMS, value=s),
        )
        for s in options.symptoms
    ]
    done = button(_("Done ▸"), LogAnswer(step=Step.SYMPTOMS, value=daily_log.DONE))
    return (
        _("Which symptoms are the main ones today? Tap all that apply, then Done."),
        with_rows(rows(buttons, 2), [done]),
    )


def _activity(chosen: frozenset[str], options: Options) -> tuple[str, InlineKeyboardMarkup]:
    buttons = (
        button(str(render.ACTIVITY_NAMES[c]).capitalize(), LogAnswer(step=Step.ACTIVITY, value=c))
        for c in daily_log.ACTIVITY_CHOICES
    )
    return _("Compared with your plan for today, how active were you?"), rows(buttons, 1)


def _rest(chosen: frozenset[str], options: Options) -> tuple[str, InlineKeyboardMarkup]:
    buttons = (
        button(render.rest_breaks(n), LogAnswer(step=Step.REST, value=str(n)))
        for n in daily_log.REST_CHOICES
    )
    return _("How many rest breaks did you take today?"), rows(buttons, 6)


def _sleep_hours(chosen: frozenset[str], options: Options) -> tuple[str, InlineKeyboardMarkup]:
    choices = daily_log.SLEEP_HOUR_CHOICES
    labels = {choices[0]: f"≤{choices[0]:g}", choices[-1]: f"{choices[-1]:g}+"}
    buttons = (
        button(labels.get(h, f"{h:g}"), LogAnswer(step=Step.SLEEP_HOURS, value=f"{h:g}"))
        for h in choices
    )
    return (
        _("About how many hours did you sleep last night? Tap, or type a number such as 6.5."),
        rows(buttons, 7),
    )


def _note(chosen: frozenset[str], options: Options) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Anything you'd like to add? Type a short note (up to {limit} characters), or skip."
    ).format(limit=options.note_limit)
    return text, rows([button(_("Skip ▸"), LogAnswer(step=Step.NOTE, value="skip"))], 1)


QUESTIONS: dict[Step, Question] = {
    Step.INTENSITY: _scale(
        Step.INTENSITY,
        __("Overall, how strong are your symptoms today?"),
        __("none"),
        __("the worst you can imagine"),
    ),
    Step.SYMPTOMS: _symptoms,
    Step.ENERGY: _scale(
        Step.ENERGY, __("How is your energy today?"), __("none at all"), __("plenty")
    ),
    Step.ACTIVITY: _activity,
    Step.REST: _rest,
    Step.SLEEP_QUALITY: _scale(
        Step.SLEEP_QUALITY,
        __("How well did you sleep last night?"),
        __("very badly"),
        __("very well"),
    ),
    Step.SLEEP_HOURS: _sleep_hours,
    Step.MOOD: _scale(Step.MOOD, __("How is your mood today?"), __("very low"), __("very good")),
    Step.INTERFERENCE: _scale(
        Step.INTERFERENCE,
        __("How much did your symptoms get in the way of daily life today?"),
        __("not at all"),
        __("completely"),
    ),
    Step.NOTE: _note,
}
