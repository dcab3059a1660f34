"""The intake, declared for the questionnaire engine: what a mentee or mentor tells us for
matching, item by item, all skippable, with Back.

The draft (step and answers) lives in the conversation state like the daily log's, so a
restart continues at the same question. Answers are ids (goals, symptoms, times...);
their labels are here, translated when shown. Running the intake again starts from the
stored answers, and "Skip" (or "Keep") leaves whatever an item holds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from flows import questionnaire as q
from flows.daily_log import symptom_name
from flows.languages import NATIVE_NAMES, SUPPORTED
from flows.questionnaire import Kind
from flows.states import Intake
from storage.models import Role


class Step(enum.StrEnum):
    # Each value is also the Profile column it fills.
    GOALS = "goals"
    SYMPTOMS = "symptoms"
    FREQUENCY = "frequency"
    STYLE = "style"
    TIMES = "times"
    SUPPORT = "support"
    LANGUAGES = "languages"
    CAPACITY = "capacity"  # mentors only
    SHARES = "shares"  # mentees only
    PREFERENCES = "preferences"


GOALS = ("symptoms", "pacing", "sleep", "social", "work", "setbacks", "healthcare")
FREQUENCIES = ("daily", "few_weekly", "weekly")
STYLES = ("short", "long", "either")
TIMES = ("morning", "afternoon", "evening")
SUPPORT = ("practical", "emotional", "both")
CAPACITIES = ("1", "2", "3", "4", "5")
SHARES = ("trends", "hard_days")
PREFERENCES_LIMIT = 300

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


@dataclass(frozen=True)
class Options:
    """What the intake's questions depend on: who answers, and the program's symptoms."""

    role: str
    symptoms: tuple[str, ...]


def first_answers(stored: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Where a new run starts: the stored answers, or (first time) their own language ticked."""
    answers = {k: v for k, v in stored.items() if k != Step.PREFERENCES or v}
    if not answers.get(Step.LANGUAGES):
        answers[Step.LANGUAGES] = [locale] if locale in SUPPORTED else []
    return answers


def _for_mentors(answers: Mapping[str, Any], options: Options) -> bool:
    return options.role == Role.MENTOR


def _for_mentees(answers: Mapping[str, Any], options: Options) -> bool:
    return options.role != Role.MENTOR


def _asked(step: Step) -> Any:
    return lambda options: question_text(step, options.role)


def _item(step: Step, kind: Kind, choices: Any, labels: Any, width: int = 1, **more: Any) -> q.Step:
    return q.Step(
        step.value,
        kind,
        _asked(step),
        choices=choices,
        labels=labels,
        widths=(width,),
        skip=True,
        **more,
    )


INTAKE = q.Questionnaire(
    name="intake",
    state=Intake.answering,
    header=__("About you · {number}/{total}"),
    back=True,
    steps=(
        _item(Step.GOALS, Kind.SEVERAL, GOALS, GOAL_NAMES),
        _item(Step.SYMPTOMS, Kind.SEVERAL, lambda options: options.symptoms, symptom_name, 2),
        _item(Step.FREQUENCY, Kind.ONE, FREQUENCIES, FREQUENCY_NAMES),
        _item(Step.STYLE, Kind.ONE, STYLES, STYLE_NAMES),
        _item(Step.TIMES, Kind.SEVERAL, TIMES, TIME_NAMES, 3),
        _item(Step.SUPPORT, Kind.ONE, SUPPORT, SUPPORT_NAMES),
        _item(
            Step.LANGUAGES, Kind.SEVERAL, SUPPORTED, lambda code: NATIVE_NAMES.get(code, code), 3
        ),
        _item(
            Step.CAPACITY,
            Kind.ONE,
            CAPACITIES,
            None,
            5,
            parse=lambda value, _: int(value),
            when=_for_mentors,
        ),
        _item(Step.SHARES, Kind.SEVERAL, SHARES, SHARE_NAMES, when=_for_mentees),
        _item(Step.PREFERENCES, Kind.TEXT, (), None, limit=PREFERENCES_LIMIT),
    ),
)


def question_text(step: Step, role: str) -> str:
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
        ).format(limit=PREFERENCES_LIMIT)
    return _(
        "Last one, optional: anything else that matters to you in a match? For example, "
        "someone who also has children, or who works part-time. Type it in a few words (up "
        "to {limit} characters), or Skip. Only the program team reads it."
    ).format(limit=PREFERENCES_LIMIT)
