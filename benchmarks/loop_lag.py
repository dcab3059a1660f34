"""The event loop's worst lag while another process holds SQLite's write lock for 2 s.

Another process (here a child Python, in real life `peerbot match confirm` or a backup)
takes the write lock with BEGIN IMMEDIATE and keeps it for ``--hold`` seconds. Meanwhile
the bot's engine (storage.db.create_engine, the inline SQLite connection) tries to write
from ``--writers`` concurrent tasks, and a ticker measures the longest time the event loop
was away. For comparison the same runs with SQLAlchemy's stock aiosqlite driver (a
thread per connection) and SQLite's own 5 s busy timeout.

    python benchmarks/loop_lag.py [--hold 2] [--writers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import create_engine

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


async def worst_lag_while_locked(
    engine: AsyncEngine, path: Path, hold: float, writers: int
) -> tuple[float, float]:
    """(worst loop lag, time until every writer had written), in seconds."""
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS notes (body TEXT)"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(hold)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.001)
            last = now

    async def writer(n: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes VALUES (:b)"), {"b": f"writer {n}"})

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    written = time.perf_counter() - started
    running = False
    await ticking
    holder.wait()
    await engine.dispose()
    return worst, written


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=2.0)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ours = Path(folder) / "inline.sqlite3"
        lag, written = await worst_lag_while_locked(
            create_engine(f"sqlite+aiosqlite:///{ours}"), ours, args.hold, args.writers
        )
        print(
            f"peerbot (inline SQLite):  worst loop lag {lag * 1000:7.1f} ms; writes landed after {written:.2f} s"
        )
        stock = Path(folder) / "stock.sqlite3"
        engine = create_async_engine(f"sqlite+aiosqlite:///{stock}", connect_args={"timeout": 5})
        lag, written = await worst_lag_while_locked(engine, stock, args.hold, args.writers)
        print(
            f"stock aiosqlite (thread): worst loop lag {lag * 1000:7.1f} ms; writes landed after {written:.2f} s"
        )
        print(f"(another process held the write lock for {args.hold:g} s)")


if __name__ == "__main__":
    asyncio.run(main())
