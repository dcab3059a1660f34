"""Mentor hours per month, for stipends: what `peerbot report hours` adds up and prints.

Hours come from session notes. A note counts in the calendar month of the session's date
(not the day it was written), each mentor gets one row per month, and the CSV opens in a
spreadsheet without running anything a name might smuggle in.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot import cli
from flows import reports
from storage import crypto, notes, users
from storage.db import create_engine, create_sessionmaker
from storage.models import Role

MO, OLA, MENTEE = 800, 801, 300
HEADER = "month,mentor_pseudonym,mentor_name,telegram_id,sessions,minutes,hours"


async def mentor(session, telegram_id: int, pseudonym: str, name: str | None) -> int:
    person = await users.create(
        session, telegram_id=telegram_id, locale="en", pseudonym=pseudonym, role=Role.MENTOR
    )
    person.display_name = name
    return person.id


async def sessions_held(session) -> dict[int, int]:
    """Mo and Ola's sessions around the October/November/December boundaries."""
    ids = {
        MO: await mentor(session, MO, "Oak-800", "Mo"),
        OLA: await mentor(session, OLA, "Ash-801", "=HYPERLINK(evil)"),
    }
    mentee = await users.create(session, telegram_id=MENTEE, locale="en", pseudonym="Heron-42")
    for telegram_id, day, minutes in (
        (MO, dt.date(2026, 10, 31), 60),  # October's last day
        (MO, dt.date(2026, 11, 1), 45),  # November's first
        (MO, dt.date(2026, 11, 15), 50),
        (MO, dt.date(2026, 11, 30), 20),  # November's last
        (MO, dt.date(2026, 12, 1), 90),  # December's first
        (OLA, dt.date(2026, 11, 10), 30),
    ):
        notes.add(
            session,
            mentor_id=ids[telegram_id],
            mentee_id=mentee.id,
            session_date=day,
            minutes=minutes,
            topics=["sleep"],
            progress="private words",
        )
    await session.commit()
    return ids


async def test_a_month_sums_each_mentor_s_sessions_within_its_boundaries(session) -> None:
    await sessions_held(session)

    rows = await reports.hours_by_month(session, dt.date(2026, 11, 20))

    assert [(r.month, r.pseudonym, r.sessions, r.minutes, r.hours) for r in rows] == [
        ("2026-11", "Ash-801", 1, 30, "0.50"),
        ("2026-11", "Oak-800", 3, 115, "1.92"),  # 45 + 50 + 20; not Oct 31 nor Dec 1
    ]
    assert (rows[1].telegram_id, rows[1].display_name) == (MO, "Mo")
    october = await reports.hours_by_month(session, dt.date(2026, 10, 1))
    assert [(r.pseudonym, r.minutes) for r in october] == [("Oak-800", 60)]
    assert await reports.hours_by_month(session, dt.date(2026, 9, 1)) == []


async def test_without_a_month_every_month_has_its_own_rows(session) -> None:
    await sessions_held(session)

    rows = await reports.hours_by_month(session, None)

    assert [(r.month, r.pseudonym, r.minutes) for r in rows] == [
        ("2026-10", "Oak-800", 60),
        ("2026-11", "Ash-801", 30),
        ("2026-11", "Oak-800", 115),
        ("2026-12", "Oak-800", 90),
    ]


async def test_the_csv_has_the_columns_and_defuses_formulas(session) -> None:
    await sessions_held(session)

    printed = reports.to_csv(await reports.hours_by_month(session, dt.date(2026, 11, 1)))

    lines = printed.splitlines()
    assert lines[0] == HEADER
    parsed = list(csv.DictReader(io.StringIO(printed)))
    assert parsed[0]["mentor_name"] == "'=HYPERLINK(evil)"  # text, not a formula
    assert parsed[1] == {
        "month": "2026-11",
        "mentor_pseudonym": "Oak-800",
        "mentor_name": "Mo",
        "telegram_id": str(MO),
        "sessions": "3",
        "minutes": "115",
        "hours": "1.92",
    }
    assert "private words" not in printed and "Heron-42" not in printed


def test_month_arithmetic_across_the_year() -> None:
    assert reports.month_bounds(dt.date(2026, 12, 31)) == (
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 1),
    )
    assert reports.month_bounds(dt.date(2026, 2, 14)) == (dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    assert reports.previous_month(dt.date(2027, 1, 5)) == dt.date(2026, 12, 1)
    assert reports.previous_month(dt.date(2026, 3, 31)) == dt.date(2026, 2, 1)
    assert reports.parse_month("2026-11") == dt.date(2026, 11, 1)
    with pytest.raises(ValueError):
        reports.parse_month("11/2026")


# --- peerbot report hours ----------------------------------------------------------------


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's environment: a SQLite file with Mo's and Ola's sessions in it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'peerbot.sqlite3'}"
    key = Fernet.generate_key().decode()
    monkeypatch.chdir(tmp_path)  # no developer's .env leaks in
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(key)))
    cli.main(["db", "upgrade"])

    async def seed() -> None:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                await sessions_held(session)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def test_report_hours_prints_the_month_s_csv(capsys, operator) -> None:
    code, out, _ = run(capsys, "report", "hours", "--month", "2026-12")

    assert code == 0
    assert out.splitlines() == [HEADER, f"2026-12,Oak-800,Mo,{MO},1,90,1.50"]


def test_report_hours_writes_a_file_when_asked(capsys, operator, tmp_path) -> None:
    target = tmp_path / "hours-2026-11.csv"

    code, out, err = run(capsys, "report", "hours", "--month", "2026-11", "--out", str(target))

    assert code == 0 and out == ""
    assert f"written to {target}" in err
    written = target.read_text(encoding="utf-8").splitlines()
    assert written[0] == HEADER and len(written) == 3


def test_report_hours_defaults_to_the_last_full_month(capsys, operator) -> None:
    last_month = reports.previous_month(dt.date.today())

    code, out, _ = run(capsys, "report", "hours")

    assert code == 0
    rows = out.splitlines()[1:]
    assert all(row.startswith(f"{last_month:%Y-%m},") for row in rows)
    expected = {dt.date(2026, 11, 1): 2, dt.date(2026, 10, 1): 1, dt.date(2026, 12, 1): 1}
    assert len(rows) == expected.get(last_month, 0)


def test_report_hours_refuses_a_month_it_cannot_read(capsys, operator) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "hours", "--month", "November"])
    assert exit_.value.code == 2
    assert "use YYYY-MM" in capsys.readouterr().err
