"""The event loop's worst lag while long messages are screened, inline and as the bot does.

Screening time grows with the square of a message's length, so a message near Telegram's
4,096 characters can take tens of milliseconds. The bot screens texts of ``LONG_TEXT``
characters or more in a worker thread (``bot.screening.screened``). Here a ticker task
measures how late the loop wakes it (every millisecond) while ``--messages`` texts of
``--chars`` characters, built from training-corpus sentences, are screened one after another:
first inline (the baseline), then as the bot does, in alternating rounds.

    python benchmarks/long_message_lag.py [--chars 4096] [--messages 10] [--rounds 2]

Prints, per way, the slowest screening of one message and the loop's worst lag.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.screening import screened
from flows.screening import load_lexicon, screen, use_model
from flows.screening_corpus import corpus

TICK = 0.001


def long_texts(chars: int, count: int) -> list[str]:
    sentences = [example.text for example in corpus("train", ["en"])]
    chosen = random.Random(2)
    return [" ".join(chosen.choices(sentences, k=80))[:chars] for _ in range(count)]


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        lags.append(now - last - TICK)
        last = now


async def one_way(texts: list[str], off_the_loop: bool) -> tuple[float, float]:
    """(slowest message, worst loop lag), in seconds."""
    lags: list[float] = []
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(lags, stop))
    await asyncio.sleep(0.05)
    slowest = 0.0
    for text in texts:
        started = time.perf_counter()
        if off_the_loop:
            await screened(text, "en")
        else:
            screen(text, "en")
            await asyncio.sleep(0)
        slowest = max(slowest, time.perf_counter() - started)
    stop.set()
    await ticking
    return slowest, max(lags)


async def main(args: argparse.Namespace) -> None:
    for language in ("en", "es", "de"):
        load_lexicon(language)
    use_model()
    texts = long_texts(args.chars, args.messages)
    for text in texts:  # warm the per-word caches, so neither way pays for them
        screen(text, "en")
    worst = {False: [0.0, 0.0], True: [0.0, 0.0]}
    for _ in range(args.rounds):
        for off_the_loop in (False, True):
            slowest, lag = await one_way(texts, off_the_loop)
            worst[off_the_loop][0] = max(worst[off_the_loop][0], slowest)
            worst[off_the_loop][1] = max(worst[off_the_loop][1], lag)
    print(f"{args.messages} messages of {args.chars} characters x {args.rounds} rounds")
    for off_the_loop, name in ((False, "inline (baseline)"), (True, "as the bot does")):
        slowest, lag = worst[off_the_loop]
        print(
            f"{name:<20} slowest message {slowest * 1000:6.1f} ms   worst loop lag {lag * 1000:6.1f} ms"
        )
    print(f"worst lag, the bot's way / inline: {worst[True][1] / worst[False][1]:.2f}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=4096)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
