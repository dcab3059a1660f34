"""Session notes and supervision end to end: the real bot process, its outbox delivery, and
a real SQLite file, against the local Bot API stand-in.

Mo mentors Rosalind (both onboarded, matched, straight in the database). He notes a
session and flags a concern; the supervisors' group gets a short notice with pseudonyms
only; Dana, a supervisor, opens /review and marks it reviewed with a comment.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from flows.onboarding import CONSENT_VERSION
from storage import users
from storage.migrate import upgrade_async
from storage.models import Match, Role
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn
from tests.e2e.test_alerts_e2e import (
    SUPERVISOR_CHAT,
    TIMEOUT,
    database_url,
    session_of,
    to_chat,
)

MO, ROSALIND, DANA = 810, 510, 910
WORRY = "She has not been eating & feels hopeless about treatment"


async def program(data_dir: Path) -> None:
    await upgrade_async(database_url(data_dir))
    async with session_of(data_dir) as session:
        ids = {}
        for telegram_id, role, pseudonym, name in (
            (MO, Role.MENTOR, "Oak-810", "Mo"),
            (ROSALIND, Role.MENTEE, "Heron-42", "Rosalind"),
            (DANA, Role.SUPERVISOR, "Owl-910", "Dana"),
        ):
            person = await users.create(
                session, telegram_id=telegram_id, locale="en", pseudonym=pseudonym, role=role
            )
            person.display_name = name
            users.record_consent(session, person, CONSENT_VERSION)
            users.finish_onboarding(person, "Europe/London", dt.time(20))
            ids[telegram_id] = person.id
        await session.flush()
        session.add(Match(mentee_id=ids[ROSALIND], mentor_id=ids[MO], status="active"))
        await session.commit()


def stored(database: Path) -> tuple[tuple, tuple]:
    with sqlite3.connect(database) as connection:
        note = connection.execute(
            "SELECT minutes, topics, concern, concern_text FROM session_notes"
        ).fetchone()
        item = connection.execute(
            "SELECT kind, reviewed_by, comment IS NOT NULL FROM review_items"
        ).fetchone()
    return note, item


async def test_a_flagged_note_reaches_the_supervisors_and_is_reviewed(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await program(tmp_path)
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT)
    mo, dana = standin.user(MO, "Mo"), standin.user(DANA, "Dana")

    await standin.send_text(mo, "/note")
    question = await standin.next_reply(mo.id, timeout=TIMEOUT)
    assert "When was the session?" in question.text  # one mentee: no need to choose
    for label in ("Today", "45 min", "sleep", "Done"):
        await standin.tap(mo, question, label)
        question = await standin.next_reply(mo.id, timeout=TIMEOUT)
    assert "Any progress on their goals?" in question.text
    await standin.send_text(mo, "Walks ten minutes a day")
    question = await standin.next_reply(mo.id, timeout=TIMEOUT)
    await standin.tap(mo, question, "Yes, flag a concern")
    await standin.next_reply(mo.id, timeout=TIMEOUT)
    await standin.send_text(mo, WORRY)
    summary = await standin.next_reply(mo.id, timeout=TIMEOUT)
    assert "Note saved" in summary.text and WORRY in summary.text  # the stand-in parses HTML

    notice = await standin.wait_for(
        "sendMessage", to_chat(SUPERVISOR_CHAT, "flagged a concern"), timeout=TIMEOUT
    )
    shown = Reply(notice).text
    assert "Oak-810" in shown and "Heron-42" in shown
    assert "eating" not in shown and "Rosalind" not in shown

    await standin.send_text(dana, "/review")
    card = await standin.next_reply(dana.id, timeout=TIMEOUT)
    assert "Session note with a concern" in card.text and WORRY in card.text
    await standin.tap(dana, card, "Mark reviewed")
    await standin.next_reply(dana.id, timeout=TIMEOUT)
    await standin.send_text(dana, "Called Mo; GP appointment this week.")
    done = await standin.next_reply(dana.id, timeout=TIMEOUT)
    assert "Marked reviewed" in done.text and "Nothing else is waiting" in done.text

    note, item = stored(tmp_path / "peerbot.sqlite3")
    assert note[:3] == (45, '["sleep"]', 1) and "eating" not in note[3]  # encrypted at rest
    assert item == ("note", DANA, 1)
