"""A personal crisis plan, as a person lives it: written part by part on a calmer day with
/crisisplan, and shown whole — with the numbers to call — by /crisis or the 🆘 button,
whatever they are in the middle of."""

from __future__ import annotations

import logging

import pytest
from aiogram.types import ReplyKeyboardMarkup
from sqlalchemy import select, text

from flows import crisis_plan
from flows.crisis_plan import Section
from flows.questionnaire import SKIP
from flows.steps import InvalidAnswer, TooLong
from handlers.menu import commands_for
from storage import crisis_plans, users
from storage.models import CrisisPlanSection, Role
from tests.fakes import Sent
from tests.harness import Harness
from tests.unit.chat_helpers import (
    EXPIRED,
    Person,
    Watch,
    answer_all,
    conversation,
    header,
    logs_of,
    make_person,
    person,
    tap_data,
)

LABEL = "🆘 My crisis plan"
HELP_NOW = "I need to talk to someone now"
SPANISH_LABEL = "🆘 Mi plan de crisis"


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def plan_of(sessionmaker, user_id: int) -> dict[str, str]:
    async with sessionmaker() as session:
        return await crisis_plans.sections(session, user_id)


async def write_plan(sessionmaker, user_id: int, **parts: str) -> None:
    async with sessionmaker() as session:
        for section, words in parts.items():
            await crisis_plans.save(session, user_id, section, words)
        await session.commit()


def keyboards(sent: list[Sent]) -> list[ReplyKeyboardMarkup]:
    return [s.markup for s in sent if isinstance(s.markup, ReplyKeyboardMarkup)]


async def at_rest_breaks(p: Person) -> None:
    """A daily log half way: four answers in, the fifth question asked."""
    await p.send("/log")
    await tap_data(p, "log:symptom_intensity:6")
    await tap_data(p, "log:symptoms:pain")
    await tap_data(p, "log:symptoms:done")
    await tap_data(p, "log:energy:3")
    await tap_data(p, "log:activity:less")
    assert header(5) in p.shown().text


# --- writing the plan ----------------------------------------------------------------------


async def test_write_a_part_from_the_list_of_parts(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 300)
    p = person(harness, watch, 300)
    menu = await p.send("/crisisplan")
    assert "Your crisis plan" in menu.text and "skip any that don't fit you" in menu.text
    assert p.labels()[:7] == [
        "1. Warning signs",
        "2. Things I can do on my own to cope",
        "3. People and places that take my mind off things",
        "4. People I can ask for help",
        "5. Professionals and services",
        "6. Making my surroundings safer",
        "7. What matters most to me",
    ]

    await p.tap("1. Warning signs")
    assert "1/7 · Warning signs" in p.shown().text and "Nothing here yet." in p.shown().text
    await p.tap("Write this part")
    assert "Send it as one message (up to 1000 characters)" in p.shown().text
    assert p.labels() == ["✕ Cancel"]
    sent = await p.say("I stop answering my phone & stay in bed all day")

    assert "✓ Saved: “Warning signs”." in sent[-2].text
    [keyboard] = keyboards(sent)  # the 🆘 button comes with the first part written
    assert keyboard.is_persistent and keyboard.resize_keyboard
    assert keyboard.keyboard[0][0].text == LABEL
    assert (
        "✓ 1. Warning signs" in p.labels() and "2. Things I can do on my own to cope" in p.labels()
    )
    assert await plan_of(sessionmaker, uid) == {
        "warning_signs": "I stop answering my phone & stay in bed all day"
    }
    assert await conversation(sessionmaker, 300) == (None, {})
    p.assert_no_apology()


async def test_walk_through_the_plan_skipping_parts(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 301)
    p = person(harness, watch, 301)
    await p.send("/crisisplan")
    await p.tap("Write them one by one")
    assert "1/7 · Warning signs" in p.shown().text
    assert p.labels() == ["Skip this part ▸", "✕ Cancel"]
    await p.send("Not sleeping for days")
    assert "✓ Saved: “Warning signs”." in p.shown().text
    assert "2/7 · Things I can do on my own to cope" in p.shown().text
    assert await p.tap("Skip this part") is None
    assert "3/7" in p.shown().text
    await p.tap("Skip this part")
    assert "4/7 · People I can ask for help" in p.shown().text
    await p.send("Maria — 0151 2345678")
    assert "5/7 · Professionals and services" in p.shown().text
    assert "already part of your plan" in p.shown().text
    await p.tap("✕ Cancel")

    assert "Stopped here. What you wrote so far is kept." in p.texts()[-2]
    assert "✓ 1. Warning signs" in p.labels() and "✓ 4. People I can ask for help" in p.labels()
    assert "▸ Fill in the empty parts" in p.labels()
    assert await plan_of(sessionmaker, uid) == {
        "warning_signs": "Not sleeping for days",
        "people_to_ask": "Maria — 0151 2345678",
    }
    # Filling in the rest starts at the first empty part.
    await p.tap("Fill in the empty parts")
    assert "2/7" in p.shown().text
    await p.tap("✕ Cancel")
    assert await conversation(sessionmaker, 301) == (None, {})


async def test_walk_to_the_end(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 302)
    await write_plan(sessionmaker, uid, **{s.value: "x" for s in crisis_plan.ORDER[:-1]})
    p = person(harness, watch, 302)
    await p.send("/crisisplan")
    await p.tap("Fill in the empty parts")
    assert "7/7 · What matters most to me" in p.shown().text
    await p.send("My daughter, and my cat Miso")
    assert "✓ Saved: “What matters most to me”. That was the last empty part." in p.texts()[-2]
    assert all(label.startswith("✓") for label in p.labels()[:7])
    assert (await plan_of(sessionmaker, uid))["reasons"] == "My daughter, and my cat Miso"


async def test_edit_a_part_replaces_it(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 303)
    await write_plan(sessionmaker, uid, coping_alone="A warm bath")
    p = person(harness, watch, 303)
    await p.send("/crisisplan")
    await p.tap("✓ 2. Things I can do")
    assert "A warm bath" in p.shown().text
    assert p.labels() == ["✏️ Edit", "🗑 Clear", "◂ Back"]
    await p.tap("Edit")
    assert "Right now it says:\n<i>A warm bath</i>" in p.shown().text
    assert "It replaces what is there." in p.shown().text
    await p.send("A warm bath, then my heat pad and an audiobook")
    assert (await plan_of(sessionmaker, uid)) == {
        "coping_alone": "A warm bath, then my heat pad and an audiobook"
    }
    await p.tap("✓ 2. Things I can do")
    await p.tap("Back")
    assert "Tap a part to see or change it." in p.shown().text


async def test_clear_a_part_asks_first(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 304)
    await write_plan(sessionmaker, uid, reasons="My garden", distractions="The library")
    p = person(harness, watch, 304)
    await p.send("/crisisplan")
    await p.tap("✓ 7. What matters most to me")
    await p.tap("Clear")
    assert "Clear “What matters most to me”?" in p.shown().text
    await p.tap("No, keep it")
    assert "My garden" in p.shown().text
    assert (await plan_of(sessionmaker, uid))["reasons"] == "My garden"

    await p.tap("Clear")
    await p.tap("Yes, clear it")
    assert "✓ “What matters most to me” is cleared." in p.shown().text
    assert "7. What matters most to me" in p.labels()
    assert await plan_of(sessionmaker, uid) == {"distractions": "The library"}
    # The question's "yes" again, or a "yes" forged on another message, clears nothing more.
    assert await p.press("plan:clear_yes:distractions") == EXPIRED
    assert await plan_of(sessionmaker, uid) == {"distractions": "The library"}


async def test_cancel_and_slash_cancel_change_nothing(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 305)
    await write_plan(sessionmaker, uid, warning_signs="Before")
    p = person(harness, watch, 305)
    await p.send("/crisisplan")
    await p.tap("✓ 1. Warning signs")
    await p.tap("Edit")
    prompt = p.shown()
    reply = await p.send("/cancel")
    assert "Nothing was changed." in reply.text
    assert await p.press("plan:cancel", prompt) == EXPIRED  # the old prompt's Cancel
    await p.send("Not a plan answer")  # no longer writing: no part is changed
    assert await plan_of(sessionmaker, uid) == {"warning_signs": "Before"}

    await p.send("/crisisplan")
    await p.tap("✓ 1. Warning signs")
    await p.tap("Edit")
    await p.tap("✕ Cancel")
    assert "Nothing was changed." in p.shown().text
    assert await plan_of(sessionmaker, uid) == {"warning_signs": "Before"}
    assert await conversation(sessionmaker, 305) == (None, {})


async def test_too_long_text_is_kept_and_can_be_trimmed(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 306)
    p = person(harness, watch, 306)
    await p.send("/crisisplan")
    await p.tap("6. Making my surroundings")
    await p.tap("Write this part")
    long_text = "Ask Jo to keep my tablets. " * 50
    reply = await p.send(long_text)
    assert "That is 1349 characters long" in reply.text and "up to 1000" in reply.text
    assert await plan_of(sessionmaker, uid) == {}
    await p.tap("Keep the first 1000")
    assert (await plan_of(sessionmaker, uid))["safer_surroundings"] == long_text[:1000].strip()


async def test_too_long_text_can_be_shortened(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 307)
    p = person(harness, watch, 307)
    await p.send("/crisisplan")
    await p.tap("3. People and places")
    await p.tap("Write this part")
    await p.send("a" * 1001)
    too_long = p.shown()
    await p.send("The café on Mill Street")
    assert await plan_of(sessionmaker, uid) == {"distractions": "The café on Mill Street"}
    assert await p.press("plan:trim", too_long) == EXPIRED  # nothing to keep any more


async def test_too_long_while_walking_the_part_can_be_skipped(harness, watch, sessionmaker) -> None:
    # On the engine, a text too long while walking through the plan offers the walk's Skip
    # too (before, only "Keep the first 1000" and Cancel: shorten, trim or stop).
    uid = await make_person(sessionmaker, 309)
    p = person(harness, watch, 309)
    await p.send("/crisisplan")
    await p.tap("Write them one by one")
    reply = await p.send("x" * 1001)
    assert "each part of your plan can hold up to 1000" in reply.text
    assert p.labels() == ["Keep the first 1000", "Skip this part ▸", "✕ Cancel"]
    await p.tap("Skip this part")
    assert "2/7 · Things I can do on my own to cope" in p.shown().text
    await p.send("A warm shower")
    assert await plan_of(sessionmaker, uid) == {"coping_alone": "A warm shower"}


async def test_only_text_goes_into_the_plan(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 308)
    p = person(harness, watch, 308)
    await p.send("/crisisplan")
    await p.tap("1. Warning signs")
    await p.tap("Write this part")
    reply = await p.chat.sticker()
    assert "I can only keep text in your plan" in reply.text
    await p.send("Sleeping all day")
    assert await plan_of(sessionmaker, uid) == {"warning_signs": "Sleeping all day"}


# --- /crisis and the 🆘 button, from any state ----------------------------------------------


async def test_crisis_mid_log_shows_the_plan_and_the_log_goes_on(
    harness, watch, sessionmaker
) -> None:
    uid = await make_person(sessionmaker, 310)
    await write_plan(
        sessionmaker, uid, warning_signs="Pulling away from people", reasons="My son <3"
    )
    p = person(harness, watch, 310)
    await at_rest_breaks(p)
    question = p.shown()
    before = await conversation(sessionmaker, 310)

    sent = await p.say("/crisis")
    plan = "\n".join(s.text or "" for s in sent)
    assert "🆘 Your crisis plan" in plan
    assert "<b>Warning signs</b>\nPulling away from people" in plan
    assert "My son &lt;3" in plan  # shown as written, never as markup
    assert "Samaritans" in plan and "999" in plan  # Europe/London: the UK's lines
    assert "Things I can do on my own" not in plan  # empty parts are left out
    assert await conversation(sessionmaker, 310) == before

    sent = await p.say(LABEL)  # the 🆘 button, mid-log too
    assert "Pulling away from people" in sent[0].text
    assert await conversation(sessionmaker, 310) == before

    assert await p.press("log:rest_breaks:2", question) is None  # the log goes on
    assert header(6) in p.shown().text
    await answer_all(p, from_step=6)
    [log] = await logs_of(sessionmaker, 310)
    assert (log["symptom_intensity"], log["activity"], log["rest_breaks"]) == (6, "less", 2)
    p.assert_no_apology()


async def test_crisis_mid_onboarding_shows_lines_and_onboarding_goes_on(
    harness, watch, sessionmaker
) -> None:
    p = person(harness, watch, 311, "de")
    await p.send("/start")
    await p.tap("Deutsch")
    await p.tap("Ja")  # consent given: now the time zone is asked
    zones = p.shown()
    before = await conversation(sessionmaker, 311)
    assert before[0] == "Onboarding:timezone"

    reply = await p.send("/crisis")
    assert "112" in reply.text and "TelefonSeelsorge" in reply.text
    assert await conversation(sessionmaker, 311) == before
    assert p.labels()  # consented: a plan may be started (it would wait for onboarding)

    await p.tap("Berlin", zones)
    assert (await conversation(sessionmaker, 311))[0] == "Onboarding:checkin_time"


async def a_supervisor(sessionmaker) -> None:
    """Someone an alert can reach (without one the bot offers nobody to talk to)."""
    async with sessionmaker() as session:
        await users.create(
            session, telegram_id=990, locale="en", pseudonym="Owl-990", role=Role.SUPERVISOR
        )
        await session.commit()


async def test_crisis_before_start_and_before_consent_shows_lines_only(
    harness, watch, sessionmaker
) -> None:
    await a_supervisor(sessionmaker)
    p = person(harness, watch, 312)
    reply = await p.send("/crisis")  # never sent /start: nothing is stored about them
    assert "Emergency" in reply.text and "Crisis lines" in reply.text
    assert "send /start when you're ready" in reply.text
    assert p.labels() == [HELP_NOW]  # no plan yet, but a person to talk to, always
    reply = await p.send(LABEL)
    assert "Crisis lines" in reply.text

    await p.send("/start")  # the language question: no consent yet
    reply = await p.send("/crisis")
    assert "Crisis lines" in reply.text and p.labels() == [HELP_NOW]
    assert (await conversation(sessionmaker, 312))[0] == "Onboarding:language"
    assert await p.press("plan:begin") == EXPIRED


async def test_with_nobody_to_tell_the_crisis_view_offers_no_one_and_says_so(
    harness, watch, sessionmaker
) -> None:
    """No supervisor channel, no supervisor: the lines, and no button that promises a person."""
    p = person(harness, watch, 314)
    reply = await p.send("/crisis")
    assert "Crisis lines" in reply.text
    assert HELP_NOW not in p.labels() and "supervisor" not in reply.text
    before = len(p.texts())
    await p.send("I want to kill myself tonight")
    answer = "\n".join(p.texts()[before:])
    assert "call one of the numbers above now" in answer
    assert "supervisor know" not in answer


async def test_no_plan_yet_shows_lines_and_offers_to_make_one(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 313, locale="es", zone="America/Mexico_City")
    p = person(harness, watch, 313, "es")
    reply = await p.send("/crisis")
    assert "911" in reply.text and "Línea de la Vida" in reply.text
    offer = p.shown()
    await p.tap("✏️")
    # The crisis lines stay in view; the first part is asked below them.
    assert p.shown().message_id != offer.message_id
    assert "1/7" in p.shown().text
    await p.send("Cuando no duermo")
    assert await plan_of(sessionmaker, uid) == {"warning_signs": "Cuando no duermo"}


async def test_crisis_lines_follow_the_time_zone(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 314, locale="es", zone="Europe/London")
    p = person(harness, watch, 314, "es")
    reply = await p.send("/crisis")
    assert "Samaritans" in reply.text  # a Spanish speaker in London needs the UK's lines

    await make_person(sessionmaker, 315, zone="Asia/Tokyo")
    q = person(harness, watch, 315)
    reply = await q.send("/crisis")
    # Not a country we have lines for: the language's default, and help that works anywhere.
    assert "findahelpline.com" in reply.text


async def test_a_long_plan_is_sent_in_several_messages(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 316)
    await write_plan(
        sessionmaker, uid, **{s.value: f"{s.value} " + "é😀" * 330 for s in crisis_plan.ORDER}
    )
    p = person(harness, watch, 316)
    sent = [s for s in await p.say("/crisis") if s.text]
    assert len(sent) > 1
    assert all(len(s.text.encode("utf-16-le")) // 2 <= 4096 for s in sent)
    whole = "\n".join(s.text for s in sent)
    assert all(s.value in whole for s in crisis_plan.ORDER)
    assert "Crisis lines" in sent[-1].text  # the numbers come last, where the chat ends


async def test_the_professionals_part_comes_with_the_crisis_lines(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 317)
    p = person(harness, watch, 317)
    await p.send("/crisisplan")
    await p.tap("5. Professionals")
    assert "Always part of your plan:" in p.shown().text and "Samaritans" in p.shown().text


async def test_show_the_whole_plan_from_the_list(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 318)
    await write_plan(sessionmaker, uid, people_to_ask="Sam: 07700 900123")
    p = person(harness, watch, 318)
    await p.send("/crisisplan")
    await p.tap("Show my whole plan")
    assert "Sam: 07700 900123" in p.texts()[-1] and "Samaritans" in p.texts()[-1]


# --- the persistent button -----------------------------------------------------------------


async def test_the_button_in_spanish_shows_the_plan(harness, watch, sessionmaker) -> None:
    i18n = harness.dispatcher["i18n"]
    if i18n.gettext(LABEL, locale="es") == LABEL:  # until the translators' catalog has it
        i18n.locales["es"]._catalog[LABEL] = SPANISH_LABEL
    spanish = i18n.gettext(LABEL, locale="es")
    p = person(harness, watch, 320, "es")
    await p.send("/start")
    await p.tap("Español")
    await p.tap("Sí")
    await p.tap("Madrid")
    sent = await p.chat.tap("20:00")
    [keyboard] = keyboards(sent)  # onboarding ends with the 🆘 button on the keyboard
    assert keyboard.is_persistent and keyboard.keyboard[0][0].text == spanish
    assert spanish in sent[-1].text  # and a word on what it does

    async with sessionmaker() as session:
        uid = (await session.execute(text("SELECT id FROM users"))).scalar_one()
    await write_plan(sessionmaker, uid, reasons="Mi perro")
    for label in (spanish, LABEL, i18n.gettext(LABEL, locale="de"), "🆘"):
        reply = await p.send(label)
        assert "Mi perro" in reply.text, label
        assert "024" in reply.text  # Spain's line for suicidal crisis
    await p.send(" 🆘  MI PLAN DE CRISIS ")  # typed by hand, or an older keyboard
    assert "Mi perro" in p.last_text()


async def test_mentors_get_the_button_too_and_supervisors_do_not(
    harness, watch, sessionmaker
) -> None:
    p = person(harness, watch, 321)
    await p.send("/start")
    await p.tap("English")
    await p.tap("Yes, I agree")
    await p.tap("London")
    assert keyboards(await p.chat.tap("20:00"))

    assert {c.name for c in commands_for(Role.MENTEE)} >= {"crisis", "crisisplan"}
    assert {c.name for c in commands_for(Role.MENTOR)} >= {"crisis", "crisisplan"}
    assert "crisis" in {c.name for c in commands_for(Role.SUPERVISOR)}
    assert "crisisplan" not in {c.name for c in commands_for(Role.SUPERVISOR)}

    await make_person(sessionmaker, 322, role=Role.MENTOR)
    mentor = person(harness, watch, 322)
    await mentor.send("/crisisplan")
    assert "1. Warning signs" in mentor.labels()

    await make_person(sessionmaker, 323, role=Role.SUPERVISOR)
    supervisor = person(harness, watch, 323)
    reply = await supervisor.send("/crisisplan")
    assert "Crisis plans are for mentees and mentors" in reply.text
    sent = await supervisor.say("/crisis")
    assert "Crisis lines" in sent[-1].text and not keyboards(sent)
    assert supervisor.labels() == []


# --- writing while in the middle of something else -----------------------------------------


async def test_writing_mid_log_puts_the_log_aside_and_gives_it_back(
    harness, watch, sessionmaker
) -> None:
    uid = await make_person(sessionmaker, 330)
    p = person(harness, watch, 330)
    await at_rest_breaks(p)
    question = p.shown()
    before = await conversation(sessionmaker, 330)

    await p.send("/crisisplan")
    await p.tap("1. Warning signs")
    await p.tap("Write this part")
    # The log's buttons wait; they say why instead of answering.
    toast = await p.press("log:rest_breaks:2", question)
    assert toast and "First send this part of your plan" in toast
    sent = await p.say("2")  # a number, but it is the plan's text now
    assert "Your daily log is waiting where you left it" in sent[-2].text
    assert await plan_of(sessionmaker, uid) == {"warning_signs": "2"}
    assert await conversation(sessionmaker, 330) == before

    assert await p.press("log:rest_breaks:2", question) is None
    assert header(6) in p.shown().text
    await answer_all(p, from_step=6)
    assert len(await logs_of(sessionmaker, 330)) == 1


async def test_writing_mid_intake_the_intake_buttons_wait_too(harness, watch, sessionmaker) -> None:
    # Every questionnaire on the engine adds itself to the flows the plan may pause (issue
    # 12); before, an intake button here said only that it had expired.
    await make_person(sessionmaker, 334)
    p = person(harness, watch, 334)
    await p.send("/profile")
    question = p.shown()
    before = await conversation(sessionmaker, 334)
    await p.send("/crisisplan")
    await p.tap("1. Warning signs")
    await p.tap("Write this part")
    toast = await p.press("intake:goals:sleep", question)
    assert toast and "First send this part of your plan" in toast
    await p.say("Not sleeping")
    assert await conversation(sessionmaker, 334) == before
    assert await p.press("intake:goals:sleep", question) is None
    assert "✓ Sleep" in p.labels()


async def test_log_while_writing_leaves_the_part_and_picks_the_log_up(
    harness, watch, sessionmaker
) -> None:
    uid = await make_person(sessionmaker, 331)
    p = person(harness, watch, 331)
    await at_rest_breaks(p)
    await p.send("/crisisplan")
    await p.tap("1. Warning signs")
    await p.tap("Write this part")
    sent = [s.text for s in await p.say("/log") if s.method == "sendMessage"]
    assert "I've left your crisis plan as it was." in sent[-3]
    assert header(5) in p.shown().text  # the same question again
    await answer_all(p, from_step=5)
    assert await plan_of(sessionmaker, uid) == {}
    assert len(await logs_of(sessionmaker, 331)) == 1


async def test_crisis_while_writing_keeps_the_part_being_written(
    harness, watch, sessionmaker
) -> None:
    uid = await make_person(sessionmaker, 332)
    await write_plan(sessionmaker, uid, reasons="My sister")
    p = person(harness, watch, 332)
    await p.send("/crisisplan")
    await p.tap("1. Warning signs")
    await p.tap("Write this part")
    state = await conversation(sessionmaker, 332)
    reply = await p.send(LABEL)
    assert "My sister" in reply.text
    assert await conversation(sessionmaker, 332) == state
    await p.send("Skipping meals")
    assert (await plan_of(sessionmaker, uid))["warning_signs"] == "Skipping meals"


# --- buttons are hints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "plan:open:nonsense",
        "plan:open:",
        "plan:edit:",
        "plan:edit:__class__",
        "plan:clear:x" * 3,
        "plan:explode:reasons",
        "plan:open",
        "plan:cancel:",
        "plan:skip:",
        "plan:trim:",
        "plan:clear_yes:reasons",
    ],
)
async def test_forged_plan_buttons_have_expired(harness, watch, sessionmaker, data) -> None:
    uid = await make_person(sessionmaker, 340)
    await write_plan(sessionmaker, uid, reasons="My cat")
    p = person(harness, watch, 340)
    await p.send("/crisisplan")
    said = len(p.texts())
    assert await p.press(data) == EXPIRED
    assert len(p.texts()) == said
    assert await plan_of(sessionmaker, uid) == {"reasons": "My cat"}
    assert await conversation(sessionmaker, 340) == (None, {})
    p.assert_no_apology()


async def test_plan_buttons_act_on_the_pressers_own_plan_only(harness, watch, sessionmaker) -> None:
    owner = await make_person(sessionmaker, 341)
    await write_plan(sessionmaker, owner, reasons="My cat")
    p = person(harness, watch, 341)
    await p.send("/crisisplan")
    await p.tap("✓ 7.")
    await p.tap("Clear")
    confirm = p.shown()

    # Someone else presses the owner's buttons (a forwarded message, a forged update).
    other = await make_person(sessionmaker, 342)
    q = person(harness, watch, 342)
    assert await q.press("plan:clear_yes:reasons", confirm) == EXPIRED
    assert await q.press("plan:open:reasons", confirm) == EXPIRED
    assert await plan_of(sessionmaker, owner) == {"reasons": "My cat"}
    assert await plan_of(sessionmaker, other) == {}

    # People who keep no plan cannot press their way into one.
    await make_person(sessionmaker, 343, role=Role.SUPERVISOR)
    s = person(harness, watch, 343)
    await s.send("/crisis")
    assert await s.press("plan:begin") == EXPIRED
    assert await s.press("plan:edit:reasons") == EXPIRED
    assert await conversation(sessionmaker, 343) == (None, {})


# --- privacy -------------------------------------------------------------------------------


async def test_the_plan_is_encrypted_at_rest_and_never_logged(
    harness, watch, sessionmaker, cipher, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    uid = await make_person(sessionmaker, 350)
    p = person(harness, watch, 350)
    await p.send("/crisisplan")
    await p.tap("7. What matters most")
    await p.tap("Write this part")
    await p.send("Seeing my grandchildren grow up")
    await p.send("/crisis")

    async with sessionmaker() as session:
        raw = (await session.execute(text("SELECT section, text FROM crisis_plan_sections"))).all()
        rows = (await session.execute(select(CrisisPlanSection))).scalars().all()
    assert [section for section, _ in raw] == ["reasons"]
    assert "grandchildren" not in raw[0][1]
    assert cipher.decrypt(raw[0][1]) == "Seeing my grandchildren grow up"
    assert [(r.user_id, r.text) for r in rows] == [(uid, "Seeing my grandchildren grow up")]
    assert "grandchildren" not in caplog.text


async def test_crisis_in_a_group_points_to_a_private_chat(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 351)
    await write_plan(sessionmaker, uid, reasons="Private words")
    user = harness.people.user(351)
    sent = await harness.feed(harness.people.text(user, "/crisis", "supergroup", -100500))
    assert sent and all("Private words" not in (s.text or "") for s in sent)


async def test_deleting_my_data_deletes_my_plan(harness, watch, sessionmaker) -> None:
    uid = await make_person(sessionmaker, 352)
    await write_plan(sessionmaker, uid, reasons="My friends", warning_signs="Bad nights")
    p = person(harness, watch, 352)
    await p.send("/privacy")
    await p.tap("Delete my data")
    await p.tap("Yes, delete everything")
    assert await plan_of(sessionmaker, uid) == {}


# --- the flow's rules ----------------------------------------------------------------------


def test_sections_follow_the_safety_planning_intervention() -> None:
    assert [s.value for s in crisis_plan.ORDER] == [
        "warning_signs",
        "coping_alone",
        "distractions",
        "people_to_ask",
        "professionals",
        "safer_surroundings",
        "reasons",
    ]
    assert all(len(s.value) <= 32 for s in Section)  # the column's width
    # Walking through the plan asks the parts that were empty, in order (the rules are the
    # declared questionnaire's since the plan moved onto the engine, issue 12).
    walk = crisis_plan.walking({"distractions"})
    assert crisis_plan.PLAN.next("coping_alone", walk, None) == "people_to_ask"
    assert crisis_plan.PLAN.next("reasons", walk, None) is None
    assert crisis_plan.first_unfilled(set(Section)) is None
    # Changing one part asks that part only, and it cannot be skipped (Cancel keeps it).
    one = crisis_plan.changing(Section.COPING_ALONE)
    assert [s.name for s in crisis_plan.PLAN.shown(one, None)] == ["coping_alone"]
    with pytest.raises(InvalidAnswer):
        crisis_plan.PLAN.tap("coping_alone", SKIP, one, None)


def test_text_rules() -> None:
    plan, one = crisis_plan.PLAN, crisis_plan.changing(Section.COPING_ALONE)
    assert plan.typed("coping_alone", "  Call Maria  ", one, None).answers["coping_alone"] == (
        "Call Maria"
    )
    with pytest.raises(InvalidAnswer):
        plan.typed("coping_alone", " \n ", one, None)
    with pytest.raises(TooLong) as too_long:
        plan.typed("coping_alone", "x" * 1001, one, None)
    assert (too_long.value.length, too_long.value.limit) == (1001, 1000)
    kept = plan.trim("coping_alone", "y" * 1200, one, None)
    assert kept.answers["coping_alone"] == "y" * 1000


def test_where_to_call() -> None:
    assert crisis_plan.country_of_zone("Europe/London") == "GB"
    assert crisis_plan.country_of_zone("UTC") is None
    uk = crisis_plan.where_to_call("es", "Europe/London")
    assert (uk.lines.country, uk.elsewhere) == ("GB", None)
    mexico = crisis_plan.where_to_call("es", None, "es-MX")
    assert mexico.lines.country == "MX" and mexico.elsewhere is None
    unknown = crisis_plan.where_to_call("de", "UTC")
    assert unknown.lines.country == "DE" and unknown.elsewhere is not None
