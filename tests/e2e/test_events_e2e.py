"""Group events end to end: the real bot process against the stand-in, with a mixed
English/Spanish/German program group (seeded in the bot's database, as ``/group setup``
would leave it) whose time zone is Madrid's.

* A facilitator's /event in the group opens the planning privately; a time already passed
  and a capacity of 0 or words are refused clearly; the post is one message in the three
  languages with the group's time zone.
* Members answer with a tap: each toast is in the presser's language with the time in
  their own zone; the fourth of three places goes to the waiting list; forged data, a
  stranger and someone who never started the bot each get a clear answer.
* Reminders a day and an hour before reach each person privately in their language and
  zone; a member who blocked the bot is reported to the creator and keeps their place.
* Cancelling tells everyone privately, marks the post, and a late tap is told.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from sqlalchemy import select, update

from flows.onboarding import CONSENT_VERSION
from storage import users
from storage.migrate import upgrade_async
from storage.models import GroupEvent, GroupMember, ProgramGroup, Role, Schedule, utcnow
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn, TgUser
from tests.e2e.test_daily_log_e2e import reply_containing, reply_with_button
from tests.e2e.test_reminders_e2e import session_of

TIMEOUT = 20
TICK = {"SCHEDULER_TICK_SECONDS": 1}
GROUP_CHAT = -100777
OTHER_CHAT = -100778  # Fran facilitates a second group
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
# telegram id: (name, language, zone, role in the program, role in the group)
PEOPLE = {
    801: ("Fran", "en", "Europe/London", Role.MENTOR, "facilitator"),
    802: ("Ana", "es", "America/Mexico_City", Role.MENTEE, "member"),
    803: ("Dieter", "de", "Europe/Berlin", Role.MENTEE, "member"),
    804: ("Bo", "en", "America/New_York", Role.MENTEE, "member"),
    805: ("Eva", "de", "Europe/Vienna", Role.MENTEE, "member"),
    806: ("Olga", "en", "Europe/London", Role.MENTEE, None),  # in the program, not the group
    807: ("Lou", "es", None, Role.MENTEE, "member"),  # added, but never started a chat
}
FRAN, ANA, DIETER, BO, EVA, OLGA, LOU = PEOPLE
STRANGER = 899  # never started the bot


async def seed(url: str) -> None:
    await upgrade_async(url)
    async with session_of(url) as session:
        group = ProgramGroup(
            chat_id=GROUP_CHAT, title="Walkers", languages="en,es,de", timezone="Europe/Madrid"
        )
        other = ProgramGroup(
            chat_id=OTHER_CHAT, title="Knitters", languages="en", timezone="Europe/London"
        )
        session.add_all([group, other])
        await session.flush()
        for telegram_id, (name, locale, zone, role, place) in PEOPLE.items():
            person = await users.create(
                session, telegram_id=telegram_id, locale=locale, pseudonym=f"Oak-{telegram_id}"
            )
            person.role, person.display_name = role, name
            if zone is not None:
                users.record_consent(session, person, CONSENT_VERSION)
                users.finish_onboarding(person, zone, dt.time(20))
            await session.flush()
            if place is not None:
                session.add(GroupMember(group_id=group.id, user_id=person.id, role=place))
            if telegram_id == FRAN:
                session.add(GroupMember(group_id=other.id, user_id=person.id, role=place))
        await session.commit()


async def add_past_event(url: str, hours_from_now: int = -1) -> int:
    """Fran's walk of an hour ago (or at another time)."""
    async with session_of(url) as session:
        group = await session.scalar(select(ProgramGroup).where(ProgramGroup.chat_id == GROUP_CHAT))
        fran = await users.get_by_telegram_id(session, FRAN)
        event = GroupEvent(
            group_id=group.id,
            created_by=fran.id,
            kind="walk",
            title="Last week's walk",
            starts_at=utcnow() + dt.timedelta(hours=hours_from_now),
            place="Park",
        )
        session.add(event)
        await session.commit()
        return event.id


async def make_reminder_due(url: str) -> None:
    """The next reminder's time has come (a day and an hour are too long to wait for)."""
    async with session_of(url) as session:
        await session.execute(
            update(Schedule)
            .where(Schedule.kind == "event_reminder", Schedule.due_at.is_not(None))
            .values(due_at=utcnow() - dt.timedelta(seconds=1))
        )
        await session.commit()


async def toast(standin: TelegramStandIn, query_id: str) -> Call:
    return await standin.wait_for(
        "answerCallbackQuery",
        lambda c: c.params.get("callback_query_id") == query_id,
        timeout=TIMEOUT,
    )


def sent_to(standin: TelegramStandIn, chat_id: int, words: str) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in standin.calls
        if c.ok
        and c.method.lower() == "sendmessage"
        and str(c.params.get("chat_id")) == str(chat_id)
        and words in str(c.params.get("text", ""))
    ]


async def private_message(
    standin: TelegramStandIn, chat_id: int, words: str, after: int = 0
) -> str:
    call = await standin.wait_for(
        "sendMessage",
        lambda c: (
            c.ok
            and str(c.params.get("chat_id")) == str(chat_id)
            and words in str(c.params.get("text", ""))
        ),
        timeout=TIMEOUT,
        after=after,
    )
    return str(call.params["text"])


async def plan_walk(standin: TelegramStandIn, fran: TgUser, group) -> Reply:
    """Fran plans the walk: /event in the group, then privately, step by step."""
    await standin.send_text(fran, "/event", group)
    pointer = await reply_with_button(standin, GROUP_CHAT, "Plan it privately")
    link = pointer.button("Plan it privately")
    payload = link.partition("?start=")[2]
    assert payload.startswith("evnew")
    await standin.send_text(fran, f"/start {payload}")
    kinds = await reply_containing(standin, fran.id, "What are you planning?")
    assert "New event · 1/" in kinds.text  # the group is chosen already: no group question
    await standin.tap(fran, kinds, "Walk")
    await reply_containing(standin, fran.id, "What shall we call it?")
    await standin.send_text(fran, "Gentle walk in the Retiro")
    await reply_containing(standin, fran.id, "Which day?")
    today_there = utcnow().astimezone(MADRID).date()
    await standin.send_text(fran, today_there.strftime("%d.%m.%Y"))
    await reply_containing(standin, fran.id, "At what time")
    await standin.send_text(fran, "00:00")  # today at midnight: already gone
    await reply_containing(standin, fran.id, "Where?")
    await standin.send_text(fran, "Retiro park, Puerta de Alcalá gate")
    access = await reply_containing(standin, fran.id, "Accessibility")
    await standin.tap(fran, access, "step-free")
    access = await reply_containing(standin, fran.id, "Accessibility")
    await standin.tap(fran, access, "seating")
    access = await reply_containing(standin, fran.id, "Accessibility")
    await standin.tap(fran, access, "Done")
    note = await reply_containing(standin, fran.id, "come comfortably")
    await standin.tap(fran, note, "Skip")
    await reply_containing(standin, fran.id, "How many people")
    await standin.send_text(fran, "0")
    await reply_containing(standin, fran.id, "from 1 to 500")
    await standin.send_text(fran, "lots")
    await reply_containing(standin, fran.id, "from 1 to 500")
    await standin.send_text(fran, "3")
    await reply_containing(standin, fran.id, "already passed in the group's time zone")
    await reply_containing(standin, fran.id, "Which day?")
    in_two_days = today_there + dt.timedelta(days=2)
    await standin.send_text(fran, in_two_days.strftime("%d.%m.%Y"))
    await reply_containing(standin, fran.id, "At what time")
    await standin.send_text(fran, "10:00")
    # Nothing after the time is asked again: the event is saved and posted.
    return await reply_containing(standin, fran.id, "Posted in the group")


async def test_a_mixed_group_plans_answers_is_reminded_and_told_of_a_cancellation(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/peerbot.sqlite3"
    await seed(url)
    await bot_factory(**TICK)
    group = standin.group(GROUP_CHAT, "Walkers")
    people = {
        telegram_id: standin.user(telegram_id, name, language_code=locale)
        for telegram_id, (name, locale, *_rest) in PEOPLE.items()
    }
    fran, ana, dieter, bo, eva, olga, lou = (people[i] for i in PEOPLE)

    confirmation = await plan_walk(standin, fran, group)
    assert "09:00 (your time)" in confirmation.text  # London, an hour behind Madrid
    assert "10:00 in the group's time zone (Europe/Madrid)" in confirmation.text

    post = await reply_with_button(standin, GROUP_CHAT, "I'm coming")
    assert "Gentle walk in the Retiro" in post.text
    assert "EN: Walk" in post.text and "ES: Paseo" in post.text and "DE: Spaziergang" in post.text
    assert post.text.count("10:00 (Europe/Madrid)") == 3
    assert "step-free, seating" in post.text and "sin escalones" in post.text
    assert "👥 0/3" in post.text
    assert post.button("I'm coming") == post.button("Voy")  # one button, three languages
    go, no = post.button("I'm coming"), post.button("Can't come")
    event_id = int(go.split(":")[1])

    # Each answer in the presser's language, with the time in their own zone.
    said = (await toast(standin, await standin.press(ana, post, go))).params["text"]
    assert said.startswith("✓ Vas a venir") and "03:00" in said, said  # Mexico City
    said = (await toast(standin, await standin.press(dieter, post, go))).params["text"]
    assert said.startswith("✓ Du kommst") and "10:00" in said, said  # Berlin
    said = (await toast(standin, await standin.press(bo, post, go))).params["text"]
    assert said.startswith("✓ You're coming") and "04:00" in said, said  # New York
    full = await toast(standin, await standin.press(eva, post, go))
    assert "Warteliste" in full.params["text"] and full.params.get("show_alert") is True
    again = await toast(standin, await standin.press(ana, post, go))
    assert "Ya estás en la lista" in again.params["text"]
    counted = await reply_containing(standin, GROUP_CHAT, "⏳ 1")
    assert "👥 3/3" in counted.text

    # Bad taps: forged data, a stranger, someone in the program but not in the group.
    forged = await toast(standin, await standin.press(ana, post, "ev:99999:go"))
    assert "ya no existe" in forged.params["text"]
    odd = await toast(standin, await standin.press(ana, post, f"ev:{event_id}:maybe"))
    assert "ya no existe" in odd.params["text"]
    huge = await toast(standin, await standin.press(ana, post, "ev:99999999999999999999:go"))
    assert "ya no existe" in huge.params["text"]
    stranger = standin.user(STRANGER, "Zed", language_code="en")
    unknown = await toast(standin, await standin.press(stranger, post, go))
    assert "start a chat with me first" in unknown.params["text"]
    assert unknown.params["url"].endswith(f"?start=ev{event_id}")
    outsider = await toast(standin, await standin.press(olga, post, go))
    assert "for the group's members" in outsider.params["text"]
    # A member who never started a chat keeps a place (waiting, here), and the toast opens
    # the chat with the bot, where a plain start begins.
    unstarted = await toast(standin, await standin.press(lou, post, go))
    assert "abre un chat conmigo" in unstarted.params["text"]
    assert unstarted.params["url"].endswith(f"?start=ev{event_id}")
    await standin.send_text(lou, f"/start ev{event_id}")
    await reply_with_button(standin, LOU, "Español")

    # The day before: each one coming, privately, in their language and zone. Bo has
    # blocked the bot: Fran hears of it, and Bo keeps the place.
    standin.blocked_chats.add(BO)
    await make_reminder_due(url)
    ana_day = await private_message(standin, ANA, "Mañana")
    assert "Gentle walk in the Retiro" in ana_day and "03:00 (tu hora)" in ana_day
    dieter_day = await private_message(standin, DIETER, "Morgen")
    assert "10:00 (deine Zeit)" in dieter_day
    missed = await private_message(standin, FRAN, "couldn't get my reminder")
    assert "Bo" in missed and "place is kept" in missed
    assert sent_to(standin, EVA, "Morgen") == []  # waiting, not coming

    # Dieter cannot come after all: Eva moves up from the waiting list, and is told.
    left = await toast(standin, await standin.press(dieter, post, no))
    assert "nicht mehr auf der Liste" in left.params["text"]
    promoted = await private_message(standin, EVA, "frei geworden")
    assert "10:00" in promoted  # Vienna

    # An hour before.
    await make_reminder_due(url)
    ana_hour = await private_message(standin, ANA, "En una hora")
    assert "03:00" in ana_hour
    eva_hour = await private_message(standin, EVA, "In einer Stunde")
    assert "10:00" in eva_hour
    assert sent_to(standin, DIETER, "In einer Stunde") == []
    assert len(sent_to(standin, FRAN, "couldn't get my reminder")) == 1  # once per person

    # Fran cancels: everyone who answered is told privately; a late tap is told too.
    standin.blocked_chats.discard(BO)
    await standin.send_text(fran, "/events")
    card = await reply_with_button(standin, FRAN, "Cancel the event")
    await standin.tap(fran, card, "Cancel the event")
    sure = await reply_with_button(standin, FRAN, "Yes, cancel it")
    await toast(standin, await standin.tap(fran, card, "Cancel the event"))  # a double tap
    await standin.tap(fran, sure, "No, keep it")
    card = await reply_with_button(standin, FRAN, "Cancel the event")
    await toast(standin, await standin.tap(fran, sure, "No, keep it"))  # a double tap
    await standin.tap(fran, card, "Cancel the event")
    sure = await reply_with_button(standin, FRAN, "Yes, cancel it")
    mark = standin.mark()
    await standin.tap(fran, sure, "Yes, cancel it")
    await reply_containing(standin, FRAN, "Cancelled. I'm telling 4 people")
    assert "cancelada" in await private_message(standin, ANA, "Gentle walk", mark)
    assert "abgesagt" in await private_message(standin, EVA, "Gentle walk", mark)
    assert "cancelled" in await private_message(standin, BO, "Gentle walk", mark)
    assert "cancelada" in await private_message(standin, LOU, "Gentle walk", mark)
    marked = await reply_containing(standin, GROUP_CHAT, "❌")
    assert marked.buttons == []
    late = await toast(standin, await standin.press(ana, post, go))
    assert "cancelado" in late.params["text"]

    # Privately, someone with two groups chooses one; a forged group is refused.
    await standin.send_text(fran, "/event")
    which = await reply_containing(standin, FRAN, "Which group is it for?")
    assert {"Walkers", "Knitters"} <= {text for row in which.buttons for text, _ in row}
    refused = await toast(standin, await standin.press(fran, which, "evq:group:99999"))
    assert "can't plan events for that group" in refused.params["text"]
    await standin.tap(fran, which, "Knitters")
    await reply_containing(standin, FRAN, "What are you planning?")
    await standin.send_text(fran, "/cancel")
    await reply_containing(standin, FRAN, "Stopped")
    assert sent_to(standin, FRAN, "went wrong") == []  # the double taps above

    # An event within the hour: no reminder is promised, neither to Fran nor to those coming.
    soon = utcnow().astimezone(zoneinfo.ZoneInfo("Europe/London")) + dt.timedelta(minutes=30)
    await standin.send_text(fran, "/event")
    which = await reply_containing(standin, FRAN, "Which group is it for?")
    await standin.tap(fran, which, "Knitters")
    kinds = await reply_containing(standin, FRAN, "What are you planning?")
    await standin.tap(fran, kinds, "Get-together")
    await reply_containing(standin, FRAN, "What shall we call it?")
    await standin.send_text(fran, "Tea and yarn")
    await reply_containing(standin, FRAN, "Which day?")
    await standin.send_text(fran, soon.strftime("%d.%m.%Y"))
    await reply_containing(standin, FRAN, "At what time")
    await standin.send_text(fran, soon.strftime("%H:%M"))
    await reply_containing(standin, FRAN, "Where?")
    await standin.send_text(fran, "The library café")
    access = await reply_containing(standin, FRAN, "Accessibility")
    await standin.tap(fran, access, "Skip")
    note = await reply_containing(standin, FRAN, "come comfortably")
    await standin.tap(fran, note, "Skip")
    places = await reply_containing(standin, FRAN, "How many people")
    await standin.tap(fran, places, "No limit")
    posted = await reply_containing(standin, FRAN, "Posted in the group")
    assert "within the hour, so there is no reminder" in posted.text, posted.text
    knit = await reply_with_button(standin, OTHER_CHAT, "I'm coming")
    said = (await toast(standin, await standin.tap(fran, knit, "I'm coming"))).params["text"]
    assert said.startswith("✓ You're coming") and "remind" not in said, said


async def test_cancelling_an_event_nobody_signed_up_for_says_there_is_no_one_to_tell(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/peerbot.sqlite3"
    await seed(url)
    await add_past_event(url, hours_from_now=48)
    await bot_factory()
    standin.group(GROUP_CHAT, "Walkers")
    fran = standin.user(FRAN, "Fran", language_code="en")

    await standin.send_text(fran, "/events")
    card = await reply_with_button(standin, FRAN, "Cancel the event")
    await standin.tap(fran, card, "Cancel the event")
    sure = await reply_with_button(standin, FRAN, "Yes, cancel it")
    await standin.tap(fran, sure, "Yes, cancel it")
    await reply_containing(standin, FRAN, "Nobody had signed up, so there is no one to tell.")
    assert sent_to(standin, FRAN, "telling 0") == []
    assert sent_to(standin, FRAN, "went wrong") == []


async def test_resources_in_each_language_and_in_the_group(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/peerbot.sqlite3"
    await seed(url)
    past = await add_past_event(url)
    await bot_factory()
    group = standin.group(GROUP_CHAT, "Walkers")
    fran = standin.user(FRAN, "Fran", language_code="en")
    ana = standin.user(ANA, "Ana", language_code="es")
    dieter = standin.user(DIETER, "Dieter", language_code="de")

    # English: a topic, then a country tapped.
    await standin.send_text(fran, "/resources")
    topics = await reply_with_button(standin, FRAN, "ME/CFS")
    await standin.tap(fran, topics, "ME/CFS")
    places = await reply_with_button(standin, FRAN, "United Kingdom")
    await toast(standin, await standin.tap(fran, topics, "ME/CFS"))  # a double tap
    await standin.tap(fran, places, "United Kingdom")
    found = await reply_containing(standin, FRAN, "ME Association")
    assert "https://meassociation.org.uk" in found.text and "Fibromyalgia Action" not in found.text
    # A double tap (a shaky hand) on the place leaves the list as it is: nothing "went wrong".
    await toast(standin, await standin.tap(fran, places, "United Kingdom"))
    # The "Cancel the event" buttons under the card of an event that has taken place: nobody
    # is told of a cancellation after the fact.
    mark = standin.mark()
    for action in ("cancel", "cancel_yes"):
        late = await toast(standin, await standin.press(fran, found, f"eva:{past}:{action}"))
        assert "already taken place" in late.params["text"]
    asked = [c for c in standin.calls[mark:] if "Cancel" in str(c.params.get("text", ""))]
    assert asked == [], asked
    assert sent_to(standin, FRAN, "went wrong") == []
    for forged in ("ev99999", "ev99999999999999999999"):
        await standin.send_text(fran, f"/start {forged}")
        await reply_containing(standin, FRAN, "I can't find that event")
    # Planning an event, Fran taps the buttons of that old list: the planning goes on.
    await standin.send_text(fran, "/event")
    which = await reply_containing(standin, FRAN, "Which group is it for?")
    await standin.tap(fran, found, "Another topic")
    topics = await reply_with_button(standin, FRAN, "ME/CFS")
    await standin.tap(fran, topics, "ME/CFS")
    places = await reply_containing(standin, FRAN, "Tap your country.")  # no town typed now
    await standin.tap(fran, places, "United Kingdom")
    await reply_containing(standin, FRAN, "ME Association")
    await standin.tap(fran, which, "Knitters")
    await reply_containing(standin, FRAN, "What are you planning?")

    # Spanish: a region typed, one the file lists.
    await standin.send_text(ana, "/resources")
    topics = await reply_with_button(standin, ANA, "Fibromialgia")
    await standin.tap(ana, topics, "Fibromialgia")
    await reply_containing(standin, ANA, "escribe tu ciudad")
    await standin.send_text(ana, "castilla la mancha")
    found = await reply_containing(standin, ANA, "FFCLM")
    assert found.text.index("FFCLM") < found.text.index("Liga Reumatológica")  # local first
    # An old event's button (a card kept in the chat) is told it has taken place.
    gone = await toast(standin, await standin.press(ana, found, f"ev:{past}:go"))
    assert "ya se ha celebrado" in gone.params["text"]

    # German: a town the file does not list finds its country; a made-up one is told.
    await standin.send_text(dieter, "/resources")
    topics = await reply_with_button(standin, DIETER, "Reizdarm")
    await standin.tap(dieter, topics, "Reizdarm")
    await reply_containing(standin, DIETER, "Wo?")
    await standin.send_text(dieter, "Atlantisstadt")
    await reply_containing(standin, DIETER, "noch nichts")
    await standin.send_text(dieter, "München")
    found = await reply_containing(standin, DIETER, "Reizdarmselbsthilfe")
    assert "Deutschland" in found.text

    # In the group: one post in the group's languages, and a button to the private chat.
    await standin.send_text(dieter, "/resources", group)
    pointer = await reply_with_button(standin, GROUP_CHAT, "/resources")
    assert "EN:" in pointer.text and "ES:" in pointer.text and "DE:" in pointer.text
    assert pointer.button("/resources").endswith("?start=resources")
    await standin.send_text(dieter, "/start resources")
    await reply_with_button(standin, DIETER, "Reizdarm")
