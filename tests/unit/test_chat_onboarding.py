"""A newcomer's first minutes: /start, language, consent, time zone, check-in time, invites."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.settings import Settings
from flows.onboarding import CONSENT_VERSION
from storage import invites
from storage.models import Consent, FsmRecord, Invite, Role, User
from tests.harness import Harness, make_harness
from tests.unit.chat_helpers import (
    EXPIRED,
    Person,
    Watch,
    consents_of,
    conversation,
    count,
    make_person,
    person,
    user_row,
)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


@pytest.fixture
def closed(settings: Settings, engine) -> Harness:
    """The same bot, for a program that takes people by invitation only."""
    return make_harness(settings.model_copy(update={"invite_only": True}), engine)


async def new_invite(sessionmaker, role: Role, *, expired: bool = False, **options) -> str:
    async with sessionmaker() as session:
        invite = await invites.create(session, role, **options)
        if expired:  # made a week ago, for six days
            invite.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        await session.commit()
        return invite.code


async def uses_left(sessionmaker, code: str) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(Invite.uses_left).where(Invite.code == code))


async def onboard_by_taps(p: Person, start: str = "/start") -> None:
    await p.send(start)
    await p.tap(p.labels()[0])  # the offered language
    await p.press("consent:1")
    await p.tap(p.labels()[0])  # the first likely zone
    await p.tap("20:00")
    assert "All set" in p.last_text() or "Todo listo" in p.last_text()


# --- language ------------------------------------------------------------------------------


async def test_spanish_app_gets_spanish_from_the_first_word(harness, watch) -> None:
    p = person(harness, watch, 11, "es-419")
    greeting = await p.send("/start")
    assert "¡Hola, Sam!" in greeting.text
    assert "Hablaré contigo en español" in greeting.text
    assert p.labels()[0] == "Español ✓"
    await p.tap("Español")
    about, consent = p.texts()[-2:]
    assert "emergencia" in about and "emergency" not in about  # the disclaimer, in Spanish
    assert "Antes de empezar: tus datos y tu decisión" in consent
    assert p.labels() == ["Sí, estoy de acuerdo", "Ahora no"]
    await p.tap("Sí, estoy de acuerdo")
    assert "zona horaria" in p.last_text()


async def test_unknown_app_language_falls_back_to_english(harness, watch) -> None:
    p = person(harness, watch, 12, "pt")
    greeting = await p.send("/start")
    assert "Hello, Sam!" in greeting.text and "in English" in greeting.text
    assert p.labels()[0] == "English ✓"
    assert set(p.labels()) == {"English ✓", "Español", "Deutsch"}


async def test_picking_another_language_during_onboarding_switches_at_once(harness, watch) -> None:
    p = person(harness, watch, 13, "en")
    await p.send("/start")
    await p.tap("Deutsch")
    assert "Jetzt nicht" in p.labels()  # the consent question's buttons, in German


# --- consent, time zone and check-in time ---------------------------------------------------


async def test_newcomer_explained_consents_and_types_zone_and_time(
    harness, watch, sessionmaker
) -> None:
    p = person(harness, watch, 14, "en")
    await p.send("/start")
    await p.tap("English")
    about, consent = p.texts()[-2:]
    assert "<b>not</b> an emergency service" in about
    assert "call your local emergency number" in about
    assert "Do you agree to this?" in consent
    before = dt.datetime.now(dt.UTC)
    assert await p.tap("Yes, I agree") is None
    after = dt.datetime.now(dt.UTC)
    assert "Which time zone are you in?" in p.last_text()

    reply = await p.send("Europe/Berlin")
    assert "Time zone: Berlin" in reply.text
    assert "daily check-in" in reply.text
    done = await p.send("19:30")
    assert "All set! I'll check in with you every day at 19:30 (Berlin)" in done.text
    assert "/log" in done.text  # a mentee is told how to log

    user = await user_row(sessionmaker, 14)
    assert user is not None
    assert (user.role, user.timezone, user.checkin_time) == (
        "mentee",
        "Europe/Berlin",
        dt.time(19, 30),
    )
    assert user.consent_version == CONSENT_VERSION
    assert before - dt.timedelta(seconds=1) <= user.consent_at <= after + dt.timedelta(seconds=1)
    [given] = await consents_of(sessionmaker, 14)
    assert given.version == CONSENT_VERSION and given.locale == "en"
    assert before - dt.timedelta(seconds=1) <= given.given_at <= after + dt.timedelta(seconds=1)
    assert await conversation(sessionmaker, 14) == (None, {})


async def test_not_now_stores_nothing(harness, watch, sessionmaker) -> None:
    p = person(harness, watch, 15, "en")
    await p.send("/start")
    await p.tap("English")
    await p.tap("Not now")
    assert "That's completely fine" in p.last_text()
    assert "send /start" in p.last_text()
    assert await count(sessionmaker, User) == 0
    assert await count(sessionmaker, Consent) == 0
    assert await count(sessionmaker, FsmRecord) == 0
    # Changing their mind starts afresh.
    greeting = await p.send("/start")
    assert "Hello, Sam!" in greeting.text


async def test_city_typed_in_the_persons_language_is_found(harness, watch, sessionmaker) -> None:
    p = person(harness, watch, 16, "es")
    await p.send("/start")
    await p.tap("Español")
    await p.tap("Sí, estoy de acuerdo")
    reply = await p.send("Nueva York")
    assert "Zona horaria: Nueva York" in reply.text
    await p.tap("08:00")
    assert (await user_row(sessionmaker, 16)).timezone == "America/New_York"


async def test_unknown_place_is_asked_again_kindly(harness, watch, sessionmaker) -> None:
    p = person(harness, watch, 17, "en")
    await p.send("/start")
    await p.tap("English")
    await p.tap("Yes, I agree")
    reply = await p.send("Atlantis")
    assert "I couldn't find that place" in reply.text
    assert (await conversation(sessionmaker, 17))[0] == "Onboarding:timezone"
    reply = await p.send("madrid")
    assert "Time zone: Madrid" in reply.text
    await p.tap("21:00")
    user = await user_row(sessionmaker, 17)
    assert (user.timezone, user.checkin_time) == ("Europe/Madrid", dt.time(21))


async def test_garbage_time_is_asked_again(harness, watch, sessionmaker) -> None:
    p = person(harness, watch, 18, "en")
    await p.send("/start")
    await p.tap("English")
    await p.tap("Yes, I agree")
    await p.tap("London")
    for garbage in ("banana", "25:00", "19:75"):
        reply = await p.send(garbage)
        assert "Please send a time of day like 08:00 or 19:30" in reply.text
    assert (await user_row(sessionmaker, 18)).onboarded_at is None
    done = await p.send("7:45")
    assert "every day at 07:45" in done.text


async def test_stale_and_forged_onboarding_buttons_expire(harness, watch, sessionmaker) -> None:
    p = person(harness, watch, 19, "en")
    await p.send("/start")
    await p.tap("English")
    consent_message = p.shown()
    await p.tap("Yes, I agree")
    assert await p.press("consent:1", consent_message) == EXPIRED  # agreeing twice
    assert await p.press("tz:Mars/Olympus_Mons") == EXPIRED
    assert (await conversation(sessionmaker, 19))[0] == "Onboarding:timezone"
    await p.tap("London")
    assert await p.press("ci:2599") == EXPIRED
    assert await p.press("ci:2") == EXPIRED
    assert (await conversation(sessionmaker, 19))[0] == "Onboarding:checkin_time"
    assert (await user_row(sessionmaker, 19)).onboarded_at is None
    p.assert_no_apology()


async def test_name_with_html_characters_is_shown_as_typed(harness, watch) -> None:
    # The bot speaks HTML; Telegram refuses a message with an unescaped "<" or "&",
    # so a person called "Tom & Jerry <3" would get no greeting at all.
    p = Person(harness, watch, harness.chat(20, "en", first_name="Tom & Jerry <3"))
    greeting = await p.send("/start")
    assert "Tom &amp; Jerry &lt;3" in greeting.text


# --- back again ----------------------------------------------------------------------------


async def test_start_again_when_onboarded_is_welcome_back(harness, watch, sessionmaker) -> None:
    p = person(harness, watch, 21, "en")
    await onboard_by_taps(p)
    reply = await p.send("/start")
    assert "Welcome back" in reply.text
    assert not p.labels()  # nothing to pick again
    assert len(await consents_of(sessionmaker, 21)) == 1


async def test_start_again_in_spanish_is_welcome_back_in_spanish(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 22, locale="es", zone="Europe/Madrid")
    p = person(harness, watch, 22, "en")  # their app is in English, they chose Spanish
    reply = await p.send("/start")
    assert "¡Qué bien verte de nuevo!" in reply.text


# --- invites ---------------------------------------------------------------------------------


async def test_mentor_invite_makes_a_mentor(harness, watch, sessionmaker) -> None:
    code = await new_invite(sessionmaker, Role.MENTOR)
    p = person(harness, watch, 30, "en")
    await onboard_by_taps(p, f"/start {code}")
    assert "You joined as a mentor" in p.last_text()
    assert (await user_row(sessionmaker, 30)).role == "mentor"
    assert await uses_left(sessionmaker, code) == 0
    help_text = (await p.send("/help")).text
    assert "You are a mentor" in help_text


async def test_existing_mentee_with_a_mentor_invite_becomes_a_mentor(
    harness, watch, sessionmaker
) -> None:
    await make_person(sessionmaker, 31)
    code = await new_invite(sessionmaker, Role.MENTOR)
    p = person(harness, watch, 31, "en")
    reply = await p.send(f"/start {code}")
    assert "You are now a mentor" in reply.text
    assert (await user_row(sessionmaker, 31)).role == "mentor"


@pytest.mark.parametrize("problem", ["expired", "used up", "unknown"])
async def test_unusable_invite_gets_a_clear_message_and_stores_nothing(
    harness, watch, sessionmaker, problem: str
) -> None:
    if problem == "expired":
        code = await new_invite(sessionmaker, Role.MENTOR, expired=True)
    elif problem == "used up":
        code = await new_invite(sessionmaker, Role.MENTOR, uses=1)
        await onboard_by_taps(person(harness, watch, 32, "en"), f"/start {code}")
    else:
        code = "NoSuchCode123"
    users_before = await count(sessionmaker, User)
    p = person(harness, watch, 33, "en")
    reply = await p.send(f"/start {code}")
    assert "This invite link has expired or has already been used" in reply.text
    assert "send /start without a link" in reply.text
    assert await user_row(sessionmaker, 33) is None
    assert await count(sessionmaker, User) == users_before
    assert await conversation(sessionmaker, 33) == (None, {})


async def test_invite_only_without_invite_is_kind_and_stores_nothing(closed, sessionmaker) -> None:
    p = person(closed, Watch(closed), 34, "en")
    reply = await p.send("/start")
    assert "by invitation" in reply.text
    assert "I haven't stored anything about you" in reply.text
    await p.say("hello?")
    assert await count(sessionmaker, User) == 0
    assert await count(sessionmaker, FsmRecord) == 0


async def test_invite_only_with_a_bad_invite_does_not_suggest_joining_without_one(
    closed, sessionmaker
) -> None:
    code = await new_invite(sessionmaker, Role.MENTEE, expired=True)
    p = person(closed, Watch(closed), 35, "en")
    reply = await p.send(f"/start {code}")
    assert "has expired or has already been used" in reply.text
    assert "without a link" not in reply.text
    assert await count(sessionmaker, User) == 0


async def test_invite_only_with_an_invite_onboards(closed, sessionmaker) -> None:
    code = await new_invite(sessionmaker, Role.MENTEE, uses=5)
    p = person(closed, Watch(closed), 36, "en")
    await onboard_by_taps(p, f"/start {code}")
    assert (await user_row(sessionmaker, 36)).role == "mentee"
    assert await uses_left(sessionmaker, code) == 4


async def test_not_now_keeps_the_invite_for_when_they_change_their_mind(
    closed, sessionmaker
) -> None:
    # "Not now" stores nothing, and says "If you change your mind, send /start".
    code = await new_invite(sessionmaker, Role.MENTOR, uses=1)
    p = person(closed, Watch(closed), 37, "en")
    await p.send(f"/start {code}")
    await p.tap("English")
    await p.tap("Not now")
    assert await count(sessionmaker, User) == 0
    again = await p.send(f"/start {code}")
    assert "Hello, Sam!" in again.text, again.text


# --- leaving onboarding ------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["language", "consent", "timezone", "checkin_time"])
async def test_cancel_leaves_onboarding_at_any_step(harness, watch, sessionmaker, stage) -> None:
    p = person(harness, watch, 40, "en")
    await p.send("/start")
    if stage != "language":
        await p.tap("English")
    if stage in ("timezone", "checkin_time"):
        await p.tap("Yes, I agree")
    if stage == "checkin_time":
        await p.tap("London")
    assert (await conversation(sessionmaker, 40))[0] == f"Onboarding:{stage}"
    reply = await p.send("/cancel")
    assert "Stopped" in reply.text
    assert (await conversation(sessionmaker, 40))[0] is None
