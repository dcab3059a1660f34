"""Two screening models side by side on the same messages: what a candidate loses and gains.

The bot's own decision (``flows.screening.screen``: the lexicons, then the model) is taken
with each model file in turn over the named corpus files, per language: recall and false
alerts before and after, the crises only one of them catches (lost / gained) and a two-sided
sign test of those, so a candidate's rules (docs/screening.md) are measured the same way
every round.

    python benchmarks/screening_compare.py OLD.json.gz NEW.json.gz spare-ze,spare-zf,spare-zi-chat

Each name is a file stem under ``locales/<lang>/screening/`` (every language that has it).
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows import screening
from flows.screening_corpus import Example, Report, corpus_files


def examples(stems: list[str]) -> list[Example]:
    found = corpus_files(stems)
    if not found:
        raise SystemExit(f"no corpus file is named {', '.join(stems)}")
    return found


def decisions(model: Path, messages: list[Example]) -> list[bool]:
    problem = screening.use_model(model)
    if problem:
        raise SystemExit(f"{model}: {problem}")
    return [bool(screening.screen(e.text, e.lang)) for e in messages]


def sign_test(losses: int, changes: int) -> float:
    """Two-sided exact binomial p of ``losses`` of ``changes`` at one half."""
    if changes == 0:
        return 1.0
    tail = sum(math.comb(changes, i) for i in range(min(losses, changes - losses) + 1))
    return min(1.0, 2 * tail / 2**changes)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("files", help="comma-separated file stems, e.g. heldout-a,heldout-b")
    args = ap.parse_args()

    messages = examples(args.files.split(","))
    before, after = decisions(args.old, messages), decisions(args.new, messages)
    old, new = Report(), Report()  # the tallies `peerbot screening eval` prints
    changed: dict[str, Counter] = {}
    for e, b, a in zip(messages, before, after, strict=True):
        old.add(e, b)
        new.add(e, a)
        if e.alert and a != b:
            changed.setdefault(e.lang, Counter())["gained" if a else "lost"] += 1

    print(f"{args.old.name} -> {args.new.name} on {args.files}")
    for lang, o in sorted(old.languages.items()):
        n, c = new.languages[lang], changed.get(lang, Counter())
        p = sign_test(c["lost"], c["lost"] + c["gained"])
        print(
            f"{lang}: recall {o.recall:.3f} -> {n.recall:.3f} (n {o.crises}),"
            f" lost / gained {c['lost']} / {c['gained']} (sign test p {p:.3f});"
            f" false alerts {o.fpr:.3f} -> {n.fpr:.3f} (n {o.calm})"
        )


if __name__ == "__main__":
    main()
