"""`peerbot oncall rota set|show|clear` as an operator runs it: a file is checked line by
line, people who are not supervisors are refused, the shift under way is handed over at
once and the bot's tick is set for the next event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows import rota as rota_flow
from storage import schedules, users
from storage.models import OutboxMessage, Role, RotaShift, utcnow
from tests.unit import test_cli_safety
from tests.unit.test_cli_safety import (
    MENTEE,
    SUPERVISOR,
    SUPERVISOR_2,
    open_shifts,
    run,
    seed,
    supervisors,
)

database = test_cli_safety.database  # the operator's environment (a fixture)


def rota_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rota.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def all_week(primary: int, backup: int | None = None) -> str:
    """Every day, all day: whatever the time of the test, a shift is under way."""
    return f"timezone: Europe/Berlin\ndaily 00:00 24:00 {primary} {backup or ''}\n"


def test_rota_set_hands_over_now_and_schedules_the_next_event(capsys, database, tmp_path) -> None:
    supervisors(capsys, database)
    code, out = run(capsys, "oncall", "rota", "set", rota_file(tmp_path, all_week(SUPERVISOR)))
    assert code == 0, out
    assert "Rota set: 7 weekly shifts, times in Europe/Berlin." in out
    assert f"On call now, by the rota: {SUPERVISOR} (Owl-{SUPERVISOR})" in out
    assert open_shifts(database) == [(SUPERVISOR, "primary")]

    async def look(session: AsyncSession):
        due = await schedules.get(session, rota_flow.KIND, 0)
        told = (await session.execute(select(OutboxMessage))).scalars().all()
        return due.due_at, [(m.chat_id, m.key.split(":")[1]) for m in told]

    due_at, told = seed(database, look)
    assert utcnow() < due_at < utcnow() + dt.timedelta(days=1)
    assert told == [(SUPERVISOR, "start")]

    code, out = run(capsys, "oncall", "rota", "show")
    assert code == 0 and "This week's shifts, times in Europe/Berlin:" in out
    assert out.count(f"primary {SUPERVISOR} (Owl-{SUPERVISOR})") == 7 and "<- now" in out
    assert f"On call now: {SUPERVISOR}" in out and "Next hand-over:" in out

    code, out = run(capsys, "oncall", "rota", "clear")
    assert code == 0 and "Rota cleared (7 weekly shifts)" in out
    assert open_shifts(database) == [(SUPERVISOR, "primary")], "nobody's shift is ended"
    assert run(capsys, "oncall", "rota", "show") == (
        0,
        "No rota (peerbot oncall rota set FILE).\n",
    )


def test_rota_set_refuses_a_bad_line_and_keeps_the_old_rota(capsys, database, tmp_path) -> None:
    supervisors(capsys, database)
    assert run(capsys, "oncall", "rota", "set", rota_file(tmp_path, all_week(SUPERVISOR)))[0] == 0
    bad = "timezone: Europe/Berlin\nMon 08:00 18:00 900\nTue 8 18:00 901\n"
    code, out = run(capsys, "oncall", "rota", "set", rota_file(tmp_path, bad))
    assert code == 1
    assert "line 3: '8' is not a start time (HH:MM, like 08:00); the rota was not changed" in out
    assert seed(database, _stored_count) == 7


def test_rota_set_refuses_who_is_not_a_supervisor(capsys, database, tmp_path) -> None:
    supervisors(capsys, database)
    code, out = run(capsys, "roles", "add", str(MENTEE), "mentor")
    text = (
        "timezone: Europe/Berlin\n"
        f"Mon 08:00 18:00 {SUPERVISOR} {MENTEE}\n"
        f"Tue 08:00 18:00 {SUPERVISOR_2}\n"
        "Wed 08:00 18:00 12345\n"
    )
    code, out = run(capsys, "oncall", "rota", "set", rota_file(tmp_path, text))
    assert code == 1
    assert f"line 2: {MENTEE} (backup) is not a supervisor but a mentor" in out
    assert "line 4: nobody with Telegram id 12345 (primary) is known to the bot" in out
    assert "The rota was not changed." in out
    assert seed(database, _stored_count) == 0

    # Someone who lost the role since is refused the same way.
    async def demote(session: AsyncSession) -> None:
        person = await users.get_by_telegram_id(session, SUPERVISOR_2)
        person.role = Role.MENTEE

    seed(database, demote)
    text = f"timezone: Europe/Berlin\nTue 08:00 18:00 {SUPERVISOR_2}\n"
    code, out = run(capsys, "oncall", "rota", "set", rota_file(tmp_path, text))
    assert code == 1 and f"line 2: {SUPERVISOR_2} (primary) is not a supervisor" in out


async def _stored_count(session: AsyncSession) -> int:
    return len((await session.execute(select(RotaShift))).scalars().all())
