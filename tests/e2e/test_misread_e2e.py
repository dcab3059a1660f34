""" "I'm okay, I didn't mean it that way" end to end: the real bot process, its outbox and the
local Bot API stand-in. Screening reads an ordinary message as a crisis more often than we
would like (about one in eleven of ordinary chat, docs/screening.md round 12). The person
gets the crisis answer, and under it a way to say it was misread; the supervisors see the
tap on the alert and in a note, and the alert stays open for them to close."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn, TgUser
from tests.e2e.test_alerts_e2e import (
    NO_ESCALATION_YET,
    SUPERVISOR_CHAT,
    TIMEOUT,
    alert_rows,
    answer_of,
    channel_alert,
    onboarded_mentee,
    supervisors_on_call,
)

# language: (zone, what they wrote, the button, the thanks)
LANGUAGES = {
    "en": (
        "Europe/London",
        "honestly i want to die, the bus never came and i waited an hour in the cold",
        "🙂 I'm okay, I didn't mean it that way",
        "Thank you for telling me. I've let the supervisor know.",
    ),
    "es": (
        "Europe/Madrid",
        "me quiero morir, el autobús no vino y esperé una hora con este frío",
        "🙂 Estoy bien, no lo decía en ese sentido",
        "Gracias por decírmelo. Ya se lo he dicho al equipo de supervisión.",
    ),
    "de": (
        "Europe/Berlin",
        "ich will sterben, der bus kam nicht und ich hab eine stunde in der kälte gewartet",
        "🙂 Mir geht's gut, so war das nicht gemeint",
        "Danke, dass du es mir sagst. Ich habe dem Supervisionsteam Bescheid gegeben.",
    ),
}
NOTE = "🙂 Alert #1: Heron-61 tapped “🙂 I'm okay, I didn't mean it that way”."
ON_THE_ALERT = "they tapped “🙂 I'm okay, I didn't mean it that way”"
STRANGER = 662


def to_the_channel(*words: str):
    def matches(call: Call) -> bool:
        return (
            call.ok
            and str(call.params.get("chat_id")) == str(SUPERVISOR_CHAT)
            and all(word in Reply(call).text for word in words)
        )

    return matches


def misread_events(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        [(count,)] = connection.execute(
            "SELECT count(*) FROM case_events WHERE kind = 'misread'"
        ).fetchall()
        return count


async def the_offer(standin: TelegramStandIn, chat_id: int, label: str) -> tuple[str, Reply]:
    """The crisis answer's messages up to the one with the button; all their text."""
    said = []
    while True:
        reply = await standin.next_reply(chat_id, timeout=TIMEOUT)
        said.append(reply.text)
        if any(text == label for row in reply.buttons for text, _data in row):
            return "\n".join(said), reply
        assert len(said) < 5, said


async def misread_english_mentee(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> tuple[TgUser, Reply]:
    """Marguerite, an English mentee, has had the crisis answer to her words, its offer
    the last message, and the supervisors their alert."""
    zone, message, label, _thanks = LANGUAGES["en"]
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 661, "en", zone, "Heron-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**NO_ESCALATION_YET)
    mentee = standin.user(661, "Marguerite", language_code="en")
    await standin.send_text(mentee, message)
    _answer, offer = await the_offer(standin, mentee.id, label)
    await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT)
    return mentee, offer


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_a_misread_person_says_so_with_a_tap_and_the_supervisors_see_it(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path, language: str
) -> None:
    zone, message, label, thanks = LANGUAGES[language]
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 661, language, zone, "Heron-61")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(**NO_ESCALATION_YET)
    mentee = standin.user(661, "Marguerite", language_code=language)
    stranger = standin.user(STRANGER, "Mallory", language_code="en")
    database = tmp_path / "peerbot.sqlite3"

    await standin.send_text(mentee, message)
    answer, offer = await the_offer(standin, mentee.id, label)
    assert "💛" in answer  # the crisis answer itself comes first, whole
    await standin.wait_for("sendMessage", channel_alert, timeout=TIMEOUT)

    # Someone else pressing her button (a forged callback) changes nothing.
    forged = await answer_of(standin, await standin.press(stranger, offer, offer.button(label)))
    assert forged.params.get("text") == "This button has expired."
    assert misread_events(database) == 0

    mark = standin.mark()
    tapped = await answer_of(standin, await standin.press(mentee, offer, offer.button(label)))
    assert not tapped.params.get("text")
    settled = await standin.next_reply(mentee.id, timeout=TIMEOUT)
    assert settled.method == "editMessageText" and thanks in settled.text
    assert settled.buttons == []  # nothing left to tap twice
    # The supervisors (the channel speaks English here): a note, and the alert says it too.
    await standin.wait_for("sendMessage", to_the_channel(NOTE), timeout=TIMEOUT, after=mark)
    await standin.wait_for(
        "editMessageText", to_the_channel("Alert #1", ON_THE_ALERT), timeout=TIMEOUT, after=mark
    )
    [(_id, _category, _severity, status, _by, _level)] = alert_rows(database)
    assert status == "open"  # a supervisor still decides
    assert misread_events(database) == 1

    # A second press (the same callback, delivered again) adds nothing.
    again = standin.mark()
    await answer_of(standin, await standin.press(mentee, offer, offer.button(label)))
    await asyncio.sleep(1.5)
    assert misread_events(database) == 1
    notes = [
        c for c in standin.calls[again:] if c.method == "sendMessage" and NOTE in Reply(c).text
    ]
    assert notes == []


async def test_the_note_reaches_the_supervisors_through_a_502_page_and_a_429(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    _zone, _message, label, thanks = LANGUAGES["en"]
    mentee, offer = await misread_english_mentee(standin, bot_factory, tmp_path)

    standin.fail("sendMessage", 502, html=True, chat_id=SUPERVISOR_CHAT)
    standin.fail("sendMessage", 429, retry_after=1, chat_id=SUPERVISOR_CHAT)
    standin.fail("editMessageText", 500, chat_id=mentee.id)
    mark = standin.mark()
    await answer_of(standin, await standin.press(mentee, offer, offer.button(label)))
    note = await standin.wait_for("sendMessage", to_the_channel(NOTE), timeout=TIMEOUT, after=mark)
    settled = await standin.wait_for(
        "editMessageText",
        lambda c: c.ok and str(c.params.get("chat_id")) == str(mentee.id),
        timeout=TIMEOUT,
        after=mark,
    )
    assert thanks in Reply(settled).text
    failed = [c for c in standin.calls[mark:] if not c.ok]
    assert len(failed) >= 3 and note.ok  # each fault was met, and each message still went


async def test_an_offer_telegram_will_not_let_us_edit_gets_the_thanks_below_it(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """A 400 on the edit (the offer deleted, or too old to edit) is final: the thanks still
    reach her, as a message of their own, and the tap still reaches the supervisors."""
    _zone, _message, label, thanks = LANGUAGES["en"]
    mentee, offer = await misread_english_mentee(standin, bot_factory, tmp_path)

    standin.fail(
        "editMessageText",
        400,
        description="Bad Request: message to edit not found",
        chat_id=mentee.id,
    )
    mark = standin.mark()
    await answer_of(standin, await standin.press(mentee, offer, offer.button(label)))
    anew = await standin.wait_for(
        "sendMessage",
        lambda c: c.ok and str(c.params.get("chat_id")) == str(mentee.id),
        timeout=TIMEOUT,
        after=mark,
    )
    assert thanks in Reply(anew).text and Reply(anew).buttons == []
    refused = [c for c in standin.calls[mark:] if c.method == "editMessageText" and not c.ok]
    assert len(refused) == 1
    await standin.wait_for("sendMessage", to_the_channel(NOTE), timeout=TIMEOUT, after=mark)
    assert misread_events(tmp_path / "peerbot.sqlite3") == 1
