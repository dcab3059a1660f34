"""Daily logs on disk: one per person per local date, replaced when logged again that day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import daily_logs, users
from storage.models import DailyLog


def answers(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "symptom_intensity": 6,
        "symptoms": ["pain", "fatigue"],
        "energy": 3,
        "activity": "less",
        "rest_breaks": 5,
        "sleep_quality": 5,
        "sleep_hours": 6.5,
        "mood": 4,
        "interference": 7,
        "note": "Paced the shopping in two trips.",
    }
    return base | changes


async def person(sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int) -> int:
    async with sessionmaker() as session, session.begin():
        user = await users.create(
            session, telegram_id=telegram_id, locale="en", pseudonym=f"Fern-{telegram_id}"
        )
        return user.id


async def test_a_log_is_stored_with_every_answer(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana = await person(sessionmaker, 7)
    async with sessionmaker() as session, session.begin():
        await daily_logs.save(session, ana, dt.date(2026, 3, 29), answers())

    async with sessionmaker() as session:
        log = await daily_logs.get(session, ana, dt.date(2026, 3, 29))
        assert daily_logs.answers_of(log) == answers()
        assert await daily_logs.get(session, ana, dt.date(2026, 3, 30)) is None


async def test_logging_again_the_same_day_replaces_that_day_s_log(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana = await person(sessionmaker, 7)
    day = dt.date(2026, 3, 29)
    async with sessionmaker() as session, session.begin():
        first = await daily_logs.save(session, ana, day, answers())
    created_at, first_saved_at = first.created_at, first.updated_at

    async with sessionmaker() as session, session.begin():
        await daily_logs.save(
            session, ana, day, answers(mood=8, symptoms=[], note=None, sleep_hours=9.0)
        )

    async with sessionmaker() as session:
        logs = (await session.execute(select(DailyLog))).scalars().all()
        assert len(logs) == 1
        (log,) = logs
        assert (log.mood, log.symptoms, log.sleep_hours) == (8, [], 9.0)
        assert log.note is None  # the morning's note does not linger
        assert log.created_at == created_at
        assert log.updated_at >= first_saved_at


async def test_an_answer_missing_from_a_second_log_is_not_kept_from_the_first(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana = await person(sessionmaker, 7)
    day = dt.date(2026, 3, 29)
    async with sessionmaker() as session, session.begin():
        await daily_logs.save(session, ana, day, answers(note="first note"))
    without_note = {k: v for k, v in answers().items() if k != "note"}
    async with sessionmaker() as session, session.begin():
        await daily_logs.save(session, ana, day, without_note)
    async with sessionmaker() as session:
        assert (await daily_logs.get(session, ana, day)).note is None


async def test_since_returns_a_person_s_days_in_date_order_from_the_first_date(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana, ben = await person(sessionmaker, 7), await person(sessionmaker, 8)
    async with sessionmaker() as session, session.begin():
        for day in (5, 2, 7, 1, 3):
            await daily_logs.save(session, ana, dt.date(2026, 4, day), answers(mood=day))
            await session.flush()
        await daily_logs.save(session, ben, dt.date(2026, 4, 4), answers())

    async with sessionmaker() as session:
        week = await daily_logs.since(session, ana, dt.date(2026, 4, 2))

    assert [log.local_date.day for log in week] == [2, 3, 5, 7]
    assert [log.mood for log in week] == [2, 3, 5, 7]


async def test_each_person_keeps_their_own_log_for_the_same_date(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana, ben = await person(sessionmaker, 7), await person(sessionmaker, 8)
    day = dt.date(2026, 4, 1)
    async with sessionmaker() as session, session.begin():
        await daily_logs.save(session, ana, day, answers(mood=2))
        await daily_logs.save(session, ben, day, answers(mood=9))
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DailyLog)) == 2
        assert (await daily_logs.get(session, ana, day)).mood == 2
        assert (await daily_logs.get(session, ben, day)).mood == 9
