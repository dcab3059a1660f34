"""The intake (/profile) as people live it: a few taps about goals, symptoms, how and when
they like to talk, what support they want or offer, languages, and (mentors) how many
mentees they can take or (mentees) what their mentor may see. Every item can be skipped."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.methods import EditMessageReplyMarkup

from flows import matching
from flows.states import Intake
from storage import profiles
from storage.models import Profile, Role
from tests.harness import Harness
from tests.unit.alert_helpers import member
from tests.unit.chat_helpers import Watch, conversation, count, person

MENTEE, MENTOR, ADMIN = 300, 800, 950
EXPIRED = "This button has expired."


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def stored(sessionmaker, user_id: int) -> Profile | None:
    async with sessionmaker() as session:
        return await profiles.get(session, user_id)


async def in_queue(sessionmaker) -> list[int]:
    async with sessionmaker() as session:
        return [entry.mentee.id for entry in await matching.queue(session)]


async def test_a_mentee_answers_every_item_by_taps_and_joins_the_queue(
    harness, watch, sessionmaker
) -> None:
    user_id = await member(sessionmaker, MENTEE, display_name="Rosalind")
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    assert "find a mentor who fits you" in p.texts()[-2]
    assert "About you · 1/9" in p.shown().text and "work on with a mentor" in p.shown().text

    await p.tap("Activity planning and pacing")
    await p.tap("Sleep")
    assert "✓ Activity planning and pacing" in p.labels() and "✓ Sleep" in p.labels()
    await p.tap("Done")
    assert "2/9" in p.shown().text and "symptoms do you live with" in p.shown().text
    await p.tap("Fatigue")
    await p.tap("Done")
    await p.tap("Daily")
    await p.tap("Short texts")
    await p.tap("Evenings")
    await p.tap("Done")
    await p.tap("Emotional")
    assert "languages" in p.shown().text
    assert "✓ English" in p.labels()  # their own language comes ticked
    await p.tap("Español")
    await p.tap("Done")
    assert "What may your mentor see?" in p.shown().text
    assert "not your notes" in p.shown().text  # what "trend" means is said plainly
    await p.tap("My 7-day trend")
    await p.tap("Done")
    assert "9/9" in p.shown().text and "anything else" in p.shown().text
    await p.send("Someone who also has small children")

    said = p.last_text()
    assert "Saved" in said and "You're in the queue for a mentor" in said
    assert "Your mentor sees: My 7-day trend." in said
    profile = await stored(sessionmaker, user_id)
    assert profile.goals == ["pacing", "sleep"] and profile.symptoms == ["fatigue"]
    assert (profile.frequency, profile.style, profile.support) == ("daily", "short", "emotional")
    assert profile.times == ["evening"] and profile.languages == ["en", "es"]
    assert profile.shares == ["trends"] and profile.capacity is None
    assert profile.preferences == "Someone who also has small children"
    assert await in_queue(sessionmaker) == [user_id]
    assert await conversation(sessionmaker, MENTEE) == (None, {})
    p.assert_no_apology()


async def test_a_mentor_skips_everything_but_capacity(harness, watch, sessionmaker) -> None:
    user_id = await member(sessionmaker, MENTOR, role=Role.MENTOR)
    p = person(harness, watch, MENTOR)
    await p.send("/profile")
    assert "help mentees with" in p.shown().text and "1/9" in p.shown().text
    for _ in range(6):  # goals, symptoms, frequency, style, times, support
        await p.tap("Skip")
    await p.tap("Done")  # languages: their own stays ticked
    assert "How many mentees could you support" in p.shown().text
    assert "What may your mentor see" not in p.shown().text
    await p.tap("3")
    await p.tap("Skip")  # anything else

    assert "introduce you to mentees who fit" in p.last_text()
    profile = await stored(sessionmaker, user_id)
    assert profile.goals == [] and profile.frequency is None and profile.support is None
    assert profile.capacity == 3 and profile.languages == ["en"] and profile.shares == []
    assert profile.preferences is None and profile.completed_at is not None
    assert await in_queue(sessionmaker) == []  # mentors are not queued


async def test_a_mentee_who_skips_sharing_shares_nothing(harness, watch, sessionmaker) -> None:
    user_id = await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    for _ in range(6):  # goals, symptoms, frequency, style, times, support
        await p.tap("Skip")
    await p.tap("Done")  # languages
    assert "What may your mentor see?" in p.shown().text
    await p.tap("Skip")
    await p.tap("Skip")
    assert "Your mentor sees none of your logs." in p.last_text()
    assert (await stored(sessionmaker, user_id)).shares == []


async def test_a_sticker_mid_intake_gets_the_same_question_again(
    harness, watch, sessionmaker
) -> None:
    await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    await p.tap("Sleep")
    await p.tap("Done")
    asked = p.shown().text
    reply = await p.chat.sticker()
    assert "I can't read that here" in p.texts()[-2]
    assert reply.text == asked and "symptoms do you live with" in reply.text
    await p.send("fatigue")  # typed where a tap is expected: asked again, kindly
    assert "Please tap one of the buttons, or Skip." in p.texts()[-2]
    await p.tap("Fatigue")
    assert "✓ Fatigue" in p.labels()
    state, data = await conversation(sessionmaker, MENTEE)
    assert state == Intake.answering.state and data["answers"]["goals"] == ["sleep"]
    p.assert_no_apology()


async def test_a_question_asked_again_after_a_crisis_reply_retires_its_earlier_copy(
    harness, watch, sessionmaker
) -> None:
    await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    earlier = p.shown()
    mark = len(watch.calls)
    await p.say("I want to kill myself")
    assert "Thank you for telling me" in "\n".join(p.texts())
    again = p.shown()
    assert again.message_id != earlier.message_id and again.text == earlier.text
    assert any(
        isinstance(c, EditMessageReplyMarkup)
        and c.message_id == earlier.message_id
        and c.reply_markup is None
        for c in watch.calls[mark:]
    ), "the copy above the crisis answer kept its buttons"
    await p.tap("Sleep")  # the intake goes on from the copy below
    assert "✓ Sleep" in p.labels()


async def test_old_question_buttons_have_expired(harness, watch, sessionmaker) -> None:
    await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    first = p.shown()
    await p.tap("Skip")
    assert await p.tap("Sleep", first) == EXPIRED
    second = p.shown()
    await p.send("/cancel")
    assert await p.tap("Fatigue", second) == EXPIRED


async def test_cancel_leaves_the_intake_and_saves_nothing(harness, watch, sessionmaker) -> None:
    user_id = await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    await p.tap("Sleep")
    await p.tap("Done")
    await p.send("/cancel")
    assert "Stopped" in p.last_text()
    assert await stored(sessionmaker, user_id) is None
    assert await count(sessionmaker, Profile) == 0
    assert await in_queue(sessionmaker) == [user_id]  # still waiting, matched on language alone


async def test_back_returns_to_the_item_before_with_its_answer(
    harness, watch, sessionmaker
) -> None:
    await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    assert "Back" not in " ".join(p.labels())  # nothing before the first item
    await p.tap("Sleep")
    await p.tap("Done")
    await p.tap("Back")
    assert "1/9" in p.shown().text and "✓ Sleep" in p.labels()


async def test_running_it_again_shows_the_answers_and_keeps_what_is_not_changed(
    harness, watch, sessionmaker
) -> None:
    user_id = await member(sessionmaker, MENTEE)
    async with sessionmaker() as session:
        answers = {"goals": ["sleep"], "frequency": "weekly", "languages": ["de"]}
        await profiles.save(session, user_id, answers | {"preferences": "Quiet"}, _now())
        await session.commit()
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    shown = p.texts()[-2]
    assert "Here is what you told me before" in shown
    assert "Goals: Sleep" in shown and "How often: Weekly" in shown and "Deutsch" in shown
    assert "✓ Sleep" in p.labels()
    await p.tap("Done")
    await p.tap("Skip")  # symptoms
    assert "✓ Weekly" in p.labels() and "Keep ▸" in p.labels()
    await p.tap("Daily")  # changed
    for _ in range(3):  # style, times, support: never answered
        await p.tap("Skip ▸")
    assert "✓ Deutsch" in p.labels() and "English" in p.labels()
    await p.tap("Done ▸")
    await p.tap("Skip ▸")  # shares
    assert "Now: <i>Quiet</i>" in p.shown().text
    await p.tap("Keep ▸")
    profile = await stored(sessionmaker, user_id)
    assert profile.goals == ["sleep"] and profile.frequency == "daily"
    assert profile.languages == ["de"] and profile.preferences == "Quiet"


async def test_preferences_too_long_are_kept_and_can_be_trimmed(
    harness, watch, sessionmaker
) -> None:
    user_id = await member(sessionmaker, MENTOR, role=Role.MENTOR)
    p = person(harness, watch, MENTOR)
    await p.send("/profile")
    for _ in range(6):
        await p.tap("Skip")
    await p.tap("Done")
    await p.tap("2")
    long_text = "I understand night shifts and young kids. " * 10
    await p.send(long_text)
    assert "can be up to 300" in p.last_text() and "kept what you wrote" in p.last_text()
    await p.tap("Keep the first 300")
    profile = await stored(sessionmaker, user_id)
    assert profile.preferences == long_text.strip()[:300]
    assert profile.capacity == 2


async def test_profile_is_for_mentees_and_mentors_only(harness, watch, sessionmaker) -> None:
    await member(sessionmaker, ADMIN, role=Role.ADMIN)
    p = person(harness, watch, ADMIN)
    reply = await p.send("/profile")
    assert "That one is for mentees and mentors" in reply.text


async def test_changing_answers_later_keeps_the_place_in_the_queue(
    harness, watch, sessionmaker
) -> None:
    first = await member(sessionmaker, MENTEE)
    second = await member(sessionmaker, MENTEE + 1)
    async with sessionmaker() as session:
        await profiles.save(session, first, {"goals": ["sleep"]}, _now() - dt.timedelta(days=3))
        await profiles.save(session, second, {"goals": ["work"]}, _now() - dt.timedelta(days=1))
        await session.commit()
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    await p.tap("Pacing")
    for _ in range(9):
        await p.tap("▸")  # Done, Skip or Keep: the rest stays as it was
    assert "Saved" in p.last_text()
    assert await in_queue(sessionmaker) == [first, second]  # still waiting the longest
    assert (await stored(sessionmaker, first)).goals == ["pacing", "sleep"]


def _now():
    from storage.models import utcnow

    return utcnow()


async def test_a_choice_typed_by_its_label_is_taken_like_the_tap(
    harness, watch, sessionmaker
) -> None:
    # On the questionnaire engine (issue 12): a button's label typed where a tap is offered.
    user_id = await member(sessionmaker, MENTEE)
    p = person(harness, watch, MENTEE)
    await p.send("/profile")
    await p.tap("Skip")  # goals
    await p.tap("Skip")  # symptoms
    await p.send("weekly")
    assert "What suits you better?" in p.shown().text
    _, data = await conversation(sessionmaker, MENTEE)
    assert data["answers"]["frequency"] == "weekly"
    p.assert_no_apology()
    assert await stored(sessionmaker, user_id) is None
