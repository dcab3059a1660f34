"""How long /trends takes to draw its chart, and what drawing does to the event loop.

1. Chart time: 20 renders one after another (after one warm-up that imports matplotlib),
   p50 and p99; the target is under 300 ms each.
2. Loop lag: a ticker (every 5 ms) measures the longest time the event loop was away,
   first with nothing else running (the baseline), then while 20 charts render at once
   off the loop — in worker threads (``asyncio.to_thread``) and in the bot's own drawing
   process (``flows.trends.draw``, warmed up) — and prints each worst lag against the
   baseline.

    python benchmarks/trends_chart.py [--renders 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows import trends

TICK = 0.005


def sample(seed: int = 3) -> trends.ChartData:
    """Four weeks of a plausible person: a few days missed, a bad patch, mostly as planned."""
    rng = random.Random(seed)
    days = trends.window(dt.date(2026, 12, 5))
    missed = [rng.random() < 0.2 for _ in days]

    def daily(make):  # type: ignore[no-untyped-def]
        return tuple(None if gap else make() for gap in missed)

    labels = trends.Labels(
        title="Your last 4 weeks",
        scores="Symptoms, energy and mood (0–10)",
        symptoms="Symptoms",
        energy="Energy",
        mood="Mood",
        sleep="Sleep (hours)",
        activity="Activity against plan",
        activity_levels=("less", "as planned", "more"),
        dates=tuple(f"{day:%b} {day.day}" for day in days),
        no_log="Gaps: days without a log.",
    )
    return trends.ChartData(
        symptoms=daily(lambda: rng.randint(4, 8)),
        energy=daily(lambda: rng.randint(2, 5)),
        mood=daily(lambda: rng.randint(3, 7)),
        sleep_hours=daily(lambda: rng.choice([5.0, 6.0, 6.5, 7.0, 8.0])),
        activity=daily(lambda: rng.choice([-1, 0, 0, 1])),
        labels=labels,
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def worst_lag(work) -> float:  # type: ignore[no-untyped-def]
    """The longest the loop was away (beyond the tick) while ``work()`` ran."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            worst = max(worst, time.perf_counter() - before - TICK)

    task = asyncio.create_task(ticker())
    await work()
    done.set()
    await task
    return worst


async def main(renders: int) -> None:
    data = sample()
    started = time.perf_counter()
    png = trends.render_png(data)  # imports matplotlib and its fonts: once a process
    print(f"first chart (imports matplotlib): {(time.perf_counter() - started) * 1000:.0f} ms")
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        png = trends.render_png(data)
        times.append(time.perf_counter() - started)
    print(
        f"chart time over {renders} renders: p50 {percentile(times, 50) * 1000:.0f} ms, "
        f"p99 {percentile(times, 99) * 1000:.0f} ms, mean {statistics.mean(times) * 1000:.0f} ms"
        f" ({len(png) // 1024} KB PNG; target < 300 ms)"
    )

    async def idle() -> None:
        await asyncio.sleep(renders * statistics.mean(times))

    baseline = await worst_lag(idle)
    print(f"loop lag, no charts (baseline): worst {baseline * 1000:.1f} ms")

    async def threads() -> None:
        await asyncio.gather(*(asyncio.to_thread(trends.render_png, data) for _ in range(renders)))

    started = time.perf_counter()
    lag = await worst_lag(threads)
    took = time.perf_counter() - started
    print(
        f"loop lag, {renders} charts at once in threads (asyncio.to_thread): worst "
        f"{lag * 1000:.1f} ms = {lag / max(baseline, 1e-4):.1f}× baseline; all drawn in {took:.2f} s"
    )

    started = time.perf_counter()
    await trends.draw(data)  # the drawing process starts and imports matplotlib
    print(f"first chart in the drawing process (spawn): {time.perf_counter() - started:.2f} s")

    async def processes() -> None:
        await asyncio.gather(*(trends.draw(data) for _ in range(renders)))

    started = time.perf_counter()
    lag = await worst_lag(processes)
    took = time.perf_counter() - started
    trends.shutdown()
    print(
        f"loop lag, {renders} charts at once in the drawing process ({trends.POOL_WORKERS}, "
        f"warm, what the bot does): worst "
        f"{lag * 1000:.1f} ms = {lag / max(baseline, 1e-4):.1f}× baseline; all drawn in {took:.2f} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20)
    asyncio.run(main(parser.parse_args().renders))
