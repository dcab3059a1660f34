"""A long text in parts that Telegram accepts, with nothing of it lost."""

from __future__ import annotations

from handlers.long_text import PART, parts


def test_a_short_text_is_one_part() -> None:
    assert parts("hello") == ["hello"]
    assert parts("") == [""]


def test_a_long_text_is_cut_at_spaces_and_nothing_is_lost() -> None:
    words = [f"word{n}" for n in range(2000)]  # about 15,000 characters
    text = " ".join(words)
    pieces = parts(text)
    assert len(pieces) > 3 and all(len(p) <= PART for p in pieces)
    assert " ".join(pieces).split() == words  # every word, in order, none split


def test_a_line_break_is_preferred_and_a_text_without_spaces_still_fits() -> None:
    text = "a" * 3400 + "\n" + "b" * 200 + " " + "c" * 100
    assert parts(text)[0] == "a" * 3400
    unbroken = "x" * 8000
    assert "".join(parts(unbroken)) == unbroken and max(map(len, parts(unbroken))) <= PART
