"""The intake (/profile): goals, symptoms, how and when to talk, support, languages, and
capacity (mentors) or what the mentor may see (mentees). Mostly taps, every item skippable."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import intake
from flows.intake import Step
from flows.languages import NATIVE_NAMES
from flows.states import Intake
from handlers import render
from handlers.filters import HasRole
from handlers.keyboards import (
    CancelFlow,
    button,
    is_current_prompt,
    retire_buttons,
    rows,
    with_rows,
)
from storage import matches, profiles
from storage.models import Role, User, utcnow

GOAL_NAMES = {
    "symptoms": __("Managing symptoms"),
    "pacing": __("Activity planning and pacing"),
    "sleep": __("Sleep"),
    "social": __("Social life"),
    "work": __("Work or study"),
    "setbacks": __("Coping with setbacks"),
    "healthcare": __("Dealing with doctors and care"),
}
FREQUENCY_NAMES = {
    "daily": __("Daily"),
    "few_weekly": __("A few times a week"),
    "weekly": __("Weekly"),
}
STYLE_NAMES = {
    "short": __("Short texts"),
    "long": __("Longer talks"),
    "either": __("Either is fine"),
}
TIME_NAMES = {"morning": __("Mornings"), "afternoon": __("Afternoons"), "evening": __("Evenings")}
SUPPORT_NAMES = {
    "practical": __("Practical (tips, planning)"),
    "emotional": __("Emotional (listening, encouragement)"),
    "both": __("Both"),
}
SHARE_NAMES = {
    "trends": __("My 7-day trend"),
    "hard_days": __("My hard days"),
}
TRIM = "trim"  # keep the first PREFERENCES_LIMIT characters of a text that was too long


class IntakeAnswer(CallbackData, prefix="intake"):
    step: str
    value: str


def router() -> Router:
    r = Router(name="intake")
    r.message.filter(F.chat.type == "private")
    people = HasRole(Role.MENTEE, Role.MENTOR)
    r.message.register(start_intake, Command("profile"), people)
    answering = StateFilter(Intake.answering)
    r.callback_query.register(answer_tapped, IntakeAnswer.filter(), answering, people)
    r.message.register(answer_typed, answering, people, F.text, ~F.text.startswith("/"))
    r.message.register(not_an_answer, answering, people, ~F.text)
    return r


async def start_intake(
    message: Message, user: User, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    draft = await state.get_data()
    if await state.get_state() == Intake.answering.state and draft.get("step"):
        await message.answer(_("Let's pick up where you left off."))
        await _ask(message, user, state, draft, settings)
        return
    profile = await profiles.get(session, user.id)
    if profile is not None and profile.completed_at is not None:
        stored = profiles.answers_of(profile)
        await message.answer(
            _("<b>Here is what you told me before:</b>")
            + "\n"
            + summary(stored, user.role, settings)
            + "\n\n"
            + _("Change anything you like. “Keep” leaves an answer as it is.")
        )
    else:
        stored = {}
        await message.answer(_intro(user))
    draft = {"step": intake.steps_for(user.role)[0].value, "answers": {}}
    draft["answers"] = intake.first_answers(stored, user.locale)
    await state.set_state(Intake.answering)
    await _ask(message, user, state, draft, settings)


def _intro(user: User) -> str:
    if user.role == Role.MENTOR:
        return _(
            "A few questions about you, so we can introduce you to mentees you'd be a good "
            "fit for. Mostly taps; skip anything you'd rather not answer. /cancel stops."
        )
    return _(
        "A few questions about you, so we can find a mentor who fits you. Mostly taps; skip "
        "anything you'd rather not answer. /cancel stops."
    )


async def answer_tapped(
    query: CallbackQuery,
    callback_data: IntakeAnswer,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    draft = await state.get_data()
    if not is_current_prompt(query, draft, callback_data.step):
        await query.answer(_("This button has expired."))
        return
    step = Step(callback_data.step)
    if step is Step.PREFERENCES and callback_data.value == TRIM:
        kept = draft.get("kept")
        if not kept:
            await query.answer(_("This button has expired."))
            return
        progress = intake.type_preferences(kept[: intake.PREFERENCES_LIMIT], draft["answers"])
    else:
        try:
            progress = intake.choose(
                step, callback_data.value, draft["answers"], user.role, settings.log_symptoms
            )
        except intake.InvalidAnswer:
            await query.answer(_("This button has expired."))
            return
    await query.answer()
    draft = {**draft, "answers": progress.answers}
    draft.pop("kept", None)
    if progress.step is None:
        await _finish(query.message, user, session, state, draft, settings, edit=True)
        return
    draft["step"] = progress.step.value
    await state.set_data(draft)
    await _show(query.message, user, draft, settings)


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
    if step is not Step.PREFERENCES:
        if not crisis_answered:  # after a crisis answer, a correction would be cold
            await message.answer(_("Please tap one of the buttons, or Skip."))
        await _ask(message, user, state, draft, settings)
        return
    try:
        progress = intake.type_preferences(message.text or "", draft["answers"])
    except intake.TooLong as too_long:
        await retire_buttons(bot, message.chat.id, draft.get("prompt"))
        await state.set_data({**draft, "kept": message.text})
        await _ask_shorter(message, state, too_long)
        return
    await retire_buttons(bot, message.chat.id, draft.get("prompt"))
    await _finish(message, user, session, state, {**draft, "answers": progress.answers}, settings)


async def _ask_shorter(message: Message, state: FSMContext, too_long: intake.TooLong) -> None:
    sent = await message.answer(
        _(
            "That is {length} characters long; this can be up to {limit}. I've kept what you "
            "wrote: send a shorter version, or keep the first {limit} characters."
        ).format(length=too_long.length, limit=too_long.limit),
        reply_markup=rows(
            [
                button(
                    _("Keep the first {limit}").format(limit=too_long.limit),
                    IntakeAnswer(step=Step.PREFERENCES, value=TRIM),
                ),
                button(_("Skip ▸"), IntakeAnswer(step=Step.PREFERENCES, value=intake.SKIP)),
            ],
            1,
        ),
    )
    await state.update_data(prompt=sent.message_id)


async def not_an_answer(
    message: Message,
    user: User,
    state: FSMContext,
    settings: Settings,
    crisis_answered: bool = False,
) -> None:
    """A sticker, photo, voice message or file where a tap or text was expected."""
    if not crisis_answered:
        await message.answer(_("I can't read that here, so I'll ask again."))
    await _ask(message, user, state, await state.get_data(), settings)


async def _finish(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    draft: dict[str, Any],
    settings: Settings,
    *,
    edit: bool = False,
) -> None:
    await profiles.save(session, user.id, draft["answers"], utcnow())
    await state.clear()
    text = (
        _("✓ Saved. Thank you for telling me about yourself.")
        + "\n\n"
        + await _next(session, user, draft["answers"])
    )
    if edit:
        await message.edit_text(text)
    else:
        await message.answer(text)


async def _next(session: AsyncSession, user: User, answers: dict[str, Any]) -> str:
    """What happens now: the queue, or (with a mentor already) what they will see."""
    if user.role == Role.MENTOR:
        return _(
            "We'll use your answers to introduce you to mentees who fit. /profile changes "
            "them any time."
        )
    shares = answers.get(Step.SHARES) or []
    seen = (
        _("Your mentor sees: {what}.").format(what=_share_list(shares))
        if shares
        else _("Your mentor sees none of your logs.")
    )
    if await matches.active_of_mentee(session, user.id) is None:
        return (
            _(
                "You're in the queue for a mentor: the program team will introduce you to "
                "someone who fits."
            )
            + " "
            + seen
            + "\n\n"
            + _("/profile changes your answers any time.")
        )
    return seen + "\n\n" + _("/profile changes your answers any time.")


def _share_list(shares: list[str]) -> str:
    return ", ".join(str(SHARE_NAMES[s]) for s in shares if s in SHARE_NAMES)


def summary(answers: dict[str, Any], role: str, settings: Settings) -> str:
    """The answers as a short list, in the reader's language (skipped items say so)."""
    skipped = "—"  # an item skipped

    def names(values: Any, table: Any) -> str:
        shown = [str(table(v)) for v in values or ()]
        return escape(", ".join(shown)) if shown else skipped

    lines = [
        _("Goals: {value}").format(value=names(answers.get("goals"), _goal)),
        _("Symptoms: {value}").format(value=names(answers.get("symptoms"), render.symptom_name)),
        _("How often: {value}").format(value=names(_one(answers, "frequency"), _frequency)),
        _("Style: {value}").format(value=names(_one(answers, "style"), _style)),
        _("Times of day: {value}").format(value=names(answers.get("times"), _time)),
        _("Support: {value}").format(value=names(_one(answers, "support"), _support)),
        _("Languages: {value}").format(value=names(answers.get("languages"), _language)),
    ]
    if role == Role.MENTOR:
        capacity = answers.get("capacity")
        lines.append(_("Mentees at a time: {value}").format(value=capacity or skipped))
    else:
        lines.append(
            _("Your mentor sees: {value}").format(value=names(answers.get("shares"), _share))
        )
    if answers.get("preferences"):
        lines.append(_("Anything else: {value}").format(value=escape(answers["preferences"])))
    return "\n".join(lines)


def _one(answers: dict[str, Any], name: str) -> list[str]:
    return [answers[name]] if answers.get(name) else []


def _goal(value: str) -> str:
    return str(GOAL_NAMES.get(value, value))


def _frequency(value: str) -> str:
    return str(FREQUENCY_NAMES.get(value, value))


def _style(value: str) -> str:
    return str(STYLE_NAMES.get(value, value))


def _time(value: str) -> str:
    return str(TIME_NAMES.get(value, value))


def _support(value: str) -> str:
    return str(SUPPORT_NAMES.get(value, value))


def _language(value: str) -> str:
    return NATIVE_NAMES.get(value, value)


def _share(value: str) -> str:
    return str(SHARE_NAMES.get(value, value))


# ----- the questions --------------------------------------------------------------------------


async def _ask(
    message: Message, user: User, state: FSMContext, draft: dict[str, Any], settings: Settings
) -> None:
    """Ask the current question in a new message, which becomes the one whose buttons count.
    The copy asked before (above a crisis answer, say) loses its buttons: one live copy."""
    if message.bot is not None:
        await retire_buttons(message.bot, message.chat.id, draft.get("prompt"))
    text, markup = question(draft, user.role, settings)
    sent = await message.answer(text, reply_markup=markup)
    await state.set_data({**draft, "prompt": sent.message_id})


async def _show(message: Message, user: User, draft: dict[str, Any], settings: Settings) -> None:
    text, markup = question(draft, user.role, settings)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            raise


def question(
    draft: dict[str, Any], role: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    step = Step(draft["step"])
    answers = draft["answers"]
    header = _("About you · {number}/{total}").format(
        number=intake.step_number(step, role), total=len(intake.steps_for(role))
    )
    text = _question_text(step, role)
    if step is Step.PREFERENCES:
        markup = rows([], 1)
        if answers.get(Step.PREFERENCES):
            text += "\n\n" + _("Now: {value}").format(
                value="<i>" + escape(answers[Step.PREFERENCES]) + "</i>"
            )
    else:
        markup = _choice_buttons(step, answers, settings)
    return f"<i>{header}</i>\n\n{text}", with_rows(
        markup, _moves(step, answers, role), [button(_("✕ Cancel"), CancelFlow())]
    )


def _choice_buttons(
    step: Step, answers: dict[str, Any], settings: Settings
) -> InlineKeyboardMarkup:
    chosen = answers.get(step)
    picked = set(chosen or ()) if step in intake.MULTI else {str(chosen)} if chosen else set()
    label = LABELS[step]
    buttons = [
        button(
            ("✓ " if value in picked else "") + label(value), IntakeAnswer(step=step, value=value)
        )
        for value in intake.choices(step, settings.log_symptoms)
    ]
    width = {Step.CAPACITY: 5, Step.TIMES: 3, Step.LANGUAGES: 3, Step.SYMPTOMS: 2}.get(step, 1)
    return rows(buttons, width)


def _moves(step: Step, answers: dict[str, Any], role: str) -> list[Any]:
    """◂ Back (after the first item), and Done / Skip / Keep to move on."""
    moves = []
    if intake.previous_step(step, role) is not None:
        moves.append(button(_("◂ Back"), IntakeAnswer(step=step, value=intake.BACK)))
    if step in intake.MULTI:
        label = _("Done ▸") if answers.get(step) else _("Skip ▸")
        moves.append(button(label, IntakeAnswer(step=step, value=intake.DONE)))
    else:
        label = _("Keep ▸") if answers.get(step) else _("Skip ▸")
        moves.append(button(label, IntakeAnswer(step=step, value=intake.SKIP)))
    return moves


def _question_text(step: Step, role: str) -> str:
    mentor = role == Role.MENTOR
    tap_all = _("Tap all that apply, then Done.")
    if step is Step.GOALS:
        if mentor:
            return _("What would you like to help mentees with?") + " " + tap_all
        return _("What would you like to work on with a mentor?") + " " + tap_all
    if step is Step.SYMPTOMS:
        if mentor:
            return (
                _(
                    "Which symptoms do you live with, or have lived with? This is optional: it "
                    "helps us introduce you to mentees who will feel understood by you."
                )
                + " "
                + tap_all
            )
        return (
            _(
                "Which symptoms do you live with? This is optional: it helps us find someone "
                "who knows them first-hand."
            )
            + " "
            + tap_all
        )
    if step is Step.FREQUENCY:
        if mentor:
            return _(
                "How often could you be in touch with a mentee? Choose what fits your energy "
                "on an ordinary week, not your best one."
            )
        return _("How often would you like to be in touch?")
    if step is Step.STYLE:
        return _("What suits you better?")
    if step is Step.TIMES:
        return _("Which times of day usually suit you?") + " " + tap_all
    if step is Step.SUPPORT:
        if mentor:
            return _("What kind of support can you offer?")
        return _("What kind of support would you like?")
    if step is Step.LANGUAGES:
        return _("Which languages could you talk in?") + " " + tap_all
    if step is Step.CAPACITY:
        return _("How many mentees could you support at the same time?")
    if step is Step.SHARES:
        return _(
            "What may your mentor see? Nothing is shared unless you tick it, and /profile "
            "changes it any time.\n\n"
            "• <b>My 7-day trend</b>: your symptom and energy scores over the last week, "
            "not your notes.\n"
            "• <b>My hard days</b>: your mentor is told when a log shows a hard day, so they "
            "can reach out.\n\n"
            "Tap what you'd like to share, then Done. Nothing ticked means nothing is shared."
        )
    if mentor:
        return _(
            "Last one, optional: anything else we should know when we introduce you to "
            "mentees? For example, a condition you know well, or limits you'd like us to "
            "respect. Type it in a few words (up to {limit} characters), or Skip. Only the "
            "program team reads it."
        ).format(limit=intake.PREFERENCES_LIMIT)
    return _(
        "Last one, optional: anything else that matters to you in a match? For example, "
        "someone who also has children, or who works part-time. Type it in a few words (up "
        "to {limit} characters), or Skip. Only the program team reads it."
    ).format(limit=intake.PREFERENCES_LIMIT)


LABELS = {
    Step.GOALS: _goal,
    Step.SYMPTOMS: render.symptom_name,
    Step.FREQUENCY: _frequency,
    Step.STYLE: _style,
    Step.TIMES: _time,
    Step.SUPPORT: _support,
    Step.LANGUAGES: _language,
    Step.CAPACITY: str,
    Step.SHARES: _share,
}
