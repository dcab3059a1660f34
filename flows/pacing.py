"""Pacing that learns from the daily logs: a baseline, boom-and-bust, a weekly goal.

Pure logic on a person's logs (``Day``: a date, the overall symptom score, energy, and
activity against plan — "less" | "as_planned" | "more", or None when unknown: a low-spoon
log asks no activity). No Telegram, no database: handlers/pacing.py shows what this finds.

The log measures activity against the person's own plan, not an amount, so the unit of
the baseline and of the goal is an *active day*: a day they did what they had planned (or
more). The rules, and why:

* Their usual level is the median symptom score (and energy) of the last 28 days: a
  median is not pulled up by the crashes themselves. At least 7 logs, or nothing is said.
* A *crash* day: symptoms at least 2 points above their usual and at least 5 of 10, or
  energy at least 3 points below their usual and at most 3 of 10. Day-to-day noise on a
  0–10 scale is about a point; two is a change they would feel.
* *Boom and bust*: a day "more than planned" followed within two days by a crash day
  (only logged days count; a day not logged is unknown, not calm). It is named once per
  pattern, on the log that completes it, and at most once a week: more would nag.
* The *baseline*: of the last 28 days with activity known and no crash, the share of
  active days not followed within two days by a crash, times 7 — what they manage in a
  week without paying for it. Crash days are left out, and a missing activity (low-spoon)
  is unknown, never "did nothing". It needs two weeks: the first log at least 13 days
  back and 10 such days, or there is no baseline yet.
* The *goal* is a whole number of active days. It grows only by the next whole day that
  10 % more than the baseline reaches (3.7 → 4; 3.2 stays 3), never more than one day
  above a goal they already hold, never above 7. It holds steady (no increase) after a
  week with a crash, and when a crash came within two days of an active day in the last
  two weeks, even one that went to plan: that delayed payback is the post-exertional
  pattern of ME/CFS, where the advice is to stay within the energy they have, not to
  build up. After a crash week it is at most the baseline.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW_DAYS = 28  # the logs the usual level and the baseline are read from
MIN_LOGS_FOR_USUAL = 7
SPIKE_RISE = 2  # symptom points above the usual that make a crash day...
SPIKE_FLOOR = 5  # ...when also at least this high
ENERGY_DROP = 3  # energy points below the usual that make a crash day...
ENERGY_CEILING = 3  # ...when also at most this low
AFTER_DAYS = 2  # a crash within this many days after a day counts against it
MIN_SPAN_DAYS = 14  # two weeks of logging before a baseline
MIN_BASELINE_DAYS = 10  # days with activity known and no crash, within the window
GROWTH = 1.10  # a goal a little above the baseline: 10 %
MAX_GOAL = 7
NOTE_EVERY_DAYS = 7  # a boom-and-bust note at most this often

ACTIVE = frozenset({"as_planned", "more"})
BOOM = "more"


@dataclass(frozen=True)
class Day:
    date: dt.date
    symptoms: int | None
    energy: int | None
    activity: str | None  # None: not asked (a low-spoon log), unknown


@dataclass(frozen=True)
class Usual:
    symptoms: float
    energy: float | None


@dataclass(frozen=True)
class BoomBust:
    boom: dt.date  # the day of more than planned
    crash: dt.date  # the crash within two days after it


class Reason(enum.StrEnum):
    GROW = "grow"  # a little above the baseline
    STEADY = "steady"  # 10 % more does not reach another whole day
    CRASH_WEEK = "crash_week"  # a crash in the last seven days: no increase
    AFTER_EXERTION = "after_exertion"  # crashes follow active days: stay within the envelope


@dataclass(frozen=True)
class Suggestion:
    baseline: int  # whole active days a week they manage without a crash
    rate: float  # the same, unrounded
    goal: int
    reason: Reason


def window(days: Sequence[Day], today: dt.date) -> list[Day]:
    first = today - dt.timedelta(days=WINDOW_DAYS - 1)
    return sorted((d for d in days if first <= d.date <= today), key=lambda d: d.date)


def usual(days: Sequence[Day]) -> Usual | None:
    scores = [d.symptoms for d in days if d.symptoms is not None]
    if len(scores) < MIN_LOGS_FOR_USUAL:
        return None
    energies = [d.energy for d in days if d.energy is not None]
    return Usual(
        statistics.median(scores),
        statistics.median(energies) if len(energies) >= MIN_LOGS_FOR_USUAL else None,
    )


def is_crash(day: Day, level: Usual) -> bool:
    spike = (
        day.symptoms is not None
        and day.symptoms >= level.symptoms + SPIKE_RISE
        and day.symptoms >= SPIKE_FLOOR
    )
    drop = (
        day.energy is not None
        and level.energy is not None
        and day.energy <= level.energy - ENERGY_DROP
        and day.energy <= ENERGY_CEILING
    )
    return spike or drop


def _crashes(days: Sequence[Day], level: Usual) -> set[dt.date]:
    return {d.date for d in days if is_crash(d, level)}


def _crash_after(day: dt.date, crashes: set[dt.date]) -> dt.date | None:
    for offset in range(1, AFTER_DAYS + 1):
        if day + dt.timedelta(days=offset) in crashes:
            return day + dt.timedelta(days=offset)
    return None


def boom_busts(days: Sequence[Day], today: dt.date) -> list[BoomBust]:
    """Every day of more than planned followed within two days by a crash, in the window."""
    recent = window(days, today)
    level = usual(recent)
    if level is None:
        return []
    crashes = _crashes(recent, level)
    found = []
    for day in recent:
        if day.activity == BOOM and day.date not in crashes:
            crash = _crash_after(day.date, crashes)
            if crash is not None:
                found.append(BoomBust(day.date, crash))
    return found


def completed_by(days: Sequence[Day], today: dt.date) -> BoomBust | None:
    """The boom and bust that today's log completes (its crash is today), if any: the
    latest boom before it."""
    today_patterns = [p for p in boom_busts(days, today) if p.crash == today]
    return today_patterns[-1] if today_patterns else None


def baseline_rate(days: Sequence[Day], today: dt.date) -> float | None:
    """Active days a week managed without a crash, or None while the logs are too few."""
    recent = window(days, today)
    if not recent or (today - recent[0].date).days < MIN_SPAN_DAYS - 1:
        return None
    level = usual(recent)
    if level is None:
        return None
    crashes = _crashes(recent, level)
    counted = [d for d in recent if d.activity is not None and d.date not in crashes]
    if len(counted) < MIN_BASELINE_DAYS:
        return None
    managed = [d for d in counted if d.activity in ACTIVE and _crash_after(d.date, crashes) is None]
    return len(managed) / len(counted) * 7


def suggest(
    days: Sequence[Day], today: dt.date, current_goal: int | None = None
) -> Suggestion | None:
    """The weekly goal to offer, or None (too few logs, or no steady active day yet)."""
    rate = baseline_rate(days, today)
    if rate is None:
        return None
    baseline = min(MAX_GOAL, math.floor(rate + 1e-9))
    if baseline < 1:
        return None
    recent = window(days, today)
    level = usual(recent)
    assert level is not None  # baseline_rate needed it
    crashes = _crashes(recent, level)
    last_week = today - dt.timedelta(days=6)
    two_weeks = today - dt.timedelta(days=13)
    if any(c >= last_week for c in crashes):
        reason = Reason.CRASH_WEEK
    elif any(
        d.activity in ACTIVE and d.date >= two_weeks and _crash_after(d.date, crashes)
        for d in recent
    ):
        reason = Reason.AFTER_EXERTION
    else:
        reason = Reason.GROW
    if reason is Reason.GROW:
        goal = max(baseline, min(MAX_GOAL, math.floor(rate * GROWTH + 1e-9)))
        if current_goal is not None:
            goal = min(goal, current_goal + 1)
        if goal <= baseline and (current_goal is None or goal <= current_goal):
            reason = Reason.STEADY
    else:
        goal = baseline if current_goal is None else min(current_goal, baseline)
    return Suggestion(baseline, round(rate, 2), max(1, goal), reason)


def may_be_a_crash(symptoms: int | None, energy: int | None) -> bool:
    """Whether a day with these scores could be a crash, whatever the person's usual: below
    the floors it never is (so a saved log need not read the weeks before it)."""
    return (symptoms is not None and symptoms >= SPIKE_FLOOR) or (
        energy is not None and energy <= ENERGY_CEILING
    )


def note_allowed(last_note: dt.date | None, today: dt.date) -> bool:
    """A boom-and-bust note at most once a week, however many patterns: naming it more often
    would nag."""
    return last_note is None or (today - last_note).days >= NOTE_EVERY_DAYS


def is_due(last_offered: dt.date | None, today: dt.date) -> bool:
    """A suggestion is offered at most once a week."""
    return last_offered is None or (today - last_offered).days >= 7
