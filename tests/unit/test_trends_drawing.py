"""The drawing process behind /trends and a mentor's digest: a stuck or replaced process costs
the charts waiting on it a "not drawn" (which the callers turn into words, or a later try),
never an escaped cancellation, and never the process that replaced it.

A one-thread pool stands in for the one drawing process: the same queueing, no matplotlib
start-up."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from flows import trends


@pytest.fixture
def stuck_on_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Pools of one thread; a chart named "stuck" hangs until released."""
    release = threading.Event()

    def render(data: object) -> bytes:
        if data == "stuck":
            release.wait(10)
        return f"png of {data}".encode()

    monkeypatch.setattr(trends, "render_png", render)
    monkeypatch.setattr(trends, "pool", _thread_pool)
    monkeypatch.setattr(trends, "DRAW_TIMEOUT", 0.3)
    monkeypatch.setattr(trends, "_pool", None)
    yield release
    release.set()
    trends.shutdown()


def _thread_pool() -> ThreadPoolExecutor:
    if trends._pool is None:
        trends._pool = ThreadPoolExecutor(max_workers=1)  # type: ignore[assignment]
    return trends._pool  # type: ignore[return-value]


async def test_a_chart_queued_behind_a_stuck_one_is_not_drawn_rather_than_cancelled(
    stuck_on_first: threading.Event,
) -> None:
    stuck = asyncio.create_task(trends.draw("stuck"))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    behind = asyncio.create_task(trends.draw("behind"))  # type: ignore[arg-type]
    results = await asyncio.gather(stuck, behind, return_exceptions=True)
    # Both are a TimeoutError the callers answer (words, or the outbox's later try); before,
    # the one behind ended in CancelledError, which neither caller catches.
    assert all(isinstance(r, TimeoutError) for r in results), results


async def test_the_next_chart_after_a_stuck_one_is_drawn_by_a_new_process(
    stuck_on_first: threading.Event,
) -> None:
    with pytest.raises(TimeoutError):
        await trends.draw("stuck")  # type: ignore[arg-type]
    assert await trends.draw("next") == b"png of next"  # type: ignore[arg-type]


async def test_a_late_timeout_in_a_retired_process_leaves_the_new_one_drawing(
    stuck_on_first: threading.Event,
) -> None:
    old = _thread_pool()
    trends._pool = None  # retired meanwhile (another chart's timeout)
    new = _thread_pool()
    with pytest.raises(TimeoutError):
        await trends._drawn_in(old, "stuck")  # type: ignore[arg-type]
    assert trends._pool is new
    assert await trends.draw("next") == b"png of next"  # type: ignore[arg-type]
