"""Alerts waiting together for one chat leave as one message; a group's minute is spread."""

from __future__ import annotations

from collections import deque

from bot.combining import MAX_TEXT, combined_params, take_next_message
from bot.delivery import Limits, RateLimiter
from storage.outbox import Claimed

HEADER = "🚨 <b>Several alerts at once</b>"


def row(row_id: int, part: str | None = None, chat_id: int = -1001) -> Claimed:
    combine = None
    if part is not None:
        button = {"text": f"Acknowledge #{row_id}", "callback_data": f"alert:ack:{row_id}:"}
        combine = {"header": HEADER, "part": part, "buttons": [[button]]}
    return Claimed(
        id=row_id, key=f"k{row_id}", chat_id=chat_id, method="sendMessage",
        params={"chat_id": chat_id, "text": f"alone {row_id}"}, attempts=1,
        on_undeliverable=None, urgent=True, combine=combine,
    )  # fmt: skip


def test_alerts_waiting_together_leave_together_in_order_and_others_alone() -> None:
    queue = deque([row(1, "<b>#1</b>"), row(2, "<b>#2</b>"), row(3), row(4, "<b>#4</b>")])

    assert [r.id for r in take_next_message(queue)] == [1, 2]
    assert [r.id for r in take_next_message(queue)] == [3], "a row that is not an alert"
    assert [r.id for r in take_next_message(queue)] == [4], "alone, it goes as it was queued"
    assert not queue


def test_a_combined_message_carries_each_part_and_each_button() -> None:
    params = combined_params([row(1, "<b>#1</b> one"), row(2, "<b>#2</b> two")])

    assert params["text"] == f"{HEADER}\n\n<b>#1</b> one\n\n<b>#2</b> two"
    assert params["parse_mode"] == "HTML" and params["chat_id"] == -1001
    labels = [b["text"] for line in params["reply_markup"]["inline_keyboard"] for b in line]
    assert labels == ["Acknowledge #1", "Acknowledge #2"]


def test_what_does_not_fit_one_message_waits_for_the_next() -> None:
    queue = deque(row(n, "x" * 900) for n in range(1, 11))

    first = take_next_message(queue)

    assert 1 < len(first) < 10
    assert len(combined_params(first)["text"]) <= MAX_TEXT
    assert take_next_message(queue)[0].id == len(first) + 1


def test_rows_refused_together_go_alone() -> None:
    queue = deque([row(1, "a"), row(2, "b")])
    assert [r.id for r in take_next_message(queue, alone={1, 2})] == [1]


def test_a_groups_last_messages_of_the_minute_are_spread_over_it() -> None:
    clock = [0.0]
    limiter = RateLimiter(Limits(margin=0, chat_margin=0), clock=lambda: clock[0])
    for second in range(10):  # ten at one a second: as before
        clock[0] = float(second)
        assert limiter.wait(-1001) == 0
        limiter.started(-1001)

    clock[0] = 10.0
    spread = limiter.wait(-1001)
    assert 4.0 < spread < 6.0, "the ten left share the fifty seconds left"
    starts = []
    while len(starts) < 10:
        clock[0] += limiter.wait(-1001)
        starts.append(clock[0])
        limiter.started(-1001)
    assert starts[-1] <= 60.0, "never silent for the rest of the minute"
    assert limiter.wait(1001) == 0, "a person's chat is not a group"
