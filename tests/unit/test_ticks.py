"""The scheduler's ticks are timed by the monotonic clock, whatever the wall clock does."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from bot.scheduler import Ticks
from tests.waiting import until


async def test_ticks_go_on_when_the_wall_clock_is_stepped_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())

    ticks = Ticks()
    ticks.every(0.05, job)
    await until(lambda: len(runs) >= 2, what="two ticks")
    stepped = time.time() - 3600
    monkeypatch.setattr(time, "time", lambda: stepped)  # an NTP step of an hour back
    before = len(runs)
    await until(lambda: len(runs) - before >= 3, what="three ticks after the step")
    await ticks.stop()

    assert before >= 2
    assert len(runs) - before >= 3


async def test_a_failing_tick_runs_again_and_a_slow_one_is_not_overlapped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = 0
    most = 0
    calls = 0

    async def flaky_and_slow() -> None:
        nonlocal running, most, calls
        calls += 1
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.06)
        running -= 1
        if calls == 1:
            raise ValueError("what someone wrote")

    ticks = Ticks()
    ticks.every(0.02, flaky_and_slow)
    await until(lambda: calls >= 3, what="a third run")
    await ticks.stop()

    assert calls >= 3 and most == 1
    assert "flaky_and_slow failed (ValueError" in caplog.text
    assert "what someone wrote" not in caplog.text


def test_the_due_time_is_still_the_wall_clock_in_utc() -> None:
    from storage.models import utcnow

    assert abs(utcnow() - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=1)
