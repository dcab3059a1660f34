"""Alerts that wait for the same chat go out as one message (the delivery worker's rule).

A supervisor group takes about 20 messages a minute and a person's chat one a second, so
in a burst of crisis messages alerts would queue for minutes. An outbox row that may be
combined carries, beside its own message, what it contributes to a combined one
(``combine``, written by ``handlers.alerts``):

    {"header": "🚨 <b>Several alerts at once</b> …",   # the combined message's first line
     "part": "<b>#12</b> · imminent · …",               # this case, in a few lines
     "buttons": [[{"text": "Acknowledge #12", "callback_data": "alert:ack:12:"}]]}

When a chat's turn comes and such rows wait at the head of its queue, they leave
together: the headers' first, then each case's part, with each case's buttons. A row
alone goes out as its own message, exactly as it was queued. Pure functions: no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container
from typing import Any

from storage.outbox import Claimed

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units after the HTML is parsed
MAX_BUTTONS = 100  # buttons in one inline keyboard
# Room each case keeps for the lines its status adds when the message is edited later
# ("acknowledged by …", "resolved by …: …"), so the edit still fits.
ROOM_PER_CASE = 160
SEPARATOR = "\n\n"


def take_next_message(queue: deque[Claimed], alone: Container[int] = ()) -> list[Claimed]:
    """The rows the next message to this chat carries: the head row, and when it may be
    combined, the combinable rows right behind it (in order) that fit in one message.
    Rows in ``alone`` (a combined message of theirs was refused) go out on their own."""

    def combinable(row: Claimed) -> bool:
        return row.combine is not None and row.id not in alone

    rows = [queue.popleft()]
    if not combinable(rows[0]):
        return rows
    text, buttons = _text_length(rows[0].combine["header"]), 0
    text += _part_length(rows[0])
    buttons += _button_count(rows[0])
    while queue and combinable(queue[0]):
        more_text, more_buttons = _part_length(queue[0]), _button_count(queue[0])
        if text + more_text > MAX_TEXT or buttons + more_buttons > MAX_BUTTONS:
            break
        text, buttons = text + more_text, buttons + more_buttons
        rows.append(queue.popleft())
    return rows


def combined_params(rows: list[Claimed]) -> dict[str, Any]:
    """sendMessage's parameters for ``rows`` (two or more) as one message."""
    first = rows[0]
    text = SEPARATOR.join([first.combine["header"], *(row.combine["part"] for row in rows)])
    keyboard = [button_row for row in rows for button_row in row.combine["buttons"]]
    params: dict[str, Any] = {"chat_id": first.chat_id, "text": text, "parse_mode": "HTML"}
    if keyboard:
        params["reply_markup"] = {"inline_keyboard": keyboard}
    return params


def _part_length(row: Claimed) -> int:
    return _text_length(SEPARATOR + row.combine["part"]) + ROOM_PER_CASE


def _button_count(row: Claimed) -> int:
    return sum(len(button_row) for button_row in row.combine["buttons"])


def _text_length(html: str) -> int:
    # The HTML as written: never shorter than the text Telegram counts once tags are
    # parsed, so what fits here fits there.
    return len(html.encode("utf-16-le")) // 2
