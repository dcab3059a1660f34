"""Onboarding by role, and small things people ran into (real dispatcher, Telegram faked).

Paula is added as a supervisor from the command line and sends /start: she reads what the
bot does for staff and what it keeps about her, and is promised no daily check-in. Max
joins with a mentor invite and reads a mentor's introduction and consent, and /profile
asks him as a mentor. Ana, a mentee, types "my pain is awful today" and gets warmth and
where help is; she changes language and her 🆘 button follows; she types "Sevilla".
"""

from __future__ import annotations

import pytest
from aiogram.types import ReplyKeyboardMarkup

from storage import invites, users
from storage.models import Role
from tests.harness import Harness
from tests.unit.chat_helpers import Person, Watch, make_person, person, user_row


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def onboard(p: Person, start: str = "/start", *, checkin: bool = True) -> None:
    await p.send(start)
    await p.tap(p.labels()[0])  # the offered language
    await p.press("consent:1")
    await p.tap(p.labels()[0])  # the first likely zone
    if checkin:
        await p.tap("20:00")


def keyboards(p: Person) -> list[ReplyKeyboardMarkup]:
    sent = [c for c in p.watch.calls if getattr(c, "chat_id", None) == p.id]
    return [c.reply_markup for c in sent if isinstance(c.reply_markup, ReplyKeyboardMarkup)]


# --- onboarding by role ----------------------------------------------------------------------


async def test_a_supervisor_reads_about_their_role_and_is_promised_no_check_in(
    harness, watch, sessionmaker
) -> None:
    async with sessionmaker() as session:  # `peerbot roles add 40 supervisor`, before /start
        await users.create(
            session, telegram_id=40, locale="en", pseudonym="Owl-40", role=Role.SUPERVISOR
        )
        await session.commit()
    paula = person(harness, watch, 40)
    await onboard(paula, checkin=False)

    said = "\n".join(paula.texts())
    assert "As part of the program's staff, you'll get an alert" in said
    assert "your on-call shifts, and what you do with alerts" in said
    assert "daily logs" not in said and "your mentor sees" not in said.casefold()
    last = paula.last_text()
    assert "All set! Your time zone: London." in last and "/oncall takes a shift" in last
    assert "check in with you every day" not in said
    assert "When would you like your daily check-in" not in said
    row = await user_row(sessionmaker, 40)
    assert row.is_onboarded and row.role == "supervisor"
    privacy = await paula.send("/privacy")
    assert "your on-call shifts" in privacy.text


async def test_a_mentor_reads_a_mentors_introduction_and_profile(
    harness, watch, sessionmaker
) -> None:
    async with sessionmaker() as session:
        invite = await invites.create(session, Role.MENTOR)
        await session.commit()
        code = invite.code
    max_ = person(harness, watch, 41)
    await onboard(max_, f"/start {code}")

    said = "\n".join(max_.texts())
    assert "As a mentor, you'll hear through me when a mentee would like to talk" in said
    assert "program supervisors read your session notes" in said
    assert "your mentor sees only what you choose" not in said
    assert "I'll check in with you every day at 20:00" in said  # mentors keep a log too

    await max_.send("/profile")
    await max_.tap("Skip")  # goals
    assert "introduce you to mentees who will feel understood by you" in max_.shown().text
    await max_.tap("Skip")  # symptoms
    assert "How often could you be in touch with a mentee?" in max_.shown().text


async def test_spanish_mentor_reads_it_in_spanish(harness, watch, sessionmaker) -> None:
    async with sessionmaker() as session:
        invite = await invites.create(session, Role.MENTOR)
        await session.commit()
        code = invite.code
    p = person(harness, watch, 42, "es")
    await p.send(f"/start {code}")
    await p.tap("Español")
    about, consent = p.texts()[-2:]
    assert "Como mentor o mentora" in about and "mentor, you" not in about
    assert "tus notas de sesión" in consent


# --- small things ----------------------------------------------------------------------------


async def test_pain_told_to_the_bot_gets_warmth_and_where_help_is(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 43)
    ana = person(harness, watch, 43)
    reply = await ana.send("my pain is awful today")
    assert "I'm not sure what to do with that" not in reply.text
    assert "💛 Thank you for writing." in reply.text
    for where in ("/log", "/mentor", "🆘 My crisis plan"):
        assert where in reply.text
    assert isinstance(reply.markup, ReplyKeyboardMarkup)


async def test_the_same_language_again_changes_nothing_and_says_so(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 44)
    ana = person(harness, watch, 44)
    await ana.send("/language")
    before = len(ana.texts())
    assert await ana.tap("English") == "That's already the language we use — nothing changed."
    assert len(ana.texts()) == before  # no "Done" message either


async def test_the_sos_button_follows_a_change_of_language(harness, watch, sessionmaker) -> None:
    await make_person(sessionmaker, 45)
    ana = person(harness, watch, 45)
    await ana.send("/language")
    assert await ana.tap("Español") == "Idioma cambiado."
    [keyboard] = keyboards(ana)
    assert keyboard.keyboard[0][0].text == "🆘 Mi plan de crisis"
    assert keyboard.is_persistent


@pytest.mark.parametrize(
    ("language", "typed", "zone"),
    [
        ("es", "Sevilla", "Europe/Madrid"),
        ("de", "München", "Europe/Berlin"),
        ("de", "munchen", "Europe/Berlin"),
        ("es", "Alemania", "Europe/Berlin"),
        ("en", "United Kingdom", "Europe/London"),
        ("de", "Österreich", "Europe/Vienna"),
    ],
)
async def test_typed_places_beyond_zone_names_are_found(
    harness, watch, sessionmaker, language, typed, zone
) -> None:
    p = person(harness, watch, 46, language)
    await p.send("/start")
    await p.tap(p.labels()[0])
    await p.press("consent:1")
    await p.send(typed)
    assert (await user_row(sessionmaker, 46)).timezone is None  # asked the time next
    await p.tap("20:00")
    assert (await user_row(sessionmaker, 46)).timezone == zone


async def test_a_country_spread_over_many_zones_is_not_guessed(harness, watch) -> None:
    p = person(harness, watch, 47)
    await p.send("/start")
    await p.tap(p.labels()[0])
    await p.press("consent:1")
    reply = await p.send("United States")
    assert "I couldn't find that place" in reply.text


async def test_the_spanish_crisis_screen_for_a_uk_number_is_all_spanish(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 48, locale="es", zone="Europe/London")
    marta = person(harness, watch, 48, "es")
    view = await marta.send("/crisis")
    assert "Reino Unido" in view.text and "999" in view.text and "116 123" in view.text
    for english in ("United Kingdom", "24/7", "Text SHOUT", "people experiencing"):
        assert english not in view.text, english
