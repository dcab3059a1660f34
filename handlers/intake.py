"""The intake (/profile): goals, symptoms, how and when to talk, support, languages, and
capacity (mentors) or what the mentor may see (mentees). Mostly taps, every item skippable."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import intake
from flows.intake import (
    FREQUENCY_NAMES,
    GOAL_NAMES,
    SHARE_NAMES,
    STYLE_NAMES,
    SUPPORT_NAMES,
    TIME_NAMES,
    Options,
    Step,
)
from flows.languages import NATIVE_NAMES
from handlers import render
from handlers.filters import PRIVATE, HasRole
from handlers.questionnaire import Conversation
from storage import matches, profiles
from storage.models import Role, User, utcnow

__all__ = ["GOAL_NAMES", "INTAKE", "router", "summary"]


class IntakeAnswer(CallbackData, prefix="intake"):
    step: str
    value: str


class IntakeConversation(Conversation):
    """The intake on the questionnaire engine; complete, it stores the profile."""

    async def context(
        self, user: User | None, settings: Settings, session: AsyncSession | None = None
    ) -> Options:
        return _options(user.role if user is not None else "", tuple(settings.log_symptoms))

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


INTAKE = IntakeConversation(intake.INTAKE, IntakeAnswer)


@lru_cache(maxsize=16)
def _options(role: str, symptoms: tuple[str, ...]) -> Options:
    return Options(role, symptoms)


def router() -> Router:
    r = Router(name="intake")
    r.message.filter(PRIVATE)
    people = HasRole(Role.MENTEE, Role.MENTOR)
    r.message.register(start_intake, Command("profile"), people)
    INTAKE.register(r, people)
    return r


async def start_intake(
    message: Message, user: User, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    context = await INTAKE.context(user, settings)
    if await INTAKE.resume(message, state, context):
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
    draft = {"answers": intake.first_answers(stored, user.locale)}
    await INTAKE.begin(message, state, draft, context)


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
