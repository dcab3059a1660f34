"""The daily log as a mentee lives it: ten questions, mostly taps, one log per local day."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.dates import format_date, format_skeleton

from tests.harness import Harness
from tests.unit.chat_helpers import (
    Watch,
    answer_all,
    conversation,
    header,
    local_today,
    logs_of,
    make_person,
    person,
    save_log,
)

# Far from UTC on either side: a log filed under the UTC date shows up on the wrong day.
EAST = "Pacific/Kiritimati"  # UTC+14
WEST = "Pacific/Pago_Pago"  # UTC-11


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def test_full_log_in_english_by_taps(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 50, zone=EAST)
    p = person(harness, watch, 50)
    first = await p.send("/log")
    assert header(1) in first.text
    assert "Overall, how strong are your symptoms today?" in first.text
    # no yesterday to copy; low-spoon mode offered on the first question
    assert p.labels() == [str(n) for n in range(11)] + ["🥄 Low on energy? 3 taps only", "✕ Cancel"]

    await p.tap("3")
    assert header(2) in p.shown().text
    await p.tap("Pain")
    await p.tap("Fatigue")
    assert "✓ Pain" in p.labels() and "✓ Fatigue" in p.labels()
    await p.tap("✓ Pain")  # changed their mind
    assert "Pain" in p.labels() and "✓ Fatigue" in p.labels()
    await p.tap("Done")
    assert header(3) in p.shown().text and "energy" in p.shown().text
    await p.tap("6")
    assert "Compared with your plan" in p.shown().text
    await p.tap("As planned")
    assert "rest breaks" in p.shown().text
    await p.tap("2")
    assert "How well did you sleep" in p.shown().text
    await p.tap("5")
    assert "how many hours did you sleep" in p.shown().text
    await p.send("6,5")
    assert header(8) in p.shown().text and "mood" in p.shown().text
    await p.tap("6")
    assert "get in the way" in p.shown().text
    await p.tap("4")
    assert header(10) in p.shown().text
    saved = await p.send("Walked to the park & back")

    assert "✓ Saved. Thank you for checking in." in saved.text
    assert "Symptoms: 3/10 — Fatigue" in saved.text
    assert "Sleep: 5/10, 6.5 h" in saved.text
    assert "Note: Walked to the park &amp; back" in saved.text
    assert "You kept to your plan today" in saved.text
    assert p.updates <= 15
    [log] = await logs_of(sessionmaker, 50)
    assert log == {
        "date": local_today(EAST),
        "symptom_intensity": 3,
        "symptoms": ["fatigue"],
        "energy": 6,
        "activity": "as_planned",
        "rest_breaks": 2,
        "sleep_quality": 5,
        "sleep_hours": 6.5,
        "mood": 6,
        "interference": 4,
        "note": "Walked to the park & back",
    }
    assert (await conversation(sessionmaker, 50))[0] is None
    p.assert_no_apology()


async def test_full_log_in_spanish(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 51, locale="es", zone="Europe/Madrid")
    p = person(harness, watch, 51, "es")
    first = await p.send("/log")
    assert "Registro diario · 1/10" in first.text
    assert "¿con qué intensidad sientes hoy tus síntomas?" in first.text
    assert "✕ Cancelar" in p.labels()
    await p.tap("4")
    assert "¿Qué síntomas te afectan más hoy?" in p.shown().text
    await p.tap("Dolor")
    assert "✓ Dolor" in p.labels()
    await p.tap("Listo")
    assert "¿Cómo está tu energía hoy?" in p.shown().text
    await p.tap("5")
    await p.tap("Menos de lo planeado")
    await p.tap("1")
    await p.tap("6")
    await p.tap("8")
    await p.tap("5")
    await p.tap("3")
    await p.tap("Saltar")

    saved = p.last_text()
    assert "✓ Guardado" in saved
    assert "Energía: 5/10" in saved
    assert "Dolor" in saved
    assert p.updates <= 15
    [log] = await logs_of(sessionmaker, 51)
    assert (log["symptom_intensity"], log["symptoms"], log["activity"], log["sleep_hours"]) == (
        4,
        ["pain"],
        "less",
        8.0,
    )
    assert log["note"] is None


async def test_logging_again_the_same_day_replaces_the_log(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 52, zone=WEST)
    p = person(harness, watch, 52)
    await p.send("/log")
    await answer_all(p)
    first = await p.send("/log")
    assert "You've already logged today. Your answers now will replace today's log." in "\n".join(
        p.texts()[-2:]
    )
    assert header(1) in first.text
    await p.tap("9")
    await answer_all(p, from_step=2, note="worse in the evening")
    [log] = await logs_of(sessionmaker, 52)
    assert (log["date"], log["symptom_intensity"], log["note"]) == (
        local_today(WEST),
        9,
        "worse in the evening",
    )


async def test_same_as_yesterday_copies_yesterday_and_asks_for_the_note(
    harness, watch, sessionmaker
) -> None:
    user_id = await make_person(sessionmaker, 53, zone=EAST)
    today = local_today(EAST)
    await save_log(sessionmaker, user_id, today - dt.timedelta(days=1))
    p = person(harness, watch, 53)
    await p.send("/log")
    assert "↺ Same as yesterday" in p.labels()
    await p.tap("Same as yesterday")
    assert header(10) in p.shown().text
    assert "Anything you'd like to add?" in p.shown().text
    saved = await p.send("A bit better")
    assert "Symptoms: 6/10 — Fatigue, Brain fog" in saved.text
    assert p.updates == 3
    yesterday, copied = await logs_of(sessionmaker, 53)
    assert copied["date"] == today
    assert {**copied, "date": None, "note": None} == {**yesterday, "date": None, "note": None}
    assert copied["note"] == "A bit better"


async def test_no_same_as_yesterday_when_only_an_older_day_was_logged(
    harness, watch, sessionmaker
) -> None:
    user_id = await make_person(sessionmaker, 54, zone=WEST)
    await save_log(sessionmaker, user_id, local_today(WEST) - dt.timedelta(days=2))
    p = person(harness, watch, 54)
    await p.send("/log")
    assert not any("Same as yesterday" in label for label in p.labels())


async def test_pick_up_where_you_left_off(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 55)
    p = person(harness, watch, 55)
    await p.send("/log")
    await p.tap("3")
    await p.tap("Pain")
    again = await p.send("/log")
    assert "Let's pick up where you left off." in p.texts()[-2]
    assert header(2) in again.text and "✓ Pain" in p.labels()
    await p.tap("Done")
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 55)
    assert (log["symptom_intensity"], log["symptoms"]) == (3, ["pain"])


async def test_today_shows_todays_log(harness, watch, sessionmaker) -> None:
    user_id = await make_person(sessionmaker, 56, zone=EAST)
    p = person(harness, watch, 56)
    assert "No log yet today" in (await p.send("/today")).text
    await save_log(sessionmaker, user_id, local_today(EAST) - dt.timedelta(days=1), energy=9)
    assert "No log yet today" in (await p.send("/today")).text  # yesterday is not today
    await save_log(sessionmaker, user_id, local_today(EAST), energy=2)
    shown = (await p.send("/today")).text
    assert format_date(local_today(EAST), format="full", locale="en") in shown
    assert "Energy: 2/10" in shown
    assert "Note: Long day at the clinic" in shown


async def test_history_shows_the_last_seven_local_days_compactly(
    harness, watch, sessionmaker
) -> None:
    user_id = await make_person(sessionmaker, 57, zone=WEST)
    today = local_today(WEST)
    await save_log(sessionmaker, user_id, today)
    await save_log(sessionmaker, user_id, today - dt.timedelta(days=2), energy=8, mood=9)
    await save_log(sessionmaker, user_id, today - dt.timedelta(days=7), energy=1)  # too old
    p = person(harness, watch, 57)
    lines = (await p.send("/history")).text.splitlines()
    assert "Your last 7 days" in lines[0]
    days = [today - dt.timedelta(days=n) for n in range(6, -1, -1)]
    assert len(lines) == 1 + 7
    for day, line in zip(days, lines[1:], strict=True):
        assert line.startswith(format_skeleton("MMMEd", day, locale="en"))  # "Mon, Dec 7"
    assert lines[-1].endswith("6 · 3 · 5 · 5.5 h · more than planned")
    assert lines[-3].endswith("6 · 8 · 9 · 5.5 h · more than planned")
    assert sum("no log" in line for line in lines) == 5


async def test_history_in_spanish_uses_spanish_numbers_and_days(
    harness, watch, sessionmaker
) -> None:
    user_id = await make_person(sessionmaker, 58, locale="es", zone="America/Bogota")
    today = local_today("America/Bogota")
    await save_log(sessionmaker, user_id, today)
    p = person(harness, watch, 58, "es")
    lines = (await p.send("/history")).text.splitlines()
    assert lines[-1].startswith(format_skeleton("MMMEd", today, locale="es"))  # "lun, 7 dic"
    assert "5,5 h · más de lo planeado" in lines[-1]


# --- what the questionnaire engine adds (issue 12) ------------------------------------------


async def test_a_typed_answer_where_a_tap_is_offered_is_taken_and_echoed(
    harness, watch, sessionmaker
) -> None:
    from aiogram.methods import EditMessageText

    await make_person(sessionmaker, 53)
    p = person(harness, watch, 53)
    await p.send("/log")
    for label in ("3", "Done", "6"):
        await p.tap(label)
    await p.send("as planned")  # a button's label, typed: taken like the tap
    asked = p.shown()
    assert "rest breaks" in asked.text
    before = len(watch.calls)
    await p.send("2")  # the rest breaks' "2" button, typed
    assert "How well did you sleep" in p.shown().text
    echoed = [
        c
        for c in watch.calls[before:]
        if isinstance(c, EditMessageText) and c.message_id == asked.message_id
    ]
    assert echoed and echoed[0].reply_markup is None, "the answered copy kept its buttons"
    assert "rest breaks" in echoed[0].text and echoed[0].text.endswith("✓ <b>2</b>")
    await answer_all(p, from_step=6)
    [log] = await logs_of(sessionmaker, 53)
    assert (log["activity"], log["rest_breaks"]) == ("as_planned", 2)
    p.assert_no_apology()
