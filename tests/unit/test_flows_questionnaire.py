"""The questionnaire engine's model: a questionnaire declared as data, answered step by
step. (The daily log's own tests, tests/unit/test_flows_daily_log.py, run on it too.)"""

from __future__ import annotations

import pytest

from flows import questionnaire as q
from flows.questionnaire import BACK, DONE, SKIP, Kind
from flows.states import Intake
from flows.steps import InvalidAnswer, TooLong

SLEEP = q.Questionnaire(
    name="sleep_check",
    state=Intake.answering,
    header="Sleep · {number}/{total}",
    back=True,
    steps=(
        q.Step("slept", Kind.ONE, "Did you sleep?", choices=("yes", "no")),
        q.Step(
            "bedtime",
            Kind.TIME,
            "When?",
            parse=q.time_of_day,
            when=lambda a, c: a.get("slept") == "yes",
        ),
        q.Step("wakings", Kind.NUMBER, "How often awake?", parse=q.whole_number(0, 20), skip=True),
        q.Step("quality", Kind.SCALE, "How well?", low=1, high=5),
        q.Step("helped", Kind.SEVERAL, "What helped?", choices=("dark", "quiet", "tea"), skip=True),
        q.Step("words", Kind.TEXT, "Anything else?", limit=20, skip=True),
    ),
)


def test_a_step_is_shown_only_when_its_condition_holds() -> None:
    assert SLEEP.tap("slept", "no", {}, None).step == "wakings"
    progress = SLEEP.tap("slept", "yes", {}, None)
    assert progress.step == "bedtime"
    assert SLEEP.counter("bedtime", progress.answers, None) == (2, 6)
    assert SLEEP.counter("wakings", {"slept": "no"}, None) == (2, 5)


@pytest.mark.parametrize(
    ("text", "time"), [("23:30", "23:30"), ("7.05", "07:05"), ("0815", "08:15")]
)
def test_a_time_is_typed_in_everyday_ways(text: str, time: str) -> None:
    assert SLEEP.typed("bedtime", text, {"slept": "yes"}, None).answers["bedtime"] == time


@pytest.mark.parametrize("text", ["25:00", "7:6", "late", ""])
def test_a_time_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(InvalidAnswer):
        SLEEP.typed("bedtime", text, {}, None)


def test_a_number_and_a_scale_keep_to_their_bounds() -> None:
    assert SLEEP.typed("wakings", "3", {}, None).answers == {"wakings": 3}
    with pytest.raises(InvalidAnswer):
        SLEEP.typed("wakings", "21", {}, None)
    assert SLEEP.tap("quality", "5", {}, None).step == "helped"
    for bad in ("0", "6"):
        with pytest.raises(InvalidAnswer):
            SLEEP.tap("quality", bad, {}, None)


def test_skip_keeps_what_a_step_holds_and_back_goes_to_the_step_shown_before() -> None:
    assert SLEEP.tap("wakings", SKIP, {"wakings": 2}, None).answers == {"wakings": 2}
    assert SLEEP.tap("wakings", SKIP, {}, None).answers == {"wakings": None}
    assert SLEEP.tap("wakings", BACK, {"slept": "no"}, None).step == "slept"
    assert SLEEP.tap("wakings", BACK, {"slept": "yes"}, None).step == "bedtime"
    with pytest.raises(InvalidAnswer):
        SLEEP.tap("slept", BACK, {}, None)  # nothing before the first
    with pytest.raises(InvalidAnswer):
        SLEEP.tap("slept", SKIP, {}, None)  # not declared skippable


def test_several_choices_toggle_in_the_listed_order_until_done() -> None:
    progress = SLEEP.tap("helped", "tea", {}, None)
    progress = SLEEP.tap("helped", "dark", progress.answers, None)
    assert (progress.answers["helped"], progress.step) == (["dark", "tea"], "helped")
    assert SLEEP.tap("helped", DONE, progress.answers, None).step == "words"
    with pytest.raises(InvalidAnswer):
        SLEEP.tap("helped", "coffee", {}, None)


def test_a_text_over_its_limit_is_refused_and_can_be_trimmed() -> None:
    with pytest.raises(TooLong):
        SLEEP.typed("words", "x" * 21, {}, None)
    finished = SLEEP.trim("words", "y" * 30, {}, None)
    assert (finished.answers["words"], finished.step) == ("y" * 20, None)


def test_a_step_that_is_not_declared_is_refused() -> None:
    with pytest.raises(InvalidAnswer):
        SLEEP.tap("forged", "1", {}, None)
