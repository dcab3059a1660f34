"""Retries for the bot's own API calls: honour 429's retry_after, back off on 5xx and network errors.

A reply is retried within its update for up to ``budget`` seconds: a minute-long flood
answer (429) or a run of 502s from Telegram's front end delays it, it does not lose it.
Telegram's front end answers some 5xx with an HTML page instead of JSON; aiogram raises
``ClientDecodeError`` for it ("Failed to decode object"), which is retried like any 5xx.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)

REPLY_BUDGET = 75.0  # seconds: longer than the minute-long 429 storms Telegram can answer with

# Set by a caller that owns its retries (the outbox's delivery worker): one attempt only.
_single_attempt: ContextVar[bool] = ContextVar("peerbot_single_attempt", default=False)
# Set by a caller that has a fallback of its own (the crisis answer: the outbox).
_budget: ContextVar[float | None] = ContextVar("peerbot_retry_budget", default=None)


@contextmanager
def single_attempt() -> Iterator[None]:
    """Requests made inside are tried once: the caller handles 429, 5xx and network errors."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)


@contextmanager
def retry_budget(seconds: float) -> Iterator[None]:
    """Requests made inside are retried for at most ``seconds``, then the error is raised."""
    token = _budget.set(seconds)
    try:
        yield
    finally:
        _budget.reset(token)


def is_transient(error: BaseException) -> bool:
    """Telegram may well take this request a moment later: 429, 5xx (JSON or HTML), network."""
    if isinstance(error, ClientDecodeError):
        # An unparsable body is a front end's error page (502, 504); a body that parsed but
        # did not fit the method's answer would fail again the same way.
        return error.message == "Failed to decode object"
    return isinstance(error, (TelegramRetryAfter, TelegramServerError, TelegramNetworkError))


class RetryRequests(BaseRequestMiddleware):
    """A reply someone is waiting for should survive a flood limit or a server hiccup."""

    def __init__(
        self, budget: float = REPLY_BUDGET, max_wait: float = 30.0, base_delay: float = 0.5
    ) -> None:
        self.budget = budget
        self.max_wait = max_wait  # a longer retry_after is not worth a waiting person
        self.base_delay = base_delay

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Any,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates) or _single_attempt.get():
            return await make_request(bot, method)  # the caller has its own backoff
        deadline = time.monotonic() + (_budget.get() or self.budget)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await make_request(bot, method)
            except Exception as error:
                delay = self._delay(error, attempt)
                if delay is None or time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "%s failed (%s, attempt %d), retrying in %.1fs",
                    method.__api_method__,
                    type(error).__name__,
                    attempt,
                    delay,
                )
            await asyncio.sleep(delay)

    def _delay(self, error: Exception, attempt: int) -> float | None:
        """How long to wait before the next attempt; None: do not retry this error."""
        if not is_transient(error):
            return None
        if isinstance(error, TelegramRetryAfter):
            return float(error.retry_after) if error.retry_after <= self.max_wait else None
        backoff = min(8.0, self.base_delay * 2 ** (attempt - 1))
        return backoff * (1 + random.random())
