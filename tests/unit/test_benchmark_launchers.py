"""The latency benchmark's relaxed launcher still starts a bot with relaxed pacing.

It broke once without a sound: ``bot.crisis_answer`` reads ``Limits``' class attributes at
import, and the launcher had swapped the class for a ``functools.partial``."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.alert_latency import RUN, RUN_RELAXED

PROBE = (
    "import bot.crisis_answer as answer, bot.delivery as delivery\n"
    "limits = delivery.Limits()\n"
    "print(answer.PART_INTERVAL, limits.private_interval, limits.per_second)\n"
)


def test_the_relaxed_launcher_relaxes_the_pacing_the_crisis_answer_reads() -> None:
    launcher = RUN_RELAXED.removesuffix(RUN)
    assert launcher != RUN_RELAXED  # the launcher still ends by running the bot
    done = subprocess.run(
        [sys.executable, "-c", launcher + PROBE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", "0", str(10**6)]
