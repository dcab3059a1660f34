"""/trends: the last four weeks of daily logs as one chart a phone can read, and the same
in words (the caption, which is the chart's alt text).

What is drawn comes from the logs (``storage.daily_logs``); the words on the chart come
from the caller, already in the reader's language, so this module has no gettext and the
drawing can run in another thread or process (``ChartData`` is plain and picklable).

The chart is drawn with matplotlib's object API (``Figure`` + the Agg canvas, never
pyplot's global state) in a separate process (``draw``): in worker threads, 20 charts at
once kept the event loop away for 150–400 ms at a time (drawing holds the GIL for long
stretches; measured, not profiled); in the drawing process the worst was 2.5–27 ms (benchmarks/trends_chart.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import math
import multiprocessing
import statistics
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

WINDOW_DAYS = 28
MIN_LOGS = 3  # fewer than this: a kind word instead of a near-empty chart
ACTIVITY_LEVEL = {"less": -1, "as_planned": 0, "more": 1}

# Colours told apart with the common colour-vision deficiencies (Okabe-Ito), and each line
# also has its own marker, so the legend does not rest on colour alone.
SYMPTOMS_COLOUR, ENERGY_COLOUR, MOOD_COLOUR = "#D55E00", "#009E73", "#0072B2"
SLEEP_COLOUR = "#56B4E9"
ACTIVITY_COLOURS = {-1: "#56B4E9", 0: "#009E73", 1: "#E69F00"}


@dataclass(frozen=True)
class Labels:
    """Every word on the chart, in the reader's language."""

    title: str
    scores: str  # the 0–10 panel's title
    symptoms: str
    energy: str
    mood: str
    sleep: str  # the sleep panel's title
    activity: str  # the activity panel's title
    activity_levels: tuple[str, str, str]  # less, as planned, more
    dates: tuple[str, ...]  # one per day of the window, shown weekly
    no_log: str  # the note under the chart: gaps are days without a log


@dataclass(frozen=True)
class ChartData:
    """Per day of the window (oldest first), None where nothing was logged."""

    symptoms: tuple[int | None, ...]
    energy: tuple[int | None, ...]
    mood: tuple[int | None, ...] | None  # None: not shown (a mentor's view of a mentee)
    sleep_hours: tuple[float | None, ...] | None
    activity: tuple[int | None, ...] | None  # -1 less, 0 as planned, 1 more
    labels: Labels


def to_plain(data: ChartData) -> dict[str, Any]:
    """The chart's data as JSON can hold it: a mentor's digest queues a chart in the outbox,
    and the delivery worker draws it when it sends it (bot/delivery.py)."""
    return dataclasses.asdict(data)


def from_plain(plain: Mapping[str, Any]) -> ChartData:
    def values(name: str) -> tuple[Any, ...] | None:
        found = plain.get(name)
        return tuple(found) if found is not None else None

    labels = dict(plain["labels"])
    labels["activity_levels"] = tuple(labels["activity_levels"])
    labels["dates"] = tuple(labels["dates"])
    return ChartData(
        symptoms=values("symptoms") or (),
        energy=values("energy") or (),
        mood=values("mood"),
        sleep_hours=values("sleep_hours"),
        activity=values("activity"),
        labels=Labels(**labels),
    )


def window(today: dt.date, days: int = WINDOW_DAYS) -> list[dt.date]:
    return [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def series(
    logs: Mapping[dt.date, Mapping[str, Any]], days: Sequence[dt.date], field: str
) -> tuple[Any, ...]:
    values = []
    for day in days:
        value = (logs.get(day) or {}).get(field)
        values.append(ACTIVITY_LEVEL.get(value) if field == "activity" else value)
    return tuple(values)


# --- the summary in words (the caller words it; these are the numbers) ---------------------


@dataclass(frozen=True)
class Spread:
    """How a 0–10 score mostly went: its middle half (rounded), lowest and highest."""

    low: int
    high: int
    lowest: int
    highest: int


def spread(values: Sequence[int | None]) -> Spread | None:
    taken = sorted(v for v in values if v is not None)
    if not taken:
        return None
    if len(taken) < 4:
        low, high = taken[0], taken[-1]
    else:
        quartiles = statistics.quantiles(taken, n=4, method="inclusive")
        low, high = round(quartiles[0]), round(quartiles[2])
    return Spread(low, high, taken[0], taken[-1])


def hard_days(
    symptoms: Sequence[int | None],
    mood: Sequence[int | None] | None,
    *,
    symptoms_at: int,
    mood_at: int,
    last: int = 7,
) -> int:
    """Hard days among the last ``last`` days (the program's thresholds, as /mentees)."""
    count = 0
    moods = mood if mood is not None else (None,) * len(symptoms)
    for s, m in list(zip(symptoms, moods, strict=True))[-last:]:
        if (s is not None and s >= symptoms_at) or (m is not None and m <= mood_at):
            count += 1
    return count


def mean(values: Sequence[float | None]) -> float | None:
    taken = [v for v in values if v is not None]
    return sum(taken) / len(taken) if taken else None


# --- the drawing ---------------------------------------------------------------------------

POOL_WORKERS = 1  # the machine the bot runs on has few cores; charts queue behind each other
_pool: ProcessPoolExecutor | None = None


def pool() -> ProcessPoolExecutor:
    """The drawing process, started on the first chart (spawned, not forked: the bot's
    process has threads and open connections a fork would copy)."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=POOL_WORKERS, mp_context=multiprocessing.get_context("spawn")
        )
    return _pool


DRAW_TIMEOUT = 20.0  # seconds; a chart takes a fifth of one, so this is a stuck process


class NotDrawn(TimeoutError):
    """No chart this time: its drawing process was stuck, died twice, or was replaced while
    the chart waited behind a stuck one. (A TimeoutError: callers say it in words.)"""


async def draw(data: ChartData) -> bytes:
    """The chart's PNG, drawn off the event loop in the drawing process, in DRAW_TIMEOUT at
    most. A process that died (killed for memory, say) is replaced once; a stuck one is
    replaced for the next chart."""
    executor = pool()
    try:
        return await _drawn_in(executor, data)
    except BrokenProcessPool:
        _retire(executor)
    executor = pool()
    try:
        return await _drawn_in(executor, data)
    except BrokenProcessPool as error:
        _retire(executor)
        raise NotDrawn("the drawing process died twice") from error


async def _drawn_in(executor: ProcessPoolExecutor, data: ChartData) -> bytes:
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(executor, render_png, data), DRAW_TIMEOUT
        )
    except TimeoutError:
        _retire(executor)
        raise NotDrawn(f"not drawn within {DRAW_TIMEOUT:.0f} s") from None
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # this task is being cancelled (the bot stopping): not ours to swallow
        # The chart was queued in a process retired for another chart's timeout.
        raise NotDrawn("its drawing process was replaced while it waited") from None


def _retire(executor: ProcessPoolExecutor) -> None:
    """Stop giving charts to ``executor`` (stuck, or dead). Only the process that failed is
    retired: a chart that waited in an earlier, retired one must not stop the new one."""
    global _pool
    if _pool is executor:
        _pool = None
    executor.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def render_png(data: ChartData) -> bytes:
    """The chart as PNG bytes, 840 × 1010 pixels: a phone shows it full width."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = data.labels
    panels = 1 + (data.sleep_hours is not None) + (data.activity is not None)
    heights = [3.2] + [1.6] * (panels - 1)
    figure = Figure(figsize=(7.0, 2.0 + sum(heights)), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        panels, 1, sharex=True, gridspec_kw={"height_ratios": heights}, squeeze=False
    )[:, 0]
    x = list(range(len(data.symptoms)))
    figure.suptitle(labels.title, fontsize=21, fontweight="bold", x=0.02, ha="left")

    scores = axes[0]
    lines = [
        (data.symptoms, labels.symptoms, SYMPTOMS_COLOUR, "o"),
        (data.energy, labels.energy, ENERGY_COLOUR, "s"),
    ]
    if data.mood is not None:
        lines.append((data.mood, labels.mood, MOOD_COLOUR, "D"))
    for values, name, colour, marker in lines:
        scores.plot(
            x, _gaps(values), color=colour, marker=marker, markersize=6, linewidth=3, label=name
        )
    scores.set_ylim(-0.5, 10.5)
    scores.set_yticks([0, 5, 10])
    scores.set_title(labels.scores, fontsize=16, loc="left")
    scores.legend(
        loc="upper left",
        bbox_to_anchor=(-0.02, 1.42 if panels > 1 else 1.3),
        ncol=len(lines),
        fontsize=15,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.2,
    )

    row = 1
    if data.sleep_hours is not None:
        sleep = axes[row]
        row += 1
        hours = [v if v is not None else 0 for v in data.sleep_hours]
        sleep.bar(x, hours, color=SLEEP_COLOUR, width=0.7)
        sleep.set_ylim(0, max(10, *(v for v in hours)))
        sleep.set_yticks([0, 4, 8])
        sleep.set_title(labels.sleep, fontsize=16, loc="left")
    if data.activity is not None:
        activity = axes[row]
        shown = [
            (day, level) for day, level in zip(x, data.activity, strict=True) if level is not None
        ]
        if shown:  # one call for every day: a bar call each costs more than the whole panel
            activity.bar(
                [day for day, _ in shown],
                0.8,
                bottom=[level - 0.4 for _, level in shown],
                color=[ACTIVITY_COLOURS[level] for _, level in shown],
                width=0.8,
            )
        activity.set_ylim(-1.6, 1.6)
        activity.set_yticks([-1, 0, 1], labels.activity_levels)
        activity.set_title(labels.activity, fontsize=16, loc="left")

    for axis in axes:
        axis.tick_params(labelsize=14)
        axis.grid(axis="y", color="#DDDDDD", linewidth=1)
        axis.set_axisbelow(True)
        for side in ("top", "right"):
            axis.spines[side].set_visible(False)
    ticks = list(range(len(x) - 1, -1, -7))[::-1]  # weekly, ending today
    axes[-1].set_xticks(ticks, [labels.dates[i] for i in ticks])
    axes[-1].set_xlim(-0.7, len(x) - 0.3)
    figure.text(0.02, 0.01, labels.no_log, fontsize=13, color="#555555")
    # Laid out by hand: tight_layout measures every text and costs a third of the drawing.
    # The left margin fits the activity levels' names ("wie geplant", "según lo planeado").
    longest = max((len(name) for name in labels.activity_levels), default=0)
    left = min(0.3, 0.06 + 0.0125 * longest) if data.activity is not None else 0.08
    top = 1 - 1.45 / figure.get_figheight()  # the title and, under it, the legend
    figure.subplots_adjust(left=left, right=0.95, top=top, bottom=0.1, hspace=0.55)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _gaps(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]
