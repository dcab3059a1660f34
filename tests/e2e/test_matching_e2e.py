"""From intake to introductions, end to end: the real bot process against the Bot API stand-in.

A mentee and a mentor onboard and answer the intake through the bot; the program admin,
who joined through an admin invite link, sends /match, reads the suggestion and why it
fits, confirms it, and the outbox's delivery worker brings both people their introduction.
The invite and the mentor's role are written straight into the database as `peerbot invite`
and `peerbot roles add` leave them (a command-line call costs seconds).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage import invites, users
from storage.migrate import upgrade_async
from storage.models import Role
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn, TgUser
from tests.e2e.test_alerts_e2e import database_url, session_of
from tests.e2e.test_daily_log_e2e import (
    ENGLISH,
    TIMEOUT,
    onboard,
    reply_containing,
)

MENTEE, MENTOR, ADMIN = 511, 611, 951


async def before_start(data_dir: Path) -> str:
    """The mentor as `peerbot roles add ID mentor` leaves them (they have not sent /start
    yet), and an admin invite as `peerbot invite --role admin` makes it; its code."""
    await upgrade_async(database_url(data_dir))
    async with session_of(data_dir) as session:
        await users.create(
            session, telegram_id=MENTOR, locale="en", pseudonym="Oak-611", role=Role.MENTOR
        )
        invite = await invites.create(session, Role.ADMIN, uses=1)
        await session.commit()
        return invite.code


async def onboard_invited(standin: TelegramStandIn, person: TgUser, code: str) -> None:
    """Onboarding from an invite link (/start CODE), tap by tap, in English."""
    await standin.send_text(person, f"/start {code}")
    greeting = await reply_containing(standin, person.id, "Hello")
    await standin.tap(person, greeting, "English")
    consent = await reply_containing(standin, person.id, "Do you agree")
    await standin.tap(person, consent, "Yes, I agree")
    zones = await reply_containing(standin, person.id, "time zone")
    await standin.tap(person, zones, "London")
    # Staff keep no daily log: no check-in time is asked, and none is promised.
    done = await reply_containing(standin, person.id, "You joined as a program admin")
    assert "All set! Your time zone: London." in done.text
    assert "check in with you" not in done.text


async def answer(standin: TelegramStandIn, person: TgUser, question: Reply, *labels: str) -> Reply:
    """Tap each label on the question as it changes; the question (or answer) shown last."""
    for label in labels:
        await standin.tap(person, question, label)
        question = await standin.next_reply(person.id, timeout=TIMEOUT)
    return question


async def test_intake_suggestion_confirm_and_both_introductions(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    code = await before_start(tmp_path)
    await bot_factory()
    ana = standin.user(MENTEE, "Ana", language_code="en")
    mo = standin.user(MENTOR, "Mo", language_code="en")
    ada = standin.user(ADMIN, "Ada", language_code="en")
    await asyncio.gather(
        onboard(standin, ana, ENGLISH),
        onboard(standin, mo, ENGLISH),
        onboard_invited(standin, ada, code),
    )

    await standin.send_text(ana, "/profile")
    question = await reply_containing(standin, ana.id, "About you · 1/9")
    done = await answer(
        standin,
        ana,
        question,
        *("pacing", "Done", "Fatigue", "Done", "Daily", "Short texts"),
        *("Skip", "Skip", "Done", "Skip", "Skip"),
    )
    assert "You're in the queue for a mentor" in done.text

    await standin.send_text(mo, "/profile")
    question = await reply_containing(standin, mo.id, "About you · 1/9")
    done = await answer(
        standin,
        mo,
        question,
        *("pacing", "Sleep", "Done", "Fatigue", "Pain", "Done", "Daily", "Short texts"),
        *("Skip", "Both", "Done", "2", "Skip"),
    )
    assert "introduce you to mentees who fit" in done.text

    await standin.send_text(ada, "/match")
    entry = await reply_containing(standin, ada.id, "waiting since")
    assert "Ana" in entry.text and "1. " in entry.text and "(Mo)" in entry.text
    assert "both: Fatigue, pacing goals; both prefer short texts, daily" in entry.text
    await standin.tap(ada, entry, "Confirm Mo")
    await reply_containing(standin, ada.id, "Matched")

    to_ana = await reply_containing(standin, ana.id, "Meet your mentor, Mo")
    assert "/mentor" in to_ana.text
    to_mo = await reply_containing(standin, mo.id, "Meet your new mentee, Ana")
    assert "Activity planning and pacing" in to_mo.text and "/reachout" in to_mo.text
