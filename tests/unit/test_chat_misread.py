""" "I'm okay, I didn't mean it that way", as people live it (real dispatcher, Telegram faked).

Lucía's message read as a crisis. Under the crisis answer she taps that she is okay: the
supervisors get a note, the case's history says it, the alert stays open for them. Once a
supervisor has closed the case, the same button (delivered again) says so instead.
"""

from __future__ import annotations

import pytest
from aiogram.types import Chat, InaccessibleMessage

from handlers.alerts import AlertAction
from tests.unit.alert_helpers import SUPERVISOR_CHAT, alert_settings, outbox_rows, the_alert
from tests.unit.chat_helpers import Watch, button_data, person
from tests.unit.test_chat_cases import DANA, EVE, LUCIA, program, raised, sent_since

LABEL_ES = "🙂 Estoy bien, no lo decía en ese sentido"
MISREAD_ES = "me quiero morir, el autobús no vino y esperé una hora"
TAPPED = "🙂 Heron-5 tapped “🙂 I'm okay, I didn't mean it that way”"


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness) -> Watch:
    return Watch(harness)


async def test_her_tap_reaches_the_case_and_a_closed_case_says_it_is_closed(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, copies = await raised(harness, watch, sessionmaker, MISREAD_ES)
    assert alert.severity < 3
    lucia = person(harness, watch, LUCIA, "es")
    offer = lucia.shown()
    assert (
        offer.text
        == "Si te entendí mal y estás bien, toca abajo y se lo diré al equipo de supervisión."
    )
    assert lucia.labels(offer) == [LABEL_ES]

    assert await lucia.tap(LABEL_ES, offer) is None
    [thanks] = await outbox_rows(sessionmaker, f"misread:{alert.id}:")
    assert thanks.chat_id == LUCIA and thanks.method == "editMessageText"
    assert thanks.text.startswith("💛 Gracias por decírmelo. Ya se lo he dicho al equipo")
    [note] = await outbox_rows(sessionmaker, f"alertnote:{alert.id}:misread")
    assert note.chat_id == SUPERVISOR_CHAT and note.text.startswith("🙂 Alert #")
    assert (await the_alert(sessionmaker, alert.id)).status == "open"

    channel = copies[f"alert:{alert.id}:l0:channel"]
    eve = person(harness, watch, EVE)
    mark = len(harness.telegram.sent)
    await eve.tap("📋 Case", channel)
    [view] = sent_since(harness, mark, SUPERVISOR_CHAT)
    assert TAPPED in view.text

    dana = person(harness, watch, DANA)
    false_alarm = AlertAction(action="outcome", alert_id=alert.id, outcome="false_alarm").pack()
    await dana.press(false_alarm, channel)
    assert (await the_alert(sessionmaker, alert.id)).status == "resolved"
    assert await lucia.tap(LABEL_ES, offer) is None  # the same button, delivered again
    closed = [r for r in await outbox_rows(sessionmaker, f"misread:{alert.id}:") if r != thanks]
    assert [r.text for r in closed] == [
        "💛 Gracias. El equipo de supervisión ya ha cerrado esto. Si algo cambia, /crisis "
        "siempre está aquí."
    ]
    assert len(await outbox_rows(sessionmaker, f"alertnote:{alert.id}:misread")) == 1


@pytest.mark.parametrize(
    ("text", "category", "severity"),
    [
        ("Hoy no puedo más. Quiero suicidarme esta noche.", "suicide", 3),
        ("mi pareja me pegó anoche y tengo miedo de volver a casa", "abuse_or_danger_at_home", 2),
        ("me siento muy rara, se me nubla todo y el corazón me va a mil", "medical_red_flag", 2),
    ],
)
async def test_no_never_mind_is_offered_for_a_plan_danger_at_home_or_an_emergency(
    harness, watch, sessionmaker, text: str, category: str, severity: int
) -> None:
    await program(sessionmaker)
    alert, _copies = await raised(harness, watch, sessionmaker, text)
    assert (alert.category, alert.severity) == (category, severity)
    lucia = person(harness, watch, LUCIA, "es")
    assert "Gracias por contármelo" in "\n".join(lucia.texts())  # the crisis answer itself
    offered = [
        button.text
        for sent in harness.telegram.sent
        if sent.chat_id == LUCIA and sent.markup is not None
        for row in getattr(sent.markup, "inline_keyboard", [])
        for button in row
    ]
    assert LABEL_ES not in offered


async def test_an_offer_made_before_words_that_raised_the_case_records_nothing(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, _copies = await raised(harness, watch, sessionmaker, MISREAD_ES)
    lucia = person(harness, watch, LUCIA, "es")
    offer = lucia.shown()
    await lucia.say("Quiero suicidarme esta noche.")  # joins her case, now imminent
    assert (await the_alert(sessionmaker, alert.id)).severity == 3

    assert await lucia.tap(LABEL_ES, offer) is None
    [since] = await outbox_rows(sessionmaker, f"misread:{alert.id}:")
    assert since.text.startswith("💛 Gracias por decírmelo. Por lo que escribiste después")
    assert await outbox_rows(sessionmaker, f"alertnote:{alert.id}:misread") == []


async def test_an_offer_telegram_no_longer_shows_gets_its_answer_as_a_new_message(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    alert, _copies = await raised(harness, watch, sessionmaker, MISREAD_ES)
    lucia = person(harness, watch, LUCIA, "es")
    data = button_data(lucia.shown(), LABEL_ES)
    gone = InaccessibleMessage(chat=Chat(id=LUCIA, type="private"), message_id=1, date=0)
    await lucia.feed(harness.people.press(lucia.chat.user, gone, data))

    [thanks] = await outbox_rows(sessionmaker, f"misread:{alert.id}:")
    assert (thanks.chat_id, thanks.method) == (LUCIA, "sendMessage")
    assert thanks.text.startswith("💛 Gracias por decírmelo. Ya se lo he dicho al equipo")
    assert len(await outbox_rows(sessionmaker, f"alertnote:{alert.id}:misread")) == 1
