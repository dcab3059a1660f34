"""The in-process fake Telegram, taught to fail on cue and to serve getUpdates.

`ScriptedTelegram` extends `tests.fakes.FakeTelegram`: `fail(...)` makes the next calls
to a chat answer with one of Telegram's errors (raised by aiogram's own response check,
exactly as over HTTP), every call is recorded with its time, and `queue(update)` hands
updates out through getUpdates like Telegram does (an offset confirms, i.e. forgets).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update

from bot.app import build_bot
from bot.settings import Settings
from tests.fakes import FakeTelegram

DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Call:
    at: float  # time.monotonic()
    method: str
    chat_id: int | None
    status: int  # 200, an HTTP error status, or 0 for a network error
    text: str | None = None


@dataclass
class _Fault:
    method: str
    status: int
    chat_id: int | None
    times: int
    retry_after: int | None
    description: str | None


class ScriptedTelegram(FakeTelegram):
    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.calls: list[Call] = []
        self.updates: list[Update] = []  # handed out by getUpdates until confirmed
        self.offsets: list[int | None] = []
        self.before_get_updates: Callable[[int | None], Awaitable[None]] | None = None
        self._faults: list[_Fault] = []
        self._queued = asyncio.Event()

    def fail(
        self,
        status: int,
        *,
        method: str = "sendMessage",
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`) with `status`; 0 = network error."""
        self._faults.append(_Fault(method, status, chat_id, times, retry_after, description))

    def queue(self, update: Update) -> None:
        self.updates.append(update)
        self._queued.set()

    def sends(self, chat_id: int | None = None, status: int = 200) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method != "getUpdates"
            and call.status == status
            and (chat_id is None or call.chat_id == chat_id)
        ]

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        chat_id = int(chat_id) if chat_id is not None else None
        if self.latency:
            await asyncio.sleep(self.latency)
        now = time.monotonic()
        fault = next(
            (
                f
                for f in self._faults
                if f.method == name and f.times > 0 and f.chat_id in (None, chat_id)
            ),
            None,
        )
        if fault is not None:
            fault.times -= 1
            self.calls.append(Call(now, name, chat_id, fault.status))
            if fault.status == 0:
                raise TelegramNetworkError(method=method, message="ClientConnectorError: refused")
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": (
                    fault.description or DESCRIPTIONS.get(fault.status, "Error")
                ).format(retry_after=fault.retry_after),
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            self.check_response(bot, method, fault.status, json.dumps(body))  # raises
        if isinstance(method, GetUpdates):
            self.calls.append(Call(now, name, None, 200))
            return await self._get_updates(bot, method)
        self.calls.append(Call(now, name, chat_id, 200, getattr(method, "text", None)))
        return await super().make_request(bot, method, timeout)

    async def _get_updates(self, bot: Bot, method: GetUpdates) -> list[Update]:
        self.offsets.append(method.offset)
        if self.before_get_updates is not None:
            await self.before_get_updates(method.offset)
        if method.offset is not None:
            self.updates = [u for u in self.updates if u.update_id >= method.offset]
        if not self.updates:
            self._queued.clear()
            try:
                await asyncio.wait_for(self._queued.wait(), min(method.timeout or 0, 0.2))
            except TimeoutError:
                return []
        return [
            Update.model_validate(u.model_dump(), context={"bot": bot})
            for u in self.updates[: method.limit or 100]
        ]


def scripted_bot(latency: float = 0.0) -> tuple[Bot, ScriptedTelegram]:
    """peerbot's own Bot (RetryRequests and all) over a ScriptedTelegram."""
    telegram = ScriptedTelegram(latency=latency)
    return build_bot(Settings(_env_file=None), "123456:TEST", telegram), telegram
