"""A relayed conversation end to end: the real bot process, its outbox delivery, against the
local Bot API stand-in.

Ben mentors Ana; both are onboarded and matched straight in the bot's database before it
starts (intake and matching have their own tests). Ben reaches out, Ana answers — once
with crisis words: the supervisors are alerted *and* Ben still gets her message — Ben asks
the safety question (not his crisis), Ana sends a photo, and Ben ends the conversation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from flows.onboarding import CONSENT_VERSION
from storage import crypto, users
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_async
from storage.models import Match, Role
from tests.e2e.conftest import ENCRYPTION_KEY, StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn

SUPERVISOR_CHAT = -1001
ANA, BEN = 501, 801
TIMEOUT = 15


@contextlib.asynccontextmanager
async def session_of(data_dir: Path) -> AsyncIterator[AsyncSession]:
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(ENCRYPTION_KEY)))
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir}/peerbot.sqlite3")
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def matched_pair(data_dir: Path) -> None:
    """Ana (mentee) and Ben (mentor), onboarded, in an active match."""
    await upgrade_async(f"sqlite+aiosqlite:///{data_dir}/peerbot.sqlite3")
    async with session_of(data_dir) as session:
        people = {}
        for telegram_id, name, role in ((ANA, "Ana", Role.MENTEE), (BEN, "Ben", Role.MENTOR)):
            person = await users.create(
                session, telegram_id=telegram_id, locale="en", pseudonym=f"{name}-pseudo", role=role
            )
            person.display_name = name
            users.record_consent(session, person, CONSENT_VERSION)
            users.finish_onboarding(person, "Europe/London", dt.time(20))
            people[name] = person
        await session.flush()
        session.add(Match(mentee_id=people["Ana"].id, mentor_id=people["Ben"].id, status="active"))
        await session.commit()


def sent_to(chat_id: int, *words: str):
    def matches(call: Call) -> bool:
        shown = Reply(call).text or str(call.params.get("text", ""))
        return (
            call.ok
            and str(call.params.get("chat_id")) == str(chat_id)
            and all(w in shown for w in words)
        )

    return matches


def copied_to(chat_id: int, from_chat_id: int):
    def matches(call: Call) -> bool:
        return (
            call.ok
            and str(call.params.get("chat_id")) == str(chat_id)
            and str(call.params.get("from_chat_id")) == str(from_chat_id)
        )

    return matches


async def test_a_relayed_exchange_with_crisis_words_alerts_and_carries_on(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await matched_pair(tmp_path)
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    ana = standin.user(ANA, "Ana", language_code="en")
    ben = standin.user(BEN, "Ben", language_code="en")

    await standin.send_text(ben, "/reachout")
    opened = await standin.next_reply(BEN, timeout=TIMEOUT)
    assert "You're now writing to Ana through me" in opened.text
    await standin.wait_for("sendMessage", sent_to(ANA, "Ben opened a conversation"), TIMEOUT)

    await standin.send_text(ben, "Hi Ana, how has your energy been?")
    said = await standin.wait_for(
        "sendMessage", sent_to(ANA, "Ben: Hi Ana, how has your energy been?"), TIMEOUT
    )
    assert Reply(said).message["entities"][0]["type"] == "bold"  # the name, in bold

    mark = standin.mark()
    await standin.send_text(ana, "Low. Honestly I want to kill myself tonight")
    alert = await standin.wait_for(
        "sendMessage", sent_to(SUPERVISOR_CHAT, "Alert #1"), TIMEOUT, after=mark
    )
    assert "Ana-pseudo" in Reply(alert).text
    await standin.wait_for(
        "sendMessage", sent_to(BEN, "Ana: Low. Honestly I want to kill myself tonight"), TIMEOUT
    )
    # Ana is answered by the crisis screening too (her lines and what happens next).
    await standin.wait_for("sendMessage", sent_to(ANA, "supervisor"), TIMEOUT, after=mark)

    # Ben asks what mentors are taught to ask. It reaches Ana, and it is not Ben's crisis:
    # no alert about him, no crisis answer to him.
    asking = standin.mark()
    await standin.send_text(ben, "Ana, are you thinking about ending your life right now?")
    await standin.wait_for(
        "sendMessage", sent_to(ANA, "are you thinking about ending your life"), TIMEOUT
    )

    await standin.send_photo(ana, caption="my pacing plan")
    copy = await standin.wait_for("copyMessage", copied_to(BEN, ANA), TIMEOUT)
    assert copy.params.get("caption") == "<b>Ana</b>: my pacing plan"

    await standin.send_text(ben, "I'm here. Let's talk. /end later")
    await standin.wait_for("sendMessage", sent_to(ANA, "Ben: I'm here. Let's talk."), TIMEOUT)
    since_asking = [c for c in standin.calls[asking:] if c.method == "sendMessage"]
    assert not any(sent_to(SUPERVISOR_CHAT, "Alert #2")(c) for c in since_asking)
    # (what Ben is sent meanwhile is about Ana: her words, the guidance on her alert)
    assert all("Ana" in Reply(c).text for c in since_asking if sent_to(BEN)(c))
    await standin.send_text(ben, "/end")
    await standin.wait_for("sendMessage", sent_to(ANA, "Ben ended the conversation"), TIMEOUT)
