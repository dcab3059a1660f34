"""Acting on a crisis, as a supervisor, a person in crisis and a mentor live it (real
dispatcher, Telegram faked).

Lucía (a mentee who speaks Spanish and lives in Spain) is matched with Ben (a mentor who
speaks German). Dana and Eve are supervisors. When Lucía's words raise an alert, the alert
says who she is at a glance; Dana taps "Write to them through me" and types: Lucía reads it
as her program's supervisor, in Spanish, and answers in her words or with a tap. Ben, who
got her message through the relay, is told what to do and what not to.
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy import select

from storage.models import Alert, AlertStatus, CaseConversation, CaseEvent, Match, Role, utcnow
from tests.unit.alert_helpers import (
    ONLY_SUPERVISORS,
    SUPERVISOR_CHAT,
    alert_messages,
    alert_rows,
    alert_settings,
    audit_rows,
    deliver_all,
    member,
    on_call,
    outbox_rows,
    the_alert,
)
from tests.unit.chat_helpers import Watch, button_data, person, tap_data

LUCIA, BEN, DANA, EVE, OTHER = 310, 810, 910, 911, 311
CRISIS_ES = "Hoy no puedo más. Quiero suicidarme esta noche."
SENTENCE_ES = "Quiero suicidarme esta noche."


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness) -> Watch:
    return Watch(harness)


async def program(sessionmaker, *, mentor: bool = True) -> None:
    await member(sessionmaker, DANA, role=Role.SUPERVISOR, display_name="Dana")
    await member(sessionmaker, EVE, role=Role.SUPERVISOR, display_name="Eve", locale="de")
    await on_call(sessionmaker, DANA)
    lucia = await member(
        sessionmaker, LUCIA, locale="es", zone="Europe/Madrid", pseudonym="Heron-5"
    )
    if mentor:
        ben = await member(
            sessionmaker,
            BEN,
            role=Role.MENTOR,
            locale="de",
            zone="Europe/Berlin",
            pseudonym="Oak-8",
            display_name="Ben",
        )
        async with sessionmaker() as session:
            session.add(Match(mentee_id=lucia, mentor_id=ben, status="active"))
            await session.commit()


def to(rows, chat_id: int):
    return [row for row in rows if row.chat_id == chat_id and row.method == "sendMessage"]


async def raised_alert(harness, watch, sessionmaker, text: str = CRISIS_ES):
    await person(harness, watch, LUCIA, "es").say(text)
    alert = (await alert_rows(sessionmaker))[-1]
    copies = await deliver_all(sessionmaker, f"alert:{alert.id}:")
    return alert, copies


# --- "Write to them through me" ------------------------------------------------------------


async def test_a_supervisor_writes_from_the_alert_and_the_persons_reply_reaches_the_case(
    harness, watch, sessionmaker, database_url
) -> None:
    await program(sessionmaker)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    dana, lucia = person(harness, watch, DANA), person(harness, watch, LUCIA, "es")
    own_copy = copies[f"alert:{alert.id}:l0:dm:{DANA}"]
    taps_before = dana.updates

    # Tap 1: "Write to them through me" on her own copy of the alert.
    assert await dana.tap("Write to them", own_copy) is None
    [intro] = [t for t in dana.texts() if "You're writing to" in t]
    assert "You're writing to <b>Heron-5</b> (alert #1) through me" in intro
    assert "They read Spanish" in intro and "/end" in intro
    stored = await the_alert(sessionmaker, alert.id)
    assert (stored.status, stored.contacting_by) == (AlertStatus.CONTACTING, DANA)
    edited = [
        r for r in await outbox_rows(sessionmaker, "alertedit:") if r.chat_id == SUPERVISOR_CHAT
    ]
    assert edited and "Dana is writing to them through me." in edited[-1].text

    # Tap 2 (typing): the message reaches Lucía.
    await dana.say("Hola, soy del programa. ¿Cómo estás ahora mismo?")
    assert dana.updates - taps_before == 2, "from an alert to a first message: two actions"
    [first] = to(await outbox_rows(sessionmaker, "case:"), LUCIA)
    assert first.text.startswith("💬 <b>Equipo de supervisión de tu programa</b>:")
    assert "¿Cómo estás ahora mismo?" in first.text
    assert "Dana" not in first.text, "the sender is named as the program's supervisor"
    assert first.labels == ["💛 Por ahora estoy a salvo", "🆘 Necesito ayuda ahora"]

    # Her mentor opens a conversation meanwhile: her answers still go to the supervisor.
    await person(harness, watch, BEN, "de").send("/reachout")
    [opened] = [r for r in await outbox_rows(sessionmaker, "relay:") if r.key.endswith(":opened")]
    assert "Mientras hablas con el equipo de supervisión" in opened.text, "no false promise"

    # Lucía answers in her own words: it reaches Dana, headed with her pseudonym.
    await lucia.say("Gracias. Estoy en casa, un poco mejor.")
    [answer] = to(await outbox_rows(sessionmaker, "case:"), DANA)
    assert not [r for r in await outbox_rows(sessionmaker, "relay:") if "mejor" in r.text]
    assert answer.text == "💬 <b>Heron-5</b> (alert #1):\nGracias. Estoy en casa, un poco mejor."

    # ...or with one tap.
    message = first.params
    from tests.unit.alert_helpers import shown_message

    shown = shown_message(LUCIA, 4242, first.text, message.get("reply_markup"))
    assert await lucia.tap("a salvo", shown) == "Enviado al equipo de supervisión. Gracias."
    tapped = to(await outbox_rows(sessionmaker, "case:"), DANA)[-1]
    assert "Heron-5 (alert #1) tapped: I'm safe for now." in tapped.text

    # Every message is kept in the case's history, encrypted at rest.
    async with sessionmaker() as session:
        events = list((await session.execute(select(CaseEvent).order_by(CaseEvent.id))).scalars())
    assert [e.kind for e in events] == ["opened", "to_person", "from_person", "from_person"]
    assert events[2].text == "Gracias. Estoy en casa, un poco mejor."
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        with sqlite3.connect(path) as raw:
            stored_texts = [t for (t,) in raw.execute("SELECT text FROM case_events") if t]
        assert stored_texts and not any("mejor" in t for t in stored_texts)

    # Lucía ends it: Dana is told, and Lucía's next words go to her mentor again.
    reply = await lucia.send("/end")
    assert "Tu conversación con el equipo de supervisión ha terminado" in reply.text
    assert "Ben" in reply.text
    ended = to(await outbox_rows(sessionmaker, "case:"), DANA)[-1]
    assert ended.text == "Heron-5 ended the conversation (alert #1)."
    await lucia.say("Otra cosa")
    assert len(to(await outbox_rows(sessionmaker, "case:"), DANA)) == 3
    assert [r.text for r in await outbox_rows(sessionmaker, "relay:") if r.chat_id == BEN][
        -1
    ].endswith("Otra cosa")


async def test_pressing_on_the_channel_copy_opens_the_private_chat_and_names_who(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker, mentor=False)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    dana, eve = person(harness, watch, DANA), person(harness, watch, EVE, "de")
    assert await dana.tap("Write to them", channel) == "Write to them in our private chat."
    assert any("You're writing to <b>Heron-5</b>" in t for t in dana.texts())

    # Eve cannot take over unawares: she is told who is writing (in her language).
    refused = await eve.press(button_data(channel, "Write to them"), channel)
    assert refused == "Dana schreibt ihnen schon über mich."
    async with sessionmaker() as session:
        talks = list((await session.execute(select(CaseConversation))).scalars())
    assert [(t.alert_id, t.closed_at) for t in talks] == [(alert.id, None)]


async def test_a_forged_write_button_is_refused_and_audited(harness, watch, sessionmaker) -> None:
    await program(sessionmaker, mentor=False)
    await member(sessionmaker, OTHER, pseudonym="Wren-9")
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    channel = copies[f"alert:{alert.id}:l0:channel"]
    stranger = person(harness, watch, OTHER)
    assert await stranger.press(f"write:{alert.id}", channel) == ONLY_SUPERVISORS
    assert ("refused_press", alert.id, OTHER, "write by mentee") in await audit_rows(sessionmaker)
    async with sessionmaker() as session:
        assert (await session.execute(select(CaseConversation))).first() is None


async def test_the_supervisor_ends_it_with_cancel_and_the_person_is_told_kindly(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker, mentor=False)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    dana, lucia = person(harness, watch, DANA), person(harness, watch, LUCIA, "es")
    await dana.tap("Write to them", copies[f"alert:{alert.id}:l0:dm:{DANA}"])
    reply = await dana.send("/cancel")
    assert "Your conversation with Heron-5 (alert #1) has ended" in reply.text
    [notice] = to(await outbox_rows(sessionmaker, "case:"), LUCIA)
    assert "ha terminado la conversación por ahora" in notice.text and "/crisis" in notice.text
    await dana.say("Are you there?")  # no longer passed on
    assert len(to(await outbox_rows(sessionmaker, "case:"), LUCIA)) == 1
    await lucia.say("Hola")
    assert to(await outbox_rows(sessionmaker, "case:"), DANA) == []


async def test_i_need_help_now_from_the_conversation_pages_again_and_gives_the_number(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker, mentor=False)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    dana, lucia = person(harness, watch, DANA), person(harness, watch, LUCIA, "es")
    await dana.tap("Write to them", copies[f"alert:{alert.id}:l0:dm:{DANA}"])
    await dana.say("¿Estás a salvo?")
    [first] = to(await outbox_rows(sessionmaker, "case:"), LUCIA)
    from tests.unit.alert_helpers import shown_message

    shown = shown_message(LUCIA, 4343, first.text, first.params.get("reply_markup"))
    toast = await lucia.tap("Necesito ayuda", shown)
    assert toast is not None and "112" in toast
    stored = await the_alert(sessionmaker, alert.id)
    assert stored.severity == 3, "a tap for help now is treated as imminent"
    tapped = to(await outbox_rows(sessionmaker, "case:"), DANA)[-1]
    assert "tapped: I need help now." in tapped.text


# --- the alert at a glance ---------------------------------------------------------------------


async def test_a_crisis_said_to_the_mentor_alerts_with_context_and_guides_the_mentor(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    ben, lucia = person(harness, watch, BEN, "de"), person(harness, watch, LUCIA, "es")
    await ben.send("/reachout")
    await lucia.say(CRISIS_ES)

    rows = await outbox_rows(sessionmaker)
    [alert] = alert_messages(rows, SUPERVISOR_CHAT)
    text = alert.text
    assert "Person: Heron-5 · Spanish · Spain" in text
    assert "Lines shown: 112, 024 Línea de atención a la conducta suicida" in text
    assert "no crisis plan" in text
    assert (
        "Said: in a conversation with their mentor — Oak-8 received it and was given guidance"
        in text
    )
    assert "Mentor: Oak-8 · conversation open" in text
    assert "Earlier alerts (30 days): none" in text
    assert SENTENCE_ES in text

    # Ben got her message, then the guidance, in German, with her crisis lines.
    to_ben = [r for r in rows if r.chat_id == BEN and r.key.startswith("relay:")]
    assert to_ben[-2].text.endswith(CRISIS_ES)
    guidance = to_ben[-1].text
    assert "Die Person aus dem Supervisionsteam, die gerade Dienst hat, ist informiert" in guidance
    assert "Versprich keine Geheimhaltung" in guidance
    assert "112" in guidance and "024" in guidance


async def test_quotes_keep_their_order_and_a_quote_in_another_language_is_named(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker, mentor=False)
    await person(harness, watch, LUCIA, "es").say(
        "I cut myself yesterday. I want to kill myself tonight."
    )
    [alert] = alert_messages(await outbox_rows(sessionmaker), SUPERVISOR_CHAT)
    text = alert.text
    assert text.index("I cut myself yesterday.") < text.index("I want to kill myself tonight.")
    assert "Spanish (quote in English)" in text
    assert "Mentor: none yet" in text
    assert "Said: in a message to the bot" in text


async def test_an_alert_mid_log_says_so_and_counts_earlier_alerts(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker, mentor=False)
    first, _copies = await raised_alert(harness, watch, sessionmaker)
    dana = person(harness, watch, DANA)
    channel = _copies[f"alert:{first.id}:l0:channel"]
    await dana.press(f"alert:resolve:{first.id}:", channel)
    await dana.press(f"alert:outcome:{first.id}:safe", channel)
    lucia = person(harness, watch, LUCIA, "es")
    await lucia.send("/log")
    await tap_data(lucia, "log:symptom_intensity:6")
    await lucia.say(CRISIS_ES)
    second = alert_messages(await outbox_rows(sessionmaker), SUPERVISOR_CHAT)[-1]
    assert "Alert #2" in second.text
    assert "Said: in the middle of their daily log" in second.text
    assert "Earlier alerts (30 days): 1 (#1)" in second.text


async def test_a_supervisor_asking_directly_about_suicide_is_not_paged_about_herself(
    harness, watch, sessionmaker
) -> None:
    """Asking plainly is what supervisors are trained to do: in a case's conversation the
    supervisor's words reach the person and raise no alert about the supervisor."""
    await program(sessionmaker)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    dana = person(harness, watch, DANA)
    await dana.tap("Write to them", copies[f"alert:{alert.id}:l0:dm:{DANA}"])

    await dana.say("Are you thinking about suicide right now?")

    [asked] = to(await outbox_rows(sessionmaker, "case:"), LUCIA)
    assert "thinking about suicide" in asked.text
    assert not [t for t in dana.texts() if "crisis" in t.lower() and "Samaritans" in t]
    async with sessionmaker() as session:
        alerts = list((await session.execute(select(Alert))).scalars())
    assert [a.id for a in alerts] == [alert.id], "no alert about the supervisor"


async def test_long_messages_both_ways_arrive_whole_in_parts(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    dana, lucia = person(harness, watch, DANA), person(harness, watch, LUCIA, "es")
    await dana.tap("Write to them", copies[f"alert:{alert.id}:l0:dm:{DANA}"])
    words = [f"palabra{n}" for n in range(900)]  # about 8,000 characters each way

    await dana.say(" ".join(words))
    await lucia.say(" ".join(reversed(words)))

    to_lucia = to(await outbox_rows(sessionmaker, "case:"), LUCIA)
    to_dana = to(await outbox_rows(sessionmaker, "case:"), DANA)
    for rows, expected in ((to_lucia, words), (to_dana, list(reversed(words)))):
        assert len(rows) >= 3 and all(len(r.text) <= 4096 for r in rows)
        shown = " ".join(r.text.split(":", 1)[1] if i == 0 else r.text for i, r in enumerate(rows))
        assert re.findall(r"palabra\d+", shown) == expected
    assert to_lucia[-1].labels and not to_lucia[0].labels, "the answers come with the last part"


def test_a_message_sent_before_the_conversation_began_is_not_passed_on_as_an_answer() -> None:
    """Handled late (again after a restart, or slow under load), the crisis message that
    raised the alert must not reach the supervisor a second time as the person's answer."""
    import datetime as dt

    from aiogram.types import Chat, Message

    from handlers.reach import _said_before

    opened = dt.datetime(2026, 12, 6, 0, 58, 30, 600_000, tzinfo=dt.UTC)

    def sent_at(when: dt.datetime) -> Message:
        return Message(message_id=1, date=when, chat=Chat(id=1, type="private"), text="…")

    assert _said_before(sent_at(opened - dt.timedelta(seconds=1)), opened)
    assert not _said_before(sent_at(opened.replace(microsecond=0)), opened)  # the same second
    assert not _said_before(sent_at(opened + dt.timedelta(seconds=5)), opened)


async def test_a_crisis_message_screened_before_the_conversation_opened_is_not_an_answer(
    harness, watch, sessionmaker
) -> None:
    """The race: Lucía's crisis message is screened (no conversation yet), its answer takes
    a moment, and meanwhile Dana opens the conversation. The message must not then be
    passed on to Dana as Lucía's first answer: its words are the alert's already."""
    from aiogram.types import Chat, Message

    from handlers.reach import InCaseTalk
    from storage import users

    await program(sessionmaker)
    alert, copies = await raised_alert(harness, watch, sessionmaker)
    dana = person(harness, watch, DANA)
    await dana.tap("Write to them", copies[f"alert:{alert.id}:l0:dm:{DANA}"])
    message = Message(message_id=9, date=utcnow(), chat=Chat(id=LUCIA, type="private"), text="…")
    async with sessionmaker() as session:
        lucia = await users.get_by_telegram_id(session, LUCIA)
        talking = InCaseTalk()
        assert not await talking(message, user=lucia, session=session, crisis_said_in="chat")
        assert await talking(message, user=lucia, session=session, crisis_said_in="supervisor_chat")
        assert await talking(message, user=lucia, session=session)  # not a crisis: an answer
