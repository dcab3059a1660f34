"""The daily log's questions, one answer at a time, as a mentee gives them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flows import daily_log
from flows.daily_log import DONE, InvalidAnswer, Progress, Step, TooLong
from storage import daily_logs

SYMPTOMS = ("pain", "fatigue", "brain_fog", "dizziness", "gut")
NOTE_LIMIT = 500


def through_the_fsm(progress: Progress) -> dict[str, Any]:
    """The draft is kept in the conversation state (JSON) between two answers."""
    return json.loads(json.dumps(progress.answers))


def tap(step: Step, value: str, answers: dict[str, Any] | None = None) -> Progress:
    return daily_log.choose(step, value, answers or {}, SYMPTOMS)


def typed(step: Step, text: str, answers: dict[str, Any] | None = None) -> Progress:
    return daily_log.type_answer(step, text, answers or {}, NOTE_LIMIT)


# --- the whole log ---------------------------------------------------------------------------


def test_a_full_log_asks_every_question_in_order_and_collects_every_answer() -> None:
    answers: dict[str, Any] = {}
    asked: list[Step] = []
    step: Step | None = Step.INTENSITY
    given = {
        Step.INTENSITY: ("tap", "6"),
        Step.SYMPTOMS: ("tap", "fatigue"),
        Step.ENERGY: ("type", "3"),
        Step.ACTIVITY: ("tap", "more"),
        Step.REST: ("tap", "2"),
        Step.SLEEP_QUALITY: ("tap", "4"),
        Step.SLEEP_HOURS: ("type", "6,5"),
        Step.MOOD: ("tap", "5"),
        Step.INTERFERENCE: ("type", "7"),
        Step.NOTE: ("type", "Overdid it at the market."),
    }
    while step is not None:
        asked.append(step)
        how, value = given[step]
        progress = tap(step, value, answers) if how == "tap" else typed(step, value, answers)
        if step is Step.SYMPTOMS:  # the multi-select stays open until "done"
            assert progress.step is Step.SYMPTOMS
            progress = tap(step, DONE, through_the_fsm(progress))
        answers = through_the_fsm(progress)
        step = progress.step

    assert asked == [
        Step.INTENSITY,
        Step.SYMPTOMS,
        Step.ENERGY,
        Step.ACTIVITY,
        Step.REST,
        Step.SLEEP_QUALITY,
        Step.SLEEP_HOURS,
        Step.MOOD,
        Step.INTERFERENCE,
        Step.NOTE,
    ]
    assert answers == {
        "symptom_intensity": 6,
        "symptoms": ["fatigue"],
        "energy": 3,
        "activity": "more",
        "rest_breaks": 2,
        "sleep_quality": 4,
        "sleep_hours": 6.5,
        "mood": 5,
        "interference": 7,
        "note": "Overdid it at the market.",
    }
    assert set(answers) == set(daily_logs.ANSWER_FIELDS)  # everything the stored log needs


def test_the_question_counter_runs_from_1_to_10() -> None:
    assert daily_log.step_number(Step.INTENSITY) == 1
    assert daily_log.step_number(Step.SLEEP_HOURS) == 7
    assert daily_log.step_number(Step.NOTE) == len(daily_log.ORDER) == 10
    assert daily_log.next_step(Step.NOTE) is None


# --- 0–10 scales -----------------------------------------------------------------------------


@pytest.mark.parametrize("step", sorted(daily_log.SCALE_STEPS))
@pytest.mark.parametrize("value", ["0", "7", "10"])
def test_a_scale_takes_a_tapped_number_from_0_to_10(step: Step, value: str) -> None:
    progress = tap(step, value)
    assert progress.answers[step] == int(value)
    assert progress.step is daily_log.next_step(step)


@pytest.mark.parametrize("text", ["0", "10", " 4 ", "７"])
def test_a_scale_takes_a_typed_whole_number(text: str) -> None:
    assert typed(Step.MOOD, text).answers["mood"] == int(text.strip())


@pytest.mark.parametrize("text", ["11", "-1", "7.5", "seven", "", "3/10", "100"])
def test_a_scale_refuses_what_is_not_a_whole_number_from_0_to_10(text: str) -> None:
    with pytest.raises(InvalidAnswer):
        typed(Step.ENERGY, text)
    with pytest.raises(InvalidAnswer):
        tap(Step.ENERGY, text)


def test_a_superscript_digit_typed_on_a_scale_is_refused_politely_not_a_crash() -> None:
    # "²" is a digit to str.isdigit() but not to int(); phone keyboards offer it on a long press.
    with pytest.raises(InvalidAnswer):
        typed(Step.INTENSITY, "²")


# --- taps-only steps -------------------------------------------------------------------------


@pytest.mark.parametrize("choice", daily_log.ACTIVITY_CHOICES)
def test_activity_takes_each_of_its_choices(choice: str) -> None:
    progress = tap(Step.ACTIVITY, choice)
    assert (progress.answers["activity"], progress.step) == (choice, Step.REST)


@pytest.mark.parametrize("value", ["a_lot", "", "AS_PLANNED", "3"])
def test_activity_refuses_anything_else(value: str) -> None:
    with pytest.raises(InvalidAnswer):
        tap(Step.ACTIVITY, value)


@pytest.mark.parametrize(("value", "stored"), [("0", 0), ("3", 3), ("5", 5)])
def test_rest_breaks_take_0_to_5_where_5_is_the_5_plus_button(value: str, stored: int) -> None:
    progress = tap(Step.REST, value)
    assert (progress.answers["rest_breaks"], progress.step) == (stored, Step.SLEEP_QUALITY)


@pytest.mark.parametrize("value", ["6", "5+", "-1", "two", ""])
def test_rest_breaks_refuse_values_no_button_carries(value: str) -> None:
    with pytest.raises(InvalidAnswer):
        tap(Step.REST, value)


@pytest.mark.parametrize(
    ("step", "text"),
    [(Step.REST, "2"), (Step.REST, "5+"), (Step.ACTIVITY, "more"), (Step.SYMPTOMS, "pain")],
)
def test_typing_at_a_step_that_is_answered_by_taps_is_refused(step: Step, text: str) -> None:
    with pytest.raises(InvalidAnswer):
        typed(step, text)


# --- hours of sleep --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [("6,5", 6.5), ("7h", 7.0), ("7 H", 7.0), ("6.5h", 6.5), ("0", 0.0), ("24", 24.0), ("8", 8.0)],
)
def test_hours_of_sleep_typed_in_everyday_ways(text: str, hours: float) -> None:
    progress = typed(Step.SLEEP_HOURS, text)
    assert (progress.answers["sleep_hours"], progress.step) == (hours, Step.MOOD)


def test_hours_of_sleep_are_kept_to_the_half_hour() -> None:
    assert typed(Step.SLEEP_HOURS, "6.4").answers["sleep_hours"] == 6.5
    assert typed(Step.SLEEP_HOURS, "7.1").answers["sleep_hours"] == 7.0


@pytest.mark.parametrize("text", ["25", "24.5", "-1", "eight", "", "nan", "inf", "7 hours"])
def test_hours_of_sleep_out_of_range_or_not_a_number_are_refused(text: str) -> None:
    with pytest.raises(InvalidAnswer):
        typed(Step.SLEEP_HOURS, text)


def test_hours_of_sleep_can_be_tapped_too() -> None:
    for hours in daily_log.SLEEP_HOUR_CHOICES:
        assert tap(Step.SLEEP_HOURS, f"{hours:g}").answers["sleep_hours"] == hours


# --- symptoms multi-select -------------------------------------------------------------------


def test_symptoms_toggle_on_and_off_and_close_with_done() -> None:
    progress = tap(Step.SYMPTOMS, "gut")
    progress = tap(Step.SYMPTOMS, "pain", through_the_fsm(progress))
    assert progress.answers["symptoms"] == ["pain", "gut"]  # in the list's order, not tap order
    assert progress.step is Step.SYMPTOMS

    progress = tap(Step.SYMPTOMS, "gut", through_the_fsm(progress))
    assert progress.answers["symptoms"] == ["pain"]

    progress = tap(Step.SYMPTOMS, DONE, through_the_fsm(progress))
    assert (progress.answers["symptoms"], progress.step) == (["pain"], Step.ENERGY)


def test_done_with_no_symptom_ticked_records_an_empty_list() -> None:
    progress = tap(Step.SYMPTOMS, DONE)
    assert (progress.answers["symptoms"], progress.step) == ([], Step.ENERGY)


def test_a_symptom_that_is_not_on_the_list_is_refused() -> None:
    draft = {"symptom_intensity": 4, "symptoms": ["pain"]}
    with pytest.raises(InvalidAnswer):
        tap(Step.SYMPTOMS, "headache", draft)
    assert draft == {"symptom_intensity": 4, "symptoms": ["pain"]}  # the draft is untouched


# --- the note --------------------------------------------------------------------------------


def test_a_note_closes_the_log_trimmed_of_surrounding_space() -> None:
    progress = typed(Step.NOTE, "  Slept badly, paced well.\n")
    assert (progress.answers["note"], progress.step) == ("Slept badly, paced well.", None)


def test_a_note_at_the_limit_is_taken_and_one_character_more_is_too_long() -> None:
    assert typed(Step.NOTE, "x" * NOTE_LIMIT).answers["note"] == "x" * NOTE_LIMIT
    with pytest.raises(TooLong) as raised:
        typed(Step.NOTE, "y" * (NOTE_LIMIT + 1))
    assert (raised.value.length, raised.value.limit) == (NOTE_LIMIT + 1, NOTE_LIMIT)


def test_the_too_long_message_reports_the_length_the_person_sees() -> None:
    with pytest.raises(TooLong) as raised:
        daily_log.type_answer(Step.NOTE, "ü" * 120, {}, note_limit=100)
    assert (raised.value.length, raised.value.limit) == (120, 100)


def test_skipping_the_note_closes_the_log_without_one() -> None:
    progress = tap(Step.NOTE, "skip", {"mood": 5})
    assert progress == Progress({"mood": 5, "note": None}, None)


def test_a_blank_note_counts_as_no_note() -> None:
    assert typed(Step.NOTE, "   ").answers["note"] is None


def test_the_note_step_has_no_other_button_than_skip() -> None:
    with pytest.raises(InvalidAnswer):
        tap(Step.NOTE, "7")


# --- same as yesterday -----------------------------------------------------------------------


def test_same_as_yesterday_copies_every_answer_but_the_note_and_asks_for_today_s_note() -> None:
    yesterday = {
        "symptom_intensity": 5,
        "symptoms": ["pain", "brain_fog"],
        "energy": 4,
        "activity": "as_planned",
        "rest_breaks": 5,
        "sleep_quality": 6,
        "sleep_hours": 7.5,
        "mood": 6,
        "interference": 3,
        "note": "Yesterday's private thought",
    }
    progress = daily_log.same_as_yesterday(yesterday)
    assert progress.step is Step.NOTE
    assert "note" not in progress.answers
    assert progress.answers == {k: v for k, v in yesterday.items() if k != "note"}

    finished = typed(Step.NOTE, "Same again.", through_the_fsm(progress))
    assert finished.step is None
    assert finished.answers["note"] == "Same again."
    assert finished.answers["symptoms"] == ["pain", "brain_fog"]


def test_the_same_tap_again_for_a_step_the_log_has_gone_past_repeats_its_answer() -> None:
    answers = {"symptom_intensity": 8, "symptoms": ["pain"], "energy": 2}
    repeats = daily_log.repeats_a_taken_answer
    assert repeats("energy", "2", "activity", answers, SYMPTOMS)
    assert repeats("symptom_intensity", "8", "activity", answers, SYMPTOMS)
    assert repeats("symptoms", "done", "activity", answers, SYMPTOMS)
    assert not repeats("energy", "5", "activity", answers, SYMPTOMS)  # a change of mind
    assert not repeats("symptoms", "fatigue", "activity", answers, SYMPTOMS)
    assert not repeats("activity", "as_planned", "activity", answers, SYMPTOMS)  # asked now
    assert not repeats("note", "skip", "energy", answers, SYMPTOMS)  # not asked yet
    assert not repeats("energy", "2", None, answers, SYMPTOMS)  # no log going on
    assert not repeats("forged", "2", "activity", answers, SYMPTOMS)
    assert not repeats("energy", "x", "activity", answers, SYMPTOMS)
