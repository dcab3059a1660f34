"""Screening end to end: the real bot process reads wording no lexicon entry holds, spellings
meant to hide a word, and languages other than the one the person chose, and the alert
tells the supervisors which detector fired and why, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.disguises import undisguise
from flows.screening import lexicon_hits
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    SUPERVISOR_CHAT,
    TIMEOUT,
    channel_alert,
    onboarded_mentee,
    supervisors_on_call,
)


@pytest.mark.parametrize(
    ("text", "language", "cold"),
    [
        # Goodbye as gratitude, with no word of death: the model's kind of message.
        (
            "you lot kept me going longer than anyone. thank you, truly. look after each other",
            "en",
            True,
        ),
        # Letters spelled one by one, by someone who chose English.
        ("i am going to k.i.l.l m.y.s.e.l.f", "en", False),
        # Spanish from someone who chose German.
        ("ya no quiero seguir viviendo asi", "de", True),
    ],
)
async def test_the_alert_names_the_detector_that_fired(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    tmp_path: Path,
    text: str,
    language: str,
    cold: bool,
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 611, language, "Europe/Berlin", "Wren-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    # A cold start is a plain `python -m bot run` (tests/e2e/botproc.py): the model and
    # the lexicons loaded by the bot's own start, nothing before it, as in production.
    await bot_factory(**ALERT_ENV, PEERBOT_TEST_COLD_START=int(cold))
    mentee = standin.user(611, "Ada", language_code=language)

    mark = standin.mark()
    await standin.send_text(mentee, text)
    answer = await standin.next_reply(mentee.id, timeout=TIMEOUT)
    assert answer.text  # their crisis answer, in their language
    alert = Reply(await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT, after=mark))
    assert "Wren-61" in alert.text
    [detected] = [line for line in alert.text.splitlines() if line.startswith("Detected by: ")]
    expected = "lexicon" if lexicon_hits(undisguise(text), language) else "model"
    assert expected in detected
    if expected == "model":
        assert "model (0." in detected or "model (1.00" in detected
