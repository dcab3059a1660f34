"""A lost or rotated-away key: the bot refuses to start on data no key opens and says what
to do; `peerbot keys rotate` moves everything onto the newest key first; and the safety
path never needs to decrypt anything: a person whose stored text is unreadable still gets
the crisis lines and reaches a supervisor."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import Text, literal, update

from storage.migrate import upgrade_async
from storage.models import User
from tests.e2e.botproc import run_to_the_end
from tests.e2e.conftest import REPO_ROOT, StartBot
from tests.e2e.standin import TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    SUPERVISOR_CHAT,
    TIMEOUT,
    channel_alert,
    database_url,
    onboarded_mentee,
    operator_env,
    session_of,
    supervisors_on_call,
)


async def run_bot_once(data_dir: Path, **env: str | None) -> tuple[int, str]:
    """`peerbot run` once; a setting given as None is left out of the environment."""
    settings = {**operator_env(data_dir), "BOT_TOKEN": "123456:KEYS", **env}
    return await run_to_the_end(("run",), settings, REPO_ROOT)


async def peerbot_with(data_dir: Path, *args: str, **env: str) -> tuple[int, str]:
    return await run_to_the_end(args, {**operator_env(data_dir), **env}, REPO_ROOT)


async def test_with_another_key_the_bot_refuses_to_start_and_says_what_to_do(
    tmp_path: Path,
) -> None:
    await upgrade_async(database_url(tmp_path))
    await onboarded_mentee(tmp_path, 811, "en", "Europe/London", "Heron-81")
    code, said = await run_bot_once(tmp_path, ENCRYPTION_KEY=Fernet.generate_key().decode())
    assert code == 4
    assert "peerbot will not start" in said and "users.display_name" in said
    assert "peerbot keys rotate" in said


async def test_a_lost_key_file_is_not_silently_replaced(tmp_path: Path) -> None:
    await upgrade_async(database_url(tmp_path))
    await onboarded_mentee(tmp_path, 812, "en", "Europe/London", "Heron-82")
    # The data were written with the key of data/peerbot.key; the file is lost, and no
    # ENCRYPTION_KEY is set: a new key file is made, which opens nothing stored.
    code, said = await run_bot_once(tmp_path, ENCRYPTION_KEY=None)
    assert code == 4 and "put the original key" in said


async def test_a_rotation_lets_the_old_key_go(tmp_path: Path) -> None:
    old = operator_env(tmp_path)["ENCRYPTION_KEY"]
    new = Fernet.generate_key().decode()
    await upgrade_async(database_url(tmp_path))
    await onboarded_mentee(tmp_path, 813, "en", "Europe/London", "Heron-83")
    code, said = await peerbot_with(tmp_path, "keys", "check", ENCRYPTION_KEY=new)
    assert code == 1 and "users.display_name" in said
    code, said = await peerbot_with(tmp_path, "keys", "rotate", ENCRYPTION_KEY=f"{new},{old}")
    assert code == 0 and "now encrypted under the first key" in said
    code, said = await peerbot_with(tmp_path, "keys", "check", ENCRYPTION_KEY=new)
    assert code == 0, said


async def test_a_person_whose_data_cannot_be_read_still_reaches_a_supervisor(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 814, "en", "Europe/London", "Heron-84")
    # Her name was written under a key nobody has any more…
    lost = Fernet(Fernet.generate_key()).encrypt(b"Rosalind").decode()
    async with session_of(tmp_path) as session:
        await session.execute(
            update(User).where(User.telegram_id == 814).values(display_name=literal(lost, Text()))
        )
        await session.commit()
    # …and someone joined after, so the newest data opens and the bot starts.
    await onboarded_mentee(tmp_path, 815, "en", "Europe/London", "Heron-85")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**ALERT_ENV)
    person = standin.user(814, "Rosalind", language_code="en")

    mark = standin.mark()
    await standin.send_text(person, "I want to kill myself tonight")
    answer = await standin.next_reply(person.id, timeout=TIMEOUT)
    assert "Samaritans" in answer.text or "116 123" in answer.text
    alert = await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT, after=mark)
    assert "Heron-84" in str(alert.params.get("text"))
