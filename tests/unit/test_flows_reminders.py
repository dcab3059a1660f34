"""When the daily check-in reminder is due, across zones and clock changes, and what
"Later", "Not today" and pausing do to it (flows/reminders.py, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from flows import reminders as flow

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --- the next reminder, DST-safe -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "time", "after", "expected"),
    [
        # East of UTC: 20:00 in Kolkata (+05:30) is 14:30 UTC.
        ("Asia/Kolkata", dt.time(20), utc(2026, 3, 2, 10), utc(2026, 3, 2, 14, 30)),
        # West of UTC: 08:00 in St John's (-03:30 in winter) is 11:30 UTC.
        ("America/St_Johns", dt.time(8), utc(2026, 1, 10, 0), utc(2026, 1, 10, 11, 30)),
        # Today's time already passed: tomorrow.
        ("Europe/Berlin", dt.time(8), utc(2026, 6, 1, 9), utc(2026, 6, 2, 6)),
        # Far east: at 20:00 UTC on the 1st it is 08:00 on the 2nd in Auckland (+12),
        # so its 09:00 is an hour away, still the 1st in UTC.
        ("Pacific/Auckland", dt.time(9), utc(2026, 6, 1, 20), utc(2026, 6, 1, 21)),
        # Exactly at the time: strictly after, so the next day (a sent reminder is done).
        ("Europe/London", dt.time(20), utc(2026, 6, 1, 19), utc(2026, 6, 2, 19)),
    ],
)
def test_next_reminder_is_the_chosen_local_time(zone, time, after, expected):
    assert flow.next_at(zone, time, after) == expected


def test_berlin_keeps_its_local_time_across_the_spring_change():
    # 29 March 2026: clocks go 02:00 → 03:00 (UTC+1 → UTC+2).
    before = flow.next_at("Europe/Berlin", dt.time(20), utc(2026, 3, 28, 12))
    after = flow.next_at("Europe/Berlin", dt.time(20), before)
    assert before == utc(2026, 3, 28, 19)  # 20:00 CET
    assert after == utc(2026, 3, 29, 18)  # 20:00 CEST: 23 hours later, same wall time


def test_a_time_that_does_not_exist_fires_when_the_clocks_jump():
    # 02:30 does not exist in Berlin on 29 March 2026; the first valid moment is 03:00 CEST.
    due = flow.next_at("Europe/Berlin", dt.time(2, 30), utc(2026, 3, 28, 12))
    assert due == utc(2026, 3, 29, 1)
    assert flow.next_at("Europe/Berlin", dt.time(2, 30), due) == utc(2026, 3, 30, 0, 30)


def test_new_york_spring_gap_and_autumn_repeat():
    # 8 March 2026: 02:00 → 03:00 EDT; 02:15 fires at 03:00 EDT = 07:00 UTC.
    assert flow.next_at("America/New_York", dt.time(2, 15), utc(2026, 3, 7, 12)) == utc(
        2026, 3, 8, 7
    )
    # 1 November 2026: 01:00–02:00 happens twice; 01:30 fires once, the first time (EDT).
    first = flow.next_at("America/New_York", dt.time(1, 30), utc(2026, 10, 31, 12))
    assert first == utc(2026, 11, 1, 5, 30)
    # Claimed during the repeated hour (at the second 01:30, EST): the next is the 2nd.
    second_pass = utc(2026, 11, 1, 6, 30)
    assert flow.next_at("America/New_York", dt.time(1, 30), first) == utc(2026, 11, 2, 6, 30)
    assert flow.next_at("America/New_York", dt.time(1, 30), second_pass) == utc(2026, 11, 2, 6, 30)


def test_berlin_autumn_repeated_hour_fires_once():
    # 25 October 2026: 03:00 CEST → 02:00 CET; 02:30 happens twice.
    first = flow.next_at("Europe/Berlin", dt.time(2, 30), utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert flow.next_at("Europe/Berlin", dt.time(2, 30), first) == utc(2026, 10, 26, 1, 30)


def test_weekly_digest_lands_on_the_weekday_at_local_time():
    # Friday 27 November 2026, 12:00 UTC; Monday 09:00 in New York is 14:00 UTC.
    due = flow.next_weekday_at("America/New_York", dt.time(9), 0, utc(2026, 11, 27, 12))
    assert due == utc(2026, 11, 30, 14)


@pytest.mark.parametrize(
    ("sent_at", "next_due"),
    [
        # on time, Monday 7 December 2026 at 20:00 in London: the Monday after
        (utc(2026, 12, 7, 20), utc(2026, 12, 14, 20)),
        # late, the bot down on Monday: Sunday evening, then not again the next day
        (utc(2026, 12, 13, 20, 3), utc(2026, 12, 21, 20)),
        # a week late, half an hour before the regular time: not twice that evening
        (utc(2026, 12, 14, 19, 30), utc(2026, 12, 21, 20)),
    ],
)
def test_a_mentor_never_gets_two_digests_within_a_day(sent_at, next_due):
    assert flow.next_digest_at("Europe/London", dt.time(20), 0, sent_at) == next_due


# --- a claimed reminder --------------------------------------------------------------------

ZONE, TIME = "Europe/Berlin", dt.time(20)
DUE = utc(2026, 6, 1, 18)  # 20:00 CEST on 1 June


def claimed(state=None, *, now=DUE, logged=False, per_day=2):
    state = state if state is not None else {"at": DUE.isoformat()}
    return flow.on_due(ZONE, TIME, state, now, logged_today=logged, per_day=per_day)


def test_due_reminder_is_sent_and_the_next_is_tomorrow():
    result = claimed()
    assert result.number == 1
    assert result.day == dt.date(2026, 6, 1)
    assert result.plan.due_at == utc(2026, 6, 2, 18)
    assert result.plan.state["date"] == "2026-06-01" and result.plan.state["sent"] == 1


def test_no_reminder_when_today_is_already_logged():
    result = claimed(logged=True)
    assert result.number == 0
    assert result.plan.due_at == utc(2026, 6, 2, 18)


def test_a_claim_long_after_its_time_is_skipped_not_sent_late():
    result = claimed(now=DUE + dt.timedelta(hours=4))
    assert result.number == 0
    assert result.plan.due_at == utc(2026, 6, 2, 18)


def test_later_gives_one_more_reminder_without_later():
    first = claimed()
    plan = flow.snooze(first.plan.state, first.day, DUE, minutes=60, per_day=2)
    assert plan is not None and plan.due_at == DUE + dt.timedelta(hours=1)
    second = claimed(plan.state, now=plan.due_at)
    assert second.number == 2
    assert not flow.offers_later(second.number, 2) and flow.offers_later(1, 2)
    with pytest.raises(flow.Expired):  # "Later" pressed again on the first reminder
        flow.snooze(second.plan.state, first.day, plan.due_at, minutes=60, per_day=2)
    assert second.plan.due_at == utc(2026, 6, 2, 18)


def test_a_second_tap_on_later_changes_nothing():
    first = claimed()
    plan = flow.snooze(first.plan.state, first.day, DUE, minutes=60, per_day=2)
    assert plan is not None
    assert flow.snooze(plan.state, first.day, DUE, minutes=60, per_day=2) is None


def test_later_is_refused_when_one_reminder_a_day_is_the_setting():
    first = claimed(per_day=1)
    assert not flow.offers_later(first.number, 1)
    with pytest.raises(flow.Expired):
        flow.snooze(first.plan.state, first.day, DUE, minutes=60, per_day=1)


def test_no_third_reminder_even_if_a_row_comes_due_again():
    state = {"date": "2026-06-01", "sent": 2, "at": DUE.isoformat()}
    assert claimed(state).number == 0


def test_not_today_skips_the_pending_later_and_resumes_tomorrow():
    first = claimed()
    snoozed = flow.snooze(first.plan.state, first.day, DUE, minutes=60, per_day=2)
    assert snoozed is not None
    plan = flow.not_today(ZONE, TIME, snoozed.state, DUE + dt.timedelta(minutes=5), per_day=2)
    assert plan.due_at == utc(2026, 6, 2, 18)
    with pytest.raises(flow.Expired):
        flow.snooze(plan.state, first.day, DUE, minutes=60, per_day=2)


def test_not_today_pressed_before_the_time_still_skips_today():
    morning = utc(2026, 6, 1, 6)
    plan = flow.not_today(ZONE, TIME, {}, morning, per_day=2)
    assert plan.due_at == utc(2026, 6, 2, 18)


def test_pause_a_week_then_reminders_start_again_on_their_own():
    now = utc(2026, 6, 1, 10)
    plan = flow.paused(ZONE, TIME, {}, now, "week")
    assert plan.due_at == utc(2026, 6, 8, 18)
    assert flow.pause_of(plan.state, dt.date(2026, 6, 3)) == dt.date(2026, 6, 8)
    # Once it is due, the pause is over: the reminder goes out and the next is the day after.
    result = claimed({**plan.state}, now=plan.due_at)
    assert result.number == 1 and result.plan.due_at == utc(2026, 6, 9, 18)
    assert flow.pause_of(result.plan.state, dt.date(2026, 6, 9)) is None


def test_pause_until_resumed_has_nothing_due_and_resume_schedules_the_next():
    now = utc(2026, 6, 1, 10)
    plan = flow.paused(ZONE, TIME, {}, now, "indefinite")
    assert plan.due_at is None and flow.pause_of(plan.state, dt.date(2026, 7, 1)) == "indefinite"
    back = flow.resumed(ZONE, TIME, plan.state, utc(2026, 6, 20, 19))
    assert back.due_at == utc(2026, 6, 21, 18)
    assert flow.pause_of(back.state, dt.date(2026, 6, 21)) is None


def test_changing_the_time_keeps_a_pause():
    paused = flow.paused(ZONE, TIME, {}, utc(2026, 6, 1, 10), "two_weeks")
    moved = flow.upcoming(ZONE, dt.time(9), paused.state, utc(2026, 6, 2, 10))
    assert moved.due_at == utc(2026, 6, 15, 7)
