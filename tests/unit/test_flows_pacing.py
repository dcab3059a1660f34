"""Pacing's rules on crafted log series (flows/pacing.py): baseline, boom and bust, the goal."""

from __future__ import annotations

import datetime as dt

from flows import pacing
from flows.pacing import Day, Reason

TODAY = dt.date(2026, 6, 28)


def series(pattern: str, *, today: dt.date = TODAY) -> list[Day]:
    """One character a day, oldest first, ending today: '=' as planned, '-' less, '+' more,
    'X' a crash (symptoms 8, less), '?' a low-spoon log (activity unknown), '.' no log."""
    days = []
    start = today - dt.timedelta(days=len(pattern) - 1)
    for offset, mark in enumerate(pattern):
        if mark == ".":
            continue
        date = start + dt.timedelta(days=offset)
        if mark == "X":
            days.append(Day(date, 8, 2, "less"))
        elif mark == "?":
            days.append(Day(date, 4, 5, None))
        else:
            activity = {"=": "as_planned", "-": "less", "+": "more"}[mark]
            days.append(Day(date, 4, 5, activity))
    return days


def test_nothing_before_two_weeks_of_logs() -> None:
    assert pacing.suggest(series("=-=-=-=-=-=-="), TODAY) is None  # 13 days
    assert pacing.baseline_rate(series("=-=-=-=-=-=-=-"), TODAY) is not None  # 14


def test_nothing_when_logs_are_sparse_even_over_two_weeks() -> None:
    assert pacing.suggest(series("=..=..=..=..=..=..="), TODAY) is None  # 7 logs in 19 days


def test_low_spoon_days_are_unknown_not_zero() -> None:
    known = series("==-==-==-==-==")  # 10 active of 14: 5 a week
    with_low_spoon = series("==-==-==-==-==???")
    assert pacing.baseline_rate(known, TODAY) == pacing.baseline_rate(
        with_low_spoon, TODAY
    )  # the '?' days count neither as active nor as idle
    assert pacing.baseline_rate(known, TODAY) == 5.0
    # Too many unknowns: not enough days to say anything.
    assert pacing.suggest(series("=???=???=???=???"), TODAY) is None


def test_baseline_leaves_out_crash_days_and_active_days_that_led_to_one() -> None:
    # 21 days; one boom (+) then a crash (X) two days later.
    days = series("==-==-==-+=X==-==-==-")
    rate = pacing.baseline_rate(days, TODAY)
    # 20 counted days (the crash is out); active days not followed by a crash within two
    # days: 12 of the 14 active (the boom and the '=' right before the crash are out).
    assert rate == 12 / 20 * 7


def test_boom_and_bust_is_found_on_the_day_it_completes() -> None:
    days = series("==-==-==-=+-X")  # more, a day, then a crash today
    assert pacing.completed_by(days, TODAY) == pacing.BoomBust(TODAY - dt.timedelta(days=2), TODAY)
    # Three days later is not "within two days".
    assert pacing.completed_by(series("==-==-==-+--X"), TODAY) is None
    # A crash with no boom before it is not that pattern.
    assert pacing.completed_by(series("==-==-==-==-X"), TODAY) is None
    # A day not logged is unknown, not a crash.
    assert pacing.completed_by(series("==-==-==-==+."), TODAY) is None


def test_a_small_rise_is_not_a_crash() -> None:
    days = series("==-==-==-==+")
    days.append(Day(TODAY + dt.timedelta(days=1), 5, 5, "less"))  # usual 4: one point up
    assert pacing.completed_by(days, TODAY + dt.timedelta(days=1)) is None


def test_an_energy_crash_counts_too() -> None:
    days = series("==-==-==-==+")
    days.append(Day(TODAY + dt.timedelta(days=1), 4, 1, "less"))  # usual energy 5
    assert pacing.completed_by(days, TODAY + dt.timedelta(days=1)) is not None


def test_the_goal_grows_by_about_ten_percent_in_whole_days() -> None:
    # 12 active of 14 counted: 6 a week → 6.6 → stays 6 (10 % does not reach 7).
    steady = pacing.suggest(series("==-======-===="), TODAY)
    assert steady is not None and (steady.baseline, steady.goal) == (6, 6)
    assert steady.reason is Reason.STEADY
    # 26 active of 28: 6.5 a week → 7.15 → 7.
    grow = pacing.suggest(series("=============-=============-"), TODAY)
    assert grow is not None and (grow.baseline, grow.goal, grow.reason) == (6, 7, Reason.GROW)


def test_never_more_than_one_day_above_the_goal_they_hold() -> None:
    grow = pacing.suggest(series("=============-=============-"), TODAY, current_goal=4)
    assert grow is not None and grow.goal == 5


def test_no_increase_after_a_crash_week() -> None:
    days = series("=============-=====X=")  # a crash 2 days ago, no boom before it
    suggestion = pacing.suggest(days, TODAY, current_goal=7)
    assert suggestion is not None and suggestion.reason is Reason.CRASH_WEEK
    assert suggestion.goal <= suggestion.baseline


def test_hold_steady_when_crashes_follow_active_days() -> None:
    # A crash 9 days ago, the day after a planned active day: post-exertional.
    days = series("=============-=-=X=-==-==")
    suggestion = pacing.suggest(days, TODAY)
    assert suggestion is not None and suggestion.reason is Reason.AFTER_EXERTION
    assert suggestion.goal == suggestion.baseline


def test_no_goal_when_no_active_day_is_managed() -> None:
    assert pacing.suggest(series("--------------"), TODAY) is None


def test_once_a_week() -> None:
    assert pacing.is_due(None, TODAY)
    assert not pacing.is_due(TODAY - dt.timedelta(days=6), TODAY)
    assert pacing.is_due(TODAY - dt.timedelta(days=7), TODAY)


def test_a_boom_and_bust_note_at_most_once_a_week() -> None:
    assert pacing.note_allowed(None, TODAY)
    assert not pacing.note_allowed(TODAY - dt.timedelta(days=3), TODAY)
    assert pacing.note_allowed(TODAY - dt.timedelta(days=7), TODAY)


def test_below_the_floors_a_day_is_never_a_crash() -> None:
    assert not pacing.may_be_a_crash(4, 4)
    assert pacing.may_be_a_crash(5, 6) and pacing.may_be_a_crash(2, 3)
    assert not pacing.may_be_a_crash(None, None)
    level = pacing.Usual(symptoms=0, energy=10)  # even against the calmest usual
    assert not pacing.is_crash(Day(TODAY, 4, 4, "less"), level)
