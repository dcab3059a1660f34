""" "I need to talk to someone now" end to end: the real bot process and its outbox delivery,
against the local Bot API stand-in. A mentee opens the 🆘 view, taps once, and the
supervisors' channel and the supervisor on call get the alert, which says it was raised by
a tap; a second tap joins the open case and pages nobody again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    PRIMARY,
    SUPERVISOR_CHAT,
    TIMEOUT,
    alert_rows,
    answer_of,
    channel_alert,
    onboarded_mentee,
    supervisors_on_call,
    to_chat,
)

HELP_NOW = "I need to talk to someone now"
SOS = "🆘 My crisis plan"


async def test_one_tap_in_the_sos_view_pages_the_supervisors_and_a_second_tap_joins(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 511, "en", "Europe/London", "Heron-51")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    # No escalation within the test: any second page would be the tap's doing.
    await bot_factory(**{**ALERT_ENV, "ESCALATION_ACK_MINUTES": 5})
    mentee = standin.user(511, "Rosalind", language_code="en")

    await standin.send_text(mentee, SOS)
    view = await standin.next_reply(mentee.id, timeout=TIMEOUT)
    assert "Samaritans" in view.text and "You don't have to explain anything." in view.text
    help_now = view.button(HELP_NOW)

    mark = standin.mark()
    tapped = await answer_of(standin, await standin.press(mentee, view, help_now))
    assert not tapped.params.get("show_alert")
    answer = await standin.next_reply(mentee.id, timeout=TIMEOUT)
    assert "Thank you for asking" in answer.text
    assert "I've let the program's on-call supervisor know" in answer.text

    alert = Reply(await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT, after=mark))
    assert "Alert #1" in alert.text and "Heron-51" in alert.text and "Rosalind" not in alert.text
    assert "Raised by: a tap on “I need to talk to someone now”" in alert.text
    assert "Detected by" not in alert.text
    await standin.wait_for("sendMessage", to_chat(PRIMARY, "Alert #1"), timeout=TIMEOUT)
    [(_id, category, severity, status, _by, _level)] = alert_rows(tmp_path / "peerbot.sqlite3")
    assert (category, severity, status) == ("help_now", 3, "open")

    # A second tap while the case is open: the channel hears of it, nobody is paged again.
    mark = standin.mark()
    await standin.press(mentee, view, help_now)
    again = await standin.next_reply(mentee.id, timeout=TIMEOUT)
    assert "A supervisor already knows" in again.text
    await standin.wait_for(
        "sendMessage",
        to_chat(SUPERVISOR_CHAT, "Alert #1: they tapped"),
        timeout=TIMEOUT,
        after=mark,
    )
    await asyncio.sleep(1)  # time enough for a page, had one been queued
    pages = [
        call
        for call in standin.calls[mark:]
        if call.method == "sendMessage"
        and "Alert #" in str(call.params.get("text", ""))
        and "they tapped" not in str(call.params.get("text", ""))
    ]
    assert pages == [], [str(call) for call in pages]
    assert len(alert_rows(tmp_path / "peerbot.sqlite3")) == 1
