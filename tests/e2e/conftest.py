"""Fixtures for end-to-end tests: the Bot API stand-in and the real bot as a subprocess."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.e2e import transcript
from tests.e2e.botproc import REPO_ROOT, BotProcess
from tests.e2e.standin import TelegramStandIn

BOT_TOKEN = "123456:TEST"
BOT_ID = 123456
# One key for the whole run, so a restarted bot can still read what it stored.
ENCRYPTION_KEY = Fernet.generate_key().decode()
READY_TIMEOUT = 60.0  # a generous bound: four bots may be starting at once

StartBot = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def standin(request: pytest.FixtureRequest) -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as server:
        yield server
        if folder := os.environ.get("PEERBOT_TRANSCRIPTS"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            transcript.write(server, Path(folder), request.node.name)


@pytest.fixture
async def bot_factory(standin: TelegramStandIn, tmp_path: Path) -> AsyncIterator[StartBot]:
    """`await start_bot(**extra_env)` runs the bot against `standin` until it polls.

    Call it again after `kill9()`/`stop()` to restart on the same database. Extra env
    values are stringified; None unsets a variable.
    """
    started: list[BotProcess] = []

    async def start_bot(**extra_env: object) -> BotProcess:
        env = bot_env(standin, tmp_path) | {
            key: None if value is None else str(value) for key, value in extra_env.items()
        }
        process = BotProcess(env, cwd=tmp_path, log_path=tmp_path / f"bot-{len(started) + 1}.log")
        mark = standin.mark()
        await process.start()
        started.append(process)
        first_poll = standin.wait_for("getUpdates", after=mark, timeout=READY_TIMEOUT + 5)
        await process.until_ready(first_poll, timeout=READY_TIMEOUT, what="its first getUpdates")
        return process

    yield start_bot
    for process in reversed(started):
        await process.stop()


@pytest.fixture
def bot_process(bot_factory: StartBot) -> StartBot:
    """Another name for `bot_factory`."""
    return bot_factory


def bot_env(standin: TelegramStandIn, data_dir: Path) -> dict[str, str]:
    # The bot runs from data_dir so a developer's .env in the repo cannot leak in;
    # PYTHONPATH still finds the code.
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        "PYTHONPATH": python_path,
        "PYTHONUNBUFFERED": "1",
        "BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_URL": standin.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/peerbot.sqlite3",
        "DATA_DIR": str(data_dir),
        "ENCRYPTION_KEY": ENCRYPTION_KEY,
        "POLLING_TIMEOUT": "1",
    }
