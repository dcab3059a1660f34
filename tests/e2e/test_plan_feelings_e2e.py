"""A crisis plan part with warning-sign language asks before alerting, end to end: the real
bot process, its outbox and delivery, against the local Bot API stand-in.

Lena writes her warning signs on a calm afternoon, in the very words screening looks for.
Her part is saved and she is asked "Is this how you feel right now?"; she says no, and no
supervisor is paged. Marta writes hers in Spanish and says yes: she gets the crisis answer
at once, and the supervisors' channel and the on-call get an alert that says it was said
while writing her crisis plan and that she said it is how she feels now.
"""

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
from tests.e2e.test_crisis_plan_e2e import stored_plan
from tests.e2e.test_daily_log_e2e import decrypt, reply_containing

LENA, MARTA = 521, 522
LENA_WORDS = "When I start to think I want to kill myself, and I stop eating"
MARTA_WORDS = "Cuando pienso que quiero suicidarme y dejo de comer"
SAID_IN_PLAN = "Said while writing their crisis plan; they said it is how they feel now."


async def write_warning_signs(standin: TelegramStandIn, who, words: str, labels: dict) -> Reply:
    """/crisisplan → Warning signs → Write this part → the words; the question that follows."""
    await standin.send_text(who, "/crisisplan")
    menu = await reply_containing(standin, who.id, labels["menu"])
    await standin.tap(who, menu, labels["part"])
    part = await reply_containing(standin, who.id, labels["empty"])
    await standin.tap(who, part, labels["write"])
    await reply_containing(standin, who.id, labels["send"])
    await standin.send_text(who, words)
    return await reply_containing(standin, who.id, labels["question"])


ENGLISH = {
    "menu": "Your crisis plan",
    "part": "1. Warning signs",
    "empty": "Nothing here yet",
    "write": "Write this part",
    "send": "Send it as one message",
    "question": "Is this how you feel right now?",
}
SPANISH = {
    "menu": "Tu plan de crisis",
    "part": "1. ",
    "empty": "todavía no hay nada",
    "write": "Escribir",
    "send": "un solo mensaje",
    "question": "¿Es así como te sientes ahora mismo?",
}


async def test_a_plan_part_with_crisis_words_asks_first_no_pages_nobody_yes_pages_at_once(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, LENA, "en", "Europe/London", "Wren-21")
    await onboarded_mentee(tmp_path, MARTA, "es", "Europe/Madrid", "Garza-22")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**{**ALERT_ENV, "ESCALATION_ACK_MINUTES": 5})
    lena = standin.user(LENA, "Lena", language_code="en")
    marta = standin.user(MARTA, "Marta", language_code="es")
    database = tmp_path / "peerbot.sqlite3"

    # Lena, calm: her part is saved, and she is asked before anyone is told.
    mark = standin.mark()
    question = await write_warning_signs(standin, lena, LENA_WORDS, ENGLISH)
    assert "✓ Saved: “Warning signs”." in question.text
    assert "If I don't hear back within 10 minutes" in question.text
    assert [text for row in question.buttons for text, _ in row] == [
        "Yes, right now",
        "No, not right now",
    ]
    query = await standin.tap(lena, question, "No, not right now")
    assert not (await answer_of(standin, query)).params.get("show_alert")
    thanks = await reply_containing(standin, LENA, "Nobody has been alerted")
    assert "Thank you for telling me." in thanks.text
    await asyncio.sleep(1.5)  # time enough for an alert to leave, had one been queued
    said = [str(c.params.get("text", "")) for c in standin.calls[mark:]]
    assert not any("Alert #" in text for text in said), said
    assert not any("Someone will reach out" in text for text in said), said
    assert alert_rows(database) == []
    [(section, token)] = stored_plan(database)
    assert section == "warning_signs" and decrypt(token) == LENA_WORDS

    # Marta, in Spanish, says it is how she feels now: the crisis answer, and the alert.
    mark = standin.mark()
    question = await write_warning_signs(standin, marta, MARTA_WORDS, SPANISH)
    assert alert_rows(database) == []  # asked first, nothing raised yet
    await standin.tap(marta, question, "Sí, ahora mismo")
    answer = await reply_containing(standin, MARTA, "Gracias por contármelo")
    assert MARTA_WORDS in answer.text  # her own plan, then Spain's crisis lines
    assert "024" in answer.text and "Alguien se pondrá en contacto contigo" in answer.text

    alert = Reply(await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT, after=mark))
    assert "Garza-22" in alert.text and "Marta" not in alert.text
    assert SAID_IN_PLAN in alert.text
    assert "quiero suicidarme" in alert.text.casefold()
    await standin.wait_for(
        "sendMessage", to_chat(PRIMARY, "Alert #", SAID_IN_PLAN), timeout=TIMEOUT
    )
    [(_id, _category, _severity, status, _by, _level)] = alert_rows(database)
    assert status == "open"
