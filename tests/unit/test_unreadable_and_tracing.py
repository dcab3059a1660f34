"""What the edge refuses (control characters) and what the log says of an error (where, not what)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from bot.tracing import where
from flows.unreadable import has_control_characters


@pytest.mark.parametrize(
    "text", ["code\x00", "\x1b[31mred", "bell\x07", "del\x7f", "c1\x85", "lone \ud800 surrogate"]
)
def test_control_characters_are_refused(text: str) -> None:
    assert has_control_characters(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Line one\nline two\twith a tab\r\n",
        "Quiero suicidarme — ¿y ahora? Übermorgen 🙂",
        "k\u200bill",  # zero-width: a disguise, for screening to undo, not refused
    ],
)
def test_ordinary_text_passes(text: str | None) -> None:
    assert not has_control_characters(text)


def _find_invite(code: str) -> None:
    raise OperationalError("SELECT * FROM invites WHERE code = ?", (code,), Exception("locked"))


def test_where_names_the_place_and_never_the_parameters() -> None:
    try:
        _find_invite("Rosalind-Hartley-1987")
    except OperationalError as error:
        said = where(error)
    assert "Rosalind" not in said and "parameters" not in said
    assert "test_unreadable_and_tracing.py" in said and "_find_invite" in said
