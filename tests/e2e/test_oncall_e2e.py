"""On call end to end: how many direct messages the on-call supervisor gets per alert,
/oncall's buttons, and the weekly rota handing over the shift, against the stand-in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    BACKUP,
    NO_ESCALATION_YET,
    OFF_DUTY,
    PRIMARY,
    SUPERVISOR_CHAT,
    TIMEOUT,
    onboarded_mentee,
    supervisors_on_call,
)

SUPERVISORS = (PRIMARY, BACKUP, OFF_DUTY)
CHANNEL_FAULTS = {
    "ok": None,
    "400": (400, "Bad Request: chat not found"),
    "403": (403, "Forbidden: bot was kicked from the supergroup chat"),
}


def direct_messages(standin: TelegramStandIn, chat_id: int, case: str) -> list[Call]:
    """What reached ``chat_id`` directly about ``case`` ("#1"): alerts and their notes."""
    return [
        call
        for call in standin.calls
        if call.ok
        and call.method == "sendMessage"
        and str(call.params.get("chat_id")) == str(chat_id)
        and case in Reply(call).text
    ]


@pytest.mark.parametrize("channel", list(CHANNEL_FAULTS))
@pytest.mark.parametrize("someone_on_call", [True, False], ids=["on_call", "nobody_on_call"])
async def test_each_supervisor_gets_one_direct_message_per_alert(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    tmp_path: Path,
    channel: str,
    someone_on_call: bool,
) -> None:
    """Issue 11: the on-call got an alert once as their page and again as the channel's
    fallback copy, and a worsening message twice more (the page anew and the note's
    fallback). One direct message per supervisor per event, whatever the channel does."""
    await supervisors_on_call(tmp_path, shifts=someone_on_call)
    await onboarded_mentee(tmp_path, 611, "en", "Europe/London", "Heron-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    if CHANNEL_FAULTS[channel]:
        status, description = CHANNEL_FAULTS[channel]
        standin.fail_for(
            "sendMessage", status, 120, chat_id=SUPERVISOR_CHAT, description=description
        )
    await bot_factory(**NO_ESCALATION_YET)
    mentee = standin.user(611, "Rosalind", language_code="en")
    paged_first = (PRIMARY,) if someone_on_call else SUPERVISORS

    await standin.send_text(mentee, "I don't want to be here anymore")  # severity 2
    for supervisor in paged_first:
        await standin.wait_for("sendMessage", lambda c, s=supervisor: _to(c, s), timeout=TIMEOUT)
    await asyncio.sleep(2.5)  # a second copy would be on its way by now (1 s per chat)
    first = {s: len(direct_messages(standin, s, "#1")) for s in SUPERVISORS}

    # Worse words join the case: the on-call (everyone, with nobody on call) hears it once.
    mark = standin.mark()
    await standin.send_text(mentee, "I have the pills ready and I want to die")
    await standin.wait_for(
        "sendMessage", lambda c: _to(c, paged_first[0]), timeout=TIMEOUT, after=mark
    )
    await asyncio.sleep(2.5)
    both = {s: len(direct_messages(standin, s, "#1")) for s in SUPERVISORS}
    worse = {s: both[s] - first[s] for s in SUPERVISORS}
    print(f"channel {channel}, on call {someone_on_call}: first alert {first}, worse {worse}")

    channel_down = CHANNEL_FAULTS[channel] is not None
    for supervisor in SUPERVISORS:
        # Without a channel everyone must have it directly; with one, only those paged.
        expected = 1 if (supervisor in paged_first or channel_down) else 0
        assert first[supervisor] == expected, (supervisor, first)
        assert worse[supervisor] == expected, (supervisor, worse)
    assert "Alert #1" in Reply(direct_messages(standin, paged_first[0], "#1")[0]).text


def _to(call: Call, chat_id: int) -> bool:
    return call.ok and str(call.params.get("chat_id")) == str(chat_id) and "#1" in Reply(call).text
