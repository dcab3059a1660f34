"""Undo the spellings people use to hide a word, before any detector sees the text.

"k i l l", "k.i.l.l", "su1c1de", a zero-width space or a soft hyphen inside a word,
a Cyrillic "а" that looks like a Latin "a": a person may write this way to slip past
a filter, or because their keyboard or app does. Screening reads the text as a human
reader would. Emojis that stand for a means of harm become a word too, so "🔪 bye"
reads as "knife bye".

Each step is conservative: it only touches what ordinary text does not contain, so
undisguising a plain message changes nothing (tests check this on the corpora).
"""

from __future__ import annotations

import re

__all__ = ["undisguise"]

# Invisible characters that split a word for a machine but not for a reader.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff]"
)

# Cyrillic and Greek letters that look like Latin ones (Unicode's confusables, the
# lower and upper case that render identically in common fonts).
_LOOK_ALIKES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
        "ν": "v", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ζ": "Z",
    }
)  # fmt: skip
_CYRILLIC_OR_GREEK = re.compile("[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_LATIN = re.compile("[A-Za-z]")
_WORD = re.compile(r"\S+")

# Digits and signs standing for letters: "su1c1de", "k1ll", "$uicide". Only a word
# with one between two letters (or "$" before letters) counts, so "b12", "24hr" and
# "40km" stay as they are, and so does "@sam": a mention names a person.
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_LEET_WORD = re.compile(r"[\w@$]*(?:[^\W\d_][0-9@$]+[^\W\d_]|(?<![\w@$])\$[^\W\d_]{2})[\w@$]*")
_LEET_SIGN = re.compile(r"[0-9@$]")
_BANG_IN_WORD = re.compile(r"(?<=[^\W\d_])!(?=[^\W\d_])")  # "su!c!de"

# Letters spelled one at a time: "k i l l", "k.i.l.l", "k-i-l-l", "k_i_l_l", "k*i*l*l".
# One separator throughout a run, so "k.i.l.l m.y.s.e.l.f" stays two words. A run of
# letters that are each a word by themselves ("y a q hora", "y q a las 3", "o a i")
# is left as written: in Spanish chat that is "and at what time".
_SPELLED = re.compile(r"(?<!\w)[^\W\d_]([ .\-_*·•/])[^\W\d_](?:\1[^\W\d_])+(?!\w)")
_ONE_LETTER_WORDS = frozenset("aeiouyqxAEIOUYQX")

# Emojis that stand for a means of harm or a goodbye; English words, which every
# language's screening also reads.
_EMOJI_WORDS = {
    "🔪": " knife ", "🗡": " knife ", "🔫": " gun ", "💊": " pills ", "🪢": " rope ",
    "⚰": " coffin ", "🪦": " grave ", "🩸": " blood ", "☠": " death ", "💀": " skull ",
    "🌉": " bridge ", "🚆": " train ", "🚄": " train ", "🚇": " train ",
    "👋": " bye ",
}  # fmt: skip
_EMOJI = re.compile("|".join(map(re.escape, _EMOJI_WORDS)))


def undisguise(text: str) -> str:
    """The text as a reader sees it: hidden characters, look-alikes, letters spelled
    out, digits for letters and harm emojis turned back into plain words."""
    text = _INVISIBLE.sub("", text)
    if _CYRILLIC_OR_GREEK.search(text):
        text = _WORD.sub(_latin_if_mixed, text)
    if _EMOJI.search(text):
        text = _EMOJI.sub(lambda m: _EMOJI_WORDS[m.group()], text)
    text = _SPELLED.sub(_join_spelled, text)
    if "!" in text:
        text = _BANG_IN_WORD.sub("i", text)
    # Every digits-for-letters word holds a digit, "@" or "$"; most messages none, and
    # the search itself costs a tenth of a long message's screening.
    if _LEET_SIGN.search(text) is None:
        return text
    return _LEET_WORD.sub(_unleet, text)


def _latin_if_mixed(m: re.Match[str]) -> str:
    """A word mixing Latin letters with look-alikes is Latin; a Russian word stays Russian."""
    word = m.group()
    return word.translate(_LOOK_ALIKES) if _LATIN.search(word) else word


def _join_spelled(m: re.Match[str]) -> str:
    run, separator = m.group(), m.group(1)
    if _ONE_LETTER_WORDS.issuperset(run.replace(separator, "")):
        return run
    return run.replace(separator, "")


def _unleet(m: re.Match[str]) -> str:
    return m.group().translate(_LEET)
