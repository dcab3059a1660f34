"""Writing one's crisis plan with the words screening looks for, as people live it.

Warning signs are meant to hold exactly this language. Lena writes hers on a calm
afternoon: the part is saved, and she is asked "Is this how you feel right now?" before
anyone is alerted. "No" raises nothing. "Yes" reaches the on-call supervisor at once, and
the alert says where the words came from. No answer within ten minutes, or /cancel, raises
the alert anyway (the question says so): silence is not a "no".
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.i18n import create_i18n
from bot.scheduler import run_due
from flows.crisis_plan import FEELING_CHECK, FEELING_CHECK_KIND
from storage import crisis_plans, schedules
from storage.models import Role, utcnow
from tests.harness import make_harness
from tests.unit.alert_helpers import (
    alert_messages,
    alert_rows,
    alert_settings,
    hit_rows,
    member,
    outbox_rows,
    unstaffed_hours,
)
from tests.unit.chat_helpers import EXPIRED, Person, Watch, conversation, person, tap_data

LENA, SUPERVISOR = 320, 900
WORDS = "When I start thinking I want to kill myself, and I stop eating"
QUESTION = "Is this how you feel right now?"
SAID_IN_PLAN = "Said while writing their crisis plan; they said it is how they feel now."
UNANSWERED = "Said while writing their crisis plan; asked whether it is how they feel now"


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness) -> Watch:
    return Watch(harness)


async def lena_writes_warning_signs(
    harness, watch, sessionmaker, words: str = WORDS, locale: str = "en"
) -> tuple[Person, int]:
    uid = await member(sessionmaker, LENA, pseudonym="Wren-3", locale=locale)
    await member(sessionmaker, SUPERVISOR, role=Role.SUPERVISOR)
    lena = person(harness, watch, LENA, locale)
    await lena.send("/crisisplan")
    await tap_data(lena, "plan:open:warning_signs")
    await tap_data(lena, "plan:edit:warning_signs")
    await lena.say(words)
    return lena, uid


async def plan_of(sessionmaker, uid: int) -> dict[str, str]:
    async with sessionmaker() as session:
        return await crisis_plans.sections(session, uid)


async def pending_check(sessionmaker, uid: int):
    async with sessionmaker() as session:
        return await schedules.get(session, FEELING_CHECK_KIND, uid)


async def tick_after(sessionmaker, settings, minutes: float) -> None:
    later = utcnow() + dt.timedelta(minutes=minutes)
    await run_due(sessionmaker, settings, create_i18n("en"), now=later)


async def test_warning_signs_with_crisis_words_are_saved_and_she_is_asked_first(
    harness, watch, sessionmaker
) -> None:
    lena, uid = await lena_writes_warning_signs(harness, watch, sessionmaker)

    question = lena.shown()
    assert "✓ Saved: “Warning signs”." in question.text
    assert QUESTION in question.text
    assert "within 10 minutes, I'll let the program's on-call supervisor know" in question.text
    assert lena.labels() == ["Yes, right now", "No, not right now"]
    assert not any("supervisor know. Someone will reach out" in t for t in lena.texts())
    assert await plan_of(sessionmaker, uid) == {"warning_signs": WORDS}
    assert await alert_rows(sessionmaker) == []
    assert alert_messages(await outbox_rows(sessionmaker)) == []
    lena.assert_no_apology()


async def test_no_raises_nothing_and_the_plan_goes_on(harness, watch, sessionmaker, settings):
    lena, uid = await lena_writes_warning_signs(harness, watch, sessionmaker)

    assert await lena.tap("No, not right now") is None

    assert "Thank you for telling me. Nobody has been alerted." in "\n".join(lena.texts())
    assert "You said: no." in "\n".join(lena.texts())
    assert "Your crisis plan" in lena.shown().text  # back at the list of parts
    assert "✓ 1. Warning signs" in lena.labels()
    assert await conversation(sessionmaker, LENA) == (None, {})
    assert await pending_check(sessionmaker, uid) is None
    await tick_after(sessionmaker, settings, 11)  # and the clock raises nothing later
    assert await alert_rows(sessionmaker) == []
    assert await plan_of(sessionmaker, uid) == {"warning_signs": WORDS}


async def test_yes_alerts_at_once_and_the_alert_says_it_came_from_the_plan(
    harness, watch, sessionmaker, settings
) -> None:
    lena, uid = await lena_writes_warning_signs(harness, watch, sessionmaker)

    assert await lena.tap("Yes, right now") is None

    said = "\n".join(lena.texts())
    assert "💛 Thank you for telling me." in said
    assert "I've let the program's on-call supervisor know. Someone will reach out" in said
    assert WORDS.replace("&", "&amp;") in said or "I stop eating" in said  # her own plan
    [alert] = await alert_rows(sessionmaker)
    assert alert.raised_by == "plan" and alert.severity >= 2
    [hit, *_] = await hit_rows(sessionmaker, alert.id)
    assert hit.sentence and hit.sentence in WORDS
    [channel] = alert_messages(await outbox_rows(sessionmaker), settings.supervisor_chat_id)
    assert SAID_IN_PLAN in channel.text and "Wren-3" in channel.text
    assert await conversation(sessionmaker, LENA) == (None, {})
    assert await pending_check(sessionmaker, uid) is None
    # The question cannot be answered twice.
    assert await lena.press("plan:now_yes:", lena.harness.telegram.last_message(LENA)) == EXPIRED
    assert len(await alert_rows(sessionmaker)) == 1


async def test_no_answer_in_ten_minutes_raises_the_alert_and_tells_her(
    harness, watch, sessionmaker, settings
) -> None:
    lena, _uid = await lena_writes_warning_signs(harness, watch, sessionmaker)
    question = lena.shown()

    await tick_after(sessionmaker, settings, 5)  # not yet
    assert await alert_rows(sessionmaker) == []
    await tick_after(sessionmaker, settings, FEELING_CHECK.total_seconds() / 60 + 1)

    [alert] = await alert_rows(sessionmaker)
    assert alert.raised_by == "plan_nr"
    rows = await outbox_rows(sessionmaker)
    [channel] = alert_messages(rows, settings.supervisor_chat_id)
    assert UNANSWERED in channel.text and "they did not answer" in channel.text
    [told] = [r for r in rows if r.chat_id == LENA]
    assert "I didn't hear whether it's how you feel right now" in told.text
    assert "/crisis shows the numbers to call" in told.text
    await tick_after(sessionmaker, settings, 30)  # once only
    assert len(await alert_rows(sessionmaker)) == 1

    # She answers later: honestly told a supervisor already knows; nobody is paged again.
    await lena.tap("No, not right now", question)
    assert "I didn't hear back in time, so a supervisor already knows" in "\n".join(lena.texts())
    assert len(alert_messages(await outbox_rows(sessionmaker))) == len(alert_messages(rows))


async def test_cancel_instead_of_an_answer_raises_the_alert(
    harness, watch, sessionmaker, settings
) -> None:
    lena, uid = await lena_writes_warning_signs(harness, watch, sessionmaker)

    reply = await lena.send("/cancel")

    assert "I've let the program's on-call supervisor know, just in case" in reply.text
    [alert] = await alert_rows(sessionmaker)
    assert alert.raised_by == "plan_nr"
    assert await conversation(sessionmaker, LENA) == (None, {})
    assert await plan_of(sessionmaker, uid) == {"warning_signs": WORDS}
    await tick_after(sessionmaker, settings, 11)
    assert len(await alert_rows(sessionmaker)) == 1


async def test_typing_instead_of_tapping_asks_again_below(harness, watch, sessionmaker) -> None:
    lena, _uid = await lena_writes_warning_signs(harness, watch, sessionmaker)
    first = lena.shown()

    reply = await lena.send("hmm")

    assert "please tap one of the buttons" in reply.text
    assert lena.labels() == ["Yes, right now", "No, not right now"]
    assert await lena.press("plan:now_no:", first) == EXPIRED  # the old copy is retired
    assert await alert_rows(sessionmaker) == []
    await lena.tap("No, not right now")
    assert await alert_rows(sessionmaker) == []


async def test_walking_through_the_plan_no_goes_on_to_the_next_part(
    harness, watch, sessionmaker
) -> None:
    await member(sessionmaker, LENA, pseudonym="Wren-3")
    lena = person(harness, watch, LENA)
    await lena.send("/crisisplan")
    await lena.tap("Write them one by one")
    await lena.send(WORDS)
    assert QUESTION in lena.shown().text
    await lena.tap("No, not right now")
    assert "Nobody has been alerted." in lena.shown().text
    assert "2/7 · Things I can do on my own to cope" in lena.shown().text
    assert lena.labels() == ["Skip this part ▸", "✕ Cancel"]


async def test_a_calm_part_asks_nothing(harness, watch, sessionmaker) -> None:
    lena, uid = await lena_writes_warning_signs(
        harness, watch, sessionmaker, words="Not sleeping, a flare that won't settle"
    )
    assert QUESTION not in "\n".join(lena.texts())
    assert await pending_check(sessionmaker, uid) is None


async def test_the_same_words_outside_the_plan_still_alert_at_once(
    harness, watch, sessionmaker
) -> None:
    await member(sessionmaker, LENA, pseudonym="Wren-3")
    await person(harness, watch, LENA).say(WORDS)
    [alert] = await alert_rows(sessionmaker)
    assert alert.raised_by == "words"


async def test_spanish_question_and_answers(harness, watch, sessionmaker) -> None:
    lena, _uid = await lena_writes_warning_signs(
        harness, watch, sessionmaker, words="Cuando pienso que quiero morirme", locale="es"
    )
    assert "¿Es así como te sientes ahora mismo?" in lena.shown().text
    assert lena.labels() == ["Sí, ahora mismo", "No, ahora no"]
    await lena.tap("No, ahora no")
    assert await alert_rows(sessionmaker) == []


async def test_outside_staffed_hours_cancel_says_the_reply_may_be_slower(
    tmp_path, database_url, engine, sessionmaker
) -> None:
    """No crisis lines stand above this answer, so it points to /crisis rather than to
    "the numbers above"."""
    closed = make_harness(
        alert_settings(tmp_path, database_url, staffed_hours=unstaffed_hours()), engine
    )
    lena, _uid = await lena_writes_warning_signs(closed, Watch(closed), sessionmaker)
    reply = await lena.send("/cancel")
    assert "the supervisors' reply may take longer" in reply.text
    assert "numbers above" not in reply.text
    assert "/crisis shows the numbers to call" in reply.text
