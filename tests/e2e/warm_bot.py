"""What the end-to-end tests' fork server holds ready: the bot's code, lexicons and model.

A cold `python -m bot run` spends about 7 s of CPU importing aiogram (its pydantic
types), compiling the lexicons and reading the screening model before it polls; the
end-to-end tests start the bot over a hundred times, on two cores, so that alone was
most of the suite's time. The fork server (`multiprocessing`'s "forkserver" context)
imports this module once per test worker; each bot is then a fork of it running the
bot's own `bot.cli.main` with the test's environment, working directory and log, as
`python -m bot run` would.
Nothing of the bot is replaced: only the imports, the lexicons' compilation and the
shipped model are shared, each a pure function of the files on disk (a bot given another
model file, or the same file rewritten, reads it afresh).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence

import bot.app  # noqa: F401  (imported for its cost, once)
from bot.cli import main
from flows.screening import available_languages, load_lexicon, use_model

for _language in available_languages():
    load_lexicon(_language)
use_model()  # the shipped model; a bot given another file reads that one instead


def run(args: Sequence[str], env: Mapping[str, str], cwd: str, log_path: str) -> None:
    """The child's whole life: `python -m bot ARGS` with this environment and log."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    # Line-buffered, as PYTHONUNBUFFERED gives a cold start: a test reads the log live.
    sys.stdout = open(1, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = ["peerbot", *args]
    try:
        code = main(list(args))
    finally:
        logging.shutdown()  # the fork exits with os._exit: no atexit flushes the log
    sys.exit(code)
