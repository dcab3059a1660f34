"""The daily symptom and pacing log: its questions in order and how answers are taken.

A draft lives in the conversation state until the last step, so a restart (even a
crash) continues at the same question with the answers given so far.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from flows.steps import InvalidAnswer, Progress, TooLong


class Step(enum.StrEnum):
    # Each value is also the name of the answer it collects (see storage.daily_logs).
    INTENSITY = "symptom_intensity"
    SYMPTOMS = "symptoms"
    ENERGY = "energy"
    ACTIVITY = "activity"
    REST = "rest_breaks"
    SLEEP_QUALITY = "sleep_quality"
    SLEEP_HOURS = "sleep_hours"
    MOOD = "mood"
    INTERFERENCE = "interference"
    NOTE = "note"


ORDER = tuple(Step)
SCALE_STEPS = frozenset(
    {Step.INTENSITY, Step.ENERGY, Step.SLEEP_QUALITY, Step.MOOD, Step.INTERFERENCE}
)
ACTIVITY_CHOICES = ("less", "as_planned", "more")
REST_CHOICES = tuple(range(6))  # 5 stands for "5 or more"
SLEEP_HOUR_CHOICES = (4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0)
DONE = "done"  # the value of the button that closes the symptom multi-select
# A mood this low (0 or 1 of 10): the next question also offers someone to talk to, at once.
HELP_OFFER_MOOD = 1


def repeats_a_taken_answer(
    tapped: str,
    value: str,
    current: str | None,
    answers: Mapping[str, Any],
    symptoms: Sequence[str],
) -> bool:
    """A tap for a step the log has gone past (``current`` is asked now), giving the answer
    that step already holds: the same tap again, not a change of mind."""
    try:
        step = Step(tapped)
        if current is None or ORDER.index(step) >= ORDER.index(Step(current)):
            return False
        if step is Step.SYMPTOMS:
            return value == DONE  # the toggles before it are in the stored list already
        taken = choose(step, value, answers, symptoms)
    except (ValueError, InvalidAnswer):
        return False
    return taken.answers.get(step.value) == answers.get(step.value)


def next_step(step: Step) -> Step | None:
    index = ORDER.index(step)
    return ORDER[index + 1] if index + 1 < len(ORDER) else None


def step_number(step: Step) -> int:
    return ORDER.index(step) + 1


def offers_help(step: Step, answers: Mapping[str, Any]) -> bool:
    """The question right after a lowest mood offers a person to talk to, beside the log."""
    mood = answers.get(Step.MOOD)
    return step is next_step(Step.MOOD) and mood is not None and mood <= HELP_OFFER_MOOD


VERY_HARD_SYMPTOMS = 9  # symptom intensity at or above this, out of 10


def very_hard_day(answers: Mapping[str, Any]) -> bool:
    """Symptoms at the top of the scale, or the lowest moods: the saved log says it is seen."""
    intensity, mood = answers.get(Step.INTENSITY), answers.get(Step.MOOD)
    return (intensity is not None and intensity >= VERY_HARD_SYMPTOMS) or (
        mood is not None and mood <= HELP_OFFER_MOOD
    )


def choose(step: Step, value: str, answers: Mapping[str, Any], symptoms: Sequence[str]) -> Progress:
    """Take a tapped answer. The symptom step toggles until 'done'."""
    answers = dict(answers)
    if step is Step.SYMPTOMS:
        chosen = list(answers.get(Step.SYMPTOMS, []))
        if value == DONE:
            answers[Step.SYMPTOMS] = chosen
            return Progress(answers, next_step(step))
        if value not in symptoms:
            raise InvalidAnswer(value)
        answers[Step.SYMPTOMS] = [s for s in symptoms if (s in chosen) != (s == value)]
        return Progress(answers, step)
    if step is Step.NOTE:
        if value != "skip":
            raise InvalidAnswer(value)
        answers[Step.NOTE] = None
        return Progress(answers, None)
    answers[step] = _parse_choice(step, value)
    return Progress(answers, next_step(step))


def type_answer(step: Step, text: str, answers: Mapping[str, Any], note_limit: int) -> Progress:
    """Take a typed answer: the note, hours of sleep, or a number on a 0–10 scale."""
    answers = dict(answers)
    text = text.strip()
    if step is Step.NOTE:
        if len(text) > note_limit:
            raise TooLong(len(text), note_limit)
        answers[Step.NOTE] = text or None
        return Progress(answers, None)
    if step is Step.SLEEP_HOURS:
        answers[step] = parse_hours(text)
    elif step in SCALE_STEPS:
        answers[step] = _parse_scale(text)
    else:
        raise InvalidAnswer(text)
    return Progress(answers, next_step(step))


def same_as_yesterday(yesterday: Mapping[str, Any]) -> Progress:
    """Copy yesterday's answers (not its note) and go straight to today's note."""
    answers = {step.value: yesterday[step.value] for step in ORDER if step is not Step.NOTE}
    return Progress(answers, Step.NOTE)


def parse_hours(text: str) -> float:
    try:
        hours = float(text.replace(",", ".").rstrip("hH ").strip())
    except ValueError as error:
        raise InvalidAnswer(text) from error
    if not 0 <= hours <= 24:
        raise InvalidAnswer(text)
    return round(hours * 2) / 2  # half hours are precise enough


def _parse_scale(text: str) -> int:
    if not text.isdecimal() or not 0 <= int(text) <= 10:
        raise InvalidAnswer(text)
    return int(text)


def _parse_choice(step: Step, value: str) -> Any:
    if step in SCALE_STEPS:
        return _parse_scale(value)
    if step is Step.ACTIVITY:
        if value not in ACTIVITY_CHOICES:
            raise InvalidAnswer(value)
        return value
    if step is Step.REST:
        if not value.isdecimal() or int(value) not in REST_CHOICES:
            raise InvalidAnswer(value)
        return int(value)
    if step is Step.SLEEP_HOURS:
        return parse_hours(value)
    raise InvalidAnswer(value)
