"""Low-spoon mode, as a mentee lives it on a bad day: three taps (symptoms, energy, mood)
from the log's first question or the reminder, saved as today's log, said warmly; the
lowest mood still offers someone to talk to, and /cancel still leaves nothing behind."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.harness import Harness
from tests.unit.chat_helpers import (
    Watch,
    conversation,
    local_today,
    logs_of,
    make_person,
    person,
    save_log,
    tap_data,
)

QUICK = "🥄 Low on energy? 3 taps only"


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def test_three_taps_save_a_days_log_with_only_those_answers(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 70)
    p = person(harness, watch, 70)
    await p.send("/log")
    assert QUICK in p.labels()
    await p.tap(QUICK)
    first = p.shown()
    assert "Daily log · 1/3" in first.text and "symptoms" in first.text
    assert QUICK not in p.labels()  # chosen: not offered again
    await p.tap("8")
    assert "Daily log · 2/3" in p.shown().text and "energy" in p.shown().text
    await p.tap("2")
    assert "Daily log · 3/3" in p.shown().text and "mood" in p.shown().text
    await p.tap("4")
    saved = p.shown()
    assert "Three taps on a hard day is a real check-in" in saved.text
    assert "Symptoms: 8/10" in saved.text and "Mood: 4/10" in saved.text
    assert "I'm sorry today is so hard" not in saved.text
    [log] = await logs_of(sessionmaker, 70)
    assert (log["symptom_intensity"], log["energy"], log["mood"]) == (8, 2, 4)
    assert (log["symptoms"], log["activity"], log["sleep_hours"], log["note"]) == (
        [],
        None,
        None,
        None,
    )
    state, _data = await conversation(sessionmaker, 70)
    assert state is None
    today = await p.send("/today")
    assert "A three-tap log" in today.text
    history = await p.send("/history")
    assert "(three taps)" in history.text


async def test_the_lowest_mood_in_three_taps_offers_someone_and_the_sos_view(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 71)
    p = person(harness, watch, 71)
    await p.send("/log")
    await p.tap(QUICK)
    for data in ("log:symptom_intensity:9", "log:energy:1", "log:mood:0"):
        await tap_data(p, data)
    said = "\n".join(p.texts()[-2:])
    assert "I'm sorry today is so hard" in said
    assert "That was a very hard day" in said  # the 🆘 keyboard comes with it
    [log] = await logs_of(sessionmaker, 71)
    assert log["mood"] == 0
    # The offer works as under the full log's question: the crisis lines come with the reply.
    sent_before = len(harness.telegram.sent)
    assert any("helpnowlog" in str(getattr(c, "reply_markup", None)) for c in watch.calls)
    await p.press("helpnowlog")
    reply = "\n".join(m.text or "" for m in harness.telegram.sent[sent_before:])
    assert "Samaritans" in reply


async def test_cancel_during_three_taps_keeps_nothing(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 72)
    p = person(harness, watch, 72)
    await p.send("/log")
    await p.tap(QUICK)
    await p.tap("5")
    await p.send("/cancel")
    assert await logs_of(sessionmaker, 72) == []
    state, _data = await conversation(sessionmaker, 72)
    assert state is None


async def test_a_three_tap_day_is_not_offered_as_same_as_yesterday(
    harness, watch, sessionmaker
) -> None:
    user_id = await make_person(sessionmaker, 73)
    yesterday = local_today("Europe/London") - dt.timedelta(days=1)
    await save_log(sessionmaker, user_id, yesterday, activity=None, sleep_hours=None)
    p = person(harness, watch, 73)
    await p.send("/log")
    assert not any("Same as yesterday" in label for label in p.labels())
