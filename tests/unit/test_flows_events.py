"""Group events' rules: times in the group's zone (and across a clock change), when the
reminders fall, what a planner may type, who may plan, and when a tap stops counting."""

from __future__ import annotations

import datetime as dt

import pytest

from flows import events
from flows.events import Options
from flows.steps import InvalidAnswer
from storage.models import GroupEvent, Role

TODAY = dt.date(2026, 12, 6)
OPTIONS = Options((("1", "Walkers"),), TODAY)


def test_a_time_is_read_in_the_groups_zone_summer_and_winter() -> None:
    winter = events.starts_at(dt.date(2026, 12, 8), "10:00", "Europe/Madrid")
    summer = events.starts_at(dt.date(2026, 7, 8), "10:00", "Europe/Madrid")
    assert winter == dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
    assert summer == dt.datetime(2026, 7, 8, 8, 0, tzinfo=dt.UTC)


def test_a_time_the_spring_clock_change_skips_is_not_lost() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026; the walk is at 03:30 local (01:30 UTC).
    skipped = events.starts_at(dt.date(2026, 3, 29), "02:30", "Europe/Berlin")
    assert skipped == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)


def test_reminders_fall_a_day_and_an_hour_before_and_never_in_the_past() -> None:
    start = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
    early = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    assert events.first_reminder(start, early) == ("day", start - dt.timedelta(days=1))
    assert events.next_reminder("day", start, early) == ("hour", start - dt.timedelta(hours=1))
    same_day = dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.UTC)  # planned 3 hours ahead
    assert events.first_reminder(start, same_day) == ("hour", start - dt.timedelta(hours=1))
    too_late = dt.datetime(2026, 12, 8, 8, 30, tzinfo=dt.UTC)
    assert events.first_reminder(start, too_late) is None
    assert events.next_reminder("hour", start, early) is None
    # The day-before reminder sent late (the bot was down): no hour-before one in the past.
    assert events.next_reminder("day", start, too_late) is None


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("today", "2026-12-06"),
        ("Tomorrow", "2026-12-07"),
        ("12.12.", "2026-12-12"),
        ("12/12/2026", "2026-12-12"),
        ("2026-12-24", "2026-12-24"),
        ("3.1", "2027-01-03"),  # no year: the next such day
        ("3.1.27", "2027-01-03"),
    ],
)
def test_days_typed_as_people_write_them(typed: str, day: str) -> None:
    assert events.parse_day(typed, OPTIONS) == day


@pytest.mark.parametrize("typed", ["5.12.2026", "2025-01-01"])
def test_a_day_gone_is_refused_as_past(typed: str) -> None:
    with pytest.raises(events.PastDate):
        events.parse_day(typed, OPTIONS)


@pytest.mark.parametrize("typed", ["31.02.", "next week", "", "12.13."])
def test_a_day_that_is_no_day_is_refused(typed: str) -> None:
    with pytest.raises(InvalidAnswer):
        events.parse_day(typed, OPTIONS)


def test_a_day_years_ahead_is_refused() -> None:
    with pytest.raises(events.TooFar):
        events.parse_day("2028-12-12", OPTIONS)


@pytest.mark.parametrize("typed", ["0", "-3", "ten", "2.5", "501", ""])
def test_a_capacity_of_zero_words_or_too_many_is_refused(typed: str) -> None:
    with pytest.raises(InvalidAnswer):
        events.parse_capacity(typed)


def test_capacity_is_a_number_of_places_or_no_limit() -> None:
    assert events.parse_capacity(" 12 ") == 12
    assert events.capacity_of({"capacity": 12}) == 12
    assert events.capacity_of({"capacity": events.parse_capacity("none")}) is None


def test_the_capacity_step_asks_again_after_zero_and_takes_a_tap() -> None:
    answers = {"group": "1", "kind": "walk", "title": "t", "date": "2026-12-08", "time": "10:00"}
    answers |= {"place": "park", "access": [], "access_note": None}
    with pytest.raises(InvalidAnswer):
        events.EVENT.typed("capacity", "0", answers, OPTIONS)
    done = events.EVENT.tap("capacity", "10", answers, OPTIONS)
    assert done.step is None and done.answers["capacity"] == 10


def test_a_passed_time_asks_only_the_day_and_time_again() -> None:
    answers = {events.FIXED_GROUP: True, "group": "1", events.RETIME: True}
    assert events.EVENT.next("time", answers, OPTIONS) is None
    assert events.EVENT.next("time", {events.FIXED_GROUP: True}, OPTIONS) == "place"
    assert events.EVENT.first({events.FIXED_GROUP: True}, OPTIONS).name == "kind"


def test_time_buttons_carry_no_colon_and_read_as_times() -> None:
    step = events.EVENT.step("time")
    assert all(":" not in value for value in step.options(OPTIONS))
    assert step.label("1000") == "10:00"
    done = events.EVENT.tap("time", "1000", {}, OPTIONS)
    assert done.answers["time"] == "10:00"


def test_who_may_plan() -> None:
    assert events.may_plan(Role.ADMIN, None)
    assert events.may_plan(Role.MENTEE, "facilitator")
    assert events.may_plan(Role.MENTOR, "member")
    assert not events.may_plan(Role.MENTOR, None)  # a mentor outside the group
    assert not events.may_plan(Role.MENTEE, "member")
    assert not events.may_plan(Role.SUPERVISOR, None)


def test_a_tap_stops_counting_once_cancelled_or_begun() -> None:
    now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    ahead = GroupEvent(starts_at=now + dt.timedelta(hours=2))
    assert events.closed_for_answers(ahead, now) is None
    assert events.closed_for_answers(GroupEvent(starts_at=now), now) == "past"
    cancelled = GroupEvent(starts_at=now + dt.timedelta(hours=2), cancelled_at=now)
    assert events.closed_for_answers(cancelled, now) == "cancelled"
