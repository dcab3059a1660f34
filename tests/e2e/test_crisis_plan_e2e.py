"""A crisis plan, end to end: the real bot process, its real HTTP client, a real database.

A mentee writes part of their plan, starts the day's log, and half way through taps the
🆘 button on their keyboard: the plan and the crisis lines come at once, and the log's
question is still there to answer.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import inbox
from tests.e2e.conftest import StartBot
from tests.e2e.standin import TelegramStandIn, TgUser
from tests.e2e.test_daily_log_e2e import (
    ENGLISH,
    TIMEOUT,
    decrypt,
    onboard,
    reply_containing,
    stored_logs,
)
from tests.e2e.test_delivery_e2e import bots_database  # noqa: F401 - a fixture

LABEL = "🆘 My crisis plan"
WARNING_SIGNS = "I stop eating & stay in bed all day"


def stored_plan(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT section, text FROM crisis_plan_sections").fetchall()


async def test_a_mentee_mid_log_opens_their_crisis_plan_then_finishes_the_log(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await bot_factory()
    kim = standin.user(511, "Kim", language_code="en")
    await onboard(standin, kim, ENGLISH)
    [all_set] = [c for c in standin.calls if "All set" in str(c.params.get("text", ""))]
    keyboard = all_set.params["reply_markup"]
    assert keyboard["is_persistent"] and keyboard["keyboard"][0][0]["text"] == LABEL

    # On a calmer day: the first part of the plan.
    await standin.send_text(kim, "/crisisplan")
    menu = await reply_containing(standin, kim.id, "Your crisis plan")
    await standin.tap(kim, menu, "1. Warning signs")
    part = await reply_containing(standin, kim.id, "Nothing here yet")
    await standin.tap(kim, part, "Write this part")
    await reply_containing(standin, kim.id, "Send it as one message")
    await standin.send_text(kim, WARNING_SIGNS)
    await reply_containing(standin, kim.id, "✓ Saved")

    # The day's log, half way through.
    await standin.send_text(kim, "/log")
    question = await reply_containing(standin, kim.id, "1/10")
    for label in ("7", "Pain", "Done", "4", "As planned"):
        await standin.tap(kim, question, label)
        question = await standin.next_reply(kim.id, timeout=TIMEOUT)
    assert "5/10" in question.text

    # The 🆘 button: the plan and the numbers, at once.
    await standin.send_text(kim, LABEL)
    plan = await reply_containing(standin, kim.id, "Your crisis plan")
    assert WARNING_SIGNS in plan.text  # as typed: the stand-in parses the HTML like Telegram
    assert "Samaritans" in plan.text and "999" in plan.text

    # The log goes on from the same question.
    await standin.tap(kim, question, "3")
    question = await reply_containing(standin, kim.id, "6/10")
    for label in ("6", "7", "5", "6"):
        await standin.tap(kim, question, label)
        question = await standin.next_reply(kim.id, timeout=TIMEOUT)
    await standin.tap(kim, question, "Skip")
    summary = await reply_containing(standin, kim.id, "Saved")

    assert "Symptoms: 7/10 — Pain" in summary.text
    database = tmp_path / "peerbot.sqlite3"
    [log] = stored_logs(database)
    assert log[:9] == (7, '["pain"]', 4, "as_planned", 3, 6, 7.0, 5, 6)
    [(section, token)] = stored_plan(database)
    assert section == "warning_signs"
    assert "stay in bed" not in token, "the plan must be encrypted at rest"
    assert decrypt(token) == WARNING_SIGNS


async def writing_the_plan(standin: TelegramStandIn, user_id: int) -> TgUser:
    """Ada, onboarded, has chosen to write her crisis plan part by part and is asked the
    first part."""
    ada = standin.user(user_id, "Ada", language_code="en")
    await onboard(standin, ada, ENGLISH)
    await standin.send_text(ada, "/crisisplan")
    menu = await reply_containing(standin, ada.id, "Your crisis plan")
    await standin.tap(ada, menu, "Write them one by one")
    await reply_containing(standin, ada.id, "1/7 · Warning signs")
    return ada


async def test_kill_9_while_writing_the_plan_resumes_at_the_same_part(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """The plan is written on the questionnaire engine, its draft in the SQL FSM: a crash
    between two parts loses nothing, and the next message is the part that was asked."""
    bot = await bot_factory()
    ada = await writing_the_plan(standin, 512)
    await standin.send_text(ada, WARNING_SIGNS)
    asked = await reply_containing(standin, ada.id, "2/7 · Things I can do on my own")
    assert "✓ Saved: “Warning signs”." in asked.text

    bot.kill9()
    await bot.wait()
    await bot_factory()

    await standin.send_text(ada, "A heat pad and slow breathing")
    asked = await reply_containing(standin, ada.id, "3/7")
    assert "✓ Saved: “Things I can do on my own to cope”." in asked.text
    await standin.tap(ada, asked, "Skip this part")
    await reply_containing(standin, ada.id, "4/7 · People I can ask for help")
    sections = [section for section, _token in stored_plan(tmp_path / "peerbot.sqlite3")]
    assert sorted(sections) == ["coping_alone", "warning_signs"]


def inbox_rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM inbox").fetchone()[0]


async def test_an_answer_handled_again_after_a_crash_is_not_taken_for_the_next_part(
    standin: TelegramStandIn,
    bot_factory: StartBot,
    bots_database: async_sessionmaker[AsyncSession],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The inbox is at least once: the process can die after an answer was stored and
    before the inbox forgot its update, which is then handled again at the next start.
    Here that moment is made certain (the update is put back in the inbox). The warning
    signs must not become the next part too: the next part is asked again."""
    database = tmp_path / "peerbot.sqlite3"
    bot = await bot_factory()
    ada = await writing_the_plan(standin, 513)
    update = await standin.send_text(ada, WARNING_SIGNS)
    await reply_containing(standin, ada.id, "2/7 · Things I can do on my own")
    for _ in range(100):  # the handler's transaction is committed when its update is gone
        if inbox_rows(database) == 0:
            break
        await asyncio.sleep(0.05)
    bot.kill9()
    await bot.wait()
    async with bots_database() as session:
        await inbox.save(session, [(update["update_id"], json.dumps(update))])
        await session.commit()

    await bot_factory()
    again = await reply_containing(standin, ada.id, "2/7 · Things I can do on my own")
    assert "Saved" not in again.text
    assert [section for section, _ in stored_plan(database)] == ["warning_signs"]
    await standin.send_text(ada, "A heat pad and slow breathing")
    asked = await reply_containing(standin, ada.id, "3/7")
    assert "✓ Saved: “Things I can do on my own to cope”." in asked.text
    plan = dict(stored_plan(database))
    assert sorted(plan) == ["coping_alone", "warning_signs"]
    assert decrypt(plan["coping_alone"]) == "A heat pad and slow breathing"
    assert decrypt(plan["warning_signs"]) == WARNING_SIGNS
