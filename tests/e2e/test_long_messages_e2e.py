"""Messages longer than Telegram allows once a heading is added are shortened or split,
never lost: the real bot against the stand-in, which refuses a text over 4,096 characters
as Telegram does."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    SUPERVISOR_CHAT,
    TIMEOUT,
    channel_alert,
    onboarded_mentee,
    supervisors_on_call,
    to_chat,
)

SENTENCE = "I want to die, I can't do this anymore, everything hurts and nothing helps me now"


async def test_a_long_message_joining_an_open_case_reaches_the_channel_capped(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 711, "en", "Europe/London", "Kestrel-71")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**ALERT_ENV)
    mentee = standin.user(711, "Iris", language_code="en")

    mark = standin.mark()
    await standin.send_text(mentee, "I want to kill myself")
    await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT, after=mark)
    await standin.next_reply(mentee.id, timeout=TIMEOUT)

    # Forty sentences that each match, in one message: the note would be ~4,500 characters.
    mark = standin.mark()
    long = ". ".join(f"{SENTENCE} ({n})" for n in range(40))
    await standin.send_text(mentee, long)
    note = Reply(
        await standin.wait_for(
            "sendMessage",
            to_chat(SUPERVISOR_CHAT, "New message in alert #1"),
            timeout=TIMEOUT,
            after=mark,
        )
    )
    assert len(note.text) <= 4096
    assert "(+35 earlier sentences of theirs)" in note.text
    assert "(39)" in note.text, "the latest words are the ones shown"
    refused = [c for c in standin.calls[mark:] if "too long" in str(c)]
    assert refused == [], [str(c) for c in refused]
