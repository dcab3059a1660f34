"""Characters a person's text must not carry into the program: control characters.

A NUL byte cannot be stored in PostgreSQL text at all, and no person means one: such
characters come with pasted text or a broken client. They are refused at the edge (with
a clear answer, see bot.middlewares.RefuseUnreadable) rather than failing deep in a flow.
Tabs and line breaks are text; zero-width and other format characters are left to
screening, which undoes disguises made with them.
"""

from __future__ import annotations

import re

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; lone
# surrogates (not text at all: no database or encoder takes them).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text: str | None) -> bool:
    return bool(text) and _CONTROL.search(text) is not None
