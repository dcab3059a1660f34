"""People: export and erasure of everything held about them, and the in-process people cache."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import daily_logs, users
from storage.models import Consent, DailyLog, Role, User
from storage.users import KnownUsers


def answers(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "symptom_intensity": 6,
        "symptoms": ["pain", "fatigue"],
        "energy": 3,
        "activity": "less",
        "rest_breaks": 4,
        "sleep_quality": 5,
        "sleep_hours": 6.5,
        "mood": 4,
        "interference": 7,
        "note": None,
    }
    return base | changes


async def person(
    sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int = 7, **fields: object
) -> User:
    async with sessionmaker() as session, session.begin():
        user = await users.create(
            session, telegram_id=telegram_id, locale="es", pseudonym=f"Wren-{telegram_id}"
        )
        for name, value in fields.items():
            setattr(user, name, value)
        return user


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement: str, *_args) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


# --- export and erase ------------------------------------------------------------------------


async def test_an_export_holds_the_profile_consents_and_logs_with_notes_readable(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana = await person(
        sessionmaker,
        7,
        display_name="Ana García",
        timezone="Europe/Madrid",
        checkin_time=dt.time(20, 30),
    )
    other = await person(sessionmaker, 8)
    async with sessionmaker() as session, session.begin():
        users.record_consent(session, ana, 1)
        await daily_logs.save(session, ana.id, dt.date(2026, 5, 2), answers(note="Día duro."))
        await daily_logs.save(session, ana.id, dt.date(2026, 5, 1), answers(mood=8))
        await daily_logs.save(session, other.id, dt.date(2026, 5, 1), answers(note="not Ana's"))

    async with sessionmaker() as session:
        ana = await users.get_by_telegram_id(session, 7)
        exported = await users.export(session, ana)

    assert exported["profile"] == {
        "telegram_id": 7,
        "pseudonym": "Wren-7",
        "display_name": "Ana García",
        "role": "mentee",
        "language": "es",
        "time_zone": "Europe/Madrid",
        "checkin_time": "20:30",
        "joined": ana.created_at.isoformat(),
    }
    assert [c["version"] for c in exported["consents"]] == [1]
    logs = exported["daily_logs"]
    assert [log["date"] for log in logs] == ["2026-05-01", "2026-05-02"]
    assert [log["note"] for log in logs] == [None, "Día duro."]
    assert logs[0]["mood"] == 8 and logs[1]["symptoms"] == ["pain", "fatigue"]
    assert "not Ana's" not in json.dumps(exported, ensure_ascii=False)
    assert json.loads(json.dumps(exported, ensure_ascii=False)) == exported  # a file they can keep


async def test_erasing_a_person_removes_their_logs_and_consents_but_no_one_else_s(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana, ben = await person(sessionmaker, 7), await person(sessionmaker, 8)
    async with sessionmaker() as session, session.begin():
        for someone in (ana, ben):
            users.record_consent(session, someone, 1)
            await daily_logs.save(session, someone.id, dt.date(2026, 5, 1), answers(note="n"))

    async with sessionmaker() as session, session.begin():
        await users.erase(session, await users.get_by_telegram_id(session, 7))

    async with sessionmaker() as session:
        # Plain SQL, so that it is the database's own ON DELETE CASCADE that is seen.
        for table in ("users", "consents", "daily_logs"):
            column = "id" if table == "users" else "user_id"
            left = await session.scalar(
                text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": ana.id}
            )
            assert left == 0, f"{table} still holds the erased person's rows"
        assert await session.scalar(select(func.count()).select_from(DailyLog)) == 1
        assert await session.scalar(select(func.count()).select_from(Consent)) == 1
        assert await users.get_by_telegram_id(session, 8) is not None


async def test_people_with_given_roles_are_listed_by_role(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await person(sessionmaker, 3, role=Role.SUPERVISOR)
    await person(sessionmaker, 2, role=Role.MENTOR)
    await person(sessionmaker, 1, role=Role.MENTEE)
    await person(sessionmaker, 4, role=Role.MENTOR)
    async with sessionmaker() as session:
        listed = await users.list_with_roles(session, [Role.MENTOR, Role.SUPERVISOR])
    assert [(u.role, u.telegram_id) for u in listed] == [
        ("mentor", 2),
        ("mentor", 4),
        ("supervisor", 3),
    ]


# --- KnownUsers: people remembered between updates -------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(users, "monotonic", clock)
    return clock


async def test_a_person_seen_a_moment_ago_needs_no_query(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await person(sessionmaker, 7, timezone="Europe/Madrid")
    known = KnownUsers()
    async with sessionmaker() as session:
        first = await known.get(session, 7)

    with statements(engine) as seen:
        async with sessionmaker() as session:
            again = await known.get(session, 7)
            assert again.timezone == "Europe/Madrid"
    assert seen == []
    assert again is first


async def test_a_change_made_in_an_update_is_saved_through_the_remembered_person(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await person(sessionmaker, 7, timezone="Europe/Madrid")
    known = KnownUsers()
    async with sessionmaker() as session:
        await known.get(session, 7)
    async with sessionmaker() as session:
        (await known.get(session, 7)).timezone = "America/Bogota"
        await session.commit()

    async with sessionmaker() as session:
        assert (await users.get_by_telegram_id(session, 7)).timezone == "America/Bogota"


async def test_after_a_failed_update_the_person_is_read_again_without_the_lost_change(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await person(sessionmaker, 7, timezone="Europe/Madrid")
    known = KnownUsers()
    async with sessionmaker() as session:
        await known.get(session, 7)
    async with sessionmaker() as session:
        (await known.get(session, 7)).timezone = "Asia/Tokyo"  # then the handler crashes
    known.forget(7)

    with statements(engine) as seen:
        async with sessionmaker() as session:
            user = await known.get(session, 7)
            assert user.timezone == "Europe/Madrid"
            await session.commit()
    assert len(seen) == 1
    async with sessionmaker() as session:
        assert (await users.get_by_telegram_id(session, 7)).timezone == "Europe/Madrid"


async def test_a_person_who_erased_their_data_is_not_remembered(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await person(sessionmaker, 7)
    known = KnownUsers()
    async with sessionmaker() as session:
        user = await known.get(session, 7)
        await users.erase(session, user)
        await session.commit()
    known.settle(user)

    async with sessionmaker() as session:
        assert await known.get(session, 7) is None


async def test_settling_someone_who_was_not_deleted_keeps_them(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await person(sessionmaker, 7)
    known = KnownUsers()
    async with sessionmaker() as session:
        user = await known.get(session, 7)
        await session.commit()
    known.settle(user)
    known.settle(None)  # an update from no one in particular

    with statements(engine) as seen:
        async with sessionmaker() as session:
            assert await known.get(session, 7) is user
    assert seen == []


async def test_a_role_given_elsewhere_is_seen_once_the_entry_is_older_than_the_ttl(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    await person(sessionmaker, 7)
    known = KnownUsers(ttl=30)
    async with sessionmaker() as session:
        await known.get(session, 7)
    async with sessionmaker() as session, session.begin():  # the command line gives a role
        (await users.get_by_telegram_id(session, 7)).role = Role.MENTOR

    clock.now += 29
    async with sessionmaker() as session:
        assert (await known.get(session, 7)).role == "mentee"  # still remembered

    clock.now += 2
    with statements(engine) as seen:
        async with sessionmaker() as session:
            assert (await known.get(session, 7)).role == "mentor"
    assert len(seen) == 1


async def test_someone_never_seen_is_looked_up_each_time(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    known = KnownUsers()
    with statements(engine) as seen:
        for _ in range(2):
            async with sessionmaker() as session:
                assert await known.get(session, 99) is None
    assert len(seen) == 2  # so that their first /start is noticed at once


async def test_only_the_most_recent_people_are_remembered(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for telegram_id in (1, 2, 3):
        await person(sessionmaker, telegram_id)
    known = KnownUsers(size=2)
    for telegram_id in (1, 2, 3):
        async with sessionmaker() as session:
            await known.get(session, telegram_id)

    with statements(engine) as seen:
        async with sessionmaker() as session:
            await known.get(session, 3)
            await known.get(session, 2)
            assert seen == []
            assert (await known.get(session, 1)).telegram_id == 1
    assert len(seen) == 1


async def test_someone_active_again_is_kept_over_someone_who_went_quiet(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for telegram_id in (1, 2, 3):
        await person(sessionmaker, telegram_id)
    known = KnownUsers(size=2)
    for telegram_id in (1, 2, 1, 3):  # 1 writes again before 3 arrives; 2 went quiet
        async with sessionmaker() as session:
            await known.get(session, telegram_id)

    with statements(engine) as seen:
        async with sessionmaker() as session:
            await known.get(session, 1)
            await known.get(session, 3)
    assert seen == []
