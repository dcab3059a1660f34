"""Acting on a crisis end to end: the real bot process, its outbox delivery, against the
local Bot API stand-in.

Lucía (a mentee who writes Spanish, in Madrid) is matched with Ben (a mentor who reads
German); Dana is the supervisor on call. Lucía tells Ben, through the relay, that she wants
to die tonight. The alert tells Dana who she is and where it was said; Ben is told what to
do; Dana writes to Lucía from the alert, and Lucía's answer comes back to her and into the
case's history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from flows.onboarding import CONSENT_VERSION
from storage import crypto, oncall, users
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_async
from storage.models import Match, Role
from tests.e2e.conftest import ENCRYPTION_KEY, StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn

SUPERVISOR_CHAT = -1001
LUCIA, BEN, DANA = 510, 810, 910
TIMEOUT = 15
CRISIS_ES = "Hoy no puedo más. Quiero suicidarme esta noche."


def database(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir}/peerbot.sqlite3"


@contextlib.asynccontextmanager
async def session_of(data_dir: Path) -> AsyncIterator[AsyncSession]:
    crypto.use_cipher(crypto.Cipher(crypto.parse_keys(ENCRYPTION_KEY)))
    engine = create_engine(database(data_dir))
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def the_program(data_dir: Path) -> None:
    """Lucía and Ben, onboarded and matched; Dana, a supervisor on call."""
    await upgrade_async(database(data_dir))
    async with session_of(data_dir) as session:
        found = {}
        for telegram_id, name, role, locale, zone in (
            (LUCIA, "Lucía", Role.MENTEE, "es", "Europe/Madrid"),
            (BEN, "Ben", Role.MENTOR, "de", "Europe/Berlin"),
            (DANA, "Dana", Role.SUPERVISOR, "en", "Europe/London"),
        ):
            person = await users.create(
                session,
                telegram_id=telegram_id,
                locale=locale,
                pseudonym="Heron-5" if telegram_id == LUCIA else f"{name}-pseudo",
                role=role,
            )
            person.display_name = name
            users.record_consent(session, person, CONSENT_VERSION)
            users.finish_onboarding(person, zone, dt.time(20))
            found[telegram_id] = person
        await session.flush()
        session.add(Match(mentee_id=found[LUCIA].id, mentor_id=found[BEN].id, status="active"))
        await oncall.take(session, found[DANA], oncall.PRIMARY)
        await session.commit()


def to(chat_id: int, *words: str):
    def matches(call: Call) -> bool:
        shown = Reply(call).text or str(call.params.get("text", ""))
        return (
            call.ok
            and str(call.params.get("chat_id")) == str(chat_id)
            and all(word in shown for word in words)
        )

    return matches


async def test_crisis_told_to_a_mentor_alerts_with_context_guides_the_mentor_and_the_supervisor_writes(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await the_program(tmp_path)
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    await bot_factory(SUPERVISOR_CHAT_ID=SUPERVISOR_CHAT, ESCALATION_ACK_MINUTES=60)
    lucia = standin.user(LUCIA, "Lucía", language_code="es")
    ben = standin.user(BEN, "Ben", language_code="de")
    dana = standin.user(DANA, "Dana", language_code="en")

    await standin.send_text(ben, "/reachout")
    await standin.wait_for("sendMessage", to(LUCIA, "Ben"), TIMEOUT)

    # Lucía writes to Ben: the alert names her language, where it was said, her mentor and
    # the open conversation.
    await standin.send_text(lucia, CRISIS_ES)
    channel = Reply(
        await standin.wait_for("sendMessage", to(SUPERVISOR_CHAT, "Alert #1"), TIMEOUT)
    ).text
    assert "Person: Heron-5 · Spanish · Spain" in channel
    assert "Said: in a conversation with their mentor — Ben-pseudo received it" in channel
    assert "Mentor: Ben-pseudo · conversation open" in channel
    assert "Quiero suicidarme esta noche." in channel
    assert "Lucía" not in channel, "alerts carry a pseudonym"

    # Ben gets her message and, in German, what to do and not to, with her crisis lines.
    await standin.wait_for("sendMessage", to(BEN, "Lucía", "Quiero suicidarme"), TIMEOUT)
    guidance = Reply(
        await standin.wait_for("sendMessage", to(BEN, "Versprich keine Geheimhaltung"), TIMEOUT)
    ).text
    assert "Supervisionsteam" in guidance and "Trag es nicht allein" in guidance
    assert "112" in guidance and "024" in guidance

    # Dana writes to Lucía from her own copy of the alert: one tap, then her message.
    own = Reply(await standin.wait_for("sendMessage", to(DANA, "Alert #1"), TIMEOUT))
    taps = 0
    mark = standin.mark()
    await standin.press(dana, own, own.button("Write to them"))
    taps += 1
    intro = Reply(
        await standin.wait_for("sendMessage", to(DANA, "You're writing to Heron-5"), TIMEOUT)
    )
    assert "They read Spanish" in intro.text
    await standin.wait_for(
        "editMessageText", to(SUPERVISOR_CHAT, "Dana is writing to them through me"), TIMEOUT
    )
    await standin.send_text(dana, "Hola Lucía, soy del programa. ¿Estás a salvo ahora mismo?")
    taps += 1
    first = Reply(
        await standin.wait_for(
            "sendMessage",
            to(LUCIA, "Equipo de supervisión de tu programa", "¿Estás a salvo ahora mismo?"),
            TIMEOUT,
            after=mark,
        )
    )
    assert taps == 2, "from the alert to a first message reaching her"
    assert "Dana" not in first.text
    assert [t for row in first.buttons for t, _d in row] == [
        "💛 Por ahora estoy a salvo",
        "🆘 Necesito ayuda ahora",
    ]

    # Her answer goes to Dana (not to Ben), and into the case's history, encrypted.
    await standin.send_text(lucia, "Gracias. Estoy en casa con mi hermana.")
    await standin.wait_for(
        "sendMessage", to(DANA, "Heron-5 (alert #1)", "Estoy en casa con mi hermana."), TIMEOUT
    )
    await standin.press(lucia, first, first.button("a salvo"))
    await standin.wait_for("sendMessage", to(DANA, "tapped: I'm safe for now"), TIMEOUT)
    assert not any("hermana" in text for text in standin.messages_to(BEN))
    with sqlite3.connect(tmp_path / "peerbot.sqlite3") as raw:
        events = raw.execute("SELECT kind, text FROM case_events ORDER BY id").fetchall()
    assert [kind for kind, _text in events] == ["opened", "to_person", "from_person", "from_person"]
    assert not any("hermana" in (text or "") for _kind, text in events), "kept encrypted"

    # Dana ends it; Lucía is told kindly, in Spanish, and her words go to Ben again.
    await standin.send_text(dana, "/end")
    await standin.wait_for(
        "sendMessage", to(LUCIA, "ha terminado la conversación por ahora", "Ben"), TIMEOUT
    )
