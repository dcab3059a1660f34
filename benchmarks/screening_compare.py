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
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows import screening
from flows.screening_corpus import LOCALES_DIR, Example, read_jsonl


def examples(stems: list[str]) -> list[Example]:
    found = [p for s in stems for p in sorted(LOCALES_DIR.glob(f"*/screening/{s}.jsonl"))]
    if not found:
        raise SystemExit(f"no corpus file is named {', '.join(stems)}")
    return [e for p in found for e in read_jsonl(p)]


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
    tally: dict[str, Counter] = defaultdict(Counter)
    for e, b, a in zip(messages, before, after, strict=True):
        t = tally[e.lang]
        if e.alert:
            t.update(crises=1, before=b, after=a, lost=b and not a, gained=a and not b)
        else:
            t.update(calm=1, false_before=b, false_after=a)

    print(f"{args.old.name} -> {args.new.name} on {args.files}")
    for lang, t in sorted(tally.items()):
        n, calm = max(t["crises"], 1), max(t["calm"], 1)
        p = sign_test(t["lost"], t["lost"] + t["gained"])
        print(
            f"{lang}: recall {t['before'] / n:.3f} -> {t['after'] / n:.3f} (n {t['crises']}),"
            f" lost / gained {t['lost']} / {t['gained']} (sign test p {p:.3f});"
            f" false alerts {t['false_before'] / calm:.3f} -> {t['false_after'] / calm:.3f}"
            f" (n {t['calm']})"
        )


if __name__ == "__main__":
    main()
