"""How fast a crisis alert reaches the supervisor chat while the bot is busy.

The real bot process (`python -m bot run`, its own SQLite file) runs against the local
Bot API stand-in (`tests/e2e/standin.py`, no rate limits enforced). For ``--seconds``
the benchmark feeds ``--rate`` ordinary updates a second (/help from a pool of people)
and, every ``--crisis-every`` seconds, a crisis message from someone new ("I want to
kill myself (case N)"). Crisis screening raises an alert, which is written to the
outbox in the update's transaction and sent by the delivery worker to
SUPERVISOR_CHAT_ID.

Measured, both from the moment the stand-in hands the update out in getUpdates:

* alert latency: until the sendMessage to the supervisor chat that carries "(case N)";
* reply latency (the baseline, same run): until the reply to an ordinary /help.

    python benchmarks/alert_latency.py [--seconds 60] [--rate 100] [--crisis-every 3.5]
                                       [--relaxed]
    python benchmarks/alert_latency.py --burst 50 [--burst-within 60] [--rate 20]

By default the bot paces its outbox as in production (one message a second and 20 a
minute to a group), and crisis messages come every 3.5 s, within that. With
``--relaxed`` the pacing is relaxed in the bot process (a launcher patches
``bot.delivery.Limits``), so that many more alerts (say ``--crisis-every 0.5``) measure
the pipeline itself: screening, the commit, waking the worker, the send.

With ``--burst N``, N different people write crisis messages at random moments within
``--burst-within`` seconds (60), while /help keeps coming at ``--rate`` (20 a second by
default here). A supervisor is on call, and the stand-in enforces Telegram's limits (30
a second, 1 a second per chat, 20 a minute per group) and counts its 429s. Measured:
message to the on-call's direct message and message to the group, for every case (a
case counts once its "(case N)" appears in any message there, combined or not), and the
/help baseline of the same run.

Prints p50/p99 and counts; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet

from tests.e2e.standin import TelegramStandIn

BOT_TOKEN = "123456:BENCH"
SUPERVISOR_CHAT_ID = -1001234567890
HELP_PEOPLE = 2000  # a pool large enough that nobody waits behind their own last /help
ON_CALL = 4242  # the supervisor on call in --burst runs
CRISIS_PEOPLE = 900_000  # case N is written by Telegram user CRISIS_PEOPLE + N
RATE_DEFAULT, BURST_RATE_DEFAULT = 100.0, 20.0
CASE = re.compile(r"\(case (\d+)\)")

RUN = "import sys\nfrom bot.cli import main\nsys.exit(main(['run']))\n"
# Limits made with the relaxed values; and read from the class (as bot.crisis_answer
# reads its pause between parts), the same values.
RUN_RELAXED = (
    "import dataclasses, functools, sys\n"
    "import bot.delivery as delivery\n"
    "relaxed = dict(per_second=10**6, private_interval=0, group_per_window=10**6,\n"
    "    group_interval=0, margin=0, chat_margin=0)\n"
    "base = delivery.Limits\n"
    "delivery.Limits = functools.partial(base, **relaxed)\n"
    "for field in dataclasses.fields(base):\n"
    "    setattr(delivery.Limits, field.name, relaxed.get(field.name, field.default))\n" + RUN
)


class TimedStandIn(TelegramStandIn):
    """The stand-in, noting when each update was handed out by getUpdates."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_out: dict[int, float] = {}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        updates = await super()._get_updates(params)
        now = time.monotonic()
        for update in updates:
            self.handed_out.setdefault(update["update_id"], now)
        return updates


async def put_a_supervisor_on_call(data_dir: Path, key: str) -> None:
    """ON_CALL is a supervisor on call, as `peerbot roles add` and `oncall` leave them."""
    from storage import crypto, oncall, users
    from storage.db import create_engine, create_sessionmaker
    from storage.migrate import upgrade_async
    from storage.models import Role

    url = f"sqlite+aiosqlite:///{data_dir}/peerbot.sqlite3"
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(key)))
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            person = await users.create(
                session, telegram_id=ON_CALL, locale="en", pseudonym="Owl", role=Role.SUPERVISOR
            )
            await session.flush()
            await oncall.take(session, person, oncall.PRIMARY)
            await session.commit()
    finally:
        await engine.dispose()


async def start_bot(
    standin: TelegramStandIn, data_dir: Path, *, telegram_limits: bool, key: str | None = None
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_URL": standin.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/peerbot.sqlite3",
        "DATA_DIR": str(data_dir),
        "ENCRYPTION_KEY": key or Fernet.generate_key().decode(),
        "SUPERVISOR_CHAT_ID": str(SUPERVISOR_CHAT_ID),
        "POLLING_TIMEOUT": "10",
    }
    with (data_dir / "bot.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            RUN if telegram_limits else RUN_RELAXED,
            cwd=data_dir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    polling = asyncio.ensure_future(standin.wait_for("getUpdates", timeout=60))
    exited = asyncio.ensure_future(process.wait())
    await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
    exited.cancel()
    if not polling.done():
        polling.cancel()
        log_tail = (data_dir / "bot.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"the bot exited with {process.returncode} before polling:\n{log_tail}")
    polling.result()
    return process


async def feed(
    standin: TelegramStandIn, seconds: float, rate: float, crisis_at: list[float]
) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Send the load, a crisis message from someone new at each of ``crisis_at`` (seconds
    from the start, in order); returns /help update ids per chat, crisis update ids per case."""
    people = [standin.user(100_000 + i, f"P{i}", "en") for i in range(HELP_PEOPLE)]
    helps: dict[int, list[int]] = defaultdict(list)
    crises: dict[int, int] = {}
    start = time.monotonic()
    sent = 0
    while (now := time.monotonic()) < start + seconds:
        while sent < (now - start) * rate:
            person = people[sent % len(people)]
            update = await standin.send_text(person, "/help")
            helps[person.id].append(update["update_id"])
            sent += 1
        while len(crises) < len(crisis_at) and now >= start + crisis_at[len(crises)]:
            case = len(crises) + 1
            someone = standin.user(CRISIS_PEOPLE + case, f"C{case}", "en")
            update = await standin.send_text(someone, f"I want to kill myself (case {case})")
            crises[case] = update["update_id"]
        await asyncio.sleep(0.002)
    return helps, crises


def crisis_moments(args: argparse.Namespace) -> list[float]:
    """Every --crisis-every seconds; or, with --burst N, N random moments (seeded)."""
    if args.burst:
        seeded = random.Random(9)
        return sorted(seeded.uniform(0, args.burst_within) for _ in range(args.burst))
    count = int((args.seconds - args.crisis_every / 2) // args.crisis_every) + 1
    return [args.crisis_every / 2 + n * args.crisis_every for n in range(max(0, count))]


def reply_latencies(standin: TimedStandIn, helps: dict[int, list[int]]) -> list[float]:
    """Each /help paired with the next reply in its chat (one reply per /help, in order)."""
    replies: dict[int, list[float]] = defaultdict(list)
    for call in standin.calls:
        if call.method.lower() == "sendmessage" and call.ok:
            replies[call.params.get("chat_id")].append(call.at)
    latencies = []
    for chat_id, update_ids in helps.items():
        for update_id, replied_at in zip(update_ids, replies.get(chat_id, []), strict=False):
            if update_id in standin.handed_out:
                latencies.append(replied_at - standin.handed_out[update_id])
    return latencies


def alert_latencies(
    standin: TimedStandIn, crises: dict[int, int], chat_id: int = SUPERVISOR_CHAT_ID
) -> dict[int, float]:
    """Per case, from its message to the first message in ``chat_id`` that carries it."""
    latencies: dict[int, float] = {}
    for call in standin.calls:
        if call.method.lower() != "sendmessage" or not call.ok:
            continue
        if call.params.get("chat_id") != chat_id:
            continue
        for case in CASE.findall(call.result.get("text", "")):
            update_id = crises.get(int(case))
            if update_id in standin.handed_out and int(case) not in latencies:
                latencies[int(case)] = call.at - standin.handed_out[update_id]
    return latencies


def answer_latencies(standin: TimedStandIn, crises: dict[int, int]) -> list[float]:
    """Per case, from its message to the first message the bot sends its writer."""
    latencies = []
    for case, update_id in crises.items():
        sent = [
            call.at
            for call in standin.calls
            if call.method.lower() == "sendmessage"
            and call.ok
            and call.params.get("chat_id") == CRISIS_PEOPLE + case
        ]
        if sent and update_id in standin.handed_out:
            latencies.append(min(sent) - standin.handed_out[update_id])
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def describe(name: str, values: list[float], expected: int) -> str:
    if not values:
        return f"{name:<28} none of {expected}"
    return (
        f"{name:<28} {len(values):>5} of {expected:<5} "
        f"p50 {percentile(values, 0.5) * 1000:8.1f} ms   p99 {percentile(values, 0.99) * 1000:8.1f} ms"
        f"   max {max(values) * 1000:8.1f} ms"
    )


def messages_to(standin: TimedStandIn, chat_id: int) -> int:
    return sum(
        1
        for call in standin.calls
        if call.method.lower() == "sendmessage"
        and call.ok
        and call.params.get("chat_id") == chat_id
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="peerbot-alerts-") as tmp:
        data_dir = Path(tmp)
        async with TimedStandIn() as standin:
            key = Fernet.generate_key().decode()
            if args.burst:
                await put_a_supervisor_on_call(data_dir, key)
                standin.enforce_limits(
                    per_second=30, per_chat_per_second=1, per_group_per_minute=20
                )
            bot = await start_bot(standin, data_dir, telegram_limits=args.telegram_limits, key=key)
            try:
                began = time.monotonic()
                helps, crises = await feed(standin, args.seconds, args.rate, crisis_moments(args))
                fed_for = time.monotonic() - began
                expected_replies = sum(len(ids) for ids in helps.values())
                deadline = time.monotonic() + args.drain
                while time.monotonic() < deadline:
                    done = len(alert_latencies(standin, crises)) == len(crises)
                    if args.burst:
                        done = done and len(alert_latencies(standin, crises, ON_CALL)) == len(
                            crises
                        )
                    if done and len(reply_latencies(standin, helps)) >= expected_replies:
                        break
                    await asyncio.sleep(0.2)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    bot.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(bot.wait(), 15)
                except TimeoutError:
                    bot.kill()
                    await bot.wait()

            replies = reply_latencies(standin, helps)
            alerts = list(alert_latencies(standin, crises).values())
            pacing = "production limits" if args.telegram_limits else "outbox pacing relaxed"
            print(
                f"fed {expected_replies} /help + {len(crises)} crisis messages in {fed_for:.1f}s "
                f"({expected_replies / fed_for:.0f} updates/s; {pacing})"
            )
            print(describe("/help reply (baseline)", replies, expected_replies))
            if args.burst:
                direct = list(alert_latencies(standin, crises, ON_CALL).values())
                print(describe("alert to on-call (DM)", direct, len(crises)))
            print(describe("alert to supervisor chat", alerts, len(crises)))
            print(
                describe(
                    "crisis answer to the person", answer_latencies(standin, crises), len(crises)
                )
            )
            if args.burst:
                print(
                    f"messages carrying them: {messages_to(standin, ON_CALL)} to the on-call, "
                    f"{messages_to(standin, SUPERVISOR_CHAT_ID)} to the group; "
                    f"429 answers from the stand-in: {standin.rate_limited}"
                )
            if alerts and replies:
                ratio = statistics.median(alerts) / statistics.median(replies)
                print(f"alert p50 / reply p50: {ratio:.2f}")
            elif not alerts:
                print(
                    "no alert reached the supervisor chat: is crisis screening wired into "
                    f"build_dispatcher? (bot log: {data_dir / 'bot.log'} is deleted on exit)"
                )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to feed (60)")
    parser.add_argument(
        "--rate",
        type=float,
        default=RATE_DEFAULT,
        help="ordinary updates/s (100; 20 with --burst, within Telegram's 30 a second)",
    )
    parser.add_argument(
        "--crisis-every",
        type=float,
        default=3.5,
        help="seconds between crisis messages (3.5: within a group's 20 a minute)",
    )
    parser.add_argument(
        "--drain", type=float, default=30.0, help="seconds to wait for stragglers after (30)"
    )
    parser.add_argument(
        "--relaxed",
        action="store_true",
        help="relax the bot's outbox pacing, to measure the pipeline with many more alerts",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=0,
        help="N people in crisis at random moments within --burst-within seconds, "
        "a supervisor on call, Telegram's limits enforced by the stand-in",
    )
    parser.add_argument("--burst-within", type=float, default=60.0, help="seconds (60)")
    arguments = parser.parse_args()
    arguments.telegram_limits = not arguments.relaxed
    if arguments.burst:
        arguments.seconds = max(arguments.seconds, arguments.burst_within + 1)
        if arguments.rate == RATE_DEFAULT:
            arguments.rate = BURST_RATE_DEFAULT
    return arguments


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
