"""Commands everyone has: /cancel (and the ✕ Cancel button), /help by role, /language,
/privacy (export and delete), and what happens in groups and with unknown commands."""

from __future__ import annotations

import json

import pytest

from storage.models import Consent, DailyLog, FsmRecord, Role, User
from tests.fakes import BOT_USER
from tests.harness import Harness
from tests.unit.chat_helpers import (
    EXPIRED,
    Watch,
    answer_all,
    conversation,
    count,
    edited_update,
    header,
    local_today,
    logs_of,
    make_person,
    person,
    save_log,
    user_row,
)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


# --- /cancel and ✕ Cancel ----------------------------------------------------------------------


async def test_cancel_command_leaves_a_log_half_way(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 60)
    p = person(harness, watch, 60)
    await p.send("/log")
    await p.tap("3")
    prompt = p.shown()
    reply = await p.send("/cancel")
    assert "Stopped. Nothing from that step was saved." in reply.text
    assert await conversation(sessionmaker, 60) == (None, {})
    assert "No log yet today" in (await p.send("/today")).text
    assert await p.press("log:symptoms:pain", prompt) == EXPIRED
    assert await logs_of(sessionmaker, 60) == []


async def test_cancel_button_leaves_the_log(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 61)
    p = person(harness, watch, 61)
    await p.send("/log")
    await p.tap("4")
    await p.tap("Pain")
    await p.tap("✕ Cancel")
    assert "Stopped. Nothing from that step was saved." in p.shown().text
    assert not p.labels()  # the question and its buttons are gone
    assert (await conversation(sessionmaker, 61))[0] is None
    assert await logs_of(sessionmaker, 61) == []
    again = await p.send("/log")
    assert header(1) in again.text  # a fresh log, not the cancelled one


async def test_cancel_with_nothing_going_on(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 62)
    p = person(harness, watch, 62)
    assert "There's nothing to cancel" in (await p.send("/cancel")).text


# --- /help by role -----------------------------------------------------------------------------


async def test_help_lists_a_mentees_commands(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 63)
    p = person(harness, watch, 63)
    shown = (await p.send("/help")).text
    assert "You are a mentee" in shown
    for command in ("/log", "/today", "/history", "/language", "/privacy", "/cancel"):
        assert f"{command} —" in shown


async def test_supervisor_has_no_log(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 64, role=Role.SUPERVISOR)
    p = person(harness, watch, 64)
    shown = (await p.send("/help")).text
    assert "You are a supervisor" in shown
    assert "/log" not in shown and "/today" not in shown
    assert "/privacy —" in shown
    for command in ("/log", "/today", "/history"):
        reply = await p.send(command)
        assert "That one is for mentees and mentors" in reply.text
    assert (await conversation(sessionmaker, 64))[0] is None


async def test_help_before_onboarding_points_to_start(harness, watch) -> None:
    p = person(harness, watch, 65)
    assert "Send /start to begin" in (await p.send("/help")).text
    assert "Send /start to begin" in (await p.send("/log")).text


# --- /language ---------------------------------------------------------------------------------


async def test_language_changes_at_once(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 66)
    p = person(harness, watch, 66, "en")
    await p.send("/language")
    assert "English ✓" in p.labels()
    assert await p.tap("Español") != EXPIRED
    assert "Listo: a partir de ahora te hablaré en español." in p.last_text()
    assert "Participas en el programa como" in (await p.send("/help")).text
    assert "Registro diario · 1/10" in (await p.send("/log")).text
    assert (await user_row(sessionmaker, 66)).locale == "es"


async def test_language_mid_log_keeps_the_log(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 67)
    p = person(harness, watch, 67, "en")
    await p.send("/log")
    await p.tap("5")
    await p.send("/language")
    await p.tap("Deutsch")
    again = await p.send("/log")
    assert "Machen wir da weiter" in p.texts()[-2]
    assert "Tagebuch · 2/10" in again.text
    await p.tap("Fertig")
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 67)
    assert log["symptom_intensity"] == 5


async def test_language_before_start_does_not_say_the_button_expired(harness, watch) -> None:
    # /language is in the menu a newcomer sees before /start.
    p = person(harness, watch, 68, "en")
    await p.send("/language")
    toast = await p.tap("Español")
    assert toast != EXPIRED


# --- unknown commands, groups, edits -------------------------------------------------------------


async def test_unknown_command(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 69)
    p = person(harness, watch, 69)
    assert "I don't know that command" in (await p.send("/dance")).text


async def test_unknown_command_mid_log_keeps_the_log_where_it_was(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 70)
    p = person(harness, watch, 70)
    await p.send("/log")
    await p.tap("2")
    prompt = p.shown()
    assert "I don't know that command" in (await p.send("/dance")).text
    await p.tap("Fatigue", prompt)
    await p.tap("Done", p.shown())
    assert header(3) in p.shown().text
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 70)
    assert (log["symptom_intensity"], log["symptoms"]) == (2, ["fatigue"])


async def test_command_in_a_group_points_to_a_private_chat(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 71, locale="es")
    user = harness.people.user(71, "es")
    group = -100777
    for command in ("/log", f"/help@{BOT_USER.username}"):
        sent = await harness.feed(harness.people.text(user, command, "supergroup", group))
        [reply] = [s for s in sent if s.method == "sendMessage"]
        assert reply.chat_id == group
        assert "Hablemos de esto en un chat privado" in reply.text
        [[link]] = reply.markup.inline_keyboard
        assert link.url == f"https://t.me/{BOT_USER.username}"
    assert await conversation(sessionmaker, group, 71) == (None, {})


async def test_group_chatter_and_other_bots_commands_get_no_reply(harness, watch) -> None:
    user = harness.people.user(72, "en")
    for text in ("good morning all", "/start@some_other_bot", "I logged yesterday"):
        sent = await harness.feed(harness.people.text(user, text, "group", -100888))
        assert [s for s in sent if s.method == "sendMessage"] == []


async def test_edited_message_gets_a_kind_word_and_the_log_goes_on(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 73)
    p = person(harness, watch, 73)
    await p.send("/log")
    await p.tap("6")
    prompt = p.shown()
    await p.feed(edited_update(p.chat.user, "/log"))
    assert "I saw you edited a message" in p.last_text()
    assert (await conversation(sessionmaker, 73))[1]["answers"] == {"symptom_intensity": 6}
    await p.tap("Done", prompt)
    await answer_all(p, from_step=3)
    [log] = await logs_of(sessionmaker, 73)
    assert log["symptom_intensity"] == 6


# --- /privacy --------------------------------------------------------------------------------


async def test_export_sends_a_json_file_with_my_logs(harness, watch, sessionmaker) -> None:
    user_id = await make_person(sessionmaker, 74)
    p = person(harness, watch, 74)
    await p.send("/log")
    await answer_all(p, note="Slept badly, ça va")
    await save_log(sessionmaker, user_id, local_today("Europe/London").replace(day=1))
    await p.send("/privacy")
    before = len(watch.calls)
    await p.tap("Export my data")
    [document] = watch.documents(before)
    assert int(document.chat_id) == 74
    assert document.document.filename.endswith(".json")
    exported = json.loads(document.document.data)
    assert exported["profile"]["telegram_id"] == 74
    notes = {log["note"] for log in exported["daily_logs"]}
    assert "Slept badly, ça va" in notes
    assert len(exported["daily_logs"]) == len(await logs_of(sessionmaker, 74))
    assert [c["version"] for c in exported["consents"]] == [1]


async def test_delete_asks_to_confirm_then_removes_everything(harness, watch, sessionmaker) -> None:
    other = await make_person(sessionmaker, 75)
    await save_log(sessionmaker, other, local_today("Europe/London"))
    await make_person(sessionmaker, 76)
    p = person(harness, watch, 76)
    await p.send("/log")
    await answer_all(p)
    await p.send("/privacy")
    await p.tap("Delete my data")
    assert "Are you sure?" in p.last_text()
    assert await user_row(sessionmaker, 76) is not None  # not yet
    await p.tap("Yes, delete everything")
    assert "Everything I held about you has been deleted" in p.last_text()
    assert await user_row(sessionmaker, 76) is None
    assert await logs_of(sessionmaker, 76) == []
    assert await count(sessionmaker, User) == 1
    assert await count(sessionmaker, DailyLog) == 1  # the other person's
    assert await count(sessionmaker, Consent) == 1
    assert await count(sessionmaker, FsmRecord) == 0
    assert "Send /start to begin" in (await p.send("/log")).text


async def test_delete_then_no_keeps_everything(harness, watch, sessionmaker) -> None:
    user_id = await make_person(sessionmaker, 77)
    await save_log(sessionmaker, user_id, local_today("Europe/London"))
    p = person(harness, watch, 77)
    await p.send("/privacy")
    await p.tap("Delete my data")
    await p.tap("No, keep it")
    assert "Nothing was deleted" in p.last_text()
    assert len(await logs_of(sessionmaker, 77)) == 1


async def test_forged_delete_without_the_confirmation_question_deletes_nothing(
    harness, watch, sessionmaker
) -> None:
    user_id = await make_person(sessionmaker, 78)
    await save_log(sessionmaker, user_id, local_today("Europe/London"))
    p = person(harness, watch, 78)
    await p.send("/privacy")  # shows Export / Delete; the confirmation was never asked
    toast = await p.press("privacy:delete_confirmed")
    assert await user_row(sessionmaker, 78) is not None, "deleted without being asked"
    assert len(await logs_of(sessionmaker, 78)) == 1
    assert toast == EXPIRED
