"""The second crisis detector: a linear model over character and word n-grams.

The lexicon (``flows/screening.py``) catches the wording it holds; this model catches
wording it has never seen but that resembles what it was trained on: "i've started
giving my things away", "my family would manage better without me". The two are OR-ed.

The model is linear over two TF-IDF blocks (the mean of two logistic regressions,
``flows/screening_training._fit_linear``), trained with scikit-learn; a second, small
regression over the words names the likely category of a message the first flags.
Their weights are exported to
``locales/screening_model.json.gz``. Scoring needs neither scikit-learn nor NumPy: a
message has a few hundred features, and weighing them in Python takes well under a
millisecond, while importing scikit-learn would cost the bot about a second and tens
of megabytes (measured in ``docs/architecture.md``).

Features: the undisguised text (``flows/disguises``), case-folded, accents and
apostrophes dropped, letters repeated for emphasis written once. Block "char": the 2-
to 5-letter pieces of each word padded with spaces, so a typo or a new inflection still
shares most of its pieces with a word seen in training; block "word": words and word
pairs. Each block is weighted as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``
weighs it (``1 + ln(count)`` times the piece's idf, then scaled to unit length).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import functools
import gc
import gzip
import itertools
import json
import logging
import math
import operator
import re
import sys
import unicodedata
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flows.disguises import undisguise

__all__ = [
    "BLOCKS",
    "MODEL_PATH",
    "Model",
    "ModelError",
    "Verdict",
    "char_grams",
    "load_model",
    "pack_floats",
    "word_grams",
    "words",
]

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).resolve().parent.parent / "locales" / "screening_model.json.gz"
# 3: each block is its features in row order and two base64 float32 arrays (idf, weight);
# the category weights are one row per word feature. 2 (a [idf, weight] pair per feature)
# cost twice the memory to load and more time.
FORMAT = 3
# Fewer words than this (after the idioms are blanked) and the model abstains: scaled to
# unit length, one or two words weigh as much as a paragraph, and "im ~~~~" (what is left
# of "I'm dead tired") is no evidence of anything. Short crises are the lexicon's.
MIN_WORDS = 3
_CACHE_WORDS = 50_000  # words whose letter pieces are remembered (a few MB at most)
_GRAMS = (2, 3, 4, 5)
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_COMBINING = re.compile(r"[\u0300-\u036f]")
_NON_ALNUM = re.compile(r"[^\w]+|_")
_REPEATS = re.compile(r"(\D)\1+")
_FIRST_GROUP = operator.itemgetter(1)  # a match's first group: r"\1" without a template


# ``1 + ln(count)``, scikit-learn's sublinear tf, looked up by count (index 0 unused).
_SUBLINEAR = (0.0, *(1.0 + math.log(n) for n in range(1, 257)))


def _sublinear_tf(counts: Iterable[int]) -> list[float]:
    counts = list(counts)
    if counts and max(counts) >= len(_SUBLINEAR):  # a feature repeated hundreds of times
        return [1.0 + math.log(n) for n in counts]
    return list(map(_SUBLINEAR.__getitem__, counts))


def words(text: str) -> list[str]:
    return plain_words(undisguise(text))


def plain_words(text: str) -> list[str]:
    """The words as the model reads them, of a text with no disguises left to undo."""
    s = _APOSTROPHES.sub("", text.casefold().replace("ß", "ss"))
    if not s.isascii():
        s = _COMBINING.sub("", unicodedata.normalize("NFKD", s))
    return _REPEATS.sub(_FIRST_GROUP, _NON_ALNUM.sub(" ", s)).split()


def char_grams(tokens: list[str]) -> list[str]:
    grams = []
    for w in tokens:
        padded = f" {w} "
        for n in _GRAMS:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def word_grams(tokens: list[str]) -> list[str]:
    return [*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))]


# The blocks of features, in the order the model's weights follow them.
BLOCKS: dict[str, Callable[[list[str]], list[str]]] = {"char": char_grams, "word": word_grams}


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not a model of this format."""


@dataclass(frozen=True)
class Verdict:
    alert: bool
    probability: float  # that the message should alert
    category: str  # the most likely crisis category, whatever the verdict
    why: tuple[str, ...]  # the message's features that pushed hardest towards the alert


@dataclass(frozen=True, eq=False)
class _Block:
    index: dict[str, int]  # feature -> row
    idf: array  # float32 per row
    weight: array  # float32 per row: the alert model's coefficient

    cache: dict[str, tuple[int, ...]] = field(default_factory=dict)
    distinct: dict[str, frozenset[int]] = field(default_factory=dict)

    def rows(self, name: str, tokens: list[str]) -> list[int]:
        """The rows of the known features of ``tokens``, with repeats (they count)."""
        if name == "char":  # a word's pieces are the same every time: remembered per word
            rows: list[int] = []
            for w in tokens:
                known = self.cache.get(w)
                if known is None:
                    if len(self.cache) > _CACHE_WORDS:
                        self.cache.clear()
                    index = self.index
                    known = tuple(r for g in char_grams([w]) if (r := index.get(g)) is not None)
                    self.cache[w] = known
                rows.extend(known)
            return rows
        index = self.index
        return [r for f in BLOCKS[name](tokens) if (r := index.get(f)) is not None]

    def distinct_rows(self, word: str) -> frozenset[int]:
        """The rows of one word's letter pieces, each once (to explain a verdict)."""
        known = self.distinct.get(word)
        if known is None:
            if len(self.distinct) > _CACHE_WORDS:
                self.distinct.clear()
            known = self.distinct[word] = frozenset(self.rows("char", [word]))
        return known

    @functools.cached_property
    def names(self) -> list[str]:
        """Row -> feature, to explain a verdict (built the first time one is explained)."""
        names = [""] * len(self.index)
        for feature, row in self.index.items():
            names[row] = feature
        return names


@dataclass(frozen=True, eq=False)
class Model:
    blocks: dict[str, _Block]
    bias: float
    thresholds: dict[str, float]  # per language: alert when the probability reaches this
    categories: tuple[str, ...]
    category_bias: tuple[float, ...]
    category_weights: tuple[array, ...]  # float32, per category one weight per word feature
    about: dict  # how and on what it was trained, its held-out figures

    def threshold(self, language: str) -> float:
        """The person's language's threshold; the strictest for a language never trained on."""
        return self.thresholds.get(language) or max(self.thresholds.values())

    def verdict(self, text: str, language: str) -> Verdict:
        """``text``: as the model reads it (``screening.without_idioms``), undisguised."""
        tokens = plain_words(text)
        if len(tokens) < MIN_WORDS:
            return Verdict(alert=False, probability=0.0, category=self.categories[0], why=())
        logit = self.bias
        scored: list[tuple[_Block, list[int], list[float], list[float], float]] = []
        for name, block in self.blocks.items():
            counts = Counter(block.rows(name, tokens))
            rows = list(counts)
            # Each feature's (1 + ln count) * idf, its square and its push (times the
            # weight), summed in C over the same terms in the same order as a loop would:
            # the probability is the same to the last bit, in a fraction of the time.
            tf = _sublinear_tf(counts.values())
            v = list(map(operator.mul, tf, map(block.idf.__getitem__, rows)))
            norm = math.sqrt(sum(map(operator.mul, v, v))) or 1.0
            pushes = list(map(operator.mul, v, map(block.weight.__getitem__, rows)))
            logit += sum(pushes) / norm
            scored.append((block, rows, v, pushes, norm))
        probability = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
        if probability < self.threshold(language):
            return Verdict(False, probability, self.categories[0], ())
        return Verdict(
            alert=True,
            probability=probability,
            category=self._category(scored[1][1]),
            why=_strongest(tokens, scored),
        )

    def word_cost(self, word: str) -> float | None:
        """How rare a word the model knows is (its idf); None for a word it does not know.
        What ``disguises.undisguise`` splits a phrase spelled out letter by letter by."""
        tokens = plain_words(word)
        if len(tokens) != 1:
            return None
        block = self.blocks["word"]
        row = block.index.get(tokens[0])
        return None if row is None else float(block.idf[row])

    def _category(self, word_rows: list[int]) -> str:
        """The likeliest category, from the word block's rows present (each once)."""
        scores = [
            bias + sum(map(weights.__getitem__, word_rows))
            for bias, weights in zip(self.category_bias, self.category_weights, strict=True)
        ]
        return self.categories[max(range(len(scores)), key=scores.__getitem__)]


def _strongest(
    tokens: list[str],
    scored: list[tuple[_Block, list[int], list[float], list[float], float]],
    k: int = 3,
) -> tuple[str, ...]:
    """The words (or word pairs) of the message that pushed hardest towards the alert:
    each word gets the pushes of its own letter pieces, so a supervisor reads "pills",
    not "ill". ``scored``: per block, its rows, their values, value times weight, norm."""
    (chars, char_rows, _, char_list, char_norm), (wordb, word_rows, _, word_list, word_norm) = (
        scored
    )
    char_pushes = dict(zip(char_rows, char_list, strict=True))
    word_pushes = dict(zip(word_rows, word_list, strict=True))
    push: dict[str, float] = {}
    for w in dict.fromkeys(tokens):
        push[w] = sum(map(char_pushes.__getitem__, chars.distinct_rows(w))) / char_norm
    for row, pushed in word_pushes.items():
        feature = wordb.names[row]
        gain = pushed / word_norm
        if " " in feature:
            first, second = feature.split(" ")
            push[feature] = gain + (push.get(first, 0.0) + push.get(second, 0.0))
        else:
            push[feature] = push.get(feature, 0.0) + gain
    shown: list[str] = []
    for feature, gain in sorted(push.items(), key=lambda item: -item[1]):
        if gain <= 0 or len(shown) == k:
            break
        if not any(feature in s or s in feature for s in shown):
            shown.append(feature)
    return tuple(shown)


def load_model(path: Path = MODEL_PATH) -> Model:
    """Read an exported model; ``ModelError`` says what is wrong with the file."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise ModelError(f"no screening model at {path}") from exc
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"the screening model {path} is unreadable: {exc}") from exc
    try:
        return _from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the screening model {path} is malformed: {exc!r}") from exc
    finally:
        del data
        _give_back_scratch_memory()


def _give_back_scratch_memory() -> None:
    """Return to the system what reading the file needed only while it read (the parsed
    JSON: about 8 MB of the 27 the model made resident). The C allocator keeps freed
    memory for reuse unless asked; only glibc can be asked, elsewhere this does nothing."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def floats(text: str) -> array:
    """A base64 string of little-endian float32 values, as ``pack_floats`` writes it."""
    values = array("f", base64.b64decode(text.encode("ascii"), validate=True))
    if sys.byteorder != "little":  # pragma: no cover - every machine the bot runs on
        values.byteswap()
    return values


def pack_floats(values) -> str:
    """Little-endian float32 values as base64 (compact, exact, and cheap to load)."""
    packed = array("f", (float(v) for v in values))
    if sys.byteorder != "little":  # pragma: no cover
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _from_dict(data: dict) -> Model:
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    blocks = {}
    for name in BLOCKS:
        raw = data["blocks"][name]
        features = raw["features"]
        index = {feature: row for row, feature in enumerate(features)}
        idf, weight = floats(raw["idf"]), floats(raw["weight"])
        if not len(index) == len(features) == len(idf) == len(weight):
            raise ValueError(f"block {name}: features, idf and weights differ in number")
        blocks[name] = _Block(index, idf, weight)
    categories = tuple(data["category"]["classes"])
    category_bias = tuple(float(b) for b in data["category"]["bias"])
    flat = floats(data["category"]["weights"])  # a row of one weight per category a feature
    if not categories or len(category_bias) != len(categories):
        raise ValueError("the category model has no classes, or a bias per class is missing")
    if len(flat) != len(blocks["word"].index) * len(categories):
        raise ValueError("the category weights are not one row per word feature")
    # one array a category, so a category's score is one sum over the message's rows
    category_weights = tuple(flat[c :: len(categories)] for c in range(len(categories)))
    thresholds = {str(k): float(v) for k, v in data["thresholds"].items()}
    if not thresholds or not all(0 < t < 1 for t in thresholds.values()):
        raise ValueError(f"thresholds {thresholds} missing or out of range")
    return Model(
        blocks=blocks,
        bias=float(data["bias"]),
        thresholds=thresholds,
        categories=categories,
        category_bias=category_bias,
        category_weights=category_weights,
        about=data.get("about", {}),
    )
