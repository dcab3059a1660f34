"""A mentor's session notes (/note): mentee, date, minutes, topics, progress, a concern.

Buttons are hints: a mentee id on a /note button is checked against the mentor's active
matches. A note flagged with a concern joins the review queue (handlers/review.py) and
reaches the supervisors through the outbox, with pseudonyms only.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import notes as note_flow
from flows import team, timezones
from flows.notes import TOPIC_NAMES
from flows.notes import Step as NoteField
from flows.questionnaire import Progress, Step
from flows.steps import InvalidAnswer
from handlers.filters import PRIVATE, HasRole
from handlers.questionnaire import Conversation, Refused
from storage import matches, outbox
from storage.models import ReviewItem, Role, User

log = logging.getLogger(__name__)


class NoteStep(CallbackData, prefix="sn"):
    step: str
    value: str


class SessionNote(Conversation):
    """The session note on the questionnaire engine. Its mentee buttons come from our
    records and are checked against them on every tap; complete, the note is stored and a
    concern reaches the supervisors."""

    resumed = __("Let's pick up your note where you left off.")

    async def context(
        self, user: User | None, settings: Settings, session: AsyncSession | None = None
    ) -> note_flow.Options:
        today = timezones.today(user.timezone if user is not None else None)
        mentees: list[tuple[str, str]] = []
        if user is not None and session is not None:
            for match in await matches.active_of_mentor(session, user.id):
                mentee = await session.get(User, match.mentee_id)
                if mentee is not None:
                    mentees.append((str(mentee.id), mentee.known_as))
        return note_flow.Options(today, settings.note_max_length, tuple(mentees))

    def label(self, step: Step, value: str, context: Any) -> str:
        if step.name == NoteField.MENTEE:
            return dict(context.mentees).get(value, value)
        return step.label(value)

    def hint(self, step: Step, error: InvalidAnswer) -> str:
        if isinstance(error, note_flow.FutureDate):
            return _("That date hasn't come yet. Please give the day the session took place.")
        return super().hint(step, error)

    async def special(
        self, step: str, value: str, draft: dict[str, Any], user: User, session: AsyncSession
    ) -> Progress | None:
        """A mentee's button is a hint: the match is looked up again, every time."""
        if step != NoteField.MENTEE:
            return None
        match = (
            await note_flow.mentee_match(session, user.id, int(value))
            if value.isdecimal()
            else None
        )
        if match is None:
            raise Refused(_("I can't find that person among your mentees."))
        chosen = {**draft["answers"], NoteField.MENTEE.value: match.mentee_id, "match_id": match.id}
        return Progress(chosen, NoteField.DATE.value)

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
        await _finish(message, user, session, state, settings, get_i18n(), draft, edit=edit)


NOTE = SessionNote(note_flow.NOTE, NoteStep)


def router() -> Router:
    r = Router(name="notes")
    r.message.filter(PRIVATE)
    mentors = HasRole(Role.MENTOR)
    r.message.register(start_note, Command("note"), mentors)
    NOTE.register(r, mentors)
    return r


# ----- /note ------------------------------------------------------------------------------


async def start_note(
    message: Message, user: User, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    context = await NOTE.context(user, settings, session)
    if await NOTE.resume(message, state, context):
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
    if len(active) == 1:  # nobody to choose: start at the date
        answers = {
            NoteField.MENTEE.value: active[0].mentee_id,
            "match_id": active[0].id,
            note_flow.ONE_MENTEE: True,
        }
    draft = {"answers": answers, "one_mentee": len(active) == 1}
    await NOTE.begin(message, state, draft, context)


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
