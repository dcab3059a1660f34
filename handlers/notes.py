"""A mentor's session notes (/note): mentee, date, minutes, topics, progress, a concern.

Buttons are hints: a mentee id on a /note button is checked against the mentor's active
matches. A note flagged with a concern joins the review queue (handlers/review.py) and
reaches the supervisors through the outbox, with pseudonyms only.
"""

from __future__ import annotations

import datetime as dt
import logging
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import notes as note_flow
from flows import team, timezones
from flows.notes import Step
from flows.states import NoteWriting
from handlers.filters import HasRole
from handlers.keyboards import (
    CancelFlow,
    button,
    is_current_prompt,
    retire_buttons,
    rows,
    with_rows,
)
from storage import matches, outbox
from storage.models import ReviewItem, Role, User

log = logging.getLogger(__name__)

TOPIC_NAMES = {
    "symptoms": __("symptoms"),
    "pacing": __("pacing and activity"),
    "sleep": __("sleep"),
    "mood": __("mood and coping"),
    "relationships": __("relationships"),
    "work": __("work or study"),
    "healthcare": __("healthcare and appointments"),
    "setbacks": __("setbacks"),
    "goals": __("goals"),
    "other": __("other"),
}
TRIM = "trim"  # keep the first characters of a text that was too long


class NoteStep(CallbackData, prefix="sn"):
    step: str
    value: str


def router() -> Router:
    r = Router(name="notes")
    r.message.filter(F.chat.type == "private")
    mentors = HasRole(Role.MENTOR)
    r.message.register(start_note, Command("note"), mentors)
    writing = StateFilter(NoteWriting.answering)
    r.callback_query.register(note_tapped, NoteStep.filter(), writing, mentors)
    r.message.register(note_typed, writing, mentors, F.text, ~F.text.startswith("/"))
    r.message.register(note_not_text, writing, mentors, ~F.text)
    return r


# ----- /note ------------------------------------------------------------------------------


async def start_note(
    message: Message, user: User, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    draft = await state.get_data()
    if await state.get_state() == NoteWriting.answering.state and draft.get("step"):
        await message.answer(_("Let's pick up your note where you left off."))
        await _ask(message, session, user, state, draft, settings)
        return
    active = await matches.active_of_mentor(session, user.id)
    if not active:
        await message.answer(
            _(
                "You have no mentees right now, so there is no session to note. /help lists what you can do."
            )
        )
        return
    answers: dict[str, Any] = {}
    if len(active) == 1:
        answers = {Step.MENTEE.value: active[0].mentee_id, "match_id": active[0].id}
    draft = {
        "step": note_flow.first_step(len(active)).value,
        "answers": answers,
        "one_mentee": len(active) == 1,
    }
    await state.set_state(NoteWriting.answering)
    await _ask(message, session, user, state, draft, settings)


async def note_tapped(
    query: CallbackQuery,
    callback_data: NoteStep,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await state.get_data()
    if not is_current_prompt(query, draft, callback_data.step):
        await query.answer(_("This button has expired."))
        return
    step, value = Step(callback_data.step), callback_data.value
    try:
        if step is Step.MENTEE:
            progress = await _choose_mentee(session, user, value, draft["answers"])
            if progress is None:
                await query.answer(_("I can't find that person among your mentees."))
                return
        elif value == TRIM and step in note_flow.TEXT_STEPS and draft.get("kept"):
            progress = note_flow.trimmed(
                step, draft["kept"], draft["answers"], settings.note_max_length
            )
        else:
            progress = note_flow.choose(
                step, value, draft["answers"], timezones.today(user.timezone)
            )
    except note_flow.InvalidAnswer:
        await query.answer(_("This button has expired."))
        return
    await query.answer()
    draft = {**draft, "answers": progress.answers}
    draft.pop("kept", None)
    if progress.step is None:
        await _finish(query.message, user, session, state, settings, i18n, draft, edit=True)
        return
    draft["step"] = progress.step.value
    await state.set_data(draft)
    await _show(query.message, session, user, draft, settings)


async def _choose_mentee(
    session: AsyncSession, user: User, value: str, answers: dict[str, Any]
) -> note_flow.Progress | None:
    match = (
        await note_flow.mentee_match(session, user.id, int(value)) if value.isdecimal() else None
    )
    if match is None:
        return None
    chosen = {**answers, Step.MENTEE.value: match.mentee_id, "match_id": match.id}
    return note_flow.Progress(chosen, Step.DATE)


async def note_typed(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    crisis_answered: bool = False,
) -> None:
    draft = await state.get_data()
    step = Step(draft["step"])
    try:
        progress = note_flow.type_answer(
            step,
            message.text or "",
            draft["answers"],
            timezones.today(user.timezone),
            settings.note_max_length,
        )
    except note_flow.TooLong as too_long:
        await _keep_too_long(message, state, draft, step, too_long, bot)
        return
    except note_flow.InvalidAnswer as wrong:
        if not crisis_answered:  # after a crisis answer, a correction would be cold
            await message.answer(_hint_for(step, future=isinstance(wrong, note_flow.FutureDate)))
        await retire_buttons(bot, message.chat.id, draft.get("prompt"))
        await _ask(message, session, user, state, draft, settings)
        return
    await retire_buttons(bot, message.chat.id, draft.get("prompt"))
    draft = {**draft, "answers": progress.answers}
    draft.pop("kept", None)
    if progress.step is None:
        await _finish(message, user, session, state, settings, i18n, draft, edit=False)
        return
    draft["step"] = progress.step.value
    await _ask(message, session, user, state, draft, settings)


async def _keep_too_long(
    message: Message,
    state: FSMContext,
    draft: dict[str, Any],
    step: Step,
    too_long: note_flow.TooLong,
    bot: Bot,
) -> None:
    """Say so, keep what they typed, and offer to keep its beginning or skip."""
    await retire_buttons(bot, message.chat.id, draft.get("prompt"))
    sent = await message.answer(
        _(
            "That is {length} characters long; this can be up to {limit}. I've kept what you "
            "wrote: send a shorter version, or keep the first {limit} characters."
        ).format(length=too_long.length, limit=too_long.limit),
        reply_markup=rows(
            [
                button(
                    _("Keep the first {limit}").format(limit=too_long.limit),
                    NoteStep(step=step, value=TRIM),
                ),
                button(_("Skip ▸"), NoteStep(step=step, value=note_flow.SKIP)),
                button(_("✕ Cancel"), CancelFlow()),
            ],
            1,
        ),
    )
    await state.set_data({**draft, "kept": message.text, "prompt": sent.message_id})


async def note_not_text(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    crisis_answered: bool = False,
) -> None:
    """A sticker, photo or voice message where a tap or text was expected: ask again."""
    draft = await state.get_data()
    if not crisis_answered:
        await message.answer(_("I can't read that here, so I'll ask again."))
    await retire_buttons(bot, message.chat.id, draft.get("prompt"))
    await _ask(message, session, user, state, draft, settings)


async def _ask(
    message: Message,
    session: AsyncSession,
    user: User,
    state: FSMContext,
    draft: dict[str, Any],
    settings: Settings,
) -> None:
    """Ask the current question in a new message, which becomes the one whose buttons count."""
    text, markup = await _question(session, user, draft, settings)
    sent = await message.answer(text, reply_markup=markup)
    await state.set_data({**draft, "prompt": sent.message_id})


async def _show(
    message: Message, session: AsyncSession, user: User, draft: dict[str, Any], settings: Settings
) -> None:
    text, markup = await _question(session, user, draft, settings)
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            raise


async def _question(
    session: AsyncSession, user: User, draft: dict[str, Any], settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    step = Step(draft["step"])
    number, total = note_flow.step_number(step, bool(draft.get("one_mentee")))
    header = _("Session note · {number}/{total}").format(number=number, total=total)
    if step is Step.MENTEE:
        text, markup = await _mentee_question(session, user)
    elif step is Step.DATE:
        text, markup = _date_question(timezones.today(user.timezone))
    elif step is Step.DURATION:
        text, markup = _duration_question()
    elif step is Step.TOPICS:
        text, markup = _topics_question(draft["answers"].get(Step.TOPICS.value, []))
    elif step is Step.CONCERN:
        text, markup = _concern_question()
    else:
        text, markup = _text_question(step, settings.note_max_length)
    cancel = button(_("✕ Cancel"), CancelFlow())
    return f"<i>{header}</i>\n\n{text}", with_rows(markup, [cancel])


async def _mentee_question(session: AsyncSession, user: User) -> tuple[str, InlineKeyboardMarkup]:
    buttons = []
    for match in await matches.active_of_mentor(session, user.id):
        mentee = await session.get(User, match.mentee_id)
        if mentee is not None:
            label = mentee.known_as
            buttons.append(button(label, NoteStep(step=Step.MENTEE, value=str(mentee.id))))
    return _("Which mentee was the session with?"), rows(buttons, 1)


def _date_question(today: dt.date) -> tuple[str, InlineKeyboardMarkup]:
    example = today - dt.timedelta(days=2)
    text = _("When was the session? Tap, or type the date, for example {short} or {iso}.").format(
        short=f"{example:%d.%m}", iso=example.isoformat()
    )
    buttons = [
        button(_("Today"), NoteStep(step=Step.DATE, value=note_flow.TODAY)),
        button(_("Yesterday"), NoteStep(step=Step.DATE, value=note_flow.YESTERDAY)),
    ]
    return text, rows(buttons, 2)


def _duration_question() -> tuple[str, InlineKeyboardMarkup]:
    buttons = (
        button(_("{minutes} min").format(minutes=m), NoteStep(step=Step.DURATION, value=str(m)))
        for m in note_flow.DURATIONS
    )
    return _("How long was it? Tap, or type the minutes."), rows(buttons, 5)


def _topics_question(chosen: list[str]) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        button(
            ("✓ " if topic in chosen else "") + str(TOPIC_NAMES[topic]),
            NoteStep(step=Step.TOPICS, value=topic),
        )
        for topic in note_flow.TOPICS
    ]
    done = button(_("Done ▸"), NoteStep(step=Step.TOPICS, value=note_flow.DONE))
    return (
        _("What did you talk about? Tap all that apply, then Done."),
        with_rows(rows(buttons, 2), [done]),
    )


def _text_question(step: Step, limit: int) -> tuple[str, InlineKeyboardMarkup]:
    if step is Step.PROGRESS:
        text = _(
            "Any progress on their goals? A few words (up to {limit} characters), or skip."
        ).format(limit=limit)
    else:
        text = _(
            "What worries you? A few words help the supervisor (up to {limit} characters), or skip."
        ).format(limit=limit)
    return text, rows([button(_("Skip ▸"), NoteStep(step=step, value=note_flow.SKIP))], 1)


def _concern_question() -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        button(_("No"), NoteStep(step=Step.CONCERN, value=note_flow.NO)),
        button(_("Yes, flag a concern"), NoteStep(step=Step.CONCERN, value=note_flow.YES)),
    ]
    return (
        _(
            "Is there anything a supervisor should look at? A worry about their health or "
            "safety, or about the mentoring itself."
        ),
        rows(buttons, 2),
    )


def _hint_for(step: Step, *, future: bool) -> str:
    if future:
        return _("That date hasn't come yet. Please give the day the session took place.")
    if step is Step.DATE:
        return _("I couldn't read that date. Tap a button, or type it like 24.11 or 2026-11-24.")
    if step is Step.DURATION:
        return _("Please tap a button, or type the minutes as a number from 1 to 600.")
    return _("Please tap one of the buttons.")


async def _finish(
    message: Message,
    user: User,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    draft: dict[str, Any],
    *,
    edit: bool,
) -> None:
    note, item = await note_flow.save(session, user.id, draft["answers"])
    await state.clear()
    if item is not None:
        await _tell_supervisors(session, item, user, settings, i18n)
    mentee = await session.get(User, note.mentee_id) if note.mentee_id else None
    lines = [
        _("✓ Note saved. Thank you for the time you give."),
        "",
        _("With: {name}").format(name=escape(mentee.known_as) if mentee else "—"),
        _("Session: {date} · {minutes} min").format(
            date=note.session_date.isoformat(), minutes=note.minutes
        ),
        _("Topics: {topics}").format(topics=topics_text(note.topics)),
        _("Progress: {text}").format(text=escape(note.progress) if note.progress else "—"),
    ]
    if note.concern:
        lines.append(
            _("Concern: {text}").format(text=escape(note.concern_text or "") or _("flagged"))
        )
        lines += ["", _("A supervisor will look at it. You don't have to carry this alone.")]
    text = "\n".join(lines)
    if edit:
        await message.edit_text(text)
    else:
        await message.answer(text)


async def _tell_supervisors(
    session: AsyncSession, item: ReviewItem, mentor: User, settings: Settings, i18n: I18n
) -> None:
    """A short notice, without the note's words: the channel, else each supervisor."""
    mentee = await session.get(User, item.mentee_id) if item.mentee_id else None
    targets = await team.supervisors(session, settings.supervisor_chat_id, settings.default_locale)
    if not targets:
        log.warning("review item %s: no supervisor channel and no supervisors to tell", item.id)
    for chat_id, locale in targets:
        with i18n.use_locale(locale):
            text = (
                _("📝 A mentor flagged a concern in a session note. /review")
                + "\n"
                + _("Mentor: {mentor} · mentee: {mentee}").format(
                    mentor=escape(mentor.pseudonym),
                    mentee=escape(mentee.pseudonym) if mentee else "—",
                )
            )
        channel = chat_id == settings.supervisor_chat_id
        await outbox.enqueue(
            session,
            key=f"review:{item.id}:{chat_id}",
            chat_id=chat_id,
            method="sendMessage",
            params={"text": text, "parse_mode": "HTML"},
            on_undeliverable="all_supervisors" if channel else None,
        )


def topics_text(chosen: list[str]) -> str:
    return ", ".join(str(TOPIC_NAMES[t]) for t in chosen if t in TOPIC_NAMES) or "—"
