"""The intake: what a mentee or mentor tells us for matching, item by item, all skippable.

The draft (step and answers) lives in the conversation state like the daily log's, so a
restart continues at the same question. Answers are ids (goals, symptoms, times...);
handlers translate them. Running the intake again starts from the stored answers, and
"Skip" keeps whatever an item holds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from flows.languages import SUPPORTED
from flows.steps import InvalidAnswer, Progress, TooLong
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

MULTI = frozenset({Step.GOALS, Step.SYMPTOMS, Step.TIMES, Step.LANGUAGES, Step.SHARES})
DONE, SKIP, BACK = "done", "skip", "back"


def steps_for(role: str) -> tuple[Step, ...]:
    """Mentors say how many mentees they can take; mentees what their mentor may see."""
    own = Step.CAPACITY if role == Role.MENTOR else Step.SHARES
    skipped = {Step.CAPACITY, Step.SHARES} - {own}
    return tuple(step for step in Step if step not in skipped)


def first_answers(stored: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Where a new run starts: the stored answers, or (first time) their own language ticked."""
    answers = {k: v for k, v in stored.items() if k != Step.PREFERENCES or v}
    if not answers.get(Step.LANGUAGES):
        answers[Step.LANGUAGES] = [locale] if locale in SUPPORTED else []
    return answers


def choices(step: Step, symptoms: Sequence[str]) -> tuple[str, ...]:
    return {
        Step.GOALS: GOALS,
        Step.SYMPTOMS: tuple(symptoms),
        Step.FREQUENCY: FREQUENCIES,
        Step.STYLE: STYLES,
        Step.TIMES: TIMES,
        Step.SUPPORT: SUPPORT,
        Step.LANGUAGES: SUPPORTED,
        Step.CAPACITY: CAPACITIES,
        Step.SHARES: SHARES,
        Step.PREFERENCES: (),
    }[step]


def next_step(step: Step, role: str) -> Step | None:
    order = steps_for(role)
    index = order.index(step)
    return order[index + 1] if index + 1 < len(order) else None


def previous_step(step: Step, role: str) -> Step | None:
    order = steps_for(role)
    index = order.index(step)
    return order[index - 1] if index > 0 else None


def step_number(step: Step, role: str) -> int:
    return steps_for(role).index(step) + 1


def choose(
    step: Step, value: str, answers: Mapping[str, Any], role: str, symptoms: Sequence[str]
) -> Progress:
    """Take a tap: multi-select items toggle until Done; Skip leaves the item as it is;
    Back goes to the item before."""
    answers = dict(answers)
    if value == BACK:
        before = previous_step(step, role)
        if before is None:
            raise InvalidAnswer(value)
        return Progress(answers, before)
    if value in (SKIP, DONE):
        return Progress(answers, next_step(step, role))
    allowed = choices(step, symptoms)
    if value not in allowed:
        raise InvalidAnswer(value)
    if step in MULTI:
        chosen = set(answers.get(step) or ())
        chosen ^= {value}
        answers[step] = [item for item in allowed if item in chosen]  # in the listed order
        return Progress(answers, step)
    answers[step] = int(value) if step is Step.CAPACITY else value
    return Progress(answers, next_step(step, role))


def type_preferences(text: str, answers: Mapping[str, Any]) -> Progress:
    """The one typed item. Too long: ``TooLong`` (the handler keeps the text for them)."""
    text = text.strip()
    if len(text) > PREFERENCES_LIMIT:
        raise TooLong(len(text), PREFERENCES_LIMIT)
    return Progress({**answers, Step.PREFERENCES: text or None}, None)
