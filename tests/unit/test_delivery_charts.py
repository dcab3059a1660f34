"""A digest's chart never holds the delivery worker's batch, so a crisis alert queued
meanwhile is not kept waiting behind it: a chart not drawn in CHART_WAIT goes on drawing,
and its row comes back for it."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot import delivery


async def test_a_slow_chart_lets_the_batch_go_on_and_is_taken_when_its_row_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finish = asyncio.Event()
    started = 0

    async def slow_drawing(params: dict) -> dict:
        nonlocal started
        started += 1
        await finish.wait()
        return {**params, "photo": b"png"}

    monkeypatch.setattr(delivery, "drawn", slow_drawing)
    monkeypatch.setattr(delivery, "CHART_WAIT", 0.05)
    charts = delivery.Charts()
    chart = {"chat_id": 1, "photo": {"chart": {"days": []}}}

    began = time.monotonic()
    with pytest.raises(delivery.ChartPending):
        await charts.drawn(7, chart)
    assert time.monotonic() - began < 1.0, "the batch was held by the chart"

    finish.set()
    assert (await charts.drawn(7, chart))["photo"] == b"png"
    assert started == 1, "the chart was drawn once, not again for the returning row"
    text = {"chat_id": 1, "text": "not a chart"}
    assert await charts.drawn(8, text) is text


async def test_a_chart_the_drawing_process_gave_up_on_is_an_error_for_a_later_try(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows import trends

    async def stuck(params: dict) -> dict:
        raise trends.NotDrawn("not drawn within 20 s")

    monkeypatch.setattr(delivery, "drawn", stuck)
    with pytest.raises(trends.NotDrawn):
        await delivery.Charts().drawn(9, {"photo": {"chart": {}}})
