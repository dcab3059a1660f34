"""What the scheduler's tick hands to the handlers of due rows, and the registry of those
handlers: each kind of scheduled thing (``storage.schedules.KINDS``) names its handler here,
beside the commands it belongs to (they render), with ``@handles(kind)``. ``bot/scheduler.py``
runs them, and refuses to start when a declared kind has none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from storage.schedules import Due


@dataclass(frozen=True)
class Tick:
    settings: Settings
    i18n: I18n
    now: dt.datetime


# handle(session, due rows, tick): queue what is due and set each row's next time.
Handler = Callable[[AsyncSession, list[Due], Tick], Awaitable[None]]
DUE: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a declared schedule kind."""

    def register(handle: Handler) -> Handler:
        if kind in DUE and DUE[kind] is not handle:
            raise ValueError(f"schedule kind {kind!r} has two handlers")
        DUE[kind] = handle
        return handle

    return register
