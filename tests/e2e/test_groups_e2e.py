"""A mixed English/Spanish/German peer group, end to end: the real bot process against the
stand-in, with group chats, the bot's status in them, members joining, migration, pins and
deletions as Telegram does them.

* Setup in taps by a Spanish-speaking mentor (a mentee is refused, a stranger's tap on her
  buttons is refused in his own language); the result names who is not in the program yet.
* The weekly check-in: one post in three languages, each tap answered in the presser's
  language, the questions privately in each one's language, and the group sees only
  "3 of 4 checked in" with no name; someone outside the program taps into onboarding and
  the group, through a deep link carried through consent.
* Crisis words in the group: the supervisors are alerted, the person is answered privately,
  and the group sees nothing — unless the bot cannot write to them (blocked, or never
  started): then a gentle word to everyone with the 🆘 link, naming nobody.
* Bad input: the bot demoted (pin refused, facilitators told privately), the group migrated
  to a supergroup (nothing lost), a member who blocked the bot (facilitator told), the bot
  removed and added back, commands from people outside the program.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from flows.onboarding import CONSENT_VERSION
from storage import groups, schedules, users
from storage.migrate import upgrade_async
from storage.models import GroupKind, GroupMember, ProgramGroup, Role, Schedule, utcnow
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Call, Reply, TelegramStandIn, TgUser
from tests.e2e.test_alerts_e2e import (
    ALERT_ENV,
    LANGUAGES,
    SUPERVISOR_CHAT,
    TIMEOUT,
    answer_of,
    channel_alert,
    database_url,
    session_of,
    supervisors_on_call,
)
from tests.e2e.test_daily_log_e2e import reply_with_button

ENV = ALERT_ENV | {"SCHEDULER_TICK_SECONDS": 1, "ESCALATION_ACK_MINUTES": 10}
GROUP = -100777
ANA, BEN, CLARA, DANI, EVA, DIETER = 9101, 9102, 9103, 9104, 9105, 9106


async def program_member(
    data_dir: Path, telegram_id: int, locale: str, name: str, role: Role = Role.MENTEE
) -> None:
    await upgrade_async(database_url(data_dir))
    async with session_of(data_dir) as session:
        person = await users.create(
            session,
            telegram_id=telegram_id,
            locale=locale,
            pseudonym=f"Fox-{telegram_id}",
            role=role,
        )
        person.display_name = name
        users.record_consent(session, person, CONSENT_VERSION)
        users.finish_onboarding(person, "Europe/Madrid", dt.time(20))
        await session.commit()


async def the_people(data_dir: Path) -> None:
    await supervisors_on_call(data_dir)
    await program_member(data_dir, ANA, "es", "Ana", Role.MENTOR)
    await program_member(data_dir, BEN, "en", "Ben")
    await program_member(data_dir, CLARA, "de", "Clara")
    await program_member(data_dir, DANI, "es", "Dani")
    await program_member(data_dir, EVA, "de", "Eva")


async def registered_group(data_dir: Path, chat_id: int = GROUP) -> int:
    """A group set up earlier (es, en, de; Mondays 18:00 Madrid): Ana facilitates, Ben,
    Clara and Eva are members."""
    async with session_of(data_dir) as session:
        ana = await users.get_by_telegram_id(session, ANA)
        group = await groups.register(
            session,
            chat_id=chat_id,
            kind=GroupKind.PEER,
            title="Caminantes",
            languages=["es", "en", "de"],
            timezone="Europe/Madrid",
            is_forum=False,
            checkin_weekday=0,
            checkin_time=dt.time(18),
            registered_by=ana.id,
        )
        await groups.add_member(session, group.id, ana.id, groups.FACILITATOR)
        for telegram_id in (BEN, CLARA, EVA):
            person = await users.get_by_telegram_id(session, telegram_id)
            await groups.add_member(session, group.id, person.id)
        await schedules.set_due(
            session, schedules.GROUP_CHECKIN, group.id, None, {"phase": "invite"}
        )
        await session.execute(  # they joined three weeks ago
            update(GroupMember).values(joined_at=utcnow() - dt.timedelta(weeks=3))
        )
        await session.commit()
        return group.id


async def checkin_due_now(data_dir: Path) -> None:
    async with session_of(data_dir) as session:
        row = (
            await session.scalars(select(Schedule).where(Schedule.kind == "group_checkin"))
        ).one()
        row.due_at = utcnow()
        await session.commit()


async def the_group(data_dir: Path) -> ProgramGroup:
    async with session_of(data_dir) as session:
        return (await session.scalars(select(ProgramGroup))).one()


async def member_names(data_dir: Path) -> dict[str, str]:
    async with session_of(data_dir) as session:
        group = (await session.scalars(select(ProgramGroup))).one()
        people = await groups.members(session, group.id)
        return {p.display_name: await groups.role_in(session, group.id, p.id) for p in people}


async def members_become(data_dir: Path, expected: set[str]) -> None:
    for _ in range(75):
        if set(await member_names(data_dir)) == expected:
            return
        await asyncio.sleep(0.2)
    assert set(await member_names(data_dir)) == expected


async def group_post(standin: TelegramStandIn, *words: str) -> Reply:
    seen = []
    while True:
        reply = await standin.next_reply(GROUP, timeout=TIMEOUT)
        if all(w in reply.text for w in words):
            return reply
        seen.append(reply.text[:60])
        assert len(seen) < 8, f"no group post with {words}; saw {seen}"


async def private(standin: TelegramStandIn, who: TgUser, *words: str) -> Reply:
    seen = []
    while True:
        reply = await standin.next_reply(who.id, timeout=TIMEOUT)
        if all(w in reply.text for w in words):
            return reply
        seen.append(reply.text[:60])
        assert len(seen) < 8, f"no private message with {words} to {who.first_name}; saw {seen}"


async def press(standin: TelegramStandIn, who: TgUser, reply: Reply, label: str) -> Call:
    return await answer_of(standin, await standin.tap(who, reply, label))


def sends_to(standin: TelegramStandIn, chat_id: int, after: int = 0) -> list[Call]:
    return [
        c
        for c in standin.calls[after:]
        if c.method.lower() == "sendmessage" and str(c.params.get("chat_id")) == str(chat_id)
    ]


def people(standin: TelegramStandIn) -> dict[str, TgUser]:
    return {
        "ana": standin.user(ANA, "Ana", "es"),
        "ben": standin.user(BEN, "Ben", "en"),
        "clara": standin.user(CLARA, "Clara", "de"),
        "dani": standin.user(DANI, "Dani", "es"),
        "eva": standin.user(EVA, "Eva", "de"),
        "dieter": standin.user(DIETER, "Dieter", "de"),
    }


async def check_in(
    standin: TelegramStandIn, who: TgUser, invitation: Reply, words: tuple[str, str, str, str, str]
) -> None:
    """Tap the group's button; the toast, then two private questions, in their language."""
    toast, question, energy, pain, thanks = words
    answer = await answer_of(
        standin, await standin.press(who, invitation, invitation.buttons[0][0][1])
    )
    assert toast in answer.params.get("text", ""), answer.params
    asked = await private(standin, who, question)
    await standin.tap(who, asked, energy)
    asked = await standin.next_reply(who.id, timeout=TIMEOUT)
    await standin.tap(who, asked, pain)
    await private(standin, who, thanks)


async def test_a_mixed_group_is_set_up_checks_in_privately_and_sees_only_a_summary(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await the_people(tmp_path)
    chat = standin.group(GROUP, "Caminantes")
    who = people(standin)
    standin.admins[GROUP] = [who["ana"], who["ben"], who["dieter"]]
    standin.bot_status[GROUP] = "administrator"
    await bot_factory(**ENV)

    # A mentee may not register the group; a mentor may, in taps, in her own language.
    await standin.send_text(who["ben"], "/group setup", chat)
    assert "Only the program's mentors and admins" in (await group_post(standin)).text
    await standin.send_text(who["ana"], "/group setup", chat)
    await group_post(standin, "Configuración del grupo · 1/6")
    await standin.send_text(who["ana"], "/cancel", chat)  # a way out at any step
    await group_post(standin, "Configuración del grupo cancelada. No se ha cambiado nada.")
    await standin.send_text(who["ana"], "/group setup", chat)
    question = await group_post(standin, "Configuración del grupo · 1/6")
    forged = await answer_of(standin, await standin.tap(who["ben"], question, "Grupo de pares"))
    assert "This setup belongs to whoever started it" in forged.params["text"]
    await standin.tap(who["ana"], question, "Grupo de pares")
    question = await group_post(standin, "2/6")
    await standin.tap(who["ana"], question, "English")
    question = await group_post(standin, "2/6")
    assert question.button("English ✓") and question.button("Español ✓")
    await standin.tap(who["ana"], question, "Deutsch")
    question = await group_post(standin, "2/6")
    await standin.tap(who["ana"], question, "Listo")
    question = await group_post(standin, "3/6")
    await standin.tap(who["ana"], question, "Madrid")
    question = await group_post(standin, "4/6")
    await standin.tap(who["ana"], question, "Volver")  # a way back at any step
    question = await group_post(standin, "3/6")
    await standin.tap(who["ana"], question, "Madrid")
    question = await group_post(standin, "4/6")
    await standin.tap(who["ana"], question, "lunes")
    await group_post(standin, "5/6")
    await standin.send_text(who["ana"], "después de comer", chat)  # typed, not a time
    await group_post(standin, "Envía una hora del día como 18:30")
    await standin.send_text(who["ana"], "18:00", chat)
    question = await group_post(standin, "6/6")
    assert question.button("Ana ✓") and question.button("Ben")
    await standin.tap(who["ana"], question, "Listo")
    result = await group_post(standin, "Este chat es ahora un grupo de pares")
    paragraphs = result.text.split("\n\n")
    assert len(paragraphs) == 3, result.text  # es (her first), en, de: one post
    assert "This chat is now a peer group" in paragraphs[1]
    assert "Dieser Chat ist jetzt eine Peer-Gruppe" in paragraphs[2]
    assert "lunes a las 18:00" in paragraphs[0] and "Monday at 18:00" in paragraphs[1]
    assert "Not in the program yet: Dieter" in paragraphs[1]
    assert "Noch nicht im Programm: Dieter" in paragraphs[2]
    assert "?start=gj" in result.button("Unirme al programa")
    assert await member_names(tmp_path) == {"Ana": "facilitator", "Ben": "member"}

    # Someone new joins: welcomed by name, in the group's languages, with the way in.
    gus = standin.user(9108, "Gus", "en")
    await standin.member_joins(gus, chat)
    welcome = await group_post(standin, "Welcome, Gus!")
    assert "¡Bienvenida/o, Gus!" in welcome.text and "Willkommen, Gus!" in welcome.text
    assert "?start=gj" in welcome.buttons[0][0][1]

    # Program members who write in the group become its members, quietly.
    mark = standin.mark()
    await standin.send_text(who["clara"], "Hallo zusammen!", chat)
    await standin.send_text(who["dani"], "¡Hola a todos!", chat)
    await asyncio.sleep(2)
    assert sends_to(standin, GROUP, mark) == []
    # A greeting to the group is not a goodbye: nobody is alerted, nobody is answered.
    assert sends_to(standin, SUPERVISOR_CHAT, mark) == []
    assert sends_to(standin, DANI, mark) == [] and sends_to(standin, CLARA, mark) == []
    assert set(await member_names(tmp_path)) == {"Ana", "Ben", "Clara", "Dani"}
    await standin.member_joins(who["eva"], chat)  # a program member joining: quietly in
    await members_become(tmp_path, {"Ana", "Ben", "Clara", "Dani", "Eva"})
    await standin.member_leaves(who["eva"], chat)  # and out again
    await members_become(tmp_path, {"Ana", "Ben", "Clara", "Dani"})
    assert sends_to(standin, GROUP, mark) == []

    # The weekly invitation: one post, three languages, one button with three words.
    await checkin_due_now(tmp_path)
    invitation = await group_post(
        standin, "Check-in semanal", "Weekly check-in", "Wöchentlicher Check-in"
    )
    assert invitation.buttons[0][0][0] == "✅ Hacer check-in · ✅ Check in · ✅ Einchecken"

    await check_in(
        standin,
        who["ben"],
        invitation,
        (
            "I've sent you two quick questions",
            "How has your energy been this week?",
            "Low",
            "About the same",
            "Thank you, saved",
        ),
    )
    await check_in(
        standin,
        who["clara"],
        invitation,
        (
            "Ich habe dir zwei kurze Fragen",
            "Wie war deine Energie diese Woche?",
            "Niedrig",
            "Etwa gleich",
            "Danke, gespeichert",
        ),
    )
    await check_in(
        standin,
        who["dani"],
        invitation,
        (
            "Te he enviado dos preguntas",
            "¿Cómo ha estado tu energía esta semana?",
            "Buena",
            "Más o menos igual",
            "Gracias, guardado",
        ),
    )
    again = await press(standin, who["dani"], invitation, "Einchecken")
    assert "Ya hiciste el check-in esta semana" in again.params["text"]

    # Someone outside the program: the tap opens the bot with the group's join link...
    outside = await press(standin, who["dieter"], invitation, "Einchecken")
    link = outside.params["url"]
    assert link.startswith("https://t.me/peerbot_test_bot?start=gj")
    # ...which carries him through onboarding (in German) and into the group.
    await standin.send_text(who["dieter"], "/start " + link.partition("start=")[2])
    hello = await private(standin, who["dieter"], "Hallo, Dieter")
    await standin.tap(who["dieter"], hello, "Deutsch")
    consent = await reply_with_button(standin, DIETER, "Ja, einverstanden")
    await standin.tap(who["dieter"], consent, "Ja, einverstanden")
    zones = await private(standin, who["dieter"], "Zeitzone")
    await standin.tap(who["dieter"], zones, "Berlin")
    times = await reply_with_button(standin, DIETER, "20:00")
    await standin.tap(who["dieter"], times, "20:00")
    await private(standin, who["dieter"], "Alles bereit")
    await private(standin, who["dieter"], "Du bist jetzt Teil von „Caminantes“")
    assert "Dieter" in await member_names(tmp_path)

    # A day later: the anonymous summary, in each language; the invitation's button goes.
    mark = standin.mark()
    await checkin_due_now(tmp_path)
    summary = await group_post(standin, "📊")
    english = summary.text.split("\n\n")[1]
    assert "3 of 5 checked in" in english and "Energy mostly: low" in english
    assert "3 de 5" in summary.text and "3 von 5" in summary.text
    for name in ("Ben", "Clara", "Dani", "Dieter"):
        assert name not in summary.text
    await standin.wait_for(
        "editMessageReplyMarkup",
        lambda c: c.params.get("message_id") == invitation.message["message_id"],
        after=mark,
        timeout=TIMEOUT,
    )
    late = await press(standin, who["ben"], invitation, "Check in")
    assert "This check-in has closed" in late.params["text"]


async def test_setup_survives_a_deleted_question_and_a_long_flood_limit(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    """An admin tidying the chat deletes the setup's question: a typed answer still moves
    the setup on, and /cancel still says so, instead of silence. A flood limit longer than a
    reply waits for delays the setup's result post and a newcomer's welcome; it loses neither."""
    await the_people(tmp_path)
    chat = standin.group(GROUP, "Caminantes")
    who = people(standin)
    standin.bot_status[GROUP] = "administrator"
    await bot_factory(**ENV)
    gone = "Bad Request: message to edit not found"

    await standin.send_text(who["ana"], "/group setup", chat)
    question = await group_post(standin, "1/6")
    await standin.tap(who["ana"], question, "Grupo de pares")
    question = await group_post(standin, "2/6")
    await standin.tap(who["ana"], question, "Listo")
    await group_post(standin, "3/6")
    standin.fail("editMessageReplyMarkup", 400, description=gone, chat_id=GROUP)
    await standin.send_text(who["ana"], "Madrid", chat)  # typed under a deleted question
    await group_post(standin, "4/6")
    standin.fail("editMessageText", 400, description=gone, chat_id=GROUP)
    await standin.send_text(who["ana"], "/cancel", chat)
    await group_post(standin, "Configuración del grupo cancelada. No se ha cambiado nada.")
    async with session_of(tmp_path) as session:
        assert (await session.scalars(select(ProgramGroup))).all() == []

    # Set up after all, under a long flood limit: the post naming who is in comes late,
    # never not at all (the group is registered by then).
    await standin.send_text(who["ana"], "/group setup", chat)
    question = await group_post(standin, "1/6")
    await standin.tap(who["ana"], question, "Grupo de pares")
    question = await group_post(standin, "2/6")
    await standin.tap(who["ana"], question, "Listo")
    question = await group_post(standin, "3/6")
    await standin.tap(who["ana"], question, "Madrid")
    question = await group_post(standin, "4/6")
    await standin.tap(who["ana"], question, "Sin check-in semanal")
    question = await group_post(standin, "6/6")
    standin.fail_for("sendMessage", 429, 5, retry_after=31, chat_id=GROUP)
    await standin.tap(who["ana"], question, "Listo")
    await group_post(standin, "Grupo configurado")
    await standin.member_joins(standin.user(9108, "Gus", "en"), chat)  # and his welcome
    result = await standin.next_reply(GROUP, timeout=TIMEOUT + 45)
    assert "Este chat es ahora un grupo de pares" in result.text
    assert "Facilitadores: Ana." in result.text
    welcome = await standin.next_reply(GROUP, timeout=TIMEOUT + 45)
    assert "¡Bienvenida/o, Gus!" in welcome.text
    assert await member_names(tmp_path) == {"Ana": "facilitator"}


async def test_crisis_words_in_the_group_never_expose_the_person(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await the_people(tmp_path)
    await registered_group(tmp_path)
    chat = standin.group(GROUP, "Caminantes")
    strangers = standin.group(-100888, "Another group")
    standin.group(SUPERVISOR_CHAT, "Supervisors")
    who = people(standin)
    await bot_factory(**ENV)
    _zone, words, _sentence, _line = LANGUAGES["en"]

    # Added to a group that is not the program's: a hello in the language of who added it.
    fritz = standin.user(9107, "Fritz", "es")
    standin.bot_status[strangers.id] = "left"
    await standin.set_bot_status(strangers, "member", by=fritz)
    hello = Reply(
        await standin.wait_for(
            "sendMessage", lambda c: str(c.params.get("chat_id")) == "-100888", timeout=TIMEOUT
        )
    )
    assert "/group setup" in hello.text and "Un mentor o admin" in hello.text

    # Ben can be written to: the supervisors are alerted, he is answered privately, and
    # the group sees nothing at all.
    mark = standin.mark()
    await standin.send_text(who["ben"], words, chat)
    await standin.wait_for("sendMessage", channel_alert, after=mark, timeout=TIMEOUT)
    answer = await standin.next_reply(BEN, timeout=TIMEOUT)
    assert answer.text
    await asyncio.sleep(2)
    assert sends_to(standin, GROUP, mark) == []

    # Eva blocked the bot: the alert still goes; the group gets a gentle word for everyone,
    # not a reply to her, without her name or her words, with the 🆘 link.
    standin.blocked_chats.add(EVA)
    mark = standin.mark()
    _zone, german, sentence, _line = LANGUAGES["de"]
    await standin.send_text(who["eva"], german, chat)
    await standin.wait_for("sendMessage", channel_alert, after=mark, timeout=TIMEOUT)
    gentle = await group_post(standin, "💛")
    assert "Ein Wort an alle hier" in gentle.text and "Unas palabras para todos" in gentle.text
    assert "Eva" not in gentle.text and sentence not in gentle.text
    assert (
        "reply_to_message_id" not in gentle.call.params
        and "reply_parameters" not in gentle.call.params
    )
    assert gentle.buttons[0][0][1] == "https://t.me/peerbot_test_bot?start=sos"

    # Someone who never started the bot, in a group that is not the program's: the same
    # gentle word, in their language; the 🆘 link gives them the crisis lines at once.
    mark = standin.mark()
    _zone, spanish, sentence, line = LANGUAGES["es"]
    await standin.send_text(fritz, spanish, strangers)
    alert = Reply(await standin.wait_for("sendMessage", channel_alert, after=mark, timeout=TIMEOUT))
    assert "Said: in a group chat" in alert.text  # not "before finishing onboarding"
    gentle = Reply(
        await standin.wait_for(
            "sendMessage",
            lambda c: str(c.params.get("chat_id")) == "-100888",
            after=mark,
            timeout=TIMEOUT,
        )
    )
    assert "Unas palabras para todos" in gentle.text and sentence not in gentle.text
    await standin.send_text(fritz, "/start sos")
    help_now = await private(standin, fritz, "🆘")
    assert line in help_now.text


async def test_demoted_migrated_blocked_removed_nothing_is_lost(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await the_people(tmp_path)
    await registered_group(tmp_path, chat_id=-777)
    old_chat = standin.group(-777, "Caminantes", kind="group")
    who = people(standin)
    standin.bot_status[-777] = "administrator"
    await bot_factory(**ENV)

    # Telegram migrates the group to a supergroup: the group follows, with its people.
    chat = await standin.migrate(old_chat, GROUP, by=who["ana"])
    for _ in range(50):
        if (await the_group(tmp_path)).chat_id == GROUP:
            break
        await asyncio.sleep(0.2)
    assert (await the_group(tmp_path)).chat_id == GROUP
    assert set(await member_names(tmp_path)) == {"Ana", "Ben", "Clara", "Eva"}

    # Commands from outside the program get one clear line; a member is not a facilitator.
    await standin.send_text(who["dieter"], "/group", chat)
    assert (
        "Das ist für Mitglieder des Programms" in (await group_post(standin)).text
    )  # his language
    await standin.send_text(who["ben"], "/group", chat)
    assert "The group's tools are for its facilitators" in (await group_post(standin)).text

    # The rules in the group's languages; the facilitator's tools; a stranger's press.
    await standin.send_text(who["ana"], "/rules", chat)
    rules = await group_post(
        standin, "Las normas de nuestro grupo", "Our group's rules", "Die Regeln"
    )
    assert rules.button("Ayuda ahora").endswith("?start=sos")
    await standin.send_text(who["ana"], "/group", chat)
    tools = await group_post(standin, "Herramientas")
    refused = await press(standin, who["ben"], tools, "📌")
    assert "Only this group's facilitators" in refused.params["text"]

    # Who has gone quiet: privately, to the facilitator, in her language.
    quiet = await press(standin, who["ana"], tools, "👀")
    assert "Te lo he enviado en privado" in quiet.params["text"]
    names = await private(standin, who["ana"], "Sin check-in desde hace dos semanas")
    assert [line for line in names.text.splitlines() if line.startswith("•")] == [
        "• Ben",
        "• Clara",
        "• Eva",
    ]
    assert "Ben" not in "".join(c.params.get("text", "") for c in sends_to(standin, GROUP))

    # Pinned as an admin; then demoted: the facilitator hears privately, pinning says why.
    pinned = await press(standin, who["ana"], tools, "📌")
    assert "Normas publicadas y fijadas" in pinned.params["text"]
    assert GROUP in standin.pinned
    await standin.set_bot_status(chat, "member", by=who["ana"])
    await private(standin, who["ana"], "Ya no soy admin en «Caminantes»")
    refused = await press(standin, who["ana"], tools, "📌")
    assert "No puedo fijar mensajes aquí" in refused.params["text"]
    await private(standin, who["ana"], "no puedo fijar ni borrar mensajes")

    # Admin again: "remove my old posts" deletes the bot's posts but the pinned rules.
    standin.bot_status[GROUP] = "administrator"
    before = set(standin.messages_in(GROUP))
    tidied = await press(standin, who["ana"], tools, "🧹")
    assert "He borrado" in tidied.params["text"]
    left = set(standin.messages_in(GROUP))
    assert standin.pinned[GROUP] in left and tools.message["message_id"] in left
    assert rules.message["message_id"] not in left and left < before

    # Eva blocked the bot: her tap opens the bot by link, and Ana is told, in Spanish.
    standin.blocked_chats.add(EVA)
    await checkin_due_now(tmp_path)
    invitation = await group_post(standin, "Weekly check-in")
    opened = await press(standin, who["eva"], invitation, "Einchecken")
    assert "?start=gc" in opened.params["url"]
    await private(standin, who["ana"], "Eva tocó el check-in", "puede que me haya bloqueado")

    # Unblocked, her link from the tap opens this week's check-in, in German.
    standin.blocked_chats.discard(EVA)
    await standin.send_text(who["eva"], "/start " + opened.params["url"].partition("start=")[2])
    question = await private(standin, who["eva"], "Wie war deine Energie diese Woche?")
    await standin.tap(who["eva"], question, "Gut")
    question = await standin.next_reply(EVA, timeout=TIMEOUT)
    await standin.tap(who["eva"], question, "Besser")
    await private(standin, who["eva"], "Danke, gespeichert")

    # Removed while the bot was not looking: the summary is refused, the group pauses and
    # Ana hears of it; the bot's return makes it active again.
    standin.bot_status[GROUP] = "kicked"
    await checkin_due_now(tmp_path)
    await private(standin, who["ana"], "No pude publicar en el grupo «Caminantes»")
    assert not (await the_group(tmp_path)).active
    standin.bot_status[GROUP] = "administrator"
    async with session_of(tmp_path) as session:
        await groups.set_active(session, GROUP, True)
        await session.commit()

    # Removed from the group: kept, paused, the facilitator told; added back: carries on.
    await standin.set_bot_status(chat, "kicked", by=who["ben"])
    await private(standin, who["ana"], "Me han quitado del grupo «Caminantes»", "No se pierde nada")
    group = await the_group(tmp_path)
    assert not group.active and set(await member_names(tmp_path)) == {"Ana", "Ben", "Clara", "Eva"}
    await standin.set_bot_status(chat, "administrator", by=who["ana"])
    await private(standin, who["ana"], "He vuelto a «Caminantes»")
    assert (await the_group(tmp_path)).active

    # Her facilitator role taken away: the same button is refused on the next press.
    async with session_of(tmp_path) as session:
        await session.execute(update(GroupMember).values(role="member"))
        await session.commit()
    refused = await press(standin, who["ana"], tools, "👀")
    assert "Solo los facilitadores de este grupo" in refused.params["text"]
