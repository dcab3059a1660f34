"""Weekly measures (flows/measures.py): each instrument scored as its manual says (sum
ranges, published bands), the change since the first score, the rotation, and which
languages are offered."""

from __future__ import annotations

import datetime as dt

import pytest

from flows import measures
from flows.measures import PSEQ2, SSS8, UCLA3, WSAS, Incomplete, Stored


def answers(measure: str, *values: int | str) -> dict[str, int | str]:
    items = measures.INSTRUMENTS[measure].items
    assert len(values) == len(items)
    named = {measures.step_name(measure, item): v for item, v in zip(items, values, strict=True)}
    return {measures.MEASURE: measure, **named}


@pytest.mark.parametrize(
    ("measure", "lowest", "highest", "low", "high"),
    [(SSS8, 0, 4, 0, 32), (WSAS, 0, 8, 0, 40), (UCLA3, 1, 3, 3, 9), (PSEQ2, 0, 6, 0, 12)],
)
def test_each_instrument_sums_to_its_published_range(measure, lowest, highest, low, high):
    count = len(measures.INSTRUMENTS[measure].items)
    bottom = measures.score(measure, answers(measure, *[lowest] * count))
    top = measures.score(measure, answers(measure, *[highest] * count))
    assert (bottom.total, top.total) == (low, high)
    assert (bottom.low, bottom.high) == (low, high)


def test_item_counts_are_the_published_ones():
    counts = {m: len(i.items) for m, i in measures.INSTRUMENTS.items()}
    assert counts == {SSS8: 8, WSAS: 5, UCLA3: 3, PSEQ2: 2}


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (3, "minimal"), (4, "low"), (7, "low"), (8, "medium"), (11, "medium"),
     (12, "high"), (15, "high"), (16, "very_high"), (32, "very_high")],
)  # fmt: skip
def test_sss8_bands_are_gierks(total, band):
    values = [4] * (total // 4) + ([total % 4] if total % 4 else [])
    values += [0] * (8 - len(values))
    result = measures.score(SSS8, answers(SSS8, *values))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("values", "band"),
    [((1, 2, 2, 2, 2), "subclinical"), ((2, 2, 2, 2, 2), "significant"),
     ((4, 4, 4, 4, 4), "significant"), ((5, 4, 4, 4, 4), "severe")],
)  # fmt: skip
def test_wsas_bands_are_mundts_below_10_to_20_and_above(values, band):
    assert measures.score(WSAS, answers(WSAS, *values)).band == band


def test_wsas_without_the_work_item_is_out_of_32_and_unbanded():
    result = measures.score(WSAS, answers(WSAS, measures.NOT_APPLICABLE, 8, 8, 8, 8))
    assert (result.total, result.high, result.band) == (32, 32, None)
    assert result.items == (None, 8, 8, 8, 8)


def test_measures_without_published_bands_get_none():
    assert measures.score(UCLA3, answers(UCLA3, 3, 3, 3)).band is None
    assert measures.score(PSEQ2, answers(PSEQ2, 0, 0)).band is None


def test_a_missing_or_out_of_range_answer_is_no_score():
    partial = answers(SSS8, *[1] * 8)
    del partial[measures.step_name(SSS8, "sleep")]
    with pytest.raises(Incomplete):
        measures.score(SSS8, partial)
    with pytest.raises(Incomplete):
        measures.score(UCLA3, answers(UCLA3, 0, 1, 1))  # the UCLA 3-item starts at 1
    with pytest.raises(Incomplete):
        measures.score(SSS8, answers(SSS8, measures.NOT_APPLICABLE, *[1] * 7))


DAY = dt.date(2026, 11, 2)


def week(n: int) -> dt.date:
    return DAY + dt.timedelta(weeks=n)


def test_change_since_start_compares_the_latest_with_the_first():
    history = [Stored(week(0), 14, 32), Stored(week(4), 12, 32), Stored(week(8), 9, 32)]
    change = measures.change_since_start(SSS8, history)
    assert change is not None
    assert (change.first.total, change.latest.total, change.difference) == (14, 9, -5)
    assert change.better is True  # fewer symptoms


def test_which_way_is_better_depends_on_the_instrument():
    up = [Stored(week(0), 4, 12), Stored(week(4), 7, 12)]
    assert measures.change_since_start(PSEQ2, up).better is True  # more confident
    lonelier = [Stored(week(0), 4, 9), Stored(week(4), 7, 9)]
    assert measures.change_since_start(UCLA3, lonelier).better is False
    same = [Stored(week(0), 4, 9), Stored(week(4), 4, 9)]
    change = measures.change_since_start(UCLA3, same)
    assert (change.difference, change.better) == (0, None)


def test_no_change_with_one_score_or_different_ranges():
    assert measures.change_since_start(SSS8, [Stored(week(0), 9, 32)]) is None
    mixed = [Stored(week(0), 20, 40), Stored(week(4), 18, 32)]  # work item not applicable
    assert measures.change_since_start(WSAS, mixed) is None


def test_the_order_stored_does_not_matter():
    history = [Stored(week(8), 9, 32), Stored(week(0), 14, 32)]
    assert measures.change_since_start(SSS8, history).difference == -5


def test_rotation_asks_each_measure_in_turn_and_starts_again():
    offered = measures.offered("en", ["pain", "fatigue"])
    assert offered == (SSS8, WSAS, UCLA3, PSEQ2)
    asked, last = [], None
    for _week in range(6):
        last = measures.next_in_rotation(last, offered)
        asked.append(last)
    assert asked == [SSS8, WSAS, UCLA3, PSEQ2, SSS8, WSAS]


def test_pain_confidence_is_asked_only_of_someone_who_named_pain():
    offered = measures.offered("en", ["fatigue"])
    assert offered == (SSS8, WSAS, UCLA3)
    assert measures.offered("en", None) == (SSS8, WSAS, UCLA3)
    assert measures.next_in_rotation(UCLA3, offered) == SSS8  # PSEQ-2 passed over
    assert measures.next_in_rotation(PSEQ2, offered) == SSS8  # its last one, before intake changed


def test_no_measure_in_a_language_without_validated_wording():
    # Spanish and German: no validated translation's wording is at hand (docs/measures.md).
    assert measures.offered("es", ["pain"]) == ()
    assert measures.offered("de", ["pain"]) == ()
    assert measures.next_in_rotation(None, ()) is None


def test_the_wording_has_every_item_and_answer_of_each_instrument():
    for measure, instrument in measures.INSTRUMENTS.items():
        text = measures.wording(measure, "en")
        assert text is not None
        assert set(text.items) == set(instrument.items)
        assert set(text.answers) == set(instrument.values)
        assert text.answers[min(instrument.values)] and text.answers[max(instrument.values)]


def test_the_questionnaire_asks_only_this_weeks_measure_with_its_own_counter():
    flow = measures.QUESTIONS
    for measure, count in ((SSS8, 8), (WSAS, 5), (UCLA3, 3), (PSEQ2, 2)):
        draft = {measures.MEASURE: measure}
        first = flow.first(draft, "en")
        assert first.name == measures.step_name(measure, measures.INSTRUMENTS[measure].items[0])
        assert flow.counter(first.name, draft, "en") == (1, count)
    progress = flow.tap("ucla3_companionship", "2", {measures.MEASURE: UCLA3}, "en")
    assert progress.step == "ucla3_left_out" and progress.answers["ucla3_companionship"] == 2
    last = flow.tap("ucla3_isolated", "3", {measures.MEASURE: UCLA3}, "en")
    assert last.step is None  # the UCLA 3-item is complete: no other measure's items follow


def test_the_recall_period_and_stem_are_on_the_question():
    question = measures.QUESTIONS.step("sss8_back").asks("en")
    assert "During the past 7 days" in question and "<b>Back pain</b>" in question
    work = measures.QUESTIONS.step("wsas_work").asks("en")
    assert "retired" in work and "Because of my symptoms" in work
