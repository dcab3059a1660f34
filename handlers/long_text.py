"""Telegram's length limits: a long text goes in parts, never cut short.

Telegram refuses a message over 4,096 characters ("message is too long") and the outbox
would then give it up: whatever carries someone's own words through the bot (a relayed
message, a supervisor's message, the person's reply) is split instead. Parts are cut
from the plain text before it is escaped for HTML, so no part ends inside an entity, and
at a line break or a space where one is near, so no word is split.
"""

from __future__ import annotations

PART = 3500  # leaves room for a heading, a name and a footer within Telegram's 4,096
_NEAR = 300  # look this far back for a line break or a space to cut at


def parts(text: str, limit: int = PART) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters; [""] for an empty text."""
    pieces = []
    while len(text) > limit:
        cut = _cut_at(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return pieces


def _cut_at(text: str, limit: int) -> int:
    for mark in ("\n", " "):
        found = text.rfind(mark, limit - _NEAR, limit)
        if found > 0:
            return found + 1
    return limit
