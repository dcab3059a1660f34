"""Matching as the program lives it: the team's /match queue with explained suggestions and
Confirm buttons (re-checked on every press), warm introductions to both people, the
week-later "how does the match feel" question, and /rematch from either side, without blame.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo

import pytest
from aiogram.methods import EditMessageReplyMarkup
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot import cli
from bot.i18n import create_i18n
from bot.scheduler import run_due
from flows import matching
from flows.states import Rematching
from handlers.matching import MatchConfirm
from storage import crypto, matches, profiles, schedules
from storage.db import create_engine, create_sessionmaker
from storage.models import Match, MatchStatus, Relay, Role, utcnow
from tests.harness import Harness
from tests.unit.alert_helpers import (
    SUPERVISOR_CHAT,
    alert_settings,
    deliver,
    member,
    outbox_rows,
    set_role,
)
from tests.unit.chat_helpers import Watch, conversation, person

MENTEE, MENTEE_2, MENTOR, MENTOR_2, ADMIN, SUPERVISOR = 300, 301, 800, 801, 950, 900
EXPIRED = "This button has expired."


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def with_profile(sessionmaker, telegram_id: int, role: Role, name: str, **answers) -> int:
    user_id = await member(
        sessionmaker, telegram_id, role=role, display_name=name, pseudonym=f"{name}-{telegram_id}"
    )
    async with sessionmaker() as session:
        await profiles.save(session, user_id, answers, utcnow())
        await session.commit()
    return user_id


async def program(sessionmaker) -> dict[str, int]:
    """A mentee (Rosa) waiting; two mentors: Mo fits her well, Kim less; an admin."""
    ids = {
        "rosa": await with_profile(
            sessionmaker,
            MENTEE,
            Role.MENTEE,
            "Rosa",
            goals=["pacing"],
            symptoms=["fatigue"],
            style="short",
            frequency="daily",
            languages=["en"],
        ),
        "mo": await with_profile(
            sessionmaker,
            MENTOR,
            Role.MENTOR,
            "Mo",
            goals=["pacing", "sleep"],
            symptoms=["fatigue"],
            style="short",
            frequency="daily",
            languages=["en", "es"],
            capacity=2,
        ),
        "kim": await with_profile(
            sessionmaker, MENTOR_2, Role.MENTOR, "Kim", goals=["work"], languages=["en"]
        ),
    }
    ids["admin"] = await member(sessionmaker, ADMIN, role=Role.ADMIN, display_name="Ada")
    return ids


async def all_matches(sessionmaker) -> list[Match]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Match).order_by(Match.id))).scalars())


async def confirmed(sessionmaker, settings, mentee_id: int, mentor_id: int) -> Match:
    """A match confirmed from the command line's path (the same as the button's)."""
    from handlers.matching import confirm_match

    async with sessionmaker() as session:
        i18n = create_i18n("en")
        with i18n.context():
            done = await confirm_match(
                session, settings, i18n, mentee_id=mentee_id, mentor_id=mentor_id, confirmed_by=None
            )
        await session.commit()
        return done.match


# --- /match ---------------------------------------------------------------------------------


async def test_match_shows_the_queue_with_explained_suggestions(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    admin = person(harness, watch, ADMIN)
    await admin.send("/match")
    heading, entry = admin.texts()[-2:]
    assert "Waiting for a mentor: 1" in heading
    assert "Rosa-300" in entry and "(Rosa)" in entry and "waiting since" in entry
    first, second = entry.split("\n")[1:3]
    assert first.startswith("1. <b>Mo-800</b> (Mo) · score 6 — ")
    assert "both: Fatigue, pacing goals; both prefer short texts, daily" in first
    assert second.startswith("2. <b>Kim-801</b> (Kim) · score 0 — ")
    assert "a shared language, little else in common yet" in second
    assert admin.labels() == ["✓ 1. Confirm Mo", "✓ 2. Confirm Kim"]


async def test_the_team_sees_what_else_matters_to_the_mentee(harness, watch, sessionmaker) -> None:
    await with_profile(
        sessionmaker, MENTEE, Role.MENTEE, "Rosa", preferences="Someone with <small> kids"
    )
    await member(sessionmaker, ADMIN, role=Role.ADMIN)
    admin = person(harness, watch, ADMIN)
    await admin.send("/match")
    entry = admin.last_text()
    assert "Anything else: <i>Someone with &lt;small&gt; kids</i>" in entry
    assert "No mentor fits yet" in entry and admin.labels() == []


async def test_a_mentee_who_skipped_the_intake_still_waits_and_can_be_matched(
    harness, watch, sessionmaker
) -> None:
    await member(sessionmaker, MENTEE, display_name="Rosa", pseudonym="Rosa-300")
    await with_profile(sessionmaker, MENTOR, Role.MENTOR, "Mo", languages=["en"], capacity=1)
    await member(sessionmaker, ADMIN, role=Role.ADMIN)
    admin = person(harness, watch, ADMIN)
    await admin.send("/match")
    entry = admin.last_text()
    assert "Rosa-300" in entry
    assert "No intake yet (/profile): suggestions rest on language alone." in entry
    assert admin.labels() == ["✓ 1. Confirm Mo"]


async def test_confirming_matches_them_and_introduces_both_warmly(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    admin = person(harness, watch, ADMIN)
    await admin.send("/match")
    assert await admin.tap("Confirm Mo") == "Matched."
    assert "✓ Matched <b>Rosa-300</b> (Rosa) with <b>Mo-800</b> (Mo)" in admin.last_text()
    assert admin.labels() == []

    [match] = await all_matches(sessionmaker)
    assert (match.mentee_id, match.mentor_id, match.status) == (ids["rosa"], ids["mo"], "active")
    assert match.confirmed_by == ADMIN and match.score > 0
    to_mentee, to_mentor = await outbox_rows(sessionmaker, f"match:{match.id}:intro:")
    assert to_mentee.chat_id == MENTEE and "Meet your mentor, Mo" in to_mentee.text
    assert "/mentor" in to_mentee.text and "phone number" in to_mentee.text
    assert to_mentor.chat_id == MENTOR and "Meet your new mentee, Rosa" in to_mentor.text
    assert "Activity planning and pacing" in to_mentor.text
    assert "/reachout" in to_mentor.text and "/mentees" in to_mentor.text
    async with sessionmaker() as session:
        checkin = await schedules.get(session, matching.CHECKIN, match.id)
        silence = await schedules.get(session, matching.SILENCE, ids["rosa"])
    week = checkin.due_at - match.started_at
    assert dt.timedelta(days=7) < week <= dt.timedelta(days=8)
    # ... at Rosa's check-in time, when she said she'd be at her phone
    asked = checkin.due_at.astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert (asked.hour, asked.minute) == (20, 0)
    assert silence.due_at - match.started_at == dt.timedelta(days=settings.nudge_silent_days)

    await admin.send("/match")
    assert "Nobody is waiting for a mentor right now." in admin.last_text()


async def test_a_mentee_cannot_confirm_a_match_with_a_forged_button(
    harness, watch, sessionmaker
) -> None:
    ids = await program(sessionmaker)
    rosa = person(harness, watch, MENTEE)
    await rosa.send("/help")
    forged = MatchConfirm(mentee_id=ids["rosa"], mentor_id=ids["mo"]).pack()
    assert await rosa.press(forged) == "Only the program team can confirm matches."
    assert await all_matches(sessionmaker) == []
    assert await outbox_rows(sessionmaker, "match:") == []
    rosa.assert_no_apology()


async def test_a_stale_confirm_after_the_mentee_got_matched_is_refused_kindly(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    admin = person(harness, watch, ADMIN)
    await admin.send("/match")
    queue_message = admin.shown()
    await confirmed(sessionmaker, settings, ids["rosa"], ids["kim"])  # someone else, meanwhile

    toast = await admin.tap("Confirm Mo", queue_message)
    assert toast == "They have a mentor already: a match was confirmed meanwhile."
    [match] = await all_matches(sessionmaker)
    assert match.mentor_id == ids["kim"]
    assert len(await outbox_rows(sessionmaker, "match:")) == 2  # Kim's pair only
    admin.assert_no_apology()


async def test_a_full_mentor_is_refused_and_the_other_suggestions_stay(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    other = await with_profile(sessionmaker, MENTEE_2, Role.MENTEE, "Ben", languages=["en"])
    admin = person(harness, watch, ADMIN)
    await admin.send("/match")
    [rosa_message] = [
        s.message for s in harness.telegram.sent if s.chat_id == ADMIN and "Rosa-300" in s.text
    ]
    await confirmed(sessionmaker, settings, other, ids["kim"])  # Kim (capacity 1) is full now
    toast = await admin.tap("Confirm Kim", rosa_message)
    assert toast == "That mentor has no free place right now. Try another suggestion."
    retired = [
        c
        for c in watch.calls
        if isinstance(c, EditMessageReplyMarkup) and c.message_id == rosa_message.message_id
    ]
    assert retired == []  # Mo can still be confirmed from the same message
    assert await admin.tap("Confirm Mo", rosa_message) == "Matched."


async def test_match_is_for_the_program_team(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    mentor = person(harness, watch, MENTOR)
    reply = await mentor.send("/match")
    assert "That one is for the program's staff" in reply.text
    await member(sessionmaker, SUPERVISOR, role=Role.SUPERVISOR)
    supervisor = person(harness, watch, SUPERVISOR)
    await supervisor.send("/match")
    assert "Waiting for a mentor: 1" in supervisor.texts()[-2]


# --- a week later -----------------------------------------------------------------------------


async def week_later(sessionmaker, settings, match: Match) -> dict[str, object]:
    """Run the scheduler a week on; the delivered questions, by side."""
    now = match.started_at + dt.timedelta(days=settings.match_checkin_days + 1)
    await run_due(sessionmaker, settings, create_i18n("en"), now=now)
    rows = await outbox_rows(sessionmaker, f"match_checkin:{match.id}:")
    return {row.key.rsplit(":", 1)[1]: (row, await deliver(sessionmaker, row)) for row in rows}


async def test_a_week_later_each_side_is_asked_once_how_the_match_feels(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    match = await confirmed(sessionmaker, settings, ids["rosa"], ids["mo"])
    asked = await week_later(sessionmaker, settings, match)
    (to_mentee, delivered), (to_mentor, _) = asked["mentee"], asked["mentor"]
    assert to_mentee.chat_id == MENTEE and "How does your match with Mo feel" in to_mentee.text
    assert to_mentor.chat_id == MENTOR and "with Rosa" in to_mentor.text
    assert to_mentee.labels == ["Good", "Not sure yet", "Not a good fit"]
    again = match.started_at + dt.timedelta(days=30)
    await run_due(sessionmaker, settings, create_i18n("en"), now=again)
    assert len(await outbox_rows(sessionmaker, "match_checkin:")) == 2  # asked once

    rosa = person(harness, watch, MENTEE)
    assert await rosa.tap("Good", delivered) is None
    assert "Glad it feels good" in rosa.last_text()
    [stored] = await all_matches(sessionmaker)
    assert stored.mentee_feeling == "good" and stored.mentor_feeling is None
    mo = person(harness, watch, MENTOR)
    assert await mo.tap("Good", delivered) == EXPIRED  # not Mo's question (nor chat)


async def test_not_a_good_fit_leads_straight_to_a_rematch_without_blame(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    match = await confirmed(sessionmaker, settings, ids["rosa"], ids["mo"])
    async with sessionmaker() as session:
        session.add(Relay(match_id=match.id, opened_by=ids["mo"]))
        await session.commit()
    _, delivered = (await week_later(sessionmaker, settings, match))["mentee"]

    rosa = person(harness, watch, MENTEE)
    await rosa.tap("Not a good fit", delivered)
    assert "nobody's fault" in rosa.texts()[-2]
    assert "You'd like a different match instead of Mo" in rosa.last_text()
    state, _ = await conversation(sessionmaker, MENTEE)
    assert state == Rematching.reason.state
    await rosa.send("We never found times that worked for both of us")
    assert "End your match with Mo and ask for a new one?" in rosa.last_text()
    await rosa.tap("Yes, end it")
    assert "back in the queue" in rosa.last_text()

    [ended] = await all_matches(sessionmaker)
    assert ended.status == MatchStatus.ENDED and ended.ended_by == ids["rosa"]
    assert ended.mentee_feeling == "not_fit" and ended.ended_at is not None
    assert ended.end_reason == "We never found times that worked for both of us"
    async with sessionmaker() as session:
        [relay] = (await session.execute(select(Relay))).scalars()
        assert relay.closed_at is not None and relay.closed_by == ids["rosa"]
        assert await schedules.get(session, matching.CHECKIN, match.id) is None
    [told] = await outbox_rows(sessionmaker, f"match:{match.id}:ended:other")
    assert told.chat_id == MENTOR and "nobody's fault" in told.text
    assert "times that worked" not in told.text  # never the reason
    [admin_note] = await outbox_rows(sessionmaker, f"match:{match.id}:ended:admin:")
    assert admin_note.chat_id == ADMIN and "Rosa-300" in admin_note.text
    assert "Mo-800" in admin_note.text and "times that worked" not in admin_note.text
    async with sessionmaker() as session:  # back in the queue, not offered Mo again
        [waiting] = await matching.queue(session)
    assert waiting.mentee.id == ids["rosa"]
    assert [mentor.id for mentor, _ in waiting.suggestions] == [ids["kim"]]
    rosa.assert_no_apology()


# --- /rematch ---------------------------------------------------------------------------------


async def test_a_mentee_asks_for_a_rematch_and_skips_the_reason(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    await confirmed(sessionmaker, settings, ids["rosa"], ids["mo"])
    rosa = person(harness, watch, MENTEE)
    await rosa.send("/rematch")
    assert "won't be told why" in rosa.last_text()
    await rosa.tap("Skip")
    await rosa.tap("No, keep it")
    assert "Nothing changed" in rosa.last_text()
    assert (await all_matches(sessionmaker))[0].status == MatchStatus.ACTIVE

    await rosa.send("/rematch")
    await rosa.tap("Skip")
    await rosa.tap("Yes, end it")
    [ended] = await all_matches(sessionmaker)
    assert ended.status == MatchStatus.ENDED and ended.end_reason is None
    assert await conversation(sessionmaker, MENTEE) == (None, {})
    await rosa.send("/rematch")
    assert "You're in the queue" in rosa.last_text()


async def test_a_mentor_with_two_mentees_picks_which_match_ends(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    ben = await with_profile(sessionmaker, MENTEE_2, Role.MENTEE, "Ben", languages=["en"])
    first = await confirmed(sessionmaker, settings, ids["rosa"], ids["mo"])
    second = await confirmed(sessionmaker, settings, ben, ids["mo"])
    mo = person(harness, watch, MENTOR)
    await mo.send("/rematch")
    assert "Which match would you like to end?" in mo.last_text()
    assert mo.labels() == ["Rosa", "Ben"]
    pick = mo.shown()
    await mo.tap("Ben")
    await mo.tap("Skip")
    await mo.tap("Yes, end it")
    assert "they'll be introduced to a new mentor" in mo.last_text()
    by_id = {m.id: m for m in await all_matches(sessionmaker)}
    assert by_id[first.id].status == MatchStatus.ACTIVE
    assert by_id[second.id].status == MatchStatus.ENDED
    [told] = await outbox_rows(sessionmaker, f"match:{second.id}:ended:other")
    assert told.chat_id == MENTEE_2 and "back in the queue" in told.text
    assert await mo.tap("Ben", pick) == EXPIRED  # that match has ended


async def test_without_admins_the_supervisor_chat_hears_of_a_rematch(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    await set_role(sessionmaker, ADMIN, Role.SUPERVISOR)
    match = await confirmed(sessionmaker, settings, ids["rosa"], ids["mo"])
    mo = person(harness, watch, MENTOR)
    await mo.send("/rematch")
    await mo.tap("Skip")
    await mo.tap("Yes, end it")
    [note] = await outbox_rows(sessionmaker, f"match:{match.id}:ended:admin:")
    assert note.chat_id == SUPERVISOR_CHAT and "by the mentor" in note.text


async def test_rematch_without_a_match_is_answered_kindly(harness, watch, sessionmaker) -> None:
    await program(sessionmaker)
    mo = person(harness, watch, MENTOR)
    assert "no mentees right now" in (await mo.send("/rematch")).text
    await member(sessionmaker, MENTEE_2)
    ben = person(harness, watch, MENTEE_2)
    assert "/profile" in (await ben.send("/rematch")).text


# --- two confirmations at once ------------------------------------------------------------------


async def test_a_second_active_match_for_one_mentee_is_refused_by_the_database(
    sessionmaker,
) -> None:
    ids = await program(sessionmaker)
    async with sessionmaker() as session:
        now = utcnow()
        first = await matches.create(
            session, mentee_id=ids["rosa"], mentor_id=ids["mo"], score=1, confirmed_by=1, now=now
        )
        # What a confirmation that lost the race meets: the unique index, not an error page.
        second = await matches.create(
            session, mentee_id=ids["rosa"], mentor_id=ids["kim"], score=1, confirmed_by=2, now=now
        )
        assert first is not None and second is None
        await session.commit()  # the session is still usable; the first match stands
    [match] = await all_matches(sessionmaker)
    assert match.mentor_id == ids["mo"]


# --- the command line: peerbot match suggest / confirm ---------------------------------------------


@pytest.fixture
def operator_env(tmp_path, monkeypatch, database_url) -> str:
    """The operator's environment (database, data directory, key); the database URL."""
    key = Fernet.generate_key()
    monkeypatch.chdir(tmp_path)  # no developer's .env leaks in
    for name in ("SUPERVISOR_CHAT_ID", "BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ENCRYPTION_KEY", key.decode())
    crypto.use_cipher(crypto.Cipher([key]))
    return database_url


def cli_run(capsys, *argv: str) -> tuple[int, str]:
    """Exit code and everything printed (refusals go to stderr)."""
    capsys.readouterr()
    code = cli.main(list(argv))
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def seeded(url: str, work):
    async def go():
        engine = create_engine(url)
        try:
            result = await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()
        return result

    return asyncio.run(go())


def test_peerbot_match_suggest_and_confirm(operator_env, capsys) -> None:
    ids = seeded(operator_env, program)
    code, out = cli_run(capsys, "match", "suggest")
    assert code == 0
    mentee_line, first, second = out.strip().splitlines()
    assert mentee_line.startswith(f"mentee\t{MENTEE}\tRosa-300 (Rosa)\twaiting since ")
    assert first == (
        f"  mentor\t{MENTOR}\tMo-800 (Mo)\tscore 6\t"
        "both: Fatigue, pacing goals; both prefer short texts, daily"
    )
    assert second.startswith(f"  mentor\t{MENTOR_2}\tKim-801 (Kim)\tscore 0\t")

    code, out = cli_run(capsys, "match", "confirm", str(MENTEE), str(MENTOR))
    assert code == 0 and "matched Rosa-300 with Mo-800" in out

    async def check(sessionmaker):
        [match] = await all_matches(sessionmaker)
        intros = await outbox_rows(sessionmaker, f"match:{match.id}:intro:")
        return match, intros

    match, intros = seeded(operator_env, check)
    assert (match.mentee_id, match.mentor_id, match.confirmed_by) == (ids["rosa"], ids["mo"], None)
    assert [row.chat_id for row in intros] == [MENTEE, MENTOR]
    assert "Meet your mentor, Mo" in intros[0].text

    code, out = cli_run(capsys, "match", "confirm", str(MENTEE), str(MENTOR_2))
    assert code == 1 and "They have a mentor already" in out
    code, out = cli_run(capsys, "match", "suggest")
    assert out.strip() == "nobody is waiting for a mentor"
