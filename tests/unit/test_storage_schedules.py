"""Scheduling is data: due rows are claimed once, by one claimer, and rescheduled in the
same transaction (storage/schedules.py, bot/scheduler.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import scheduler
from bot.i18n import create_i18n
from bot.scheduler import Tick
from bot.settings import Settings
from storage import schedules
from storage.schedules import Due

NOW = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC)


async def _plan(
    sessionmaker: async_sessionmaker[AsyncSession], kind: str, dues: dict[int, dt.datetime | None]
) -> None:
    async with sessionmaker() as session, session.begin():
        await schedules.set_many(
            session, kind, [(subject, due, {"n": subject}) for subject, due in dues.items()]
        )


async def test_only_what_is_due_is_claimed_and_only_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    minute = dt.timedelta(minutes=1)
    await _plan(sessionmaker, "checkin", {1: NOW - minute, 2: NOW, 3: NOW + minute, 4: None})
    await _plan(sessionmaker, "digest", {1: NOW - minute})

    async with sessionmaker() as session, session.begin():
        first = await schedules.claim_due(session, "checkin", NOW)
    async with sessionmaker() as session, session.begin():
        again = await schedules.claim_due(session, "checkin", NOW)

    assert sorted(due.subject_id for due in first) == [1, 2]
    assert {due.subject_id: due.state for due in first} == {1: {"n": 1}, 2: {"n": 2}}
    assert again == []  # claimed rows are no longer due until someone sets their next time
    async with sessionmaker() as session:
        digest = await schedules.get(session, "digest", 1)
        later = await schedules.get(session, "checkin", 3)
    assert digest is not None and digest.due_at == NOW - minute  # other kinds untouched
    assert later is not None and later.due_at == NOW + minute


async def test_a_claim_rolled_back_stays_due(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _plan(sessionmaker, "checkin", {1: NOW})
    async with sessionmaker() as session:
        assert len(await schedules.claim_due(session, "checkin", NOW)) == 1
        await session.rollback()  # the process died before its commit
    async with sessionmaker() as session, session.begin():
        assert [due.subject_id for due in await schedules.claim_due(session, "checkin", NOW)] == [1]


async def test_two_claimers_at_once_share_the_rows_without_overlap(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _plan(sessionmaker, "checkin", {n: NOW for n in range(1, 201)})

    async def claim_all() -> list[int]:
        taken: list[int] = []
        while True:
            async with sessionmaker() as session, session.begin():
                due = await schedules.claim_due(session, "checkin", NOW, limit=25)
                await asyncio.sleep(0)  # let the other claimer run inside our transaction
            if not due:
                return taken
            taken += [d.subject_id for d in due]

    first, second = await asyncio.gather(claim_all(), claim_all())
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(1, 201))


async def test_a_tick_hands_each_kind_its_due_rows_and_commits_the_next_time(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _plan(sessionmaker, "checkin", {n: NOW for n in range(1, 6)})
    seen: list[int] = []

    async def remind(session: AsyncSession, due: list[Due], tick: Tick) -> None:
        seen.extend(d.subject_id for d in due)
        await schedules.set_many(
            session, "checkin", [(d.subject_id, tick.now + dt.timedelta(days=1), {}) for d in due]
        )

    monkeypatch.setattr(scheduler, "due_handlers", lambda: {"checkin": remind})
    handled = await scheduler.run_due(
        sessionmaker, settings, i18n=create_i18n("en"), now=NOW, batch=2
    )
    again = await scheduler.run_due(
        sessionmaker, settings, i18n=create_i18n("en"), now=NOW, batch=2
    )

    assert sorted(seen) == [1, 2, 3, 4, 5] and handled == {"checkin": 5}
    assert again == {}
    async with sessionmaker() as session:
        row = await schedules.get(session, "checkin", 3)
    assert row is not None and row.due_at == NOW + dt.timedelta(days=1)


async def test_forget_removes_a_persons_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _plan(sessionmaker, "checkin", {1: NOW, 2: NOW})
    async with sessionmaker() as session, session.begin():
        await schedules.forget(session, "checkin", [1])
    async with sessionmaker() as session:
        assert await schedules.get(session, "checkin", 1) is None
        assert await schedules.get(session, "checkin", 2) is not None


def test_every_declared_kind_has_its_due_handler_and_names_its_subject() -> None:
    # One registry (issue 12): a kind is declared once, with what its subject is; /privacy
    # erases a person's rows of every kind by it, and the scheduler runs each one's handler.
    from storage import personal_data

    handlers = scheduler.due_handlers()
    assert set(handlers) == set(schedules.KINDS)
    assert {"checkin", "silence", "digest", "plan_check", "match_checkin"} <= set(handlers)
    assert set(personal_data.PERSONAL_SCHEDULES) == set(schedules.kinds_about(schedules.PERSON))
    assert "plan_check" in personal_data.PERSONAL_SCHEDULES  # was missing from the hand list
    assert personal_data.MATCH_SCHEDULES == ("match_checkin",)


def test_a_kind_without_a_handler_stops_the_scheduler_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(schedules.KINDS, "forgotten", schedules.PERSON)
    with pytest.raises(RuntimeError, match="forgotten"):
        scheduler.due_handlers()
