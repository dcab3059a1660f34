"""Run the real bot (`python -m bot run`) as a process of its own for end-to-end tests.

By default the bot is a fork of a warm copy (`tests/e2e/warm_bot.py`: the code
imported and the lexicons compiled, once per test worker) that runs the bot's own
`main` with the test's environment; that saves about 7 s of CPU a start. A bot whose
PYTHONPATH puts something before the code (a `sitecustomize` that steps the clock) or
any start with PEERBOT_TEST_COLD_START=1 runs as a cold `python -m bot` instead.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LOG_TAIL_CHARS = 6000
REPO_ROOT = Path(__file__).resolve().parents[2]


class BotProcessError(AssertionError):
    """The bot died, hung or misbehaved; the message carries the end of its log."""


class BotProcess:
    """One run of the bot. `env` is merged over os.environ; a None value unsets a variable."""

    def __init__(
        self,
        env: Mapping[str, str | None],
        cwd: Path | str,
        *,
        log_path: Path | str | None = None,
        args: tuple[str, ...] = ("run",),
    ) -> None:
        merged = {**os.environ, **env}
        self.env = {key: value for key, value in merged.items() if value is not None}
        self.cwd = Path(cwd)
        self.args = args
        self.log_path = Path(log_path) if log_path else _new_log_file()
        self._process: asyncio.subprocess.Process | _Forked | None = None

    def __repr__(self) -> str:
        return f"<BotProcess pid={self.pid} returncode={self.returncode} log={self.log_path}>"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        # Appending keeps the log of earlier runs when a test restarts the bot on one log.
        with self.log_path.open("ab") as log:
            log.write(f"=== {sys.executable} -m bot {' '.join(self.args)}\n".encode())
            log.flush()
            if self._warm():
                self._process = _Forked.start(self.args, self.env, self.cwd, self.log_path)
                return
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *self.args,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _warm(self) -> bool:
        """Whether a fork of the warm bot is the same as a cold start for this run."""
        if self.env.get("PEERBOT_TEST_COLD_START") == "1":
            return False
        first = self.env.get("PYTHONPATH", "").split(os.pathsep)[0]
        return first in ("", str(REPO_ROOT))

    async def wait(self) -> int:
        """Wait for the bot to exit on its own; returns the exit code."""
        if self._process is None:
            raise RuntimeError("the bot was never started")
        return await self._process.wait()

    async def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait for a clean shutdown; SIGKILL if it takes longer than `timeout`."""
        if self._process is None:
            return None
        if self.running:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), timeout)
            except TimeoutError:
                self.kill9()
                await self._process.wait()
        return self._process.returncode

    def kill9(self) -> None:
        """Crash the bot the hard way: no shutdown code runs. `await wait()` to reap it."""
        if self.running:
            self._process.kill()

    async def until_ready(
        self, ready: Awaitable[T], *, timeout: float = 30.0, what: str = "the bot to be ready"
    ) -> T:
        """Await `ready`, failing fast with the log if the bot exits or `timeout` passes first."""
        readiness = asyncio.ensure_future(ready)
        exit_code = asyncio.ensure_future(self.wait())
        try:
            done, _ = await asyncio.wait(
                {readiness, exit_code}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            readiness.cancel()
            exit_code.cancel()
        if readiness in done:
            try:
                return readiness.result()
            except AssertionError as error:
                raise self.failure(f"while waiting for {what}: {error}") from None
        if exit_code in done:
            raise self.failure(f"the bot exited with code {exit_code.result()} before {what}")
        raise self.failure(f"timed out after {timeout}s waiting for {what}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def failure(self, message: str) -> BotProcessError:
        """An error for a test to raise, with the end of the bot's log attached."""
        log = self.log_text()
        if len(log) > LOG_TAIL_CHARS:
            log = "[...]\n" + log[-LOG_TAIL_CHARS:]
        return BotProcessError(f"{message}\n--- bot log ({self.log_path}) ---\n{log}")


async def run_to_the_end(
    args: tuple[str, ...], env: Mapping[str, str | None], cwd: Path | str, timeout: float = 60.0
) -> tuple[int, str]:
    """`python -m bot ARGS` (a command such as `peerbot status`, or a start that must fail),
    run as `BotProcess` runs the bot, to its end: its exit code and what it printed."""
    process = BotProcess(env, cwd, args=args)
    await process.start()
    try:
        code = await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        await process.stop()
        raise process.failure(f"`peerbot {' '.join(args)}` did not end in {timeout:.0f}s") from None
    printed = process.log_text().split("\n", 1)[1]  # after the line `start` wrote
    process.log_path.unlink(missing_ok=True)
    return code, printed


def _new_log_file() -> Path:
    descriptor, path = tempfile.mkstemp(prefix="peerbot-", suffix=".log")
    os.close(descriptor)
    return Path(path)


class _Forked:
    """A fork of the warm bot, with the few methods of `asyncio.subprocess.Process` used here."""

    _context: multiprocessing.context.ForkServerContext | None = None

    def __init__(self, process: multiprocessing.Process) -> None:
        self._process = process
        self._ended: asyncio.Future[None] | None = None

    @classmethod
    def start(
        cls, args: tuple[str, ...], env: Mapping[str, str], cwd: Path, log_path: Path
    ) -> _Forked:
        if cls._context is None:
            cls._context = multiprocessing.get_context("forkserver")
            cls._context.set_forkserver_preload(["tests.e2e.warm_bot"])
        process = cls._context.Process(
            target=_run_warm, args=(args, dict(env), str(cwd), str(log_path)), name="peerbot"
        )
        process.start()
        return cls(process)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode  # negative for a signal, as asyncio's

    async def wait(self) -> int:
        if self._process.exitcode is None:
            await asyncio.shield(self._end())
        self._process.join()
        return self._process.exitcode

    def _end(self) -> asyncio.Future[None]:
        """One future for every waiter: the loop watches the process's sentinel once."""
        if self._ended is None:
            loop = asyncio.get_running_loop()
            ended = self._ended = loop.create_future()
            sentinel = self._process.sentinel

            def done() -> None:
                loop.remove_reader(sentinel)
                if not ended.done():
                    ended.set_result(None)

            loop.add_reader(sentinel, done)
        return self._ended

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()


def _run_warm(args: tuple[str, ...], env: Mapping[str, str], cwd: str, log_path: str) -> None:
    """In the fork: the fork server already imported `warm_bot` (the tests never do)."""
    from tests.e2e.warm_bot import run

    run(args, env, cwd, log_path)
