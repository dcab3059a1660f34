"""Matching scores: who can be matched at all, who fits best, and the line that says why."""

from __future__ import annotations

import pytest

from bot.i18n import create_i18n
from flows import intake
from flows.matching import Reasons, Side, score, suggest
from handlers.matching import explain


def mentee(**values) -> Side:
    values.setdefault("languages", ("en",))
    return Side(user_id=1, **values)


def mentor(user_id: int, **values) -> Side:
    values.setdefault("languages", ("en",))
    return Side(user_id=user_id, **values)


# --- hard constraints -----------------------------------------------------------------------


def test_without_a_shared_language_there_is_no_match_however_much_else_fits() -> None:
    alike = {"goals": ("pacing",), "symptoms": ("fatigue",), "frequency": "daily"}
    assert score(mentee(languages=("es",), **alike), mentor(2, languages=("de",), **alike)) is None
    assert score(mentee(languages=("es", "en"), **alike), mentor(2, **alike)) is not None


def test_a_mentor_without_a_free_place_is_never_suggested() -> None:
    full = mentor(2, capacity=2, active=2, goals=("pacing",))
    room = mentor(3, capacity=2, active=1)
    assert score(mentee(goals=("pacing",)), full) is None
    assert [s.mentor_id for s in suggest(mentee(goals=("pacing",)), [full, room])] == [3]


def test_a_mentor_who_skipped_capacity_takes_one_mentee() -> None:
    assert score(mentee(), mentor(2, active=1)) is None
    assert score(mentee(), mentor(2, active=0)) is not None


def test_earlier_mentors_are_left_out_of_a_rematch() -> None:
    found = suggest(mentee(), [mentor(2), mentor(3)], exclude=[2])
    assert [s.mentor_id for s in found] == [3]


# --- what adds up -----------------------------------------------------------------------------


def test_shared_goals_and_symptoms_rank_a_mentor_first() -> None:
    me = mentee(goals=("pacing", "sleep"), symptoms=("fatigue", "pain"))
    stranger = mentor(2, goals=("work",), symptoms=("dizziness",))
    kindred = mentor(3, goals=("pacing", "sleep"), symptoms=("fatigue",))
    half = mentor(4, goals=("pacing",))
    assert [s.mentor_id for s in suggest(me, [stranger, kindred, half])] == [3, 4, 2]


@pytest.mark.parametrize(
    ("wanted", "offered", "fits"),
    [
        ("emotional", "emotional", True),
        ("emotional", "both", True),  # "both" covers either kind
        ("practical", "both", True),
        ("both", "both", True),
        ("both", "practical", False),  # partly
        ("practical", "emotional", False),
    ],
)
def test_support_wanted_against_support_offered(wanted: str, offered: str, fits: bool) -> None:
    found = score(mentee(support=wanted), mentor(2, support=offered))
    assert (found.reasons.support == wanted) is fits
    assert found.score > 0 or (wanted, offered) == ("practical", "emotional")


def test_a_full_answer_beats_a_partial_one_for_support() -> None:
    partly = score(mentee(support="both"), mentor(2, support="practical"))
    fully = score(mentee(support="both"), mentor(3, support="both"))
    none = score(mentee(support="practical"), mentor(4, support="emotional"))
    assert fully.score > partly.score > none.score == 0


def test_talking_as_often_counts_more_than_nearly_as_often() -> None:
    same = score(mentee(frequency="daily"), mentor(2, frequency="daily"))
    near = score(mentee(frequency="daily"), mentor(3, frequency="few_weekly"))
    far = score(mentee(frequency="daily"), mentor(4, frequency="weekly"))
    assert same.score > near.score > far.score == 0
    assert same.reasons.frequency == "daily" and near.reasons.frequency is None


def test_either_style_fits_a_little_but_is_not_given_as_a_reason() -> None:
    same = score(mentee(style="short"), mentor(2, style="short"))
    either = score(mentee(style="short"), mentor(3, style="either"))
    other = score(mentee(style="short"), mentor(4, style="long"))
    assert same.score > either.score > other.score == 0
    assert same.reasons.style == "short" and either.reasons.style is None


def test_overlapping_times_of_day_count() -> None:
    found = score(mentee(times=("morning", "evening")), mentor(2, times=("evening", "afternoon")))
    assert found.reasons.times == ("evening",) and found.score == 1.0


def test_skipped_items_count_for_nothing_and_break_nothing() -> None:
    found = score(mentee(), mentor(2))
    assert found.score == 0 and not found.reasons


def test_ties_go_to_the_lighter_load_then_the_lowest_id_every_time() -> None:
    busy = mentor(5, capacity=3, active=2)
    free_later = mentor(9, capacity=3, active=0)
    free_first = mentor(7, capacity=3, active=0)
    for order in ([busy, free_later, free_first], [free_first, busy, free_later]):
        assert [s.mentor_id for s in suggest(mentee(), order)] == [7, 9, 5]


def test_three_suggestions_at_most() -> None:
    assert len(suggest(mentee(), [mentor(i) for i in range(2, 9)])) == 3


# --- the one-line explanation -------------------------------------------------------------------


@pytest.fixture
def i18n():
    i18n = create_i18n("en")
    with i18n.context():
        yield i18n


def test_the_explanation_names_what_they_share_in_one_line(i18n) -> None:
    me = mentee(
        goals=("pacing",),
        symptoms=("fatigue",),
        style="short",
        frequency="daily",
        support="emotional",
        times=("evening",),
    )
    them = mentor(
        2,
        goals=("pacing", "work"),
        symptoms=("fatigue", "pain"),
        style="short",
        frequency="daily",
        support="both",
        times=("evening", "morning"),
    )
    line = explain(score(me, them).reasons)
    assert line == (
        "both: Fatigue, pacing goals; both prefer short texts, daily; "
        "offers the emotional support wanted; both free: evenings"
    )
    assert "\n" not in line


def test_a_pair_with_little_in_common_says_so_honestly(i18n) -> None:
    assert explain(Reasons()) == "a shared language, little else in common yet"


def test_the_explanation_is_in_the_readers_language(i18n) -> None:
    reasons = Reasons(symptoms=("fatigue",), goals=("sleep",), frequency="weekly")
    with i18n.use_locale("en"):
        english = explain(reasons)
    with i18n.use_locale("es"):
        spanish = explain(reasons)
    assert english == "both: Fatigue, sleep goals; both prefer weekly"
    assert "Fatiga" in spanish  # the symptom names are already translated


def test_every_goal_of_the_intake_has_a_phrase_for_the_explanation() -> None:
    from handlers.intake import GOAL_NAMES
    from handlers.matching import GOAL_PHRASES

    assert set(intake.GOALS) == set(GOAL_PHRASES) == set(GOAL_NAMES)
