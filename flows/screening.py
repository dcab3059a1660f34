"""Crisis screening: every message a person sends is checked by two detectors.

``screen`` is the bot's decision: the text is undisguised (``flows/disguises``), then
matched against the lexicon of every supported language (this module); when no entry
matches, a statistical model (``flows/screening_model``) trained on the labelled
corpus in ``locales/<lang>/screening/`` decides. Each hit says which detector fired
and why. The rest of this docstring is about the lexicon.

A hit is forwarded to the on-call supervisor, so recall comes first. But people
living with chronic pain say "this pain is killing me" or "I'm dead tired" every
day, and those must not alert on their own.

How a message is screened
-------------------------
1. The original text is split into sentences (on ``. ! ? … ;`` and line breaks).
2. Each sentence is *normalised* for the lexicon's language (see ``normalise``):
   lower case, no accents, no apostrophes, punctuation to spaces, doubled letters
   written once ("killl" -> "kil"; before that, the few words a language respells
   as typed: German "nett" -> "freundlich", not "net"), language folds (German
   "ae/oe/ue" -> "a/o/u"),
   then whole-word respellings from the lexicon ("suicde" -> "suicide",
   "wanna" -> "want to", "do not" -> "dont").
3. The normalised sentences are joined with `` | ``; most lexicon entries stay
   inside one sentence, a regex may deliberately reach across (``(?: [^ ]+){0,8}``).
   Phrases and patterns are whole-word; patterns see the respelled text, and a
   pattern containing a word the respelling removes ("gonna") fails to load.
4. Idioms / look-alikes from the lexicon are blanked out ("~~~~"), so they cannot
   trigger an entry on their own, but the rest of the message is still screened:
   "this pain is killing me, I want to die" alerts on "want to die".
5. Every entry is matched. Each entry carries a category and a severity
   (1 concern, 2 serious, 3 imminent). A negation cue just before or inside the
   match ("I'm *not* going to kill myself") lowers the severity by one, never
   below 1: negation never suppresses an alert. Entries whose own words contain
   a negation ("don't want to live") are never softened.
6. Entries marked ``needs_context`` ("I have the pills ready") only count when
   another entry matched somewhere in the same message.
7. The message is screened in the person's language first, then in every other.

Speed: patterns are compiled once per language (cached). Each phrase/pattern of an
entry is compiled on its own with a set of literal "keys" derived from its regex (a
match must contain one of them); a part whose keys are all absent from the message
is skipped without running its regex (tests check this never changes a result).
All keys are found in one pass of an Aho–Corasick automaton instead of testing
every key of a large lexicon; a part whose regex needs several literals in sequence
("{abuser} ... hit ... me") runs only when one key of each of (up to three more of)
those sets is present too.

Lexicon files also carry ``examples``: per entry, messages that must alert; per
idiom and in ``[look_alikes]``, messages that must not. The tests run them all, so
a clinician extending a file gets a regression test for free.

This module is pure Python: no Telegram, no database.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import logging
import operator
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from flows.disguises import undisguise
from flows.screening_keys import gate_keys
from flows.screening_model import MODEL_PATH, Model, ModelError, Verdict, load_model, plain_words
from flows.screening_model import words as model_words

__all__ = [
    "BASE_LANGUAGE",
    "CATEGORIES",
    "Hit",
    "Idiom",
    "Lexicon",
    "LexiconError",
    "Part",
    "Rule",
    "available_languages",
    "lexicon_hits",
    "load_lexicon",
    "model_problem",
    "model_verdict",
    "normalise",
    "screen",
    "use_model",
    "without_idioms",
]

_log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LEXICON_FILENAME = "crisis_lexicon.toml"
BASE_LANGUAGE = "en"
CATEGORIES = (
    "suicide",
    "self_harm",
    "harm_to_others",
    "abuse_or_danger_at_home",
    "medical_red_flag",
)
SEVERITIES = (1, 2, 3)
MAX_SENTENCE_CHARS = 300
PHRASE_GAP_WORDS = 4  # "..." in a phrase = up to this many other words
DEFAULT_NEGATION_WINDOW = 3

_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_COMBINING = re.compile(r"[\u0300-\u036f]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# A laughing face becomes a word the idioms can read ("I'll kill him 😂" is a joke; with
# the emoji dropped as punctuation only the threat was left). The model does not read it:
# it was trained on text without it (``without_idioms`` takes it out again).
LAUGHING_FACE = "laughingface"
_LAUGHING = re.compile("[😂🤣😆😅😄😁😹]+")
_LAUGHING_WORD = re.compile(rf"\b{LAUGHING_FACE}\b")
_REPEATS = re.compile(r"([a-z])\1+")
_SENTENCE = re.compile(r"[^.!?…;\n]+[.!?…;]*")
_MACRO = re.compile(r"\{([a-z_]+)\}")
_STRADDLE = re.compile(r"([a-z])\((?:\?:)?\1")  # "plan(?:ning" never matches "planing"
_WORD = "[a-z0-9]"
_SEPARATOR = " | "
_BLANK = "~"


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Hit:
    category: str  # one of CATEGORIES
    severity: int  # 1 (concern) .. 3 (imminent)
    language: str  # language of the lexicon that matched
    sentence: str  # the sentence of the original text that matched (trimmed to ~300 chars)
    rule: str  # id of the lexicon entry, e.g. "en:suicide.kill_self", for review
    negated: bool = False  # a negation cue lowered the severity
    detector: str = "lexicon"  # which detector fired: "lexicon" or "model"
    why: str = (
        ""  # for a supervisor, in one short line: the entry, or the model's strongest features
    )


@dataclass(frozen=True)
class Part:
    """One phrase or pattern of an entry, compiled, with its gate keys."""

    regex: re.Pattern[str]
    keys: frozenset[str] | None  # one of these substrings is in every match; None = no gate
    # further sets of which every match contains one key each (checked only when keys
    # is not None, so a part with keys=None is never gated)
    also: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: int
    keys: frozenset[str] | None  # union of the parts' keys; None if a part has no gate
    parts: tuple[Part, ...]
    needs_context: bool
    negatable: bool
    comment: str
    examples: tuple[str, ...] = ()  # messages that must alert with this entry (checked by tests)

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """All parts in one pattern, for review tools; screening runs the parts."""
        return _joined(self.parts)


@dataclass(frozen=True)
class Idiom:
    id: str
    keys: frozenset[str] | None
    parts: tuple[Part, ...]
    comment: str
    examples: tuple[str, ...] = ()  # messages that must not alert (checked by tests)

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """All parts in one pattern, for review tools; screening runs the parts."""
        return _joined(self.parts)


def _joined(parts: tuple[Part, ...]) -> re.Pattern[str]:
    return re.compile("|".join(p.regex.pattern for p in parts))


def _plain(text: str) -> str:
    """Lower case, no apostrophes or accents, runs of anything but letters and digits
    one space: the same for every language, so a message's is made once."""
    s = _APOSTROPHES.sub("", text.casefold())
    if not s.isascii():
        s = _COMBINING.sub(
            "", unicodedata.normalize("NFKD", _LAUGHING.sub(f" {LAUGHING_FACE} ", s))
        )
    return _NON_ALNUM.sub(" ", s)


@dataclass(frozen=True, eq=False)
class _Normaliser:
    folds: re.Pattern[str] | None = None
    fold_map: tuple[tuple[str, str], ...] = ()
    spelling: re.Pattern[str] | None = None
    spelling_map: tuple[tuple[str, str], ...] = ()
    typed: re.Pattern[str] | None = None
    typed_map: tuple[tuple[str, str], ...] = ()

    def letters(self, text: str) -> str:
        """Case, apostrophes, accents, language folds, doubled letters; punctuation kept."""
        s = _APOSTROPHES.sub("", text.casefold())
        if not s.isascii():
            s = _COMBINING.sub("", unicodedata.normalize("NFKD", s))
        return self._single_letters(s)

    def __call__(self, text: str) -> str:
        return self.respell(self.fold(_plain(text)))

    def fold(self, s: str) -> str:
        """After ``_plain``: the language's letter folds, doubled letters single. The
        same for every language without folds, so those share it."""
        return self._single_letters(s).strip()

    def _single_letters(self, s: str) -> str:
        """Words respelled as typed, then the letter folds, then doubled letters single."""
        s = self.as_typed(s)
        if self.folds is not None:
            s = self.folds.sub(self._fold, s)
        return _REPEATS.sub(_ITEM_1, s)

    def as_typed(self, s: str) -> str:
        """The language's respellings of whole words as typed, before doubled letters are
        written once: German "nett" would otherwise read as "net", Austrian for "nicht"."""
        if self.typed is not None:
            s = self.typed.sub(self._as_typed, s)
        return s

    @property
    def fold_key(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        """Normalisers with the same key fold a text the same way."""
        return self.folds, self.typed

    def respell(self, s: str) -> str:
        """After ``fold``: the language's whole-word respellings."""
        if self.spelling is not None:
            s = self.spelling.sub(self._respell, s)
        return s

    @functools.cached_property
    def _folds(self) -> dict[str, str]:
        return dict(self.fold_map)

    @functools.cached_property
    def _spellings(self) -> dict[str, str]:
        return dict(self.spelling_map)

    @functools.cached_property
    def respelled(self) -> re.Pattern[str] | None:
        """A word (3+ letters) that respelling always replaces: a pattern holding one can
        never match. One regex, not one search a word: lexicons are built at every start."""
        words = sorted((k for k, _ in self.spelling_map if len(k) >= 3), key=len, reverse=True)
        if not words:
            return None
        return re.compile(rf"(?<![a-z0-9])(?:{'|'.join(map(re.escape, words))})(?![a-z0-9])")

    def _fold(self, m: re.Match[str]) -> str:
        return self._folds[m.group()]

    def _respell(self, m: re.Match[str]) -> str:
        return self._spellings[m.group()]

    @functools.cached_property
    def _typed_words(self) -> dict[str, str]:
        return dict(self.typed_map)

    def _as_typed(self, m: re.Match[str]) -> str:
        return self._typed_words[m.group()]


@dataclass(frozen=True)
class Lexicon:
    language: str
    rules: tuple[Rule, ...]
    idioms: tuple[Idiom, ...]
    negation_cues: frozenset[str]
    negation_window: int
    normaliser: _Normaliser
    keys: tuple[str, ...]  # every gate key of every rule and idiom
    path: Path | None = None
    look_alikes: tuple[str, ...] = ()  # messages that must not alert (checked by tests)

    def normalise(self, text: str) -> str:
        return self.normaliser(text)

    @functools.cached_property
    def gate(self) -> _Gate:
        """Index of the parts by gate key (built once per lexicon object)."""
        return _Gate.build(self)

    @functools.cached_property
    def idiom_gate(self) -> _Gate:
        """The same for the idioms alone: what the model reads needs only them blanked."""
        return _Gate.build(dataclasses.replace(self, rules=()))


@dataclass(frozen=True)
class _Gate:
    """Which parts can match a message, found without running every part's regex.

    Every key of the lexicon is found in the message in one pass of an Aho–Corasick
    automaton (``pyahocorasick``, in C); a part runs when one of its keys is present
    (and one of each of its further key sets). Parts with no keys always run. Parts
    are numbered in lexicon order (idioms first, then entries) and run in that order.
    """

    keys: ahocorasick.Automaton  # every key, its value the key itself
    checks: dict[int, tuple[frozenset[str], ...]]  # part -> further required key sets
    parts_by_key: dict[str, tuple[int, ...]]
    always: tuple[int, ...]  # parts without a gate
    idiom_parts: tuple[Part, ...]  # numbered 0 .. len-1
    rule_parts: tuple[tuple[Rule, Part], ...]  # numbered after the idiom parts

    @staticmethod
    def build(lex: Lexicon) -> _Gate:
        idiom_parts = tuple(p for i in lex.idioms for p in i.parts)
        rule_parts = tuple((r, p) for r in lex.rules for p in r.parts)
        by_key: dict[str, list[int]] = {}
        always: list[int] = []
        checks: dict[int, tuple[frozenset[str], ...]] = {}
        for n, part in enumerate((*idiom_parts, *(p for _, p in rule_parts))):
            if part.keys is None:
                always.append(n)
            else:
                for key in part.keys:
                    by_key.setdefault(key, []).append(n)
                if part.also:
                    checks[n] = part.also
        automaton = ahocorasick.Automaton()
        for key in sorted(set(by_key).union(*(k for sets in checks.values() for k in sets))):
            automaton.add_word(key, key)
        automaton.make_automaton()
        return _Gate(
            keys=automaton,
            checks=checks,
            parts_by_key={k: tuple(v) for k, v in by_key.items()},
            always=tuple(always),
            idiom_parts=idiom_parts,
            rule_parts=rule_parts,
        )

    def present(self, text: str) -> set[str]:
        """The keys that occur in ``text``."""
        if not len(self.keys):  # an empty automaton cannot search
            return set()
        return set(map(_ITEM_1, self.keys.iter(text)))  # (end, key) for every hit

    def active(self, text: str) -> list[int]:
        """Numbers of the parts whose gate lets ``text`` through, in lexicon order."""
        present = self.present(text)
        run = set(self.always)
        by_key = self.parts_by_key
        for key in present:
            run.update(by_key.get(key, ()))
        checks = self.checks
        return sorted(
            n
            for n in run
            if n not in checks or not any(keys.isdisjoint(present) for keys in checks[n])
        )


# [1]: an automaton hit's key, and a match's first group (r"\1" without a template)
_ITEM_1 = operator.itemgetter(1)


# --------------------------------------------------------------------------- loading


@functools.cache
def available_languages() -> tuple[str, ...]:
    """Languages that have a ``locales/<lang>/crisis_lexicon.toml``."""
    return tuple(sorted(p.parent.name for p in LOCALES_DIR.glob(f"*/{LEXICON_FILENAME}")))


def lexicon_patterns() -> list[str]:
    """Every compiled pattern of every lexicon (their keys ship in ``screening_keys``)."""
    return [
        part.regex.pattern
        for lex in map(load_lexicon, available_languages())
        for item in (*lex.rules, *lex.idioms)
        for part in item.parts
    ]


def _resolve_language(language: str | None) -> str:
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in available_languages() else BASE_LANGUAGE


@functools.cache
def load_lexicon(language: str) -> Lexicon:
    """Load and compile ``locales/<language>/crisis_lexicon.toml`` (cached).

    An unknown language gives the English lexicon. Raises ``LexiconError`` when the
    file is malformed, naming the entry, so a broken edit fails loudly in tests.
    """
    language = _resolve_language(language)
    path = LOCALES_DIR / language / LEXICON_FILENAME
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise LexiconError(f"{path}: {exc}") from exc
    return _build_lexicon(language, data, path)


def _build_lexicon(language: str, data: dict, path: Path | None = None) -> Lexicon:
    where = str(path) if path else f"<{language} lexicon>"
    norm_cfg = data.get("normalise", {})
    normaliser = _make_normaliser(
        norm_cfg.get("folds", {}), norm_cfg.get("spelling", {}), norm_cfg.get("as_typed", {})
    )

    neg_cfg = data.get("negation", {})
    cues = frozenset(w for c in neg_cfg.get("cues", []) for w in [normaliser(c)] if w)
    window = int(neg_cfg.get("window", DEFAULT_NEGATION_WINDOW))

    macros: dict[str, str] = {}
    for name, value in data.get("macros", {}).items():
        if not re.fullmatch(r"[a-z_]+", name):
            raise LexiconError(f"{where}: macro name {name!r} must be lower-case letters/_")
        alternatives = value if isinstance(value, list) else [value]
        frags = [_pattern_text(str(v), normaliser, macros, where, name) for v in alternatives]
        macros[name] = f"(?:{_compile(frags, where, f'macro {name}').pattern})"

    _check_keys(data, _TOP_KEYS, where, "top level")
    seen: set[str] = set()
    rules: list[Rule] = []
    for raw in data.get("entry", []):
        rid = _entry_id(raw, seen, where)
        _check_keys(raw, _ENTRY_KEYS, where, rid)
        category = raw.get("category")
        if category not in CATEGORIES:
            raise LexiconError(f"{where}: entry {rid}: category {category!r} not in {CATEGORIES}")
        severity = raw.get("severity")
        if severity not in SEVERITIES:
            raise LexiconError(f"{where}: entry {rid}: severity must be 1, 2 or 3")
        alternatives = _alternatives(raw, normaliser, macros, where, rid)
        parts = _parts(alternatives, where, rid)
        negatable = raw.get("negatable")
        if negatable is None:  # entries that contain a negation themselves are never softened
            words = set(_NON_ALNUM.split(" ".join(alternatives)))
            negatable = not (words & cues)
        rules.append(
            Rule(
                id=f"{language}:{rid}",
                category=category,
                severity=severity,
                keys=_union_keys(parts),
                parts=parts,
                needs_context=bool(raw.get("needs_context", False)),
                negatable=bool(negatable),
                comment=str(raw.get("comment", "")),
                examples=_strings(raw, "examples", where, rid),
            )
        )
    idioms: list[Idiom] = []
    for raw in data.get("idiom", []):
        iid = _entry_id(raw, seen, where)
        _check_keys(raw, _IDIOM_KEYS, where, iid)
        alternatives = _alternatives(raw, normaliser, macros, where, iid)
        parts = _parts(alternatives, where, iid)
        idioms.append(
            Idiom(
                id=f"{language}:{iid}",
                keys=_union_keys(parts),
                parts=parts,
                comment=str(raw.get("comment", "")),
                examples=_strings(raw, "examples", where, iid),
            )
        )
    if not rules:
        raise LexiconError(f"{where}: no [[entry]] found")
    keys = sorted({k for item in (*rules, *idioms) for p in item.parts if p.keys for k in p.keys})
    return Lexicon(
        language=language,
        rules=tuple(rules),
        idioms=tuple(idioms),
        negation_cues=cues,
        negation_window=window,
        normaliser=normaliser,
        keys=tuple(keys),
        path=path,
        look_alikes=_strings(data.get("look_alikes", {}), "examples", where, "look_alikes"),
    )


_TOP_KEYS = frozenset({"normalise", "negation", "macros", "entry", "idiom", "look_alikes"})
_ENTRY_KEYS = frozenset(
    {"id", "category", "severity", "phrases", "patterns", "needs_context", "negatable"}
    | {"comment", "examples"}
)
_IDIOM_KEYS = frozenset({"id", "phrases", "patterns", "comment", "examples"})


def _check_keys(raw: dict, allowed: frozenset[str], where: str, what: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise LexiconError(f"{where}: {what}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _strings(raw: dict, key: str, where: str, what: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LexiconError(f"{where}: {what}: {key} must be a list of strings")
    return tuple(value)


def _make_normaliser(
    folds: dict[str, str], spelling: dict[str, str], typed: dict[str, str]
) -> _Normaliser:
    fold_map = tuple((k.casefold(), v.casefold()) for k, v in folds.items())
    fold_re = None
    if fold_map:
        fold_re = re.compile("|".join(re.escape(k) for k, _ in sorted(fold_map, key=_longest)))
    base = _Normaliser(folds=fold_re, fold_map=fold_map)
    spelling_map: dict[str, str] = {}
    for wrong, right in spelling.items():
        key, value = base(wrong), base(right)
        if key and key != value:
            spelling_map[key] = value
    spelling_re = None
    if spelling_map:
        alts = "|".join(re.escape(k) for k in sorted(spelling_map, key=len, reverse=True))
        spelling_re = re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])")
    typed_map = tuple((_plain(k).strip(), _plain(v).strip()) for k, v in typed.items())
    typed_re = None
    if typed_map:
        alts = "|".join(re.escape(k) for k, _ in sorted(typed_map, key=_longest))
        typed_re = re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])")
    return _Normaliser(
        folds=fold_re,
        fold_map=fold_map,
        spelling=spelling_re,
        spelling_map=tuple(spelling_map.items()),
        typed=typed_re,
        typed_map=typed_map,
    )


def _longest(item: tuple[str, str]) -> int:
    return -len(item[0])


def _entry_id(raw: dict, seen: set[str], where: str) -> str:
    rid = raw.get("id")
    if not rid or not isinstance(rid, str):
        raise LexiconError(f"{where}: an entry has no id: {raw!r}"[:300])
    if rid in seen:
        raise LexiconError(f"{where}: duplicate id {rid!r}")
    seen.add(rid)
    return rid


def _alternatives(
    raw: dict, normaliser: _Normaliser, macros: dict[str, str], where: str, rid: str
) -> list[str]:
    out = [_phrase_to_regex(p, normaliser, macros, where, rid) for p in raw.get("phrases", [])]
    out += [
        f"(?<!{_WORD})(?:{_pattern_text(p, normaliser, macros, where, rid)})(?!{_WORD})"
        for p in raw.get("patterns", [])
    ]
    if not out:
        raise LexiconError(f"{where}: entry {rid}: needs phrases or patterns")
    return out


def _parts(alternatives: list[str], where: str, rid: str) -> tuple[Part, ...]:
    out = []
    for alternative in alternatives:
        regex = _compile([alternative], where, rid)
        keys, also = gate_keys(regex.pattern)
        out.append(Part(regex=regex, keys=keys, also=also))
    return tuple(out)


def _union_keys(parts: tuple[Part, ...]) -> frozenset[str] | None:
    if any(p.keys is None for p in parts):
        return None
    return frozenset(k for p in parts for k in p.keys or ())


def _compile(alternatives: list[str], where: str, rid: str) -> re.Pattern[str]:
    pattern = "|".join(f"(?:{a})" for a in alternatives)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise LexiconError(f"{where}: entry {rid}: bad pattern: {exc}") from exc


def _expand_macros(text: str, macros: dict[str, str], where: str, rid: str) -> str:
    def sub(m: re.Match[str]) -> str:
        try:
            return macros[m.group(1)]
        except KeyError:
            raise LexiconError(f"{where}: {rid}: unknown macro {{{m.group(1)}}}") from None

    return _MACRO.sub(sub, text)


def _pattern_text(
    pattern: str, normaliser: _Normaliser, macros: dict[str, str], where: str, rid: str
) -> str:
    """Normalise the letters of a regex the way messages are normalised.

    Escapes (``\\b``, ``\\s``) are kept as they are; macros are expanded first
    (they are already normalised). Doubled letters are collapsed, so ``kill`` in a
    pattern matches the normalised ``kil``.
    """
    straddle = _STRADDLE.search(pattern.casefold())
    if straddle:
        raise LexiconError(
            f"{where}: {rid}: pattern {pattern!r}: doubled letters are written once in "
            f"messages, so {straddle.group()!r} can never match; move the letter out of "
            "the group (e.g. 'plan(?:ning)' -> 'plann(?:ing)')"
        )
    out: list[str] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            chunk = normaliser.letters("".join(plain))
            respelled = normaliser.respelled and normaliser.respelled.search(chunk)
            if respelled:
                key = respelled.group()
                raise LexiconError(
                    f"{where}: {rid}: pattern {pattern!r} contains {key!r}, which messages "
                    f"never contain after respelling: write {normaliser._spellings[key]!r}"
                )
            out.append(chunk)
            plain.clear()

    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            flush()
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "{":
            m = _MACRO.match(pattern, i)
            if m:
                flush()
                out.append(_expand_macros(m.group(), macros, where, rid))
                i = m.end()
                continue
        plain.append(ch)
        i += 1
    flush()
    return "".join(out)  # compiled by _parts (entries) or _checked (macros)


def _phrase_to_regex(
    phrase: str, normaliser: _Normaliser, macros: dict[str, str], where: str, rid: str
) -> str:
    """Turn a plain phrase into a regex over normalised text.

    ``word*`` any ending; ``a/b`` either word; ``(be alive/go on)`` either group of
    words; ``[word]`` or ``[for me]`` optional (``[even/still]`` optional choice);
    ``...`` up to PHRASE_GAP_WORDS other words; ``{macro}`` a macro from [macros].
    """
    body = _phrase_sequence(phrase, phrase, normaliser, macros, where, rid)
    return f"(?<!{_WORD})" + body + f"(?!{_WORD})"


def _split_outside_brackets(text: str, sep: str | None) -> list[str]:
    """Split on ``sep`` (None = whitespace) where not inside () or []."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        at_sep = ch.isspace() if sep is None else ch == sep
        if at_sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    if depth != 0:
        raise ValueError("unbalanced brackets")
    return [p for p in parts if p] if sep is None else parts


def _phrase_sequence(
    text: str, phrase: str, normaliser: _Normaliser, macros: dict[str, str], where: str, rid: str
) -> str:
    def fail(why: str) -> LexiconError:
        return LexiconError(f"{where}: {rid}: phrase {phrase!r}: {why}")

    try:
        tokens = _split_outside_brackets(text, None)
    except ValueError as exc:
        raise fail(str(exc)) from None
    pieces: list[tuple[str, str]] = []
    for token in tokens:
        if token in ("...", "…"):
            pieces.append(("gap", ""))
        elif token.startswith("[") and token.endswith("]"):
            pieces.append(
                ("opt", _phrase_choice(token[1:-1], phrase, normaliser, macros, where, rid))
            )
        elif token.startswith("(") and token.endswith(")"):
            pieces.append(
                ("word", _phrase_choice(token[1:-1], phrase, normaliser, macros, where, rid))
            )
        elif any(c in token for c in "()[]"):
            raise fail(f"brackets must enclose whole words: {token!r}")
        else:
            pieces.append(("word", _phrase_choice(token, phrase, normaliser, macros, where, rid)))
    if not pieces or pieces[-1][0] != "word" or pieces[0][0] == "gap":
        raise fail("must start and end with a required word")
    body = []
    for n, (kind, frag) in enumerate(pieces):
        if kind == "gap":
            body.append(f"(?:{_WORD}+ ){{0,{PHRASE_GAP_WORDS}}}")
        elif kind == "opt":
            body.append(f"(?:{frag} )?")
        else:
            body.append(frag if n == len(pieces) - 1 else frag + " ")
    return "".join(body)


def _phrase_choice(
    text: str, phrase: str, normaliser: _Normaliser, macros: dict[str, str], where: str, rid: str
) -> str:
    alts: list[str] = []
    for alt in _split_outside_brackets(text, "/"):
        alt = alt.strip()
        if not alt:
            raise LexiconError(f"{where}: {rid}: phrase {phrase!r}: empty alternative")
        if len(_split_outside_brackets(alt, None)) > 1 or alt[0] in "([":
            alts.append(_phrase_sequence(alt, phrase, normaliser, macros, where, rid))
        elif alt.startswith("{") and alt.endswith("}"):
            alts.append(_expand_macros(alt, macros, where, rid))
        else:
            wildcard = alt.endswith("*")
            word = normaliser(alt.rstrip("*"))
            if not word:
                raise LexiconError(f"{where}: {rid}: empty word in phrase {phrase!r}")
            alts.append(re.escape(word) + (f"{_WORD}*" if wildcard else ""))
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


# --------------------------------------------------------------------------- screening


def normalise(text: str, language: str = BASE_LANGUAGE) -> str:
    """The text as the lexicon of ``language`` sees it.

    >>> normalise("I'm gonna KILLLL myself!!!")
    'im going to kil myself'
    """
    return load_lexicon(language).normalise(text)


@dataclass(frozen=True)
class _Found:
    rule: Rule
    language: str
    severity: int
    negated: bool
    first: int  # index of the first / last sentence the match touches
    last: int
    rel_start: int  # match position relative to the first sentence (normalised)
    rel_end: int
    norm_len: int  # normalised length of sentences first..last


def screen(text: str, language: str) -> list[Hit]:
    """The bot's decision on one message: the lexicon, else the model.

    The text is undisguised first (``flows/disguises``), then matched against the
    lexicon of every supported language, the person's own first: people write in more
    than the language they chose. When no entry matches, the model (``model_verdict``)
    decides. Returns [] when neither alerts, otherwise one hit per (sentence, category),
    highest severity first, then in the order of the message.
    """
    if not text or text.isspace():
        return []
    text = undisguised(text)
    reading = _Reading(text)
    return lexicon_hits(text, language, reading) or _model_hits(text, language, reading)


class _Reading:
    """One message as the lexicons read it, each step done once per message.

    The lexicon pass and the model's reading (``without_idioms``) both need the
    message split into sentences, normalised for a language, and the person's
    language's idioms blanked; normalising twice cost a fifth of a long message's
    time."""

    __slots__ = ("_folded", "_normalised", "_plain", "blanked", "spans", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans = [
            (m.start(), m.end()) for m in _SENTENCE.finditer(text) if not m.group().isspace()
        ]
        self._plain: list[str] | None = None  # each sentence's ``_plain``
        self._folded: dict[tuple, list[str]] = {}  # by a language's ``fold_key``
        self._normalised: dict[str, tuple[list[str], str]] = {}
        # language -> the normalised text with that language's idioms blanked
        self.blanked: dict[str, str] = {}

    def normalised(self, lex: Lexicon) -> tuple[list[str], str]:
        """The sentences normalised for ``lex``, and joined with the separator."""
        got = self._normalised.get(lex.language)
        if got is None:
            if self._plain is None:
                text = self.text
                self._plain = [_plain(text[a:b]) for a, b in self.spans]
            normaliser = lex.normaliser
            folded = self._folded.get(normaliser.fold_key)
            if folded is None:
                folded = self._folded[normaliser.fold_key] = list(map(normaliser.fold, self._plain))
            parts = list(map(normaliser.respell, folded))
            got = self._normalised[lex.language] = (parts, _SEPARATOR.join(parts))
        return got


def lexicon_hits(text: str, language: str, reading: _Reading | None = None) -> list[Hit]:
    """What the lexicons of every language find in ``text`` (already undisguised).

    ``reading``: the same text's ``_Reading``, to share its work with the model's."""
    if reading is None or reading.text != text:
        reading = _Reading(text)
    spans = reading.spans
    if not spans:
        return []
    primary = _resolve_language(language)
    found: list[_Found] = []
    for lang in _in_order(primary):
        found.extend(_match(load_lexicon(lang), reading))
    if not found or all(f.rule.needs_context for f in found):
        return []

    best: dict[tuple[int, str], _Found] = {}
    for f in found:
        key = (f.first, f.rule.category)
        current = best.get(key)
        if current is None or (f.severity, not f.negated) > (current.severity, not current.negated):
            best[key] = f
    ordered = sorted(
        best.values(), key=lambda f: (-f.severity, f.first, CATEGORIES.index(f.rule.category))
    )
    return [
        Hit(
            category=f.rule.category,
            severity=f.severity,
            language=f.language,
            sentence=_excerpt(text, spans, f),
            rule=f.rule.id,
            negated=f.negated,
            why=f.rule.id,
        )
        for f in ordered
    ]


# --------------------------------------------------------------------------- the model

MODEL_SEVERITY = 2  # serious: the model sees a resemblance, a person should look now
_model: Model | None = None
_model_problem: str | None = None
_model_loaded = False
_model_file: tuple | None = None  # which file ``_model`` was read from, as ``_identity`` says


def use_model(path: Path | None = MODEL_PATH) -> str | None:
    """Load the screening model (at start); returns what is wrong, or None when it loaded.

    Without a model the bot screens on the lexicon alone, and says so loudly: in the
    log here, and through ``model_problem()`` in /status and ``peerbot status``. The file
    already loaded is not read again (half a second, and a dispatcher is built for every
    test); a file replaced or rewritten since is.
    """
    global _model, _model_problem, _model_loaded, _model_file
    _model_loaded = True
    if path is None:
        _model, _model_problem, _model_file = None, "the screening model is switched off", None
        return _model_problem
    identity = _identity(path)
    if _model is not None and identity is not None and identity == _model_file:
        return None
    try:
        _model, _model_problem, _model_file = load_model(path), None, identity
    except ModelError as exc:
        _model, _model_problem, _model_file = None, str(exc), None
        _log.error("SCREENING ON THE LEXICON ALONE: %s", exc)
    return _model_problem


def _identity(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def current_model() -> Model | None:
    if not _model_loaded:
        use_model()
    return _model


def model_problem() -> str | None:
    """Why the model is not screening, or None while it is."""
    current_model()
    return _model_problem


def undisguised(text: str) -> str:
    """``text`` as screening reads it (``flows/disguises``); a phrase spelled out letter by
    letter is split into the words the model knows."""
    model = current_model()
    return undisguise(text, model.word_cost if model is not None else None)


def model_verdict(text: str, language: str, reading: _Reading | None = None) -> Verdict | None:
    """The model's verdict on an undisguised message, idioms blanked; None without a model."""
    model = current_model()
    if model is None:
        return None
    return model.verdict(without_idioms(text, language, reading), _resolve_language(language))


def _model_hits(text: str, language: str, reading: _Reading | None = None) -> list[Hit]:
    verdict = model_verdict(text, language, reading)
    if verdict is None or not verdict.alert:
        return []
    stripped = text.strip()
    if len(stripped) > MAX_SENTENCE_CHARS:
        stripped = stripped[: MAX_SENTENCE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return [
        Hit(
            category=verdict.category,
            severity=MODEL_SEVERITY,
            language=_resolve_language(language),
            sentence=stripped,
            rule="model",
            detector="model",
            why=f"model {verdict.probability:.2f}: " + ", ".join(_as_written(verdict.why, text)),
        )
    ]


def _as_written(features: tuple[str, ...], text: str) -> list[str]:
    """The model's words as the person wrote them ("pills", not the normalised "pils")."""
    wanted = {w for feature in features for w in feature.split()}
    written: dict[str, str] = {}
    tokens = [token.strip(".,;:!?¡¿()\"'«»") for token in text.split()]
    # Most words need no undisguising, the costly part of the model's reading (about a
    # millisecond for a long message): they are found first without it.
    for token in tokens:
        for word in _plain_token(token):
            if word in wanted:
                written.setdefault(word, token)
        if len(written) == len(wanted):
            break
    else:
        for token in tokens:
            for word in model_words(token):
                written.setdefault(word, token)
    return [" ".join(written.get(w, w) for w in feature.split()) for feature in features]


@functools.lru_cache(maxsize=8192)
def _plain_token(token: str) -> tuple[str, ...]:
    """A token's words as the model reads them; the same words come back in message
    after message, and reading one costs five regex passes."""
    return tuple(plain_words(token))


def _match(lex: Lexicon, reading: _Reading) -> list[_Found]:
    parts, joined = reading.normalised(lex)
    gate = lex.gate
    active = gate.active(joined)
    offsets: list[int] = []
    pos = 0
    for part in parts:
        offsets.append(pos)
        pos += len(part) + len(_SEPARATOR)

    n_idiom = len(gate.idiom_parts)
    blanked = _blank_idioms(gate, joined, active)
    # The idiom parts are numbered alike in ``lex.idiom_gate`` and gated on the same
    # keys: this is what the model's reading would blank for this language.
    reading.blanked[lex.language] = blanked

    found: list[_Found] = []
    for n in active:
        if n < n_idiom:
            continue
        rule, rule_part = gate.rule_parts[n - n_idiom]
        for m in rule_part.regex.finditer(blanked):
            if m.end() == m.start():
                continue
            first = bisect.bisect_right(offsets, m.start()) - 1
            last = bisect.bisect_right(offsets, m.end() - 1) - 1
            negated = rule.negatable and _is_negated(lex, blanked, offsets[first], m)
            severity = max(1, rule.severity - 1) if negated else rule.severity
            found.append(
                _Found(
                    rule=rule,
                    language=lex.language,
                    severity=severity,
                    negated=negated,
                    first=first,
                    last=last,
                    rel_start=m.start() - offsets[first],
                    rel_end=m.end() - offsets[first],
                    norm_len=offsets[last] + len(parts[last]) - offsets[first],
                )
            )
    return found


def _blank_idioms(gate: _Gate, joined: str, active: list[int]) -> str:
    for n in active:
        if n >= len(gate.idiom_parts):
            break
        joined = gate.idiom_parts[n].regex.sub(_blank, joined)
    return joined


def without_idioms(text: str, language: str, reading: _Reading | None = None) -> str:
    """The text as the model reads it: normalised for the person's language, with the
    idioms of every language blanked ("this pain is killing me", "i cut myself a slice
    of cake"), so what the lexicon knows must not alert cannot make the model alert.

    ``reading``: the same text's ``_Reading``; after the lexicon pass it holds the
    normalised text and the person's language's idioms already blanked."""
    if reading is None or reading.text != text:
        reading = _Reading(text)
    primary = _resolve_language(language)
    lex = load_lexicon(primary)
    joined = reading.blanked.get(primary)
    if joined is None:
        gate = lex.idiom_gate
        _, normalised = reading.normalised(lex)
        joined = _blank_idioms(gate, normalised, gate.active(normalised))
    for lang in _in_order(primary)[1:]:
        gate = load_lexicon(lang).idiom_gate
        joined = _blank_idioms(gate, joined, gate.active(joined))
    if LAUGHING_FACE in joined:
        joined = _LAUGHING_WORD.sub(" ", joined)
    return joined


def _in_order(primary: str) -> tuple[str, ...]:
    """Every language, the person's own first."""
    return (primary, *(lang for lang in available_languages() if lang != primary))


def _blank(m: re.Match[str]) -> str:
    return _BLANK * len(m.group())


def _is_negated(lex: Lexicon, text: str, sentence_start: int, m: re.Match[str]) -> bool:
    if not lex.negation_cues:
        return False
    before = text[sentence_start : m.start()].split()[-lex.negation_window :]
    return any(w in lex.negation_cues for w in (*before, *m.group().split()))


def _excerpt(text: str, spans: list[tuple[int, int]], f: _Found) -> str:
    start, end = spans[f.first][0], spans[f.last][1]
    raw = text[start:end]
    stripped = raw.strip()
    if len(stripped) <= MAX_SENTENCE_CHARS:
        return stripped
    # Long sentence (chat messages often have no full stops): a window around the
    # match, positioned proportionally (normalisation barely changes lengths).
    ratio = len(raw) / max(1, f.norm_len)
    centre = int((f.rel_start + f.rel_end) / 2 * ratio)
    lo = max(0, centre - MAX_SENTENCE_CHARS // 2)
    hi = min(len(raw), lo + MAX_SENTENCE_CHARS)
    lo = max(0, hi - MAX_SENTENCE_CHARS)
    if lo > 0:
        cut = raw.find(" ", lo, lo + 30)
        lo = cut + 1 if cut != -1 else lo
    if hi < len(raw):
        cut = raw.rfind(" ", hi - 30, hi)
        hi = cut if cut != -1 else hi
    window = raw[lo:hi].strip()
    return ("…" if lo > 0 else "") + window + ("…" if hi < len(raw) else "")


def explain(text: str, language: str) -> Iterable[str]:
    """Lines describing how ``text`` is seen and what each detector makes of it."""
    seen = undisguised(text)
    if seen != text:
        yield f"undisguised: {seen}"
    primary = _resolve_language(language)
    for lang in _in_order(primary):
        yield f"[{lang}] {load_lexicon(lang).normalise(seen)}"
    for h in lexicon_hits(seen, language):
        neg = " (negated)" if h.negated else ""
        yield f"lexicon: {h.severity} {h.category:<24} {h.rule}{neg}: {h.sentence}"
    verdict = model_verdict(seen, language)
    if verdict is None:
        yield f"model: not in use ({model_problem()})"
    else:
        yield (
            f"model: {'ALERT' if verdict.alert else 'no alert'} p={verdict.probability:.3f}"
            f" (threshold {current_model().threshold(_resolve_language(language)):.3f})"
            f" {verdict.category}:"
            f" {', '.join(verdict.why) or '-'}"
        )
    yield "decision: " + ("ALERT" if screen(text, language) else "no alert")
