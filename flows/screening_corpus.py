"""The labelled screening corpus, and how a detector is measured against labelled messages.

The corpus lives per language in ``locales/<lang>/screening/``: ``train-*.jsonl`` (the
model learns from these, and lexicon authors may read them; ``train-lexicon.jsonl`` is
the set the first lexicons were written against) and ``heldout-*.jsonl``
(never trained on, never written against: the figures that say how screening does on
wording it has not seen). A line is ``{"lang": "en", "text": "…", "alert": true,
"kind": "burden"}``; ``docs/screening.md`` describes the kinds.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "KIND_CATEGORY",
    "KIND_OF",
    "CorpusError",
    "Example",
    "Report",
    "corpus",
    "corpus_files",
    "evaluate",
    "lexicon_examples",
    "read_jsonl",
    "training_set",
    "wilson",
]

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SPLITS = ("train", "heldout")

# Which crisis category each kind of warning sign belongs to; every other kind is a
# hard negative (a message that must not alert).
KIND_CATEGORY = {
    "passive_wish": "suicide",
    "active_ideation": "suicide",
    "method_means": "suicide",
    "plan_timing": "suicide",
    "preparatory": "suicide",
    "burden": "suicide",
    "entrapment_hopelessness": "suicide",
    "self_harm": "self_harm",
    "harm_to_others": "harm_to_others",
    "danger_at_home": "abuse_or_danger_at_home",
    "medical_emergency": "medical_red_flag",
}

# The kind that stands for a whole category, for examples labelled by category alone.
KIND_OF = {
    "suicide": "active_ideation",
    "self_harm": "self_harm",
    "harm_to_others": "harm_to_others",
    "abuse_or_danger_at_home": "danger_at_home",
    "medical_red_flag": "medical_emergency",
}


class CorpusError(ValueError):
    """A labelled file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Example:
    lang: str
    text: str
    alert: bool
    kind: str | None = None
    # The file it came from ("train-c"): each train file has its own author, so training
    # can hold out one author at a time when it sets its thresholds. Not part of equality.
    source: str | None = field(default=None, compare=False)

    @property
    def category(self) -> str | None:
        """The crisis category a positive example teaches: its kind's, or its kind itself when
        a file labels crises by category ("medical_red_flag"); suicide when unknown."""
        if not self.alert:
            return None
        if self.kind in KIND_OF:
            return self.kind
        return KIND_CATEGORY.get(self.kind or "", "suicide")


def read_jsonl(path: Path, lines: Iterable[str] | None = None) -> list[Example]:
    """Parse labelled lines; a bad line raises ``CorpusError`` with its number."""
    examples = []
    source = lines if lines is not None else path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        examples.append(_example(line, f"{path}, line {number}", path.stem))
    return examples


def _example(line: str, where: str, source: str | None = None) -> Example:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise CorpusError(f'{where}: expected an object like {{"lang": …}}')
    lang, text, alert, kind = (raw.get(k) for k in ("lang", "text", "alert", "kind"))
    if not isinstance(lang, str) or not lang:
        raise CorpusError(f'{where}: "lang" must be a language code such as "en"')
    if not isinstance(text, str):
        raise CorpusError(f'{where}: "text" must be a string')
    if not isinstance(alert, bool):
        raise CorpusError(f'{where}: "alert" must be true or false')
    if kind is not None and not isinstance(kind, str):
        raise CorpusError(f'{where}: "kind" must be a string when given')
    return Example(lang=lang.lower(), text=text, alert=alert, kind=kind or None, source=source)


def corpus(split: str, languages: Iterable[str] | None = None) -> list[Example]:
    """Every labelled example of ``split`` ("train" or "heldout") in the given languages."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    wanted = set(languages) if languages is not None else None
    examples = []
    for path in sorted(LOCALES_DIR.glob(f"*/screening/{split}-*.jsonl")):
        if wanted is None or path.parent.parent.name in wanted:
            examples.extend(read_jsonl(path))
    return examples


def corpus_files(stems: Iterable[str]) -> list[Example]:
    """The examples of the corpus files named by stem ("spare-ze"), in every language that
    has them: how the benchmarks name the sets a candidate model is judged on."""
    return [
        e
        for stem in stems
        for path in sorted(LOCALES_DIR.glob(f"*/screening/{stem}.jsonl"))
        for e in read_jsonl(path)
    ]


def lexicon_examples() -> list[Example]:
    """The examples clinicians wrote into the lexicons: each entry's messages that must
    alert, each idiom's and look-alike's that must not. The model learns them too."""
    from flows.screening import available_languages, load_lexicon

    examples = []
    for lang in available_languages():
        lex = load_lexicon(lang)
        for rule in lex.rules:
            kind = KIND_OF[rule.category]
            examples += [Example(lang, text, True, kind) for text in rule.examples]
        calm = [t for idiom in lex.idioms for t in idiom.examples] + list(lex.look_alikes)
        examples += [Example(lang, text, False) for text in calm]
    return examples


def training_set() -> list[Example]:
    """What the model is trained on: the corpus's train split and the lexicons' examples."""
    return corpus("train") + lexicon_examples()


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion (sound for small n and p near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class _Tally:
    caught: int = 0
    crises: int = 0
    false_alerts: int = 0
    calm: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.crises if self.crises else float("nan")

    @property
    def fpr(self) -> float:
        return self.false_alerts / self.calm if self.calm else float("nan")


@dataclass
class Report:
    """Recall and false alerts per language and kind, with the misses and false alerts."""

    languages: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    kinds: dict[tuple[str, str], _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    misses: list[Example] = field(default_factory=list)
    false_alerts: list[Example] = field(default_factory=list)

    def add(self, example: Example, alerted: bool) -> None:
        tallies = [self.languages[example.lang]]
        if example.kind:
            tallies.append(self.kinds[(example.lang, example.kind)])
        for t in tallies:
            if example.alert:
                t.crises += 1
                t.caught += alerted
            else:
                t.calm += 1
                t.false_alerts += alerted
        if example.alert and not alerted:
            self.misses.append(example)
        elif alerted and not example.alert:
            self.false_alerts.append(example)

    @property
    def min_recall(self) -> float:
        return min((t.recall for t in self.languages.values() if t.crises), default=float("nan"))

    @property
    def max_fpr(self) -> float:
        return max((t.fpr for t in self.languages.values() if t.calm), default=float("nan"))

    def lines(self, *, show_examples: bool = True) -> Iterator[str]:
        yield "lang  recall [95% CI]         n    false alerts [95% CI]   n"
        for lang in sorted(self.languages):
            t = self.languages[lang]
            r_lo, r_hi = wilson(t.caught, t.crises)
            f_lo, f_hi = wilson(t.false_alerts, t.calm)
            yield (
                f"{lang:<5} {_pct(t.recall)} [{r_lo:.2f}, {r_hi:.2f}] {t.crises:>5}    "
                f"{_pct(t.fpr)} [{f_lo:.2f}, {f_hi:.2f}] {t.calm:>5}"
            )
        if self.kinds:
            yield ""
            yield "per kind: recall (crisis kinds) or false alerts (calm kinds), n"
            for (lang, kind), t in sorted(self.kinds.items()):
                what = f"recall {_pct(t.recall)}" if t.crises else f"false  {_pct(t.fpr)}"
                yield f"  {lang:<3} {kind:<26} {what}  {t.crises or t.calm:>4}"
        if show_examples:
            for title, items in (("missed", self.misses), ("false alerts", self.false_alerts)):
                yield ""
                yield f"{title} ({len(items)}):"
                for e in items:
                    yield f"  [{e.lang}{'/' + e.kind if e.kind else ''}] {e.text}"
        yield f"min recall {_pct(self.min_recall)} max fpr {_pct(self.max_fpr)}"


def _pct(x: float) -> str:
    return "  n/a" if math.isnan(x) else f"{x:.3f}"


def evaluate(examples: Iterable[Example], alerts: Callable[[Example], bool]) -> Report:
    report = Report()
    for e in examples:
        report.add(e, alerts(e))
    return report
