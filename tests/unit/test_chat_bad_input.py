"""Whatever a person (or a client) sends that the bot did not ask for: a short, kind answer,
and nothing they already gave is lost. Stale and forged buttons only ever say they expired."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from aiogram.methods import EditMessageText, TelegramMethod
from sqlalchemy.engine import make_url

from storage import db
from tests.harness import Harness
from tests.unit.chat_helpers import (
    EXPIRED,
    Person,
    Watch,
    answer_all,
    answer_questions,
    conversation,
    header,
    local_today,
    logs_of,
    make_person,
    media_update,
    person,
    save_log,
    user_row,
)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def at_energy(p: Person) -> None:
    """Start a log and answer the first two questions: intensity 4, symptoms pain."""
    await p.send("/log")
    await p.tap("4")
    await p.tap("Pain")
    await p.tap("Done")
    assert header(3) in p.shown().text


def calls_to(watch: Watch, chat_id: int, since: int) -> list[TelegramMethod]:
    return [c for c in watch.calls[since:] if str(getattr(c, "chat_id", "")) == str(chat_id)]


# --- media where a tap or text was expected ---------------------------------------------------


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document"])
async def test_media_mid_log_asks_the_same_question_again(
    harness, watch, sessionmaker, kind: str
) -> None:
    await make_person(sessionmaker, 80)
    p = person(harness, watch, 80)
    await at_energy(p)
    user = p.chat.user
    await p.feed(harness.people.sticker(user) if kind == "sticker" else media_update(user, kind))
    said, asked = p.texts()[-2:]
    assert "I can't read that here, so I'll ask again." in said
    assert header(3) in asked and "How is your energy today?" in asked
    assert (await conversation(sessionmaker, 80))[1]["answers"] == {
        "symptom_intensity": 4,
        "symptoms": ["pain"],
    }
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 80)
    assert (log["symptom_intensity"], log["symptoms"], log["energy"]) == (4, ["pain"], 6)
    p.assert_no_apology()


async def test_media_during_onboarding_and_when_idle_gets_a_kind_word(
    harness, watch, sessionmaker
) -> None:
    p = person(harness, watch, 81)
    await p.send("/start")
    await p.tap("English")
    await p.tap("Yes, I agree")
    await p.feed(media_update(p.chat.user, "photo"))
    assert "I can only read a typed place name here." in p.texts()[-2]
    assert "Which time zone" in p.last_text()
    await p.tap("London")
    await p.tap("08:00")
    await p.feed(media_update(p.chat.user, "voice"))
    assert "I can only read text messages and button taps" in p.last_text()
    assert (await user_row(sessionmaker, 81)).timezone == "Europe/London"


# --- typed answers that do not answer ----------------------------------------------------------


async def test_typed_answers_that_are_not_answers_are_asked_again(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 82)
    p = person(harness, watch, 82)
    await p.send("/log")
    await p.send("lots")
    assert "type a whole number from 0 to 10" in p.texts()[-2]
    assert header(1) in p.last_text()
    await p.send("11")
    assert header(1) in p.last_text()
    await p.send("7")  # typing a number works too
    assert header(2) in p.last_text()
    await p.send("pain")  # the symptom step takes taps only
    assert "Please tap one of the buttons." in p.texts()[-2]
    assert header(2) in p.last_text()
    await answer_questions(p, from_step=2)
    assert header(10) in p.shown().text
    await p.tap("Skip")
    [log] = await logs_of(sessionmaker, 82)
    assert log["symptom_intensity"] == 7


async def test_sleep_hours_garbage_gets_a_hint(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 83)
    p = person(harness, watch, 83)
    await p.send("/log")
    for label in ("3", "Done", "6", "As planned", "2", "5"):
        await p.tap(label)
    await p.send("about six")
    assert "type the hours as a number such as 6.5" in p.texts()[-2]
    await p.send("25")
    assert header(7) in p.last_text()
    await p.send("6,5h")
    assert header(8) in p.last_text()


# --- a note that is too long ---------------------------------------------------------------------

LONG_NOTE = " ".join(f"word{n}" for n in range(120))  # about 700 characters


async def reach_the_note(p: Person) -> None:
    await p.send("/log")
    await answer_questions(p)
    assert header(10) in p.shown().text


async def test_too_long_note_is_kept_and_can_be_trimmed(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 84)
    p = person(harness, watch, 84)
    await reach_the_note(p)
    reply = await p.send(LONG_NOTE)
    assert f"That note is {len(LONG_NOTE)} characters long; notes can be up to 500" in reply.text
    assert "I've kept what you wrote" in reply.text
    # On the questionnaire engine (issue 12) every step has its way out, this one too.
    assert p.labels() == ["Keep the first 500", "Skip the note", "✕ Cancel"]
    assert await logs_of(sessionmaker, 84) == []  # nothing saved behind their back
    await p.tap("Keep the first 500")
    assert "✓ Saved" in p.last_text()
    [log] = await logs_of(sessionmaker, 84)
    assert log["note"] == LONG_NOTE[:500].strip()
    assert (log["symptom_intensity"], log["sleep_hours"]) == (3, 7.0)


async def test_too_long_note_can_be_skipped(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 85)
    p = person(harness, watch, 85)
    await reach_the_note(p)
    await p.send(LONG_NOTE)
    await p.tap("Skip the note")
    [log] = await logs_of(sessionmaker, 85)
    assert log["note"] is None and log["energy"] == 6


async def test_too_long_note_can_be_shortened(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 86)
    p = person(harness, watch, 86)
    await reach_the_note(p)
    await p.send(LONG_NOTE)
    saved = await p.send("Short version")
    assert "Note: Short version" in saved.text
    [log] = await logs_of(sessionmaker, 86)
    assert log["note"] == "Short version"


# --- stale and forged buttons --------------------------------------------------------------------


async def test_button_of_an_earlier_question_has_expired(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 87)
    p = person(harness, watch, 87)
    await at_energy(p)
    state = await conversation(sessionmaker, 87)
    said = len(p.texts())
    assert await p.press("log:symptom_intensity:9") == EXPIRED
    assert await p.press("log:symptoms:fatigue") == EXPIRED
    assert await p.press("log:symptoms:done") == EXPIRED
    assert len(p.texts()) == said  # the question was not touched
    assert await conversation(sessionmaker, 87) == state
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 87)
    assert (log["symptom_intensity"], log["symptoms"]) == (4, ["pain"])


async def test_button_from_a_message_that_is_not_the_current_prompt_has_expired(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 88)
    p = person(harness, watch, 88)
    await p.send("/log")
    first = p.shown()
    await p.send("4")  # typed: the next question comes in a new message
    second = p.shown()
    assert second.message_id != first.message_id
    assert await p.press("log:symptoms:pain", first) == EXPIRED
    await p.feed(harness.people.sticker(p.chat.user))  # asked again in a third message
    assert await p.press("log:symptoms:pain", second) == EXPIRED
    assert (await conversation(sessionmaker, 88))[1]["answers"] == {"symptom_intensity": 4}
    await p.tap("Fatigue")
    await p.tap("Done")
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 88)
    assert log["symptoms"] == ["fatigue"]


@pytest.mark.parametrize(
    "data",
    [
        "log:energy:99",
        "log:energy:-1",
        "log:energy:4.5",
        "log:nonsense:1",
        "log:energy",
        "log:energy:5:5",
        "log:symptom_intensity:ditto",
        "note:trim",
        "lang:xx",
        "tz:Europe/London",
        "zzz",
        "",
    ],
)
async def test_garbage_callback_data_has_expired(harness, watch, sessionmaker, data: str) -> None:
    await make_person(sessionmaker, 89)
    p = person(harness, watch, 89)
    await at_energy(p)
    state = await conversation(sessionmaker, 89)
    said = len(p.texts())
    assert await p.press(data) == EXPIRED
    assert len(p.texts()) == said
    assert await conversation(sessionmaker, 89) == state
    p.assert_no_apology()


async def test_same_as_yesterday_forged_without_a_yesterday_has_expired(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 90)
    p = person(harness, watch, 90)
    await p.send("/log")
    assert await p.press("log:symptom_intensity:ditto") == EXPIRED
    assert header(1) in p.shown().text


async def test_cancel_button_of_an_old_question_does_not_cancel_the_new_log(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 91)
    p = person(harness, watch, 91)
    await p.send("/log")
    old = p.shown()
    await p.send("/cancel")
    await p.send("/log")
    await p.tap("3")
    toast = await p.press("cancel", old)
    state, data = await conversation(sessionmaker, 91)
    assert state == "DailyLogging:answering", "the new log was cancelled from an old message"
    assert data["answers"] == {"symptom_intensity": 3}
    assert toast == EXPIRED


async def test_cancel_pressed_on_a_saved_log_does_not_say_nothing_was_saved(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 92)
    p = person(harness, watch, 92)
    await p.send("/log")
    await answer_all(p)
    saved = p.shown()
    assert "✓ Saved" in saved.text
    toast = await p.press("cancel", saved)
    assert "Nothing from that step was saved" not in p.shown().text
    assert toast == EXPIRED
    assert len(await logs_of(sessionmaker, 92)) == 1


@pytest.mark.parametrize(
    "data",
    [
        "log:symptom_intensity:5",
        "log:note:skip",
        "cancel",
        "privacy:export",
        "privacy:delete_confirmed",
    ],
)
async def test_button_on_another_persons_message_has_expired(
    harness, watch, sessionmaker, data: str
) -> None:
    owner_id = await make_person(sessionmaker, 93)
    await save_log(sessionmaker, owner_id, local_today("Europe/London"))
    await make_person(sessionmaker, 94)
    presser, owner = person(harness, watch, 93), person(harness, watch, 94)
    await presser.send("/log")
    await owner.send("/log")
    theirs = owner.shown()
    owner_state = await conversation(sessionmaker, 94)
    presser_state = await conversation(sessionmaker, 93)
    before = len(watch.calls)

    toast = await presser.press(data, theirs)

    assert calls_to(watch, 94, before) == [], "the bot wrote into the other person's chat"
    assert await conversation(sessionmaker, 94) == owner_state
    assert await conversation(sessionmaker, 93) == presser_state
    assert await user_row(sessionmaker, 93) is not None
    assert len(await logs_of(sessionmaker, 93)) == 1
    assert toast == EXPIRED


# --- two updates at once --------------------------------------------------------------------------


async def test_two_symptom_taps_at_once_are_both_kept(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 95)
    p = person(harness, watch, 95)
    await p.send("/log")
    await p.tap("3")
    prompt = p.shown()
    toasts = await asyncio.gather(
        p.press("log:symptoms:pain", prompt), p.press("log:symptoms:fatigue", prompt)
    )
    assert toasts == [None, None]
    assert {"✓ Pain", "✓ Fatigue"} <= set(p.labels())
    await p.tap("Done")
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 95)
    assert log["symptoms"] == ["pain", "fatigue"]


async def test_two_different_answers_at_once_leave_one_consistent_answer(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 96)
    p = person(harness, watch, 96)
    await p.send("/log")
    prompt = p.shown()
    toasts = await asyncio.gather(
        p.press("log:symptom_intensity:2", prompt), p.press("log:symptom_intensity:8", prompt)
    )
    assert sorted(toasts, key=str) == sorted([None, EXPIRED], key=str)
    taken = 2 if toasts[0] is None else 8
    assert header(2) in p.shown().text
    assert (await conversation(sessionmaker, 96))[1]["answers"] == {"symptom_intensity": taken}
    await answer_all(p, from_step=2)
    [log] = await logs_of(sessionmaker, 96)
    assert log["symptom_intensity"] == taken
    p.assert_no_apology()


async def test_several_people_logging_at_once_all_get_saved(harness, watch, sessionmaker) -> None:
    people = []
    for telegram_id in (97, 98, 99):
        await make_person(sessionmaker, telegram_id)
        people.append(person(harness, watch, telegram_id))

    async def log_day(p: Person) -> None:
        await p.send("/log")
        await answer_all(p, note=f"note of {p.id}")

    await asyncio.gather(*(log_day(p) for p in people))
    for p in people:
        [log] = await logs_of(sessionmaker, p.id)
        assert log["note"] == f"note of {p.id}"
        assert "✓ Saved" in p.last_text()
        p.assert_no_apology()


# --- a database that is briefly busy (SQLite: another process holds the write lock) --------------


def hold_write_lock(path: str, seconds: float) -> tuple[threading.Thread, threading.Event]:
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(seconds)
            connection.execute("COMMIT")
        finally:
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread, locked


def sqlite_path(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("a file lock held by another process is a SQLite matter")
    return make_url(database_url).database


async def test_tap_while_the_database_is_briefly_locked_completes(
    harness, watch, sessionmaker, database_url: str
) -> None:
    path = sqlite_path(database_url)
    await make_person(sessionmaker, 100)
    p = person(harness, watch, 100)
    await reach_the_note(p)
    thread, locked = hold_write_lock(path, 1.0)
    assert await asyncio.to_thread(locked.wait, 5)
    started = time.monotonic()
    toast = await p.tap("Skip")
    waited = time.monotonic() - started
    await asyncio.to_thread(thread.join)
    assert waited > 0.5, "the tap did not meet the lock; the test proves nothing"
    assert toast is None
    assert "✓ Saved" in p.last_text()
    [log] = await logs_of(sessionmaker, 100)
    assert log["energy"] == 6
    p.assert_no_apology()


async def test_a_tap_that_could_not_be_stored_says_so_and_can_be_tapped_again(
    harness, watch, sessionmaker, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mid-log, a tap changes only the conversation; locked for longer than the busy
    # timeout (shortened here), it fails. The person is told, the question stays.
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)
    path = sqlite_path(database_url)
    await make_person(sessionmaker, 102)
    p = person(harness, watch, 102)
    await at_energy(p)
    asked, said, calls = p.shown(), len(p.texts()), len(watch.calls)
    thread, locked = hold_write_lock(path, 1.5)
    assert await asyncio.to_thread(locked.wait, 5)
    try:
        toast = await p.tap("6", asked)
    finally:
        await asyncio.to_thread(thread.join)
    assert toast is None  # the button was answered before the failure: the chat says it
    assert len(p.texts()) == said + 1 and "trouble saving" in p.last_text()
    assert not [c for c in calls_to(watch, 102, calls) if isinstance(c, EditMessageText)]

    assert await p.tap("6", asked) is None  # the same button, once the lock is gone
    assert header(4) in p.shown().text
    await answer_all(p, from_step=4)
    [log] = await logs_of(sessionmaker, 102)
    assert (log["symptom_intensity"], log["energy"]) == (4, 6)


async def test_a_log_that_could_not_be_saved_is_not_reported_saved(
    harness, watch, sessionmaker, database_url: str
) -> None:
    # Locked for longer than the busy timeout (5 s): the save fails. The person must not
    # read "✓ Saved", and their answers must still be there to save a moment later.
    path = sqlite_path(database_url)
    await make_person(sessionmaker, 101)
    p = person(harness, watch, 101)
    await reach_the_note(p)
    thread, locked = hold_write_lock(path, 6.0)
    assert await asyncio.to_thread(locked.wait, 5)
    said = len(p.texts())
    raised: Exception | None = None
    try:
        await p.feed(harness.people.press(p.chat.user, p.shown(), "log:note:skip"))
    except Exception as error:  # the dispatcher lets it out: nobody tells the person
        raised = error
    finally:
        await asyncio.to_thread(thread.join)
    answered = p.texts()[said:] + [t.text or "" for t in watch.toasts()]
    assert await logs_of(sessionmaker, 101) == []
    assert not any("✓ Saved" in text for text in answered), (
        f"the chat said Saved while nothing was saved: {answered}"
    )
    assert any("try again" in text for text in answered), (
        f"the person was told nothing; the update raised {raised!r}"
    )
    assert raised is None
    again = await p.send("/log")
    assert header(10) in again.text  # the answers so far were kept
    await p.tap("Skip")
    assert len(await logs_of(sessionmaker, 101)) == 1
