"""The bot promises only what it can keep, end to end (issue 10, items 3, 9, 15 and the log).

- Without a supervisor channel or any supervisor, nobody can be told of a crisis: the bot
  says so loudly (its log, `peerbot status`, an admin's /status) and a person in crisis is
  sent to the crisis lines now, never told "a supervisor knows".
- A supervisor invite gives its role at consent, from an invite still valid then: opening
  the link is not enough, and a link that expires before consent gives nothing.
- `peerbot roles remove` takes a supervisor's hands off the alerts at once, whatever the
  running bot remembers of them.
- What a person typed never reaches the log, not even inside a database error; control
  characters (a NUL byte) are refused at the edge with a clear answer.

The real bot process against the Bot API stand-in; people and invites are written straight
into the database as the command line leaves them, the role changes under test really go
through `python -m bot roles …`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from flows.onboarding import CONSENT_VERSION
from storage import invites, users
from storage.migrate import upgrade_async
from storage.models import Role
from tests.e2e.botproc import run_to_the_end
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn, TgUser
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    ONLY_SUPERVISORS,
    PRIMARY,
    SUPERVISOR_CHAT,
    answer_of,
    channel_alert,
    database_url,
    onboarded_mentee,
    operator_env,
    session_of,
    supervisors_on_call,
    to_chat,
)
from tests.e2e.test_daily_log_e2e import reply_containing

TIMEOUT = 15
CRISIS = "I want to kill myself tonight"
PROMISE = "supervisor know"  # "I've let the program's on-call supervisor know"
HONEST = "call one of the numbers above now"
NOBODY = "Nobody receives alerts"
ADMIN = 950
LEAVING = 905  # a supervisor, onboarded, off duty


async def peerbot_exit(data_dir: Path, *args: str) -> tuple[int, str]:
    """`python -m bot ARGS` with the bot's settings: its exit code and output."""
    return await run_to_the_end(args, operator_env(data_dir), data_dir)


async def onboarded(data_dir: Path, telegram_id: int, role: Role) -> None:
    """Someone with ``role`` who went through onboarding."""
    async with session_of(data_dir) as session:
        person = await users.create(
            session, telegram_id=telegram_id, locale="en", pseudonym=f"Oak-{telegram_id}", role=role
        )
        users.record_consent(session, person, CONSENT_VERSION)
        users.finish_onboarding(person, "Europe/London", dt.time(20))
        await session.commit()


async def everything_said(standin: TelegramStandIn, chat_id: int, settle: float = 1.5) -> str:
    """Every message the bot sends the chat until it has been quiet for ``settle`` seconds."""
    said = [(await standin.next_reply(chat_id, timeout=TIMEOUT)).text]
    while True:
        try:
            said.append((await standin.next_reply(chat_id, timeout=settle)).text)
        except AssertionError:
            return "\n".join(said)


def role_of(data_dir: Path, telegram_id: int) -> str | None:
    with sqlite3.connect(data_dir / "peerbot.sqlite3") as connection:
        row = connection.execute(
            "SELECT role FROM users WHERE telegram_id = ?", (telegram_id,)
        ).fetchone()
    return row[0] if row else None


# --- item 3: nobody to tell ------------------------------------------------------------------


async def test_without_any_supervisor_the_bot_says_so_and_sends_the_person_to_the_lines(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await upgrade_async(database_url(tmp_path))
    await onboarded_mentee(tmp_path, 701, "en", "Europe/London", "Heron-71")
    await onboarded_mentee(tmp_path, 702, "en", "Europe/London", "Heron-72")
    await onboarded(tmp_path, ADMIN, Role.ADMIN)
    process = await bot_factory()  # a bot token only, as the README's start command
    mentee = standin.user(701, "Rosalind", language_code="en")
    admin = standin.user(ADMIN, "Ada", language_code="en")

    await standin.send_text(mentee, CRISIS)
    answer = await everything_said(standin, mentee.id)
    assert "Samaritans" in answer, answer
    assert PROMISE not in answer and "Someone will reach out" not in answer, answer
    assert HONEST in answer, answer

    assert "NOBODY WILL RECEIVE ALERTS" in process.log_text(), process.failure("no loud warning")
    await standin.send_text(admin, "/status")
    status = await reply_containing(standin, admin.id, "peerbot status")
    assert f"⚠️ {NOBODY}" in status.text, status.text
    code, out = await peerbot_exit(tmp_path, "status")
    assert code == 1 and NOBODY in out, (code, out)

    # The first supervisor, from the command line while the bot runs: the promise is true again.
    code, out = await peerbot_exit(tmp_path, "roles", "add", str(PRIMARY), "supervisor")
    assert code == 0, out
    other = standin.user(702, "Bo", language_code="en")
    await standin.send_text(other, CRISIS)
    answer = await everything_said(standin, other.id)
    assert PROMISE in answer and HONEST not in answer, answer
    await standin.wait_for("sendMessage", to_chat(PRIMARY, "Alert #2"), timeout=TIMEOUT)
    await standin.send_text(admin, "/status")
    status = await reply_containing(standin, admin.id, "peerbot status")
    assert NOBODY not in status.text, status.text


# --- item 9: a role is given at consent, from an invite valid then -------------------------


async def start_with_invite(standin: TelegramStandIn, person: TgUser, code: str) -> Reply:
    """/start CODE, English: the consent question (not answered yet)."""
    await standin.send_text(person, f"/start {code}")
    greeting = await reply_containing(standin, person.id, "Hello")
    await standin.tap(person, greeting, "English")
    return await reply_containing(standin, person.id, "Do you agree")


async def new_invite(data_dir: Path, role: Role, *, expires_in_days: float | None = None) -> str:
    await upgrade_async(database_url(data_dir))
    async with session_of(data_dir) as session:
        invite = await invites.create(session, role, uses=1, expires_in_days=expires_in_days)
        await session.commit()
        return invite.code


async def test_a_supervisor_invite_opened_without_consent_gives_nothing(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    code = await new_invite(tmp_path, Role.SUPERVISOR)
    await onboarded_mentee(tmp_path, 703, "en", "Europe/London", "Heron-73")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**ALERT_ENV)
    lurker = standin.user(801, "Lou", language_code="en")  # opens the link, never consents
    invited = standin.user(802, "Eve", language_code="en")

    await start_with_invite(standin, lurker, code)
    assert role_of(tmp_path, 801) == "mentee"
    consent = await start_with_invite(standin, invited, code)
    await standin.tap(invited, consent, "Yes, I agree")
    await reply_containing(standin, invited.id, "time zone")
    assert role_of(tmp_path, 802) == "supervisor"

    mentee = standin.user(703, "Rosalind", language_code="en")
    mark = standin.mark()
    await standin.send_text(mentee, CRISIS)
    alert = Reply(await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT, after=mark))
    await standin.wait_for("sendMessage", to_chat(802, "Alert #1"), timeout=TIMEOUT)
    await asyncio.sleep(1)
    assert not any(to_chat(801)(c) for c in standin.calls if c.at >= alert.call.at), (
        "the alert went to someone who never consented"
    )
    refused = await answer_of(standin, await standin.press(lurker, alert, alert.button("Ack")))
    assert refused.params.get("text") == ONLY_SUPERVISORS


async def test_an_invite_that_expires_before_consent_gives_nothing(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await bot_factory()  # first: start-up takes longer than the invite lives
    code = await new_invite(tmp_path, Role.SUPERVISOR, expires_in_days=4 / 86_400)  # 4 seconds
    late = standin.user(803, "Lea", language_code="en")
    consent = await start_with_invite(standin, late, code)
    await asyncio.sleep(4.5)
    await standin.tap(late, consent, "Yes, I agree")
    told = await reply_containing(standin, late.id, "invite link")
    assert "expired" in told.text and "mentee" in told.text, told.text
    assert role_of(tmp_path, 803) == "mentee"


# --- item 15: a role taken away on the command line counts at once --------------------------


async def test_a_supervisor_removed_on_the_command_line_can_no_longer_acknowledge(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded(tmp_path, LEAVING, Role.SUPERVISOR)
    await onboarded_mentee(tmp_path, 704, "en", "Europe/London", "Heron-74")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT)  # no escalation pages meanwhile
    mentee = standin.user(704, "Rosalind", language_code="en")
    leaving = standin.user(LEAVING, "Eve", language_code="en")

    await standin.send_text(mentee, CRISIS)
    alert = Reply(await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT))
    await standin.send_text(leaving, "/alerts")  # the running bot knows them as a supervisor
    await reply_containing(standin, leaving.id, "Heron-74")

    code, out = await peerbot_exit(tmp_path, "roles", "remove", str(LEAVING))
    assert code == 0, out
    refused = await answer_of(standin, await standin.press(leaving, alert, alert.button("Ack")))
    assert refused.params.get("text") == ONLY_SUPERVISORS
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as connection:
        assert connection.execute("SELECT status FROM alerts").fetchone() == ("open",)
    await standin.send_text(leaving, "/alerts")
    listing = await standin.next_reply(leaving.id, timeout=TIMEOUT)
    assert "Open alerts" not in listing.text and "Heron-74" not in listing.text, listing.text


# --- 'Also': nothing a person typed in the log; control characters refused at the edge ------


async def test_a_database_error_logs_where_it_happened_but_not_what_was_typed(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await upgrade_async(database_url(tmp_path))
    process = await bot_factory()
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as connection:
        connection.execute("ALTER TABLE invites RENAME TO invites_gone")  # a failing database
    typed = "Rosalind-Hartley-1987"
    person = standin.user(705, "Rosalind", language_code="en")
    await standin.send_text(person, f"/start {typed}")
    apology = await reply_containing(standin, person.id, "try again")
    assert "kept" in apology.text
    log = process.log_text()
    assert "failed: OperationalError at " in log, process.failure("the error's type and where")
    assert typed not in log and "parameters" not in log, process.failure("the typed code leaked")


async def test_a_nul_byte_is_refused_with_a_clear_answer_and_nothing_is_lost(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    code = await new_invite(tmp_path, Role.MENTOR)
    await onboarded_mentee(tmp_path, 706, "en", "Europe/London", "Heron-76")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await supervisors_on_call(tmp_path)
    process = await bot_factory(**ALERT_ENV)
    person = standin.user(707, "Mo", language_code="en")

    await standin.send_text(person, f"/start {code}\x00")
    told = await standin.next_reply(person.id, timeout=TIMEOUT)
    assert "characters" in told.text and "again" in told.text, told.text
    consent = await start_with_invite(standin, person, code)  # the invite is still there
    await standin.tap(person, consent, "Yes, I agree")
    await reply_containing(standin, person.id, "time zone")
    assert role_of(tmp_path, 707) == "mentor"

    # Crisis words with a control character in them still reach a supervisor.
    mentee = standin.user(706, "Rosalind", language_code="en")
    await standin.send_text(mentee, CRISIS + "\x07")
    await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT)
    answer = await everything_said(standin, mentee.id)
    assert "Samaritans" in answer and "characters" in answer, answer
    assert "failed" not in process.log_text(), process.failure("an update failed")


POSTGRES_URL = os.environ.get("PEERBOT_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES_URL, reason="PEERBOT_TEST_POSTGRES_URL is not set")
async def test_a_nul_byte_in_a_start_code_on_postgresql(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """As the issue saw it: PostgreSQL refuses a NUL in text, and its error quoted the code."""
    from tests.conftest import _admin

    admin_url = make_url(POSTGRES_URL)
    name = f"peerbot_e2e_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        process = await bot_factory(DATABASE_URL=url)
        person = standin.user(708, "Mo", language_code="en")
        typed = "Rosalind-Hartley-1987"
        await standin.send_text(person, f"/start {typed}\x00")
        told = await standin.next_reply(person.id, timeout=TIMEOUT)
        assert "characters" in told.text, told.text
        await process.stop()
        log = process.log_text()
        assert typed not in log and "failed" not in log, process.failure("the code leaked")
    finally:
        await _admin(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')
