"""Retries for the bot's own API calls: honour 429's retry_after, back off on 5xx and network errors."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)

# Set by a caller that owns its retries (the outbox's delivery worker): one attempt only.
_single_attempt: ContextVar[bool] = ContextVar("peerbot_single_attempt", default=False)


@contextmanager
def single_attempt() -> Iterator[None]:
    """Requests made inside are tried once: the caller handles 429, 5xx and network errors."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)


class RetryRequests(BaseRequestMiddleware):
    """A reply someone is waiting for should survive a brief flood limit or server hiccup."""

    def __init__(self, attempts: int = 4, max_wait: float = 30.0, base_delay: float = 0.5) -> None:
        self.attempts = attempts
        self.max_wait = max_wait
        self.base_delay = base_delay

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Any,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates) or _single_attempt.get():
            return await make_request(bot, method)  # the caller has its own backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                delay = float(error.retry_after)
            except (TelegramServerError, TelegramNetworkError):
                if attempt == self.attempts:
                    raise
                delay = self.base_delay * 2 ** (attempt - 1) * (1 + random.random())
            log.warning(
                "%s failed (attempt %d), retrying in %.1fs", method.__api_method__, attempt, delay
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")
