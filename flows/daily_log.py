"""The daily symptom and pacing log, declared for the questionnaire engine: its questions
in order, their kinds and texts, and what its answers mean.

A draft lives in the conversation state until the last step, so a restart (even a
crash) continues at the same question with the answers given so far.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from flows import questionnaire as q
from flows.questionnaire import DONE, Kind
from flows.states import DailyLogging
from flows.steps import InvalidAnswer, Progress, TooLong

__all__ = ["DONE", "InvalidAnswer", "Progress", "Step", "TooLong"]


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
# A mood this low (0 or 1 of 10): the next question also offers someone to talk to, at once.
HELP_OFFER_MOOD = 1
VERY_HARD_SYMPTOMS = 9  # symptom intensity at or above this, out of 10
# Low-spoon mode: on a bad day, a three-tap log of symptoms, energy and mood. The mark is in
# the draft's answers (not stored: storage keeps only the answer fields), and the steps of
# the full log are shown only without it, so the counter reads 1/3, 2/3, 3/3.
QUICK = "quick"
QUICK_STEPS = (Step.INTENSITY, Step.ENERGY, Step.MOOD)

SYMPTOM_NAMES = {
    "pain": __("Pain"),
    "fatigue": __("Fatigue"),
    "brain_fog": __("Brain fog"),
    "sleep_problems": __("Sleep problems"),
    "dizziness": __("Dizziness"),
    "headache": __("Headache"),
    "gut": __("Gut trouble"),
    "weakness": __("Weakness"),
    "numbness": __("Numbness or tingling"),
    "anxiety": __("Anxiety"),
}

ACTIVITY_NAMES = {
    "less": __("less than planned"),
    "as_planned": __("as planned"),
    "more": __("more than planned"),
}


@dataclass(frozen=True)
class Options:
    """What the log's questions depend on: the program's symptom list and note limit."""

    symptoms: tuple[str, ...]
    note_limit: int


def symptom_name(symptom: str) -> str:
    """A program may add its own symptom ids in settings; those read as they are written."""
    name = SYMPTOM_NAMES.get(symptom)
    return str(name) if name is not None else symptom.replace("_", " ").capitalize()


def rest_breaks(value: int) -> str:
    return "5+" if value >= 5 else str(value)


def parse_hours(text: str) -> float:
    try:
        hours = float(text.replace(",", ".").rstrip("hH ").strip())
    except ValueError as error:
        raise InvalidAnswer(text) from error
    if not 0 <= hours <= 24:
        raise InvalidAnswer(text)
    return round(hours * 2) / 2  # half hours are precise enough


def _whole(value: str, options: Any = None) -> int:
    return int(value)


def _hours(text: str, options: Any = None) -> float:
    return parse_hours(text)


def _sleep_label(value: str) -> str:
    first, last = SLEEP_HOUR_CHOICES[0], SLEEP_HOUR_CHOICES[-1]
    return {f"{first:g}": f"≤{first:g}", f"{last:g}": f"{last:g}+"}.get(value, value)


def _scale(step: Step, question: Any, low: Any, high: Any) -> q.Step:
    return q.Step(
        step.value,
        Kind.SCALE,
        question,
        low_label=low,
        high_label=high,
        widths=(6, 5),
        hint=__("Please tap a button, or type a whole number from 0 to 10."),
    )


def _full_log_only(answers: Mapping[str, Any], context: Any) -> bool:
    return not answers.get(QUICK)


def _in_full_log_only(steps: tuple[q.Step, ...]) -> tuple[q.Step, ...]:
    quick = {step.value for step in QUICK_STEPS}
    return tuple(s if s.name in quick else replace(s, when=_full_log_only) for s in steps)


LOG = q.Questionnaire(
    name="daily_log",
    state=DailyLogging.answering,
    header=__("Daily log · {number}/{total}"),
    steps=_in_full_log_only(
        (
            _scale(
                Step.INTENSITY,
                __("Overall, how strong are your symptoms today?"),
                __("none"),
                __("the worst you can imagine"),
            ),
            q.Step(
                Step.SYMPTOMS.value,
                Kind.SEVERAL,
                __("Which symptoms are the main ones today? Tap all that apply, then Done."),
                choices=lambda options: options.symptoms,
                labels=symptom_name,
                widths=(2,),
            ),
            _scale(Step.ENERGY, __("How is your energy today?"), __("none at all"), __("plenty")),
            q.Step(
                Step.ACTIVITY.value,
                Kind.ONE,
                __("Compared with your plan for today, how active were you?"),
                choices=ACTIVITY_CHOICES,
                labels=lambda value: str(ACTIVITY_NAMES[value]).capitalize(),
            ),
            q.Step(
                Step.REST.value,
                Kind.ONE,
                __("How many rest breaks did you take today?"),
                choices=tuple(str(n) for n in REST_CHOICES),
                labels=lambda value: rest_breaks(int(value)),
                parse=_whole,
                widths=(6,),
            ),
            _scale(
                Step.SLEEP_QUALITY,
                __("How well did you sleep last night?"),
                __("very badly"),
                __("very well"),
            ),
            q.Step(
                Step.SLEEP_HOURS.value,
                Kind.NUMBER,
                __(
                    "About how many hours did you sleep last night? Tap, or type a number such as 6.5."
                ),
                choices=tuple(f"{h:g}" for h in SLEEP_HOUR_CHOICES),
                labels=_sleep_label,
                parse=_hours,
                widths=(7,),
                hint=__("Please tap a button, or type the hours as a number such as 6.5."),
            ),
            _scale(Step.MOOD, __("How is your mood today?"), __("very low"), __("very good")),
            _scale(
                Step.INTERFERENCE,
                __("How much did your symptoms get in the way of daily life today?"),
                __("not at all"),
                __("completely"),
            ),
            q.Step(
                Step.NOTE.value,
                Kind.TEXT,
                lambda options: _(
                    "Anything you'd like to add? Type a short note (up to {limit} characters), or skip."
                ).format(limit=options.note_limit),
                limit=lambda options: options.note_limit,
                skip=True,
                too_long=__(
                    "That note is {length} characters long; notes can be up to {limit}. I've kept what "
                    "you wrote: send a shorter version, or keep the first {limit} characters."
                ),
                too_long_skip=__("Skip the note"),
            ),
        )
    ),
)


# --- the log's own rules, beside the engine --------------------------------------------------


def offers_help(step: Step, answers: Mapping[str, Any]) -> bool:
    """The question right after a lowest mood offers a person to talk to, beside the log."""
    mood = answers.get(Step.MOOD)
    return step is next_step(Step.MOOD) and mood is not None and mood <= HELP_OFFER_MOOD


def is_quick(answers: Mapping[str, Any]) -> bool:
    return bool(answers.get(QUICK))


def go_quick(answers: Mapping[str, Any]) -> Progress:
    """Low-spoon mode from the first question: three taps (symptoms, energy, mood)."""
    return Progress({**answers, QUICK: True}, Step.INTENSITY)


def quick_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """What a three-tap log saves: its three answers, no symptoms named, the rest empty."""
    return {step.value: answers.get(step.value) for step in QUICK_STEPS} | {Step.SYMPTOMS.value: []}


def is_full(log: Mapping[str, Any]) -> bool:
    """A stored log with every answer of the full log (not a three-tap one)."""
    return log.get(Step.ACTIVITY.value) is not None


def very_hard_day(answers: Mapping[str, Any]) -> bool:
    """Symptoms at the top of the scale, or the lowest moods: the saved log says it is seen."""
    intensity, mood = answers.get(Step.INTENSITY), answers.get(Step.MOOD)
    return (intensity is not None and intensity >= VERY_HARD_SYMPTOMS) or (
        mood is not None and mood <= HELP_OFFER_MOOD
    )


def same_as_yesterday(yesterday: Mapping[str, Any]) -> Progress:
    """Copy yesterday's answers (not its note) and go straight to today's note."""
    answers = {step.value: yesterday[step.value] for step in ORDER if step is not Step.NOTE}
    return Progress(answers, Step.NOTE)


# --- the log's steps by name (what its tests and the benchmark speak) ------------------------


def next_step(step: Step) -> Step | None:
    following = LOG.next(step, {}, None)
    return Step(following) if following else None


def step_number(step: Step) -> int:
    return ORDER.index(step) + 1


def choose(step: Step, value: str, answers: Mapping[str, Any], symptoms: Sequence[str]) -> Progress:
    """Take a tapped answer. The symptom step toggles until 'done'."""
    return _as_steps(LOG.tap(step, value, answers, Options(tuple(symptoms), 0)))


def type_answer(step: Step, text: str, answers: Mapping[str, Any], note_limit: int) -> Progress:
    """Take a typed answer: the note, hours of sleep, or a number on a 0–10 scale."""
    return _as_steps(LOG.typed(step, text, answers, Options((), note_limit)))


def repeats_a_taken_answer(
    tapped: str,
    value: str,
    current: str | None,
    answers: Mapping[str, Any],
    symptoms: Sequence[str],
) -> bool:
    return LOG.repeats_a_taken_answer(tapped, value, current, answers, Options(tuple(symptoms), 0))


def _as_steps(progress: q.Progress) -> Progress:
    return Progress(progress.answers, Step(progress.step) if progress.step else None)
