"""The operator's side of safety, on the command line: who is on call (`peerbot oncall`),
how the program stands (`peerbot status`), and what supervisors taught the lexicon
(`peerbot lexicon review`). Run as `bot.cli.main([...])` against a SQLite file, with the
settings in the environment as an operator would have them."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cli
from flows import screening
from storage import alerts, crypto, outbox, status, users
from storage.db import create_engine, create_sessionmaker
from storage.models import Alert, AlertStatus, AuditEvent, OnCallShift

SUPERVISOR, SUPERVISOR_2, MENTEE = 900, 901, 300


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's environment: a SQLite file, a data directory and a key."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'peerbot.sqlite3'}"
    key = Fernet.generate_key().decode()
    monkeypatch.chdir(tmp_path)  # no developer's .env leaks in
    for name in ("SUPERVISOR_CHAT_ID", "BOT_TOKEN", "STAFFED_HOURS", "ALERTS_SHOW_NAMES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(key)))
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and everything printed (refusals go to stderr)."""
    capsys.readouterr()
    code = cli.main(list(argv))
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def seed(url: str, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def supervisors(capsys, url: str) -> None:
    for telegram_id in (SUPERVISOR, SUPERVISOR_2):
        code, out = run(capsys, "roles", "add", str(telegram_id), "supervisor")
        assert code == 0 and f"{telegram_id} is now supervisor" in out

    async def names(session: AsyncSession) -> None:
        for telegram_id, name in ((SUPERVISOR, "Dana"), (SUPERVISOR_2, "Eve")):
            person = await users.get_by_telegram_id(session, telegram_id)
            person.display_name, person.pseudonym = name, f"Owl-{telegram_id}"

    seed(url, names)


def open_shifts(url: str) -> list[tuple[int, str]]:
    async def look(session: AsyncSession) -> list[tuple[int, str]]:
        rows = await session.execute(
            select(OnCallShift.user_id, OnCallShift.kind).where(OnCallShift.ended_at.is_(None))
        )
        found = []
        for user_id, kind in rows:
            person = await session.get(users.User, user_id)
            found.append((person.telegram_id, kind))
        return sorted(found)

    return seed(url, look)


# --- peerbot oncall ------------------------------------------------------------------------------


def test_oncall_set_list_hand_over_and_end(capsys, database) -> None:
    supervisors(capsys, database)
    assert run(capsys, "oncall", "list") == (0, "primary\tnobody\n")

    code, out = run(capsys, "oncall", "set", str(SUPERVISOR))
    assert (code, out.strip()) == (0, f"{SUPERVISOR} is on call")
    code, out = run(capsys, "oncall", "set", str(SUPERVISOR_2), "--backup")
    assert (code, out.strip()) == (0, f"{SUPERVISOR_2} is on call as a backup")
    code, out = run(capsys, "oncall", "list")
    assert out.splitlines() == [
        f"primary\t{SUPERVISOR}\tOwl-{SUPERVISOR}",
        f"backup\t{SUPERVISOR_2}\tOwl-{SUPERVISOR_2}",
    ]

    run(capsys, "oncall", "set", str(SUPERVISOR_2))  # hands over; Eve's backup shift ends
    assert open_shifts(database) == [(SUPERVISOR_2, "primary")]
    code, out = run(capsys, "oncall", "end", str(SUPERVISOR_2))
    assert (code, out.strip()) == (0, f"{SUPERVISOR_2} is off call")
    assert run(capsys, "oncall", "list")[1] == "primary\tnobody\n"

    async def trail(session: AsyncSession) -> list[tuple[str, int | None, str | None]]:
        rows = await session.execute(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.actor, e.detail) for e in rows.scalars()]

    assert seed(database, trail) == [
        ("shift_primary", SUPERVISOR, "cli"),
        ("shift_backup", SUPERVISOR_2, "cli"),
        ("shift_primary", SUPERVISOR_2, "cli"),
        ("shift_end", SUPERVISOR_2, "cli"),
    ]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["oncall", "set", str(MENTEE)], f"{MENTEE} is not a supervisor"),
        (["oncall", "set", "424242"], "424242 is not a supervisor"),
        (["oncall", "set", "424242", "--backup"], "424242 is not a supervisor"),
    ],
)
def test_oncall_set_refusals_say_why_and_fail(capsys, database, argv, said) -> None:
    """An operator scripting the rota (`peerbot oncall set … && echo ok`) must learn that
    nobody was put on call: the refusal is printed and the exit status is not 0."""
    supervisors(capsys, database)
    run(capsys, "roles", "add", str(MENTEE), "mentee")
    code, out = run(capsys, *argv)
    assert said in out
    assert open_shifts(database) == []
    assert code != 0, f"`peerbot {' '.join(argv)}` refused but exited 0"


# --- peerbot status ----------------------------------------------------------------------------


def test_status_shows_channel_on_call_alerts_outbox_and_problems(
    capsys, database, monkeypatch
) -> None:
    monkeypatch.setenv("SUPERVISOR_CHAT_ID", "-1001")
    supervisors(capsys, database)
    run(capsys, "oncall", "set", str(SUPERVISOR))
    run(capsys, "oncall", "set", str(SUPERVISOR_2), "--backup")
    code, out = run(capsys, "status")
    assert code == 0
    assert "Supervisor channel: -1001" in out
    assert "On call: Dana · backups: 1" in out
    assert "Open alerts: 0" in out and "Messages waiting to be sent: 0; failed: 0" in out

    async def trouble(session: AsyncSession) -> None:
        person = await users.create(session, telegram_id=MENTEE, locale="en", pseudonym="Heron")
        for state in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED):
            session.add(Alert(user_id=person.id, category="suicide", severity=3, status=state))
        for key in ("alert:1:l0:channel", "alert:1:l0:dm:900", "alert:2:l0:channel"):
            await outbox.enqueue(
                session, key=key, chat_id=-1001, method="sendMessage", params={"text": "x"}
            )
        await session.flush()
        [failed] = [
            c
            for c in await outbox.claim_due(session, limit=10, lease=dt.timedelta(minutes=1))
            if "2" in c.key
        ]
        await outbox.give_up(session, failed.id, "TelegramForbiddenError: kicked")
        await status.report(
            session, status.SUPERVISOR_CHANNEL, "unreachable: TelegramForbiddenError: kicked"
        )

    seed(database, trouble)
    code, out = run(capsys, "status")
    assert code == 1  # something needs an operator: the exit code says so to a monitor
    assert "Open alerts: 2" in out  # open and acknowledged; the resolved one is done
    assert "Messages waiting to be sent: 2; failed: 1" in out
    assert "supervisor_channel: unreachable: TelegramForbiddenError: kicked" in out
    assert "<b>" not in out and "</b>" not in out


def test_status_without_a_channel_or_a_supervisor_says_nobody_receives_alerts(
    capsys, database
) -> None:
    code, out = run(capsys, "status")
    assert code == 1  # a bot token only: an alert would reach nobody
    assert "Supervisor channel: not set" in out and "On call: nobody · backups: 0" in out
    assert "⚠️ Nobody receives alerts" in out
    assert "Screening: lexicon and model" in out


def test_status_with_a_channel_but_no_supervisor_says_nobody_can_acknowledge(
    capsys, database, monkeypatch
) -> None:
    monkeypatch.setenv("SUPERVISOR_CHAT_ID", "-1001")
    code, out = run(capsys, "status")
    assert code == 1 and "⚠️ No supervisor" in out and "Nobody receives alerts" not in out


def test_status_with_a_supervisor_but_no_channel_is_fine(capsys, database) -> None:
    supervisors(capsys, database)
    code, out = run(capsys, "status")
    assert code == 0, out
    assert "Supervisor channel: not set" in out and "⚠️" not in out


@pytest.mark.parametrize("broken", ["missing", "corrupt", "not a model"])
def test_status_says_loudly_when_screening_runs_on_the_lexicon_alone(
    capsys, database, monkeypatch, tmp_path, broken
) -> None:
    model = tmp_path / "model.json.gz"
    if broken == "corrupt":
        model.write_bytes(b"\x1f\x8b\x08 truncated")
    elif broken == "not a model":
        model.write_bytes(gzip.compress(b'{"format": 2, "blocks": {}}'))
    monkeypatch.setenv("SCREENING_MODEL", str(model))
    try:
        code, out = run(capsys, "status")
    finally:
        screening.use_model()  # the shipped model, for the tests after this one
    assert code == 1
    assert "⚠️ Screening on the lexicon alone:" in out and str(model) in out
    assert "&#" not in out and "&lt;" not in out  # plain text, not Telegram's HTML


# --- peerbot lexicon review ---------------------------------------------------------------------


def test_lexicon_review_lists_what_supervisors_labelled(capsys, database) -> None:
    code, out = run(capsys, "lexicon", "review")
    assert (code, out.strip()) == (0, "no labelled examples yet")

    async def labels(session: AsyncSession) -> None:
        for language, verdict, text, rule in (
            ("es", "missed", "Ya no puedo con nada", None),
            ("en", "false_alarm", "This pain is killing me, I could die", "en:suicide.want_to_die"),
            ("de", "confirmed", "Ich bringe mich heute Nacht um", "de:suicide.intent"),
        ):
            alerts.label(
                session,
                language=language,
                verdict=verdict,
                text=text,
                rule=rule,
                category=None if rule is None else "suicide",
                alert_id=None,
                by=SUPERVISOR,
            )

    seed(database, labels)
    code, out = run(capsys, "lexicon", "review")
    assert code == 0
    assert out.splitlines() == [
        "de\tconfirmed\tde:suicide.intent\tIch bringe mich heute Nacht um",
        "en\tfalse_alarm\ten:suicide.want_to_die\tThis pain is killing me, I could die",
        "es\tmissed\t-\tYa no puedo con nada",
    ]
    code, out = run(capsys, "lexicon", "review", "--language", "es")
    assert out.splitlines() == ["es\tmissed\t-\tYa no puedo con nada"]
