"""A mentee's day, end to end: the real bot process, its real HTTP client, a real database.

The bot runs as `python -m bot run` against the local Bot API stand-in; these tests
talk to it only as Telegram would: updates in, API calls out.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

from tests.e2e.conftest import ENCRYPTION_KEY, StartBot
from tests.e2e.standin import Reply, TelegramStandIn, TgUser

TIMEOUT = 15


async def reply_containing(standin: TelegramStandIn, chat_id: int, text: str) -> Reply:
    """The bot's next message (or edit) in the chat that contains ``text``; earlier ones are skipped."""
    seen = []
    while True:
        reply = await standin.next_reply(chat_id, timeout=TIMEOUT)
        if text.casefold() in reply.text.casefold():
            return reply
        seen.append(reply.text[:80])
        assert len(seen) < 8, f"no message with {text!r}; the bot said: {seen}"


async def reply_with_button(standin: TelegramStandIn, chat_id: int, label: str) -> Reply:
    seen = []
    while True:
        reply = await standin.next_reply(chat_id, timeout=TIMEOUT)
        if any(label in text for row in reply.buttons for text, _data in row):
            return reply
        seen.append(reply.text[:80])
        assert len(seen) < 8, f"no message with a {label!r} button; the bot said: {seen}"


async def onboard(standin: TelegramStandIn, person: TgUser, words: dict[str, str]) -> None:
    await standin.send_text(person, "/start")
    greeting = await reply_containing(standin, person.id, words["hello"])
    await standin.tap(person, greeting, words["language"])
    consent = await reply_containing(standin, person.id, words["consent"])
    await standin.tap(person, consent, words["agree"])
    zones = await reply_containing(standin, person.id, words["zone_question"])
    await standin.tap(person, zones, words["zone"])
    times = await reply_with_button(standin, person.id, "20:00")
    await standin.tap(person, times, "20:00")
    await reply_containing(standin, person.id, words["all_set"])


async def log_the_day(
    standin: TelegramStandIn, person: TgUser, words: dict[str, str], *, note: str
) -> Reply:
    await standin.send_text(person, "/log")
    question = await reply_containing(standin, person.id, "1/10")
    for label in ("7", words["pain"], words["fatigue"], words["done"], "4"):
        await standin.tap(person, question, label)
        question = await standin.next_reply(person.id, timeout=TIMEOUT)
    for label in (words["as_planned"], "3", "6", "7", "5", "6"):
        await standin.tap(person, question, label)
        question = await standin.next_reply(person.id, timeout=TIMEOUT)
    assert "10/10" in question.text
    await standin.send_text(person, note)
    return await reply_containing(standin, person.id, words["saved"])


ENGLISH = {
    "hello": "Hello",
    "language": "English",
    "consent": "Do you agree",
    "agree": "Yes, I agree",
    "zone_question": "time zone",
    "zone": "London",
    "all_set": "All set",
    "pain": "Pain",
    "fatigue": "Fatigue",
    "done": "Done",
    "as_planned": "As planned",
    "saved": "Saved",
}

SPANISH = {
    "hello": "Hola",
    "language": "Español",
    "consent": "¿",
    "agree": "Sí",
    "zone_question": "zona horaria",
    "zone": "Madrid",
    "all_set": "listo",
    "pain": "Dolor",
    "fatigue": "Fatiga",
    "done": "Listo",
    "as_planned": "Según lo planeado",
    "saved": "Guardado",
}


def stored_logs(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT symptom_intensity, symptoms, energy, activity, rest_breaks, sleep_quality,"
            " sleep_hours, mood, interference, note FROM daily_logs"
        ).fetchall()


def decrypt(token: str) -> str:
    return Fernet(ENCRYPTION_KEY.encode()).decrypt(token.encode()).decode()


async def test_a_mentee_onboards_and_logs_the_day_in_english(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await bot_factory()
    ana = standin.user(501, "Ana", language_code="en")
    await onboard(standin, ana, ENGLISH)
    summary = await log_the_day(standin, ana, ENGLISH, note="Short walk, then a long rest.")

    assert "Symptoms: 7/10 — Pain, Fatigue" in summary.text
    assert "Sleep: 6/10, 7 h" in summary.text
    [log] = stored_logs(tmp_path / "peerbot.sqlite3")
    assert log[:5] == (7, '["pain", "fatigue"]', 4, "as_planned", 3)
    assert "Short walk" not in log[9], "the note must be encrypted at rest"
    assert decrypt(log[9]) == "Short walk, then a long rest."
    menu = standin.commands_for("en")
    assert {"start", "help", "language"} <= {command["command"] for command in menu}


async def test_a_mentee_onboards_and_logs_the_day_in_spanish(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await bot_factory()
    lucia = standin.user(502, "Lucía", language_code="es-419")
    await onboard(standin, lucia, SPANISH)
    summary = await log_the_day(standin, lucia, SPANISH, note="Hoy fue un día difícil.")

    assert "Dolor" in summary.text and "Fatiga" in summary.text
    [log] = stored_logs(tmp_path / "peerbot.sqlite3")
    assert log[0] == 7 and decrypt(log[9]) == "Hoy fue un día difícil."
    assert {c["command"] for c in standin.commands_for("es")} >= {"start", "help"}


async def test_kill_9_in_the_middle_of_a_log_loses_nothing(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    bot = await bot_factory()
    sam = standin.user(503, "Sam", language_code="en")
    await onboard(standin, sam, ENGLISH)
    await standin.send_text(sam, "/log")
    question = await reply_containing(standin, sam.id, "1/10")
    for label in ("8", "Pain", "Done", "2", "Less than planned"):
        await standin.tap(sam, question, label)
        question = await standin.next_reply(sam.id, timeout=TIMEOUT)
    assert "5/10" in question.text  # rest breaks: five answers are in

    bot.kill9()
    await bot.wait()
    await bot_factory()  # same database, same key

    # The old question's buttons still work: the conversation continues where it was.
    await standin.tap(sam, question, "2")
    question = await reply_containing(standin, sam.id, "6/10")
    for label in ("3", "5", "4", "9"):
        await standin.tap(sam, question, label)
        question = await standin.next_reply(sam.id, timeout=TIMEOUT)
    await standin.tap(sam, question, "Skip")
    summary = await reply_containing(standin, sam.id, "Saved")

    assert "Symptoms: 8/10 — Pain" in summary.text
    assert "Activity: less than planned" in summary.text
    [log] = stored_logs(tmp_path / "peerbot.sqlite3")
    assert log[:9] == (8, '["pain"]', 2, "less", 2, 3, 5.0, 4, 9)


async def test_kill_9_while_the_next_question_hangs_then_the_chat_catches_up(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    bot = await bot_factory()
    sam = standin.user(504, "Sam", language_code="en")
    await onboard(standin, sam, ENGLISH)
    await standin.send_text(sam, "/log")
    question = await reply_containing(standin, sam.id, "1/10")
    await standin.tap(sam, question, "8")
    question = await standin.next_reply(sam.id, timeout=TIMEOUT)  # symptoms
    for label in ("Pain", "Done"):
        await standin.tap(sam, question, label)
        question = await standin.next_reply(sam.id, timeout=TIMEOUT)
    assert "2/10" not in question.text  # energy is asked: three answers are in

    # The energy answer is stored, but the edit showing the next question hangs: killed.
    standin.hang_for("editMessageText", 3, chat_id=sam.id)
    mark = standin.hung
    await standin.tap(sam, question, "2")
    await asyncio.wait_for(_until(lambda: standin.hung > mark), TIMEOUT)
    bot.kill9()
    await bot.wait()
    await asyncio.sleep(3)  # the hang is over
    await bot_factory()

    # The replayed tap brings the question shown up to date: the activity question.
    shown = await reply_containing(standin, sam.id, "how active")
    assert shown.message["message_id"] == question.message["message_id"]
    assert "This button has expired." not in _popups(standin)
    await standin.tap(sam, shown, "Less than planned")
    question = await reply_containing(standin, sam.id, "5/10")
    for label in ("2", "3", "5", "4", "9"):
        await standin.tap(sam, question, label)
        question = await standin.next_reply(sam.id, timeout=TIMEOUT)
    await standin.tap(sam, question, "Skip")
    await reply_containing(standin, sam.id, "Saved")

    [log] = stored_logs(tmp_path / "peerbot.sqlite3")
    assert log[:9] == (8, '["pain"]', 2, "less", 2, 3, 5.0, 4, 9)
    assert "This button has expired." not in _popups(standin)


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.02)


def _popups(standin: TelegramStandIn) -> list[str]:
    return [
        str(call.params.get("text"))
        for call in standin.calls
        if call.method.lower() == "answercallbackquery" and call.params.get("text")
    ]
