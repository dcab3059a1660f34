"""Graduation end to end, in English, Spanish and German: the real bot process, its
scheduler tick (every second here) and outbox delivery, against the Bot API stand-in.

* Ana (en) asks to graduate, her mentor Mo confirms; she records a milestone and gets her
  journey summary (what changed in her logs), a personal alumni invite link, and offers to
  train as a mentor. A mentor of another pair forging Mo's confirmation is refused first.
* Pablo (es) proposes it for Lucía, who says "not yet" (Pablo is told), then agrees; her
  logs got harder and the summary says so gently, in Spanish; the bot may not make invite
  links in the alumni group, so she is told a facilitator will share it, and the admin is
  asked to.
* The admin graduates Jonas (de) alone; both he and his mentor Greta are told in German.
* The boosters: each is scheduled at the graduate's check-in time one month on; made due,
  Ana's and Lucía's arrive, Jonas has blocked the bot (the admin hears, his next booster
  stays planned). Ana's "I'd like a refresher" matches her with Mo again, no intake asked;
  Lucía's, with Pablo no longer a mentor, asks the admins and puts her back in the queue.
* Ana keeps /crisis and /privacy: her export holds her graduation and milestone. Once she
  is made a mentor, her graduate's buttons are refused.
* Jonas asks again after his refresher, but Greta has blocked the bot: he is told.

The people, their matches and five weeks of logs are written into the database first, as
onboarding and matching leave them (those have their own end-to-end tests).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from flows import graduation as flow
from flows import reminders
from flows.onboarding import CONSENT_VERSION
from storage import daily_logs, users
from storage.migrate import upgrade_async
from storage.models import GroupKind, Match, ProgramGroup, Role, utcnow
from tests.e2e.conftest import StartBot
from tests.e2e.standin import Reply, TelegramStandIn, TgUser
from tests.e2e.test_daily_log_e2e import TIMEOUT, reply_containing
from tests.e2e.test_privacy_e2e import export_my_data
from tests.e2e.test_reminders_e2e import session_of
from tests.unit.chat_helpers import SAMPLE_ANSWERS

TICK = {"SCHEDULER_TICK_SECONDS": 1}
ADMIN = 9901
ALUMNI_CHAT = -100_555_000
# telegram ids, name, language, zone — mentee then mentor
PAIRS = {
    "en": ((5101, "Ana", "Europe/London"), (6101, "Mo")),
    "es": ((5102, "Lucía", "Europe/Madrid"), (6102, "Pablo")),
    "de": ((5103, "Jonas", "Europe/Berlin"), (6103, "Greta")),
}
CHECKIN = dt.time(20, 0)


def database(data_dir: Path) -> Path:
    return data_dir / "peerbot.sqlite3"


async def prepare(data_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{database(data_dir)}"
    await upgrade_async(url)
    joined = utcnow() - dt.timedelta(days=60)
    async with session_of(url) as session:
        admin = await users.create(
            session, telegram_id=ADMIN, locale="en", pseudonym="Admin-1", role=Role.ADMIN
        )
        users.record_consent(session, admin, CONSENT_VERSION)
        users.finish_onboarding(admin, "Europe/London", CHECKIN)
        for language, ((mentee_tg, name, zone), (mentor_tg, mentor_name)) in PAIRS.items():
            ids = []
            for tg, who, role in (
                (mentee_tg, name, Role.MENTEE),
                (mentor_tg, mentor_name, Role.MENTOR),
            ):
                person = await users.create(
                    session, telegram_id=tg, locale=language, pseudonym=f"Fern-{tg}", role=role
                )
                person.display_name = who
                users.record_consent(session, person, CONSENT_VERSION)
                users.finish_onboarding(person, zone, CHECKIN)
                person.onboarded_at = joined
                await session.flush()
                ids.append(person.id)
            session.add(Match(mentee_id=ids[0], mentor_id=ids[1], started_at=joined))
            await _logs(session, ids[0], language)
        session.add(
            ProgramGroup(
                chat_id=ALUMNI_CHAT, kind=GroupKind.ALUMNI, languages="en,es,de",
                timezone="Europe/Berlin",
            )
        )  # fmt: skip
        await session.commit()


async def _logs(session, user_id: int, language: str) -> None:
    """Ana: five weeks, symptoms easing and energy rising; Lucía: symptoms worsening;
    Jonas: no logs at all."""
    if language == "de":
        return
    today = utcnow().date()
    for back in range(35, 0, -1):
        day = today - dt.timedelta(days=back)
        late = back <= 14
        if language == "en":
            scores = {"symptom_intensity": 4 if late else 7, "energy": 6 if late else 3, "mood": 5}
        else:
            scores = {"symptom_intensity": 7 if late else 3, "energy": 4, "mood": 5}
        await daily_logs.save(session, user_id, day, {**SAMPLE_ANSWERS, **scores})


def rows(data_dir: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(database(data_dir)) as connection:
        return connection.execute(sql, params).fetchall()


def user_id(data_dir: Path, telegram_id: int) -> int:
    return rows(data_dir, "SELECT id FROM users WHERE telegram_id = ?", telegram_id)[0][0]


async def toast(standin: TelegramStandIn, query_id: str) -> str:
    call = await standin.wait_for(
        "answerCallbackQuery",
        lambda c: str(c.params.get("callback_query_id")) == query_id,
        timeout=TIMEOUT,
    )
    return str(call.params.get("text", ""))


def url_buttons(reply: Reply) -> list[str]:
    markup = reply.message.get("reply_markup") or {}
    return [b.get("url", "") for row in markup.get("inline_keyboard", []) for b in row]


async def test_three_graduations_in_three_languages_with_boosters_and_a_refresher(
    standin: TelegramStandIn, bot_factory: StartBot, tmp_path: Path
) -> None:
    await prepare(tmp_path)
    bot = await bot_factory(**TICK)
    people = {
        language: (
            standin.user(mentee[0], mentee[1], language_code=language),
            standin.user(mentor[0], mentor[1], language_code=language),
        )
        for language, (mentee, mentor) in PAIRS.items()
    }
    (ana, mo), (lucia, pablo), (jonas, greta) = people["en"], people["es"], people["de"]
    admin = standin.user(ADMIN, "Ada", language_code="en")

    # --- en: Ana asks, a stranger's forged confirmation is refused, Mo confirms ---------------
    await standin.send_text(ana, "/graduate")
    ask = await reply_containing(standin, ana.id, "mark your mentoring with Mo as done")
    await standin.tap(ana, ask, "Yes, mark it as done")
    await reply_containing(standin, ana.id, "I've asked Mo to confirm")
    await reply_containing(standin, mo.id, "Ana feels ready")
    [(graduation_id,)] = rows(tmp_path, "SELECT id FROM graduations WHERE status = 'proposed'")
    # Ana's /graduate again: she waits. Mo's, as if her message were lost: her question
    # again, with its buttons, rather than a dead end.
    await standin.send_text(ana, "/graduate")
    await reply_containing(standin, ana.id, "You've asked already")
    await standin.send_text(mo, "/graduate")
    proposal = await reply_containing(standin, mo.id, "Ana feels ready")

    greeting = await _any_message_to(standin, greta)
    forged = await standin.press(greta, greeting, f"gans:{graduation_id}:confirm")
    assert "nicht mehr aktiv" in await toast(standin, forged)  # in Greta's German
    assert rows(tmp_path, "SELECT status FROM graduations WHERE id = ?", graduation_id) == [
        ("proposed",)
    ]

    await standin.tap(mo, proposal, "Yes, I agree")
    await reply_containing(standin, mo.id, "Your mentoring of Ana is complete")
    done = await reply_containing(standin, ana.id, "your mentoring with Mo is complete")
    assert rows(
        tmp_path, "SELECT status FROM matches WHERE mentee_id = ?", user_id(tmp_path, ana.id)
    ) == [("ended",)]
    # Mo cannot open Ana's summary steps with her graduation's buttons.
    stolen = await standin.press(mo, proposal, f"gnext:{graduation_id}:summary")
    assert "expired" in await toast(standin, stolen)

    await standin.tap(ana, done, "Write a milestone")
    first = await reply_containing(standin, ana.id, "milestone of your time")
    await standin.send_text(ana, "I walked to the lake again")
    second = await reply_containing(standin, ana.id, "Is there another one")
    await standin.tap(ana, second, "Skip")
    summary = await reply_containing(standin, ana.id, "Your journey")
    assert "You kept 35 daily logs." in summary.text
    assert "Symptoms: lower (about 7 then, 4 now, of 10)" in summary.text
    assert "Energy: higher (about 3 then, 6 now, of 10)" in summary.text
    assert "Mood: about the same" in summary.text
    assert "I walked to the lake again" in summary.text
    assert "/crisis" in summary.text
    invite = await reply_containing(standin, ana.id, "alumni group")
    assert any(u.startswith("https://t.me/+standin") for u in url_buttons(invite))
    [link] = [c for c in standin.calls if c.method.lower() == "createchatinvitelink"]
    assert (int(link.params["chat_id"]), int(link.params["member_limit"])) == (ALUMNI_CHAT, 1)
    offers = await reply_containing(standin, ana.id, "train as a mentor")
    await standin.tap(ana, offers, "I'd like to train as a mentor")
    await reply_containing(standin, ana.id, "I've told the program team")
    await reply_containing(standin, admin.id, "would like to train as a mentor")
    del first

    # --- es: Pablo proposes, Lucía agrees; no invite link can be made -------------------------
    standin.fail(
        "createChatInviteLink",
        400,
        description="Bad Request: not enough rights to manage chat invite links",
    )
    await standin.send_text(pablo, "/graduate")
    ask = await reply_containing(standin, pablo.id, "Lucía")
    await standin.tap(pablo, ask, "🎓")
    proposal = await reply_containing(standin, lucia.id, "Pablo")
    # Not yet, the first time: Pablo hears it in Spanish, and may ask again.
    await standin.tap(lucia, proposal, "Todavía no")
    await reply_containing(standin, lucia.id, "la mentoría sigue")
    await reply_containing(standin, pablo.id, "Lucía prefiere seguir un tiempo más")
    # The second time both ask at once; Pablo's "yes" comes first, so Lucía's own "yes" is
    # answered with his question to agree to, not "you've asked already".
    await standin.send_text(pablo, "/graduate")
    ask = await reply_containing(standin, pablo.id, "Lucía")
    await standin.send_text(lucia, "/graduate")
    hers = await reply_containing(standin, lucia.id, "¿Quieres dar por terminada")
    await standin.tap(pablo, ask, "🎓")
    await reply_containing(standin, pablo.id, "Hecho: le he pedido a Lucía")
    await reply_containing(standin, lucia.id, "Pablo cree que quizá")  # his, through the outbox
    await standin.tap(lucia, hers, "Sí, darla por terminada")
    proposal = await reply_containing(standin, lucia.id, "Pablo cree que quizá")  # hers, edited
    assert proposal.message["message_id"] == hers.message["message_id"]
    await standin.tap(lucia, proposal, "Sí, estoy de acuerdo")
    done = await reply_containing(standin, lucia.id, "Felicidades")
    await standin.tap(lucia, done, "resumen")
    summary = await reply_containing(standin, lucia.id, "Tu camino")
    assert "Síntomas: más altos (unos 3 entonces, 7 ahora, de 10)" in summary.text
    assert "no le quita nada" in summary.text  # gently: harder now takes nothing away
    no_link = await reply_containing(standin, lucia.id, "grupo de exalumnos")
    assert not url_buttons(no_link) and "facilitador" in no_link.text
    await reply_containing(standin, admin.id, "couldn't make an invite link")

    # --- de: the admin alone ------------------------------------------------------------------
    await standin.send_text(admin, "/graduate")
    listing = await reply_containing(standin, admin.id, "Whose mentoring")
    await standin.tap(admin, listing, "Fern-5103")
    ask = await reply_containing(standin, admin.id, "Mark the mentoring of Jonas")
    await standin.tap(admin, ask, "Yes, mark it as done")
    await reply_containing(standin, admin.id, "Jonas has graduated")
    done = await reply_containing(standin, jonas.id, "Herzlichen Glückwunsch")
    # He starts a milestone, cancels it; /graduate brings back the way to his summary.
    await standin.tap(jonas, done, "Meilenstein")
    await reply_containing(standin, jonas.id, "Meilenstein")
    await standin.send_text(jonas, "/cancel")
    await reply_containing(standin, jonas.id, "/help")
    await standin.send_text(jonas, "/graduate")
    again = await reply_containing(standin, jonas.id, "Herzlichen Glückwunsch")
    await standin.tap(jonas, again, "Zusammenfassung")
    summary = await reply_containing(standin, jonas.id, "Dein Weg")
    assert "kein Tagebuch geführt" in summary.text
    await reply_containing(standin, greta.id, "Deine Begleitung von Jonas ist abgeschlossen")

    # --- the boosters: planned at 20:00 local, a month on ---------------------------------------
    for person, zone in (
        (ana, "Europe/London"),
        (lucia, "Europe/Madrid"),
        (jonas, "Europe/Berlin"),
    ):
        [(due, state)] = rows(
            tmp_path,
            "SELECT due_at, state FROM schedules WHERE kind = 'booster' AND subject_id = ?",
            user_id(tmp_path, person.id),
        )
        today = reminders.local_date(zone, utcnow())
        expected = flow.booster_due(zone, CHECKIN, today, 1)
        assert dt.datetime.fromisoformat(due).replace(tzinfo=dt.UTC) == expected, person
        assert '"n": 1' in state
    standin.blocked_chats.add(jonas.id)
    rows(tmp_path, "UPDATE schedules SET due_at = ? WHERE kind = 'booster'", "2000-01-01 00:00:00")
    booster = await reply_containing(standin, ana.id, "It's been a month since you graduated")
    spanish = await reply_containing(standin, lucia.id, "un mes")
    await reply_containing(standin, admin.id, "could not reach Fern-5103")
    # Nothing lost: Jonas's next booster (3 months) stays planned.
    jonas_state = rows(
        tmp_path,
        "SELECT state FROM schedules WHERE kind = 'booster' AND subject_id = ?",
        user_id(tmp_path, jonas.id),
    )
    assert '"n": 2' in jonas_state[0][0]

    # Pablo no longer mentors: Lucía's refresher goes to the admins, and she waits in the queue.
    rows(tmp_path, "UPDATE users SET role = 'supervisor' WHERE telegram_id = ?", pablo.id)
    await standin.tap(lucia, spanish, "😔")
    wish = await reply_containing(standin, lucia.id, "Siento que haya sido")
    await standin.tap(lucia, wish, "repaso")
    await reply_containing(standin, lucia.id, "equipo del programa")
    await reply_containing(standin, admin.id, "Their former mentor isn't available")
    await standin.send_text(admin, "/match")
    await reply_containing(standin, admin.id, "Fern-5102")
    # Jonas graduated and asked for nothing: he waits for nobody.
    assert not [
        c
        for c in standin.calls
        if "waiting since" in str(c.params.get("text", ""))
        and "Fern-5103" in str(c.params.get("text", ""))
    ]

    # Mo has no booster of his own: a forged one is refused, and Ana's stays unanswered.
    forged = await standin.press(mo, proposal, "boost:1:wish:refresher")
    assert "expired" in await toast(standin, forged)
    await standin.tap(ana, booster, "Going fairly well")
    wish = await reply_containing(standin, ana.id, "Would anything help")
    await standin.tap(ana, wish, "refresher")
    await reply_containing(standin, ana.id, "Mo, your mentor before, is there for you again")
    await reply_containing(standin, mo.id, "asked for a refresher")
    assert rows(
        tmp_path,
        "SELECT count(*) FROM matches WHERE mentee_id = ? AND status = 'active'",
        user_id(tmp_path, ana.id),
    ) == [(1,)]
    # No intake again: nothing asked of her but the refresher.
    assert not [c for c in standin.calls if "About you" in str(c.params.get("text", ""))]

    # /graduate again: Jonas sees his journey, and a refresher is one tap away any time.
    standin.blocked_chats.discard(jonas.id)
    await standin.send_text(jonas, "/graduate")
    journey = await reply_containing(standin, jonas.id, "Dein Weg")
    await standin.tap(jonas, journey, "Auffrischung")
    await reply_containing(standin, jonas.id, "Greta")  # his former mentor, matched again
    await reply_containing(standin, greta.id, "Auffrischung")

    # --- graduates keep 🆘 and their data rights ---------------------------------------------
    await standin.send_text(ana, "/crisis")
    await reply_containing(standin, ana.id, "Help, right now")
    exported = await export_my_data(standin, ana)
    [mine] = exported["graduations"]
    assert mine["milestones"] == ["I walked to the lake again"]
    assert mine["check_ins"]["1"]["feel"] == "well"
    assert mine["mentor_training_interest"]

    # Ana trains as a mentor (the admin changes her role; a restart, so the bot's short
    # memory of people does not hide it): her graduate's buttons are a mentee's, and no
    # longer hers to press.
    rows(tmp_path, "UPDATE users SET role = 'mentor' WHERE telegram_id = ?", ana.id)
    await bot.stop()
    await bot_factory(**TICK)
    pressed = await standin.press(ana, offers, f"goffer:{graduation_id}:refresher")
    assert "expired" in await toast(standin, pressed)
    assert not [
        c
        for c in standin.calls
        if c.params.get("chat_id") in (ana.id, str(ana.id))
        and "You're in touch with Mo already" in str(c.params.get("text", ""))
    ]

    # Greta has blocked the bot: Jonas's question to her cannot arrive, and he is told
    # instead of waiting for an answer that will not come.
    standin.blocked_chats.add(greta.id)
    await standin.send_text(jonas, "/graduate")
    ask = await reply_containing(standin, jonas.id, "Möchtest du deine Begleitung mit Greta")
    await standin.tap(jonas, ask, "Ja, abschließen")
    await reply_containing(standin, jonas.id, "Ich konnte deine Nachricht nicht an Greta")


async def _any_message_to(standin: TelegramStandIn, person: TgUser) -> dict:
    """A message in the person's own chat, to press a forged button on."""
    await standin.send_text(person, "/help")
    return (await reply_containing(standin, person.id, "/")).message
