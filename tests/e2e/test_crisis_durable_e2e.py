"""The crisis promise under faults: the person's crisis answer arrives once, whatever
Telegram or the process does meanwhile, and the supervisors hear of it once.

Every test runs the real bot process against the stand-in, which answers with HTML 502s
(as Telegram's front end does), floods with 429s, hangs requests, and the bot is killed
with SIGKILL at the worst moments.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from functools import partial
from pathlib import Path

import pytest

from tests import waiting
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, TelegramStandIn, TgUser
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    PRIMARY,
    SUPERVISOR_CHAT,
    TIMEOUT,
    onboarded_mentee,
    supervisors_on_call,
)

CRISIS = "I want to kill myself tonight."
OPENER = "Thank you for telling me"  # the crisis answer's first words
NOTE = "New message in alert"
# Alerts wait for their acknowledgement much longer than these tests take.
QUIET_ALERTS = {**ALERT_ENV, "ESCALATION_ACK_MINUTES": 30}
# An alert claimed by the worker when the process died waits for its claim's lease (30 s)
# before the restarted bot sends it; how soon is another matter (issue 10, item 11).
AFTER_LEASE = 45


def sent_to(standin: TelegramStandIn, chat_id: int, words: str) -> list[Call]:
    """Messages Telegram accepted for ``chat_id`` that contain ``words``."""
    return [
        call
        for call in standin.calls
        if call.ok
        and call.method.lower() == "sendmessage"
        and str(call.params.get("chat_id")) == str(chat_id)
        and words in str(call.params.get("text", ""))
    ]


def crisis_answers(standin: TelegramStandIn, person: TgUser) -> list[Call]:
    return sent_to(standin, person.id, OPENER)


def recorded_sent(data_dir: Path, key_pattern: str) -> bool:
    """The outbox message whose key matches is marked sent in the bot's database."""
    with contextlib.closing(
        sqlite3.connect(f"file:{data_dir}/peerbot.sqlite3?mode=ro", uri=True)
    ) as db:
        row = db.execute("SELECT status FROM outbox WHERE key LIKE ?", (key_pattern,)).fetchone()
    return row is not None and row[0] == "sent"


def first_answer_recorded(data_dir: Path) -> bool:
    """The crisis answer's first message is marked sent in the bot's database."""
    return recorded_sent(data_dir, "crisis:%:0")


until = partial(waiting.until, timeout=TIMEOUT, every=0.05)


async def the_alert_and_the_page(standin: TelegramStandIn) -> None:
    """Wait, past the killed bot's lease, for the channel's alert and the on-call's page."""
    for chat, what in ((SUPERVISOR_CHAT, "the alert"), (PRIMARY, "the on-call's page")):
        await until(lambda c=chat: sent_to(standin, c, "Alert #1"), timeout=AFTER_LEASE, what=what)


async def a_mentee_in_crisis_setting(standin: TelegramStandIn, tmp_path: Path) -> TgUser:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 701, "en", "Europe/London", "Heron-70")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    return standin.user(701, "Rosalind", language_code="en")


# --- item 4: the crisis answer and replies are durable ------------------------------------


async def test_an_html_502_on_the_crisis_answer_does_not_lose_it(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    person = await a_mentee_in_crisis_setting(standin, tmp_path)
    await bot_factory(**QUIET_ALERTS)
    standin.fail("sendMessage", 502, html=True, chat_id=person.id)

    await standin.send_text(person, CRISIS)

    await until(lambda: crisis_answers(standin, person), what="the crisis answer")
    await until(lambda: sent_to(standin, SUPERVISOR_CHAT, "Alert #1"), what="the alert")
    await asyncio.sleep(1.5)  # a second copy would have come by now
    assert len(crisis_answers(standin, person)) == 1
    assert "Samaritans" in crisis_answers(standin, person)[0].result["text"]


async def test_an_html_502_on_help_is_retried_not_apologised_for(
    standin: TelegramStandIn, bot_factory: StartBot
) -> None:
    await bot_factory()
    sam = standin.user(702, "Sam", language_code="en")
    standin.fail("sendMessage", 502, html=True, chat_id=sam.id)

    await standin.send_text(sam, "/help")
    reply = await standin.next_reply(sam.id, timeout=TIMEOUT)

    assert "peer-mentorship" in reply.text
    await asyncio.sleep(1.0)
    assert not sent_to(standin, sam.id, "went wrong")


# Slow on purpose (~50 s): Telegram answers the person's chat with 429 for 45 s.
@pytest.mark.timeout(150)
async def test_a_45_second_429_storm_delays_the_crisis_answer_and_help_but_loses_neither(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    person = await a_mentee_in_crisis_setting(standin, tmp_path)
    await bot_factory(**QUIET_ALERTS)
    storm_ends = time.monotonic() + 45
    standin.fail_for("sendMessage", 429, 45, retry_after=5, chat_id=person.id)

    await standin.send_text(person, CRISIS)
    await until(lambda: sent_to(standin, SUPERVISOR_CHAT, "Alert #1"), what="the alert")
    await standin.send_text(person, "/help")

    await until(lambda: crisis_answers(standin, person), timeout=75, what="the crisis answer")
    await until(lambda: sent_to(standin, person.id, "/crisis"), timeout=75, what="/help")
    assert time.monotonic() >= storm_ends - 1
    await asyncio.sleep(2.0)
    assert len(crisis_answers(standin, person)) == 1, "the crisis answer arrives once"
    assert len(sent_to(standin, person.id, "Samaritans")) == 1
    assert not sent_to(standin, person.id, "went wrong")


# --- item 10: a crisis message handled again after kill -9 changes nothing ----------------


@pytest.mark.parametrize("delay_ms", [10, 30, 50])
async def test_kill_9_just_after_a_crisis_message_pages_and_answers_once(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path, delay_ms: int
) -> None:
    person = await a_mentee_in_crisis_setting(standin, tmp_path)
    bot = await bot_factory(**QUIET_ALERTS)

    await standin.send_text(person, CRISIS)
    # Just after the crisis answer's first message was sent and recorded: the alert is
    # stored, the update not done. (Killed in the milliseconds between Telegram taking a
    # message and the bot recording it, the restart sends it again: twice, never lost.)
    await until(lambda: crisis_answers(standin, person), what="the crisis answer")
    await until(lambda: first_answer_recorded(tmp_path), what="the answer recorded as sent")
    await asyncio.sleep(delay_ms / 1000)
    bot.kill9()
    await bot.wait()
    await asyncio.sleep(0.5)  # a request already written to the socket still reaches Telegram
    # A page Telegram had taken but the bot had not yet recorded is sent again: that one
    # may arrive twice, by design; every other message exactly once.
    in_flight = {
        chat: bool(sent_to(standin, chat, "Alert #1"))
        and not recorded_sent(tmp_path, f"alert:1:%{suffix}")
        for chat, suffix in ((SUPERVISOR_CHAT, ":channel"), (PRIMARY, f":dm:{PRIMARY}"))
    }
    await bot_factory(**QUIET_ALERTS)

    await the_alert_and_the_page(standin)
    await asyncio.sleep(2.0)
    for chat, twice_allowed in in_flight.items():
        assert len(sent_to(standin, chat, "Alert #1")) == (2 if twice_allowed else 1)
    assert not sent_to(standin, SUPERVISOR_CHAT, NOTE), "the same sentence is not a new one"
    assert len(crisis_answers(standin, person)) == 1


async def test_kill_9_while_the_crisis_sends_hang_pages_and_answers_once(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    person = await a_mentee_in_crisis_setting(standin, tmp_path)
    bot = await bot_factory(**QUIET_ALERTS)
    hang_ends = time.monotonic() + 4
    standin.hang_for("sendMessage", 4)  # the crisis answer and the alerts alike

    await standin.send_text(person, CRISIS)
    await until(lambda: standin.hung >= 2, what="the sends to hang")
    bot.kill9()
    await bot.wait()
    await asyncio.sleep(max(0.0, hang_ends - time.monotonic()))
    await bot_factory(**QUIET_ALERTS)

    await until(lambda: crisis_answers(standin, person), what="the crisis answer")
    await the_alert_and_the_page(standin)
    await asyncio.sleep(2.0)
    assert len(sent_to(standin, SUPERVISOR_CHAT, "Alert #1")) == 1
    assert len(sent_to(standin, PRIMARY, "Alert #1")) == 1
    assert not sent_to(standin, SUPERVISOR_CHAT, NOTE), "the same sentence is not a new one"
    assert len(crisis_answers(standin, person)) == 1


# --- item 8: a database that cannot be written ---------------------------------------------


@pytest.mark.timeout(150)
async def test_a_locked_database_still_gives_the_crisis_lines_in_the_persons_language(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await supervisors_on_call(tmp_path)
    await onboarded_mentee(tmp_path, 703, "es", "Europe/Madrid", "Garza-70")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    bot = await bot_factory(**QUIET_ALERTS)
    lucia = standin.user(703, "Lucía", language_code="en")  # her app speaks English
    # Another process takes the database's write lock and keeps it: every write fails.
    holder = sqlite3.connect(tmp_path / "peerbot.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        await standin.send_text(lucia, "Quiero suicidarme esta noche.")
        answer = await standin.next_reply(lucia.id, timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert "024" in answer.text, "the crisis lines of her country"
    assert "Gracias por contármelo" in answer.text, "in the language she chose"
    assert "supervisión" in answer.text and "he avisado" not in answer.text, "no false promise"
    assert "DATABASE FAILING" in bot.log_text()
    assert "Quiero" not in bot.log_text(), "her words are never logged"
