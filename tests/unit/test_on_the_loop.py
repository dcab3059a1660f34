"""Every filter and handler an update meets runs on the event loop, not in a thread.

aiogram hands a plain function (a bare ``F`` filter, a ``def`` filter) to a worker thread,
one hop each. Before ``handlers.filters.OnLoop`` a /help took 22 of them, and at 100
updates a second they were a large part of what kept a crisis alert waiting
(benchmarks/alert_latency.py).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Dispatcher

from bot.app import build_dispatcher
from bot.settings import Settings
from storage.db import create_engine
from tests.harness import Harness
from tests.unit.chat_helpers import Watch, make_person, media_update, person


def _registered(dispatcher: Dispatcher) -> Iterator[tuple[str, Any]]:
    """(where, callable) for every handler and filter, the routers' own filters included."""
    for router in dispatcher.chain_tail:
        for event, observer in router.observers.items():
            # A router's own filters (router.message.filter(...)) live on its stand-in handler.
            for handler in [*observer.handlers, observer._handler]:
                where = f"{router.name}.{event}"
                if handler is not observer._handler:
                    yield where, handler
                for each in handler.filters or ():
                    yield where, each


def _name(callable_object: Any) -> str:
    target = getattr(callable_object, "magic", None) or callable_object.callback
    return getattr(target, "__qualname__", repr(target))


def test_no_filter_or_handler_is_run_in_a_worker_thread(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/unused.sqlite3")
    dispatcher = build_dispatcher(Settings(_env_file=None, data_dir=tmp_path), engine)
    registered = list(_registered(dispatcher))
    in_threads = [f"{where}: {_name(each)}" for where, each in registered if not each.awaitable]
    assert len(registered) > 200  # every router was walked
    assert in_threads == [], "wrap it in handlers.filters.OnLoop, or make it async"


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What went to a worker thread through asyncio.to_thread (where aiogram sends them)."""
    seen: list[str] = []
    real = asyncio.to_thread

    async def noting(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        target = getattr(function, "func", function)
        seen.append(getattr(target, "__qualname__", repr(target)))
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", noting)
    return seen


async def test_a_mentees_day_makes_no_thread_hop(harness: Harness, sessionmaker, hops) -> None:
    await make_person(sessionmaker, 71)
    p = person(harness, Watch(harness), 71)
    assert "You are a mentee" in (await p.send("/help")).text
    await p.send("/log")
    await p.tap("3")
    await p.send("just a word")  # words where a tap is asked
    await p.chat.sticker()
    await harness.feed(media_update(p.chat.user, "voice"))
    await p.send("/nonsense")
    assert "crisis" in (await p.send("/crisis")).text.casefold()
    assert hops == []
    assert inspect.iscoroutinefunction(asyncio.to_thread)  # the recorder was in place


async def test_a_long_message_is_screened_off_the_loop_and_still_alerts(
    harness: Harness, sessionmaker, hops
) -> None:
    # Up to 90 ms of screening for 4,096 characters would hold up everyone else's updates.
    await make_person(sessionmaker, 72)
    p = person(harness, Watch(harness), 72)
    news = "The physio moved my appointment again and the bus was late. " * 20
    await p.send(news + "I want to kill myself tonight.")
    assert hops == ["screen"]
    assert any("Thank you for telling me" in said for said in p.texts())  # the crisis answer
    await p.send("thanks, the weather is nice today")  # a short one stays on the loop
    assert hops == ["screen"]
