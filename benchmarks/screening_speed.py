"""How fast crisis screening decides, how long it takes to load, and what the model costs in memory.

Every message of the labelled corpus (``locales/*/screening/*.jsonl``) is screened as the
bot screens it (``flows.screening.screen``: undisguise, every language's lexicon, then
the model) and, as the baseline in the same run, by the lexicons alone. Load time and
resident memory are measured in fresh processes, with and without the model, so the
difference is what the model adds to the bot.

    python benchmarks/screening_speed.py [--rounds 3]

Prints p50/p99/max per message for both (wall time and CPU time), their ratio, the load times and the RSS growth;
asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows import screening
from flows.disguises import undisguise
from flows.screening_corpus import corpus

# Run in a fresh interpreter: load the lexicons (and the model unless told not to), warm
# up on a few messages, and report the load time and the resident memory.
PROBE = """
import json, sys, time, resource
t0 = time.perf_counter()
from flows import screening
for lang in screening.available_languages():
    screening.load_lexicon(lang)
if sys.argv[1] == "model":
    assert screening.use_model() is None, screening.model_problem()
else:
    screening.use_model(None)
loaded = time.perf_counter() - t0
for text in json.loads(sys.argv[2]):
    screening.screen(text, "en")
rss_kb = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024
print(json.dumps({"load_s": loaded, "rss_mb": rss_kb / 1024}))
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timings(messages: list[tuple[str, str]], decide) -> tuple[list[float], list[float]]:
    """Wall time and this thread's CPU time per message, in ms. On a shared machine the
    wall time includes whatever else ran meanwhile; the CPU time is screening's own."""
    wall, cpu = [], []
    for text, lang in messages:
        start, start_cpu = time.perf_counter(), time.thread_time()
        decide(text, lang)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def lexicons_alone(text: str, lang: str) -> object:
    return screening.lexicon_hits(undisguise(text), lang)


def probe(kind: str, warm: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, kind, json.dumps(warm)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    problem = screening.use_model()
    if problem:
        sys.exit(f"no model to measure: {problem}")
    examples = corpus("train") + corpus("heldout")
    messages = [(e.text, e.lang) for e in examples]
    for text, lang in messages[:200]:  # warm the caches, as a running bot has
        screening.screen(text, lang)
    gc.collect()
    gc.freeze()  # as the bot does once started (bot.app.settle_memory)
    gc.set_threshold(10_000, 10, 10)
    runs: dict[str, tuple[list[float], list[float]]] = {
        "bot (lexicons + model)": ([], []),
        "baseline (lexicons alone)": ([], []),
    }
    for _ in range(args.rounds):  # alternate, so a slow patch of the machine hits both
        for name, decide in zip(runs, (screening.screen, lexicons_alone), strict=True):
            wall, cpu = timings(messages, decide)
            runs[name][0].extend(wall)
            runs[name][1].extend(cpu)
    lengths = [len(t) for t, _ in messages]
    print(
        f"{len(messages)} messages x {args.rounds} rounds; length median "
        f"{statistics.median(lengths):.0f} chars, max {max(lengths)}"
    )
    for name, (wall, cpu) in runs.items():
        for kind, values in (("wall", wall), ("cpu", cpu)):
            print(
                f"{name:<27} {kind:<4} p50 {percentile(values, 0.5):.3f} ms"
                f"  p99 {percentile(values, 0.99):.3f} ms  max {max(values):.3f} ms"
            )
    (bot_wall, bot_cpu), (base_wall, base_cpu) = runs.values()
    print(
        f"ratio p99 bot / baseline: wall {percentile(bot_wall, 0.99) / percentile(base_wall, 0.99):.2f}"
        f", cpu {percentile(bot_cpu, 0.99) / percentile(base_cpu, 0.99):.2f}"
    )

    warm = [t for t, _ in messages[:300]]
    with_model = [probe("model", warm) for _ in range(2)]
    without = [probe("lexicon", warm) for _ in range(2)]
    load = min(p["load_s"] for p in with_model)
    print(
        f"load, lexicons + model: {load:.2f} s (lexicons alone "
        f"{min(p['load_s'] for p in without):.2f} s)"
    )
    growth = min(p["rss_mb"] for p in with_model) - min(p["rss_mb"] for p in without)
    print(
        f"RSS with the model: {min(p['rss_mb'] for p in with_model):.1f} MB; "
        f"the model adds {growth:.1f} MB"
    )


if __name__ == "__main__":
    main()
