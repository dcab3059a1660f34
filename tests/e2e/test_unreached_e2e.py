"""An alert that reaches nobody: the supervisor channel is gone and every supervisor has
blocked the bot. It must not end as a line in the log: it stays red in `peerbot status`
(exit 1), goes to every admin, and is tried again on a schedule until a supervisor has it."""

from __future__ import annotations

from pathlib import Path

from storage import users
from storage.models import Role
from tests.e2e.conftest import StartBot
from tests.e2e.standin import TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    BACKUP,
    OFF_DUTY,
    PRIMARY,
    SUPERVISOR_CHAT,
    TIMEOUT,
    onboarded_mentee,
    session_of,
    supervisors_on_call,
    to_chat,
)
from tests.e2e.test_keys_e2e import peerbot_with

ADMIN = 950


async def test_an_alert_that_reaches_no_supervisor_stays_red_and_goes_to_the_admins(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    async with session_of(tmp_path) as session:
        await users.create(
            session, telegram_id=ADMIN, locale="en", pseudonym="Lark-95", role=Role.ADMIN
        )
        await session.commit()
    await onboarded_mentee(tmp_path, 911, "en", "Europe/London", "Heron-91")
    # The channel is gone and every supervisor has blocked the bot.
    standin.fail("sendMessage", 400, times=50, chat_id=SUPERVISOR_CHAT,
                 description="Bad Request: chat not found")  # fmt: skip
    for supervisor in (PRIMARY, BACKUP, OFF_DUTY):
        standin.fail("sendMessage", 403, times=50, chat_id=supervisor)
    await bot_factory(**ALERT_ENV)
    person = standin.user(911, "Rosalind", language_code="en")

    await standin.send_text(person, "I want to kill myself")
    await standin.next_reply(person.id, timeout=TIMEOUT)  # her crisis lines, all the same
    admin_copy = await standin.wait_for(
        "sendMessage", to_chat(ADMIN, "Alert #1"), timeout=TIMEOUT * 2
    )
    assert "Heron-91" in str(admin_copy.params.get("text"))

    code, said = await peerbot_with(tmp_path, "status")
    assert code == 1
    assert "alert #1 reached no supervisor" in said and "tried again every 5 min" in said
