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

import functools
import re
from collections.abc import Callable

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
# Two letters alone ("i-t", "m.e") are a spelled word only beside a longer run spelled the
# same way ("e-n-d i-t"): by themselves they are "e.g", "U.K", "x-y".
_SPELLED_PAIR = re.compile(r"(?<!\w)[^\W\d_]([ .\-_*·•/])[^\W\d_](?!\w)")

# Spelled with one separator throughout, a phrase loses the breaks between its words too:
# "k i l l m y s e l f" or "k.i.l.l.m.y.s.e.l.f" joins to "killmyself". Given the words
# screening knows (``WordCost``: a known word's cost, its rarity; None for a word it does not
# know), such a run is split again where its words end, the cheapest way (common words, few
# of them): "kill myself".
WordCost = Callable[[str], float | None]
_LONGEST_WORD = 24
_PER_WORD = 4.0  # added to each word's cost, so that a split into fewer words wins
_FEWEST_TO_SPLIT = 6  # letters; a shorter run is one word or nothing worth splitting

# A letter hidden behind a mask inside a word: "k*ll", "s*icidio", "umbr#ngen". With the
# words screening knows, the mask becomes the letter that makes the commonest known word;
# a word it cannot restore stays as written. One mask in a word of four letters or more,
# and never the letter beside it (which the normaliser would fold into one), so "a*b",
# "d*e" or "su**ide" are not guessed at: the model's letter pieces still read them.
_MASKED = re.compile(r"(?<![\w*#])[^\W\d_]+[*#][^\W\d_]+(?![\w*#])")
_FEWEST_LETTERS = 4  # in the restored word
_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüßñáéíóú"

# Emojis that stand for a means of harm or a goodbye; English words, which every
# language's screening also reads.
_EMOJI_WORDS = {
    "🔪": " knife ", "🗡": " knife ", "🔫": " gun ", "💊": " pills ", "🪢": " rope ",
    "⚰": " coffin ", "🪦": " grave ", "🩸": " blood ", "☠": " death ", "💀": " skull ",
    "🌉": " bridge ", "🚆": " train ", "🚄": " train ", "🚇": " train ",
    "👋": " bye ",
}  # fmt: skip
_EMOJI = re.compile("|".join(map(re.escape, _EMOJI_WORDS)))


def undisguise(text: str, word_cost: WordCost | None = None) -> str:
    """The text as a reader sees it: hidden characters, look-alikes, letters spelled
    out, digits for letters and harm emojis turned back into plain words. With
    ``word_cost``, a phrase spelled out letter by letter becomes the words it spells, and
    a masked letter ("k*ll") the one that makes a known word."""
    text = _INVISIBLE.sub("", text)
    if _CYRILLIC_OR_GREEK.search(text):
        text = _WORD.sub(_latin_if_mixed, text)
    if _EMOJI.search(text):
        text = _EMOJI.sub(lambda m: _EMOJI_WORDS[m.group()], text)
    if _SPELLED.search(text):  # most messages spell nothing out
        text = _join_spelled_runs(text, word_cost)
    if "!" in text:
        text = _BANG_IN_WORD.sub("i", text)
    if word_cost is not None and ("*" in text or "#" in text):
        text = _MASKED.sub(functools.partial(_unmask, word_cost), text)
    # Every digits-for-letters word holds a digit, "@" or "$"; most messages none, and
    # the search itself costs a tenth of a long message's screening.
    if _LEET_SIGN.search(text) is None:
        return text
    return _LEET_WORD.sub(_unleet, text)


def _latin_if_mixed(m: re.Match[str]) -> str:
    """A word mixing Latin letters with look-alikes is Latin; a Russian word stays Russian."""
    word = m.group()
    return word.translate(_LOOK_ALIKES) if _LATIN.search(word) else word


def _join_spelled_runs(text: str, word_cost: WordCost | None) -> str:
    """Each run of letters spelled one at a time joined, then the pairs spelled beside
    them with the same separator."""
    separators: set[str] = set()
    text = _SPELLED.sub(functools.partial(_join_spelled, word_cost, separators), text)
    if separators:
        text = _SPELLED_PAIR.sub(functools.partial(_join_pair, separators), text)
    return text


def _join_spelled(word_cost: WordCost | None, separators: set[str], m: re.Match[str]) -> str:
    run, separator = m.group(), m.group(1)
    joined = run.replace(separator, "")
    if _ONE_LETTER_WORDS.issuperset(joined):
        return run
    separators.add(separator)
    if word_cost is None or len(joined) < _FEWEST_TO_SPLIT or word_cost(joined) is not None:
        return joined
    return _split_into_words(joined, word_cost) or joined


def _join_pair(separators: set[str], m: re.Match[str]) -> str:
    pair, separator = m.group(), m.group(1)
    joined = pair.replace(separator, "")
    if separator not in separators or _ONE_LETTER_WORDS.issuperset(joined):
        return pair
    return joined


def _split_into_words(letters: str, word_cost: WordCost) -> str | None:
    """``letters`` as the cheapest sequence of known words, or None when no such split
    covers them all (then the run stays one word, as before)."""
    inf = float("inf")
    best = [0.0] + [inf] * len(letters)  # best[i]: the cheapest split of letters[:i]
    cut = [0] * (len(letters) + 1)  # where that split's last word begins
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - _LONGEST_WORD), end):
            if best[start] == inf:
                continue
            cost = word_cost(letters[start:end])
            if cost is not None and best[start] + cost + _PER_WORD < best[end]:
                best[end], cut[end] = best[start] + cost + _PER_WORD, start
    if best[-1] == inf:
        return None
    words, end = [], len(letters)
    while end:
        words.append(letters[cut[end] : end])
        end = cut[end]
    return " ".join(reversed(words))


def _unmask(word_cost: WordCost, m: re.Match[str]) -> str:
    """The commonest known word the masked one can be, or the word as written."""
    word = m.group()
    if len(word) < _FEWEST_LETTERS:
        return word
    at = next(i for i, ch in enumerate(word) if ch in "*#")
    before, after = word[:at].lower(), word[at + 1 :].lower()
    best, best_cost = word, float("inf")
    for letter in _LETTERS.replace(before[-1], "").replace(after[0], ""):
        cost = word_cost(before + letter + after)
        if cost is not None and cost < best_cost:
            best, best_cost = before + letter + after, cost
    return best


def _unleet(m: re.Match[str]) -> str:
    return m.group().translate(_LEET)
