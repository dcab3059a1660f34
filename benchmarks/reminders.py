"""How fast a crowd of reminders is claimed and queued, and how fast it is delivered.

1. Claim and queue. ``--people`` mentees (10,000) in five zones all have their check-in
   reminder due in the same minute, in a real SQLite file. One scheduler tick
   (``bot.scheduler.run_due``: claim, read the people and today's logs, render, queue
   into the outbox, set each next reminder) is timed; the goal is under 2 s. The
   baseline, in the same run and on the same engine: a bare executemany INSERT of as
   many outbox-sized rows (no claim, no encryption, no rendering).
2. Delivery. The first ``--deliver`` queued reminders (one per person: one per chat) are
   sent by the real DeliveryWorker and aiogram client over HTTP on 127.0.0.1 to the Bot
   API stand-in enforcing Telegram's 30 messages a second (``enforce_limits``). Printed:
   messages a second from the first send to the last (goal: at least 28) and the number
   of 429 answers (goal: none).

    python benchmarks/reminders.py [--people 10000] [--deliver 750] [--rounds 3]

Prints its figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet
from sqlalchemy import delete, func, insert, select, update

from bot.app import build_bot
from bot.delivery import DeliveryWorker
from bot.i18n import create_i18n
from bot.scheduler import run_due
from bot.settings import Settings
from flows import reminders as flow
from flows.onboarding import CONSENT_VERSION
from storage import crypto, outbox, schedules
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_async
from storage.models import OutboxMessage, Schedule, User, utcnow
from tests.e2e.standin import TelegramStandIn

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/St_Johns", "UTC")
TOKEN = "123456:BENCH"
FIRST_TELEGRAM_ID = 1_000_000


async def seed(sessionmaker, people: int, at: dt.datetime) -> None:
    """``people`` onboarded mentees whose check-in time is ``at``, their reminders due."""
    now = utcnow()
    rows = []
    for n in range(people):
        zone = ZONES[n % len(ZONES)]
        rows.append(
            {
                "telegram_id": FIRST_TELEGRAM_ID + n,
                "role": "mentee",
                "locale": "en",
                "pseudonym": f"Moss-{n}",
                "timezone": zone,
                "checkin_time": at.astimezone(zoneinfo.ZoneInfo(zone)).time(),
                "consent_version": CONSENT_VERSION,
                "consent_at": now,
                "onboarded_at": now,
                "created_at": now,
            }
        )
    async with sessionmaker() as session:
        await session.execute(insert(User), rows)
        ids = (await session.execute(select(User.id))).scalars().all()
        state = {"at": at.isoformat()}
        await schedules.set_many(session, flow.CHECKIN, [(i, at, state) for i in ids])
        await session.commit()


async def make_due_again(sessionmaker, at: dt.datetime) -> None:
    """Forget the previous round: its outbox rows, and every reminder due at ``at`` again."""
    async with sessionmaker() as session:
        await session.execute(delete(OutboxMessage))
        await session.execute(
            update(Schedule)
            .where(Schedule.kind == flow.CHECKIN)
            .values(due_at=at, state={"at": at.isoformat()})
        )
        await session.commit()


async def bare_insert(sessionmaker, people: int, payload: str) -> float:
    """The baseline: one executemany INSERT of ``people`` outbox-sized rows, committed."""
    now = utcnow()
    rows = [
        {
            "key": f"bare:{n}",
            "chat_id": FIRST_TELEGRAM_ID + n,
            "payload": payload,
            "status": "pending",
            "priority": 1,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
        }
        for n in range(people)
    ]
    table = OutboxMessage.__table__  # Core table: the payload column is plain text here
    started = time.perf_counter()
    async with sessionmaker() as session:
        await session.execute(table.insert(), rows)
        await session.commit()
    elapsed = time.perf_counter() - started
    async with sessionmaker() as session:
        await session.execute(delete(OutboxMessage))
        await session.commit()
    return elapsed


async def claim_and_queue(settings: Settings, sessionmaker, people: int, rounds: int) -> None:
    i18n = create_i18n(settings.default_locale)
    at = (utcnow() - dt.timedelta(seconds=20)).replace(microsecond=0)
    await seed(sessionmaker, people, at)
    ticks, bares = [], []
    payload = ""
    for _round in range(rounds):
        await make_due_again(sessionmaker, at)
        started = time.perf_counter()
        handled = await run_due(sessionmaker, settings, i18n, now=at + dt.timedelta(seconds=20))
        ticks.append(time.perf_counter() - started)
        async with sessionmaker() as session:
            queued = await outbox.count(session, outbox.PENDING)
            payload = payload or await session.scalar(select(OutboxMessage.payload).limit(1))
        assert handled == {"checkin": people} and queued == people, (handled, queued)
        bares.append(await bare_insert(sessionmaker, people, payload))
    await make_due_again(sessionmaker, at)
    await run_due(sessionmaker, settings, i18n, now=at + dt.timedelta(seconds=20))
    tick, bare = median(ticks), median(bares)
    print(f"claim and queue: {people} reminders due in the same minute, SQLite file")
    print(f"  run_due (claim, read, render, queue, reschedule): {tick:.3f} s (median)")
    print(f"  all rounds: {', '.join(f'{t:.3f}' for t in ticks)} s")
    print(f"  baseline, bare executemany INSERT of {people} outbox rows: {bare:.3f} s")
    print(f"  ratio run_due / bare insert: {tick / bare:.1f}x; goal under 2 s: {tick < 2}")


async def deliver(settings: Settings, sessionmaker, count: int) -> None:
    """Keep ``count`` queued reminders (one per chat) and send them through the stand-in."""
    async with sessionmaker() as session:
        kept = select(OutboxMessage.id).order_by(OutboxMessage.id).limit(count).scalar_subquery()
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.not_in(kept)))
        await session.commit()
    async with TelegramStandIn() as standin:
        standin.enforce_limits(per_second=30, per_chat_per_second=1)
        settings.telegram_api_url = standin.base_url
        bot = build_bot(settings, TOKEN)
        worker = DeliveryWorker(bot, sessionmaker)
        running = asyncio.create_task(worker.run())
        deadline = time.monotonic() + count / 20 + 30
        while time.monotonic() < deadline:
            async with sessionmaker() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != outbox.SENT)
                )
            if not waiting:
                break
            await asyncio.sleep(0.5)
        worker.stop()
        await running
        await bot.session.close()
        sends = [c for c in standin.calls if c.method.lower() == "sendmessage"]
        accepted = [c for c in sends if c.ok]
        refused = [c for c in sends if c.status == 429]
    span = accepted[-1].at - accepted[0].at if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / span if span else float("nan")
    print(
        f"delivery: {count} reminders, real DeliveryWorker and aiogram over HTTP, stand-in at 30/s"
    )
    print(f"  sent {len(accepted)}/{count} in {span:.1f} s: {rate:.1f} messages/s (goal >= 28)")
    print(f"  429 answers: {len(refused)} (stand-in counted {standin.rate_limited}; goal 0)")


async def main(people: int, count: int, rounds: int) -> None:
    crypto.use_cipher(crypto.Cipher([Fernet.generate_key()]))
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), _env_file=None)
        await upgrade_async(settings.resolved_database_url)
        engine = create_engine(settings.resolved_database_url)
        sessionmaker = create_sessionmaker(engine)
        try:
            await claim_and_queue(settings, sessionmaker, people, rounds)
            await deliver(settings, sessionmaker, min(count, people))
        finally:
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--deliver", type=int, default=750)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.deliver, args.rounds))
