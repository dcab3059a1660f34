"""Session notes and supervision, as people live them (real dispatcher, Telegram faked).

Mo mentors Rosalind and Tom. After a session he writes a short note with /note, mostly
by tapping; when he is worried he flags a concern, and the supervisors' channel is told
(pseudonyms only, never the note's words). Dana, a supervisor, works through /review and
marks each item reviewed, with a comment or without. Nobody else can press her buttons,
and a note about someone else's mentee cannot be written. Export and erase cover all of it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text

from flows import notes as note_flow
from storage import reviews, schedules, users
from storage.models import (
    Match,
    MatchStatus,
    Profile,
    Relay,
    ReviewItem,
    Role,
    Schedule,
    SessionNote,
)
from tests.harness import Harness
from tests.unit.alert_helpers import SUPERVISOR_CHAT, alert_settings, member, outbox_rows
from tests.unit.chat_helpers import (
    EXPIRED,
    Person,
    Watch,
    conversation,
    labels,
    local_today,
    person,
)

MENTOR, OTHER_MENTOR, ROSALIND, TOM, STRANGER_MENTEE, DANA, EVE, ADMIN = (
    800,
    801,
    300,
    301,
    302,
    900,
    901,
    950,
)
ZONE = "Europe/London"
NOT_YOURS = "I can't find that person among your mentees."
ONLY_STAFF = "Only supervisors and admins can review notes and flags."
WORRY = "She said she has not eaten for days"


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url)


@pytest.fixture
def watch(harness: Harness) -> Watch:
    return Watch(harness)


async def program(sessionmaker) -> dict[int, int]:
    """Mo mentors Rosalind and Tom; Ola mentors someone else; two supervisors and an admin.
    Returns users.id by Telegram id."""
    ids = {
        MENTOR: await member(
            sessionmaker, MENTOR, role=Role.MENTOR, pseudonym="Oak-800", display_name="Mo"
        ),
        OTHER_MENTOR: await member(
            sessionmaker, OTHER_MENTOR, role=Role.MENTOR, pseudonym="Ash-801", display_name="Ola"
        ),
        ROSALIND: await member(
            sessionmaker, ROSALIND, pseudonym="Heron-42", display_name="Rosalind"
        ),
        TOM: await member(sessionmaker, TOM, pseudonym="Finch-7", display_name="Tom"),
        STRANGER_MENTEE: await member(
            sessionmaker, STRANGER_MENTEE, pseudonym="Lark-9", display_name="Lia"
        ),
        DANA: await member(
            sessionmaker, DANA, role=Role.SUPERVISOR, pseudonym="Owl-900", display_name="Dana"
        ),
        EVE: await member(
            sessionmaker, EVE, role=Role.SUPERVISOR, pseudonym="Owl-901", display_name="Eve"
        ),
        ADMIN: await member(sessionmaker, ADMIN, role=Role.ADMIN, display_name="Ada"),
    }
    return ids


async def match(sessionmaker, ids, mentor: int, mentee: int, **fields) -> int:
    async with sessionmaker() as session:
        fields.setdefault("status", MatchStatus.ACTIVE)
        row = Match(mentee_id=ids[mentee], mentor_id=ids[mentor], **fields)
        session.add(row)
        await session.commit()
        return row.id


async def all_notes(sessionmaker) -> list[SessionNote]:
    async with sessionmaker() as session:
        return list((await session.execute(select(SessionNote).order_by(SessionNote.id))).scalars())


async def all_items(sessionmaker) -> list[ReviewItem]:
    async with sessionmaker() as session:
        return list((await session.execute(select(ReviewItem).order_by(ReviewItem.id))).scalars())


async def mo_with_two_mentees(harness, watch, sessionmaker) -> tuple[Person, dict[int, int]]:
    ids = await program(sessionmaker)
    await match(sessionmaker, ids, MENTOR, ROSALIND)
    await match(sessionmaker, ids, MENTOR, TOM)
    await match(sessionmaker, ids, OTHER_MENTOR, STRANGER_MENTEE)
    return person(harness, watch, MENTOR), ids


# --- /note ----------------------------------------------------------------------------------


async def test_a_mentor_notes_a_session_by_tapping_and_a_concern_reaches_the_supervisors(
    harness, watch, sessionmaker
) -> None:
    mo, ids = await mo_with_two_mentees(harness, watch, sessionmaker)

    await mo.send("/note")
    assert "Which mentee was the session with?" in mo.last_text()
    assert "1/6" in mo.last_text()
    assert labels(mo.shown()) == ["Rosalind", "Tom", "✕ Cancel"]  # his mentees only
    assert await mo.tap("Rosalind") is None
    assert "When was the session?" in mo.shown().text
    await mo.tap("Yesterday")
    await mo.tap("45 min")
    for topic in ("sleep", "mood and coping", "sleep", "pacing and activity"):
        await mo.tap(topic)  # sleep twice: tapped off again
    assert "✓ mood and coping" in labels(mo.shown()) and "sleep" in labels(mo.shown())
    await mo.tap("Done")
    assert "Any progress on their goals?" in mo.shown().text
    await mo.send("Walks 10 <min> a day & is proud")
    assert "Is there anything a supervisor should look at?" in mo.last_text()
    await mo.tap("Yes, flag a concern")
    await mo.send(WORRY)

    summary = mo.last_text()
    yesterday = local_today(ZONE) - dt.timedelta(days=1)
    assert "✓ Note saved" in summary and "With: Rosalind" in summary
    assert f"Session: {yesterday.isoformat()} · 45 min" in summary
    assert "Topics: pacing and activity, mood and coping" in summary
    assert "Walks 10 &lt;min&gt; a day &amp; is proud" in summary  # their words, escaped
    assert WORRY in summary and "You don't have to carry this alone" in summary
    assert await conversation(sessionmaker, MENTOR) == (None, {})
    mo.assert_no_apology()

    [note] = await all_notes(sessionmaker)
    assert (note.mentor_id, note.mentee_id, note.session_date) == (
        ids[MENTOR],
        ids[ROSALIND],
        yesterday,
    )
    assert (note.minutes, note.topics, note.concern) == (45, ["pacing", "mood"], True)
    assert (note.progress, note.concern_text) == ("Walks 10 <min> a day & is proud", WORRY)
    async with sessionmaker() as session:  # at rest, the words are not readable
        raw = (
            await session.execute(text("SELECT progress, concern_text FROM session_notes"))
        ).one()
    assert "Walks" not in raw[0] and "eaten" not in raw[1]

    [item] = await all_items(sessionmaker)
    assert (item.kind, item.note_id, item.mentor_id, item.mentee_id) == (
        "note",
        note.id,
        ids[MENTOR],
        ids[ROSALIND],
    )
    assert item.reviewed_at is None
    [notice] = await outbox_rows(sessionmaker, "review:")
    assert notice.chat_id == SUPERVISOR_CHAT
    assert "A mentor flagged a concern in a session note. /review" in notice.text
    assert "Oak-800" in notice.text and "Heron-42" in notice.text
    for private in ("eaten", "Walks", "Rosalind", "Mo"):
        assert private not in notice.text, f"the notice carries {private!r}"


async def test_with_one_mentee_typed_date_and_minutes_skips_and_no_concern(
    harness, watch, sessionmaker
) -> None:
    ids = await program(sessionmaker)
    await match(sessionmaker, ids, MENTOR, TOM)
    mo = person(harness, watch, MENTOR)
    day = local_today(ZONE) - dt.timedelta(days=3)

    await mo.send("/note")
    assert "When was the session?" in mo.last_text() and "1/5" in mo.last_text()
    await mo.send(f"{day:%d.%m.%Y}")
    assert "How long was it?" in mo.last_text()
    await mo.send("50 min")
    await mo.tap("Done")  # no topic: allowed
    await mo.tap("Skip")
    await mo.tap("No")

    summary = mo.last_text()
    assert "With: Tom" in summary and f"{day.isoformat()} · 50 min" in summary
    assert "Concern" not in summary
    [note] = await all_notes(sessionmaker)
    assert (note.mentee_id, note.session_date, note.minutes) == (ids[TOM], day, 50)
    assert (note.topics, note.progress, note.concern, note.concern_text) == ([], None, False, None)
    assert await all_items(sessionmaker) == []
    assert await outbox_rows(sessionmaker, "review:") == []


async def test_a_future_date_or_impossible_minutes_are_asked_again_kindly(
    harness, watch, sessionmaker
) -> None:
    ids = await program(sessionmaker)
    await match(sessionmaker, ids, MENTOR, TOM)
    mo = person(harness, watch, MENTOR)
    await mo.send("/note")
    tomorrow = local_today(ZONE) + dt.timedelta(days=1)

    await mo.send(tomorrow.isoformat())
    assert "That date hasn't come yet" in mo.texts()[-2]
    assert "When was the session?" in mo.last_text()
    await mo.send("someday")
    assert "I couldn't read that date" in mo.texts()[-2]
    await mo.tap("Today")
    await mo.send("700")
    assert "a number from 1 to 600" in mo.texts()[-2]
    assert "How long was it?" in mo.last_text()
    assert (await conversation(sessionmaker, MENTOR))[1]["step"] == "minutes"
    await mo.tap("30 min")
    assert "What did you talk about?" in mo.shown().text


async def test_too_long_progress_is_kept_and_its_beginning_can_be_saved(
    harness, watch, sessionmaker, settings
) -> None:
    ids = await program(sessionmaker)
    await match(sessionmaker, ids, MENTOR, TOM)
    mo = person(harness, watch, MENTOR)
    await mo.send("/note")
    await mo.tap("Today")
    await mo.tap("60 min")
    await mo.tap("Done")
    long_text = ("She paced her week well. " * 40).strip()  # 999 characters
    limit = settings.note_max_length

    await mo.send(long_text)
    assert f"That is {len(long_text)} characters long; this can be up to {limit}" in (
        mo.last_text()
    )
    _, data = await conversation(sessionmaker, MENTOR)
    assert data["kept"] == long_text and data["step"] == "progress"  # nothing lost
    await mo.tap(f"Keep the first {limit}")
    await mo.tap("No")

    [note] = await all_notes(sessionmaker)
    assert note.progress == long_text[:limit].strip()


async def test_a_sticker_mid_note_gets_the_same_question_again(
    harness, watch, sessionmaker
) -> None:
    mo, _ = await mo_with_two_mentees(harness, watch, sessionmaker)
    await mo.send("/note")
    await mo.tap("Tom")
    await mo.tap("Today")
    question = mo.shown().text

    await mo.chat.sticker()

    assert "I can't read that here, so I'll ask again." in mo.texts()[-2]
    assert mo.last_text() == question
    assert await mo.tap("90 min") is None  # the new question's buttons work
    assert "What did you talk about?" in mo.shown().text


async def test_a_forged_or_someone_else_s_mentee_is_refused(harness, watch, sessionmaker) -> None:
    mo, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    ended = await member(sessionmaker, 303, pseudonym="Wren-3", display_name="Ed")
    ids[303] = ended
    await match(sessionmaker, ids, MENTOR, 303, status=MatchStatus.ENDED)
    await mo.send("/note")

    for mentee in (ids[STRANGER_MENTEE], ids[303], 999_999):
        assert await mo.press(f"sn:mentee:{mentee}") == NOT_YOURS
    assert await mo.press("sn:mentee:abc") == NOT_YOURS
    assert await mo.press("sn:date:today") == EXPIRED  # not the question asked now
    assert (await conversation(sessionmaker, MENTOR))[1]["step"] == "mentee"
    assert await mo.tap("Rosalind") is None  # the real buttons still work
    assert await all_notes(sessionmaker) == []


async def test_a_mentee_or_supervisor_trying_note_is_told_whose_it_is(
    harness, watch, sessionmaker
) -> None:
    await program(sessionmaker)
    rosalind = person(harness, watch, ROSALIND)
    await rosalind.send("/note")
    assert rosalind.last_text() == "That one is for mentors. /help lists what you can do."
    dana = person(harness, watch, DANA)
    await dana.send("/note")
    assert "That one is for mentors" in dana.last_text()
    await rosalind.send("/review")
    assert "That one is for the program's staff" in rosalind.last_text()


async def test_a_mentor_without_mentees_is_told_so_and_cancel_leaves_a_note(
    harness, watch, sessionmaker
) -> None:
    ids = await program(sessionmaker)
    mo = person(harness, watch, MENTOR)
    await mo.send("/note")
    assert "You have no mentees right now" in mo.last_text()
    assert await conversation(sessionmaker, MENTOR) == (None, {})

    await match(sessionmaker, ids, MENTOR, TOM)
    await mo.send("/note")
    await mo.tap("Today")
    await mo.send("/cancel")
    assert "Stopped. Nothing from that step was saved." in mo.last_text()
    assert await conversation(sessionmaker, MENTOR) == (None, {})
    assert await all_notes(sessionmaker) == []


# --- /review --------------------------------------------------------------------------------


async def flagged(sessionmaker, ids, *, concern_text: str | None = WORRY) -> int:
    """A concern-flagged note by Mo about Rosalind, straight through the flow; its item id."""
    async with sessionmaker() as session:
        _, item = await note_flow.save(
            session,
            ids[MENTOR],
            {
                "mentee": ids[ROSALIND],
                "date": "2026-11-20",
                "minutes": 30,
                "topics": ["sleep", "setbacks"],
                "progress": "Sleeping a bit better",
                "concern": True,
                "concern_text": concern_text,
            },
        )
        await session.commit()
        return item.id


async def boundary(sessionmaker, ids) -> int:
    async with sessionmaker() as session:
        item = reviews.add(
            session,
            reviews.BOUNDARY,
            mentor_id=ids[MENTOR],
            mentee_id=ids[TOM],
            detail="Call me on +44 7700 900123",
        )
        await session.commit()
        return item.id


async def test_a_flagged_contact_card_is_named_on_the_review_card(
    harness, watch, sessionmaker
) -> None:
    _, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    async with sessionmaker() as session:
        reviews.add(session, reviews.BOUNDARY, mentor_id=ids[MENTOR], mentee_id=ids[TOM])
        await session.commit()
    dana = person(harness, watch, DANA)
    await dana.send("/review")
    assert "Possible boundary issue" in dana.last_text()
    assert "Message: a shared contact card" in dana.last_text()


async def test_a_supervisor_reviews_the_queue_oldest_first_with_and_without_a_comment(
    harness, watch, sessionmaker
) -> None:
    _, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    note_item = await flagged(sessionmaker, ids)
    boundary_item = await boundary(sessionmaker, ids)
    dana = person(harness, watch, DANA)

    await dana.send("/review")
    card = dana.last_text()
    assert "2 waiting for review" in card and "Session note with a concern" in card
    assert "Mentor: Oak-800 (Mo)" in card and "Mentee: Heron-42 (Rosalind)" in card
    assert "Session: 2026-11-20 · 30 min" in card and "Topics: sleep, setbacks" in card
    assert "Progress: Sleeping a bit better" in card and f"Concern: {WORRY}" in card
    assert labels(dana.shown()) == ["✓ Mark reviewed", "Next ▸"]

    await dana.tap("Mark reviewed")
    assert "Add a comment for the record?" in dana.last_text()
    await dana.send("Called Mo; GP appointment booked.")
    assert dana.last_text() == "✓ Marked reviewed. 1 more waiting: /review"

    await dana.send("/review")
    card = dana.last_text()
    assert "1 waiting for review" in card and "Possible boundary issue" in card
    assert "Mentee: Finch-7 (Tom)" in card and "Call me on +44 7700 900123" in card
    assert labels(dana.shown()) == ["✓ Mark reviewed"]
    await dana.tap("Mark reviewed")
    await dana.tap("Skip")
    assert dana.last_text() == "✓ Marked reviewed. Nothing else is waiting."
    await dana.send("/review")
    assert dana.last_text() == "Nothing waiting for review."
    dana.assert_no_apology()

    done = {item.id: item for item in await all_items(sessionmaker)}
    assert done[note_item].reviewed_by == DANA and done[note_item].reviewed_at is not None
    assert done[note_item].comment == "Called Mo; GP appointment booked."
    assert done[boundary_item].reviewed_by == DANA and done[boundary_item].comment is None
    async with sessionmaker() as session:
        raw = await session.scalar(
            text("SELECT comment FROM review_items WHERE id = :id"), {"id": note_item}
        )
    assert "GP appointment" not in raw and raw.startswith("gAAAA")  # encrypted at rest (Fernet)


async def test_next_shows_the_following_item_and_an_admin_may_review(
    harness, watch, sessionmaker
) -> None:
    _, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    await flagged(sessionmaker, ids, concern_text=None)
    await boundary(sessionmaker, ids)
    ada = person(harness, watch, ADMIN)
    await ada.send("/review")
    assert "Concern: flagged, no words given" in ada.last_text()
    assert await ada.tap("Next") is None
    assert "Possible boundary issue" in ada.shown().text
    assert await ada.tap("Next") is None  # round again to the oldest
    assert "Session note with a concern" in ada.shown().text


async def test_review_buttons_pressed_by_a_mentor_are_refused_and_change_nothing(
    harness, watch, sessionmaker
) -> None:
    mo, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    item = await flagged(sessionmaker, ids)
    await mo.send("/help")  # a message of the bot's to press on, in his own chat

    assert await mo.press(f"rv:mark:{item}") == ONLY_STAFF
    assert await mo.press(f"rv:nocomment:{item}") == ONLY_STAFF
    assert await mo.press(f"rv:next:{item}") == ONLY_STAFF
    [stored] = await all_items(sessionmaker)
    assert stored.reviewed_at is None and stored.comment is None
    dana = person(harness, watch, DANA)
    await dana.send("/help")
    assert await dana.press("rv:mark:424242") == EXPIRED  # no such item
    assert await dana.press(f"rv:mark:{10**15}") == EXPIRED  # nor one no table could hold
    dana.assert_no_apology()


async def test_an_item_reviewed_meanwhile_says_by_whom_and_keeps_the_first_comment(
    harness, watch, sessionmaker
) -> None:
    _, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    await flagged(sessionmaker, ids)
    dana, eve = person(harness, watch, DANA), person(harness, watch, EVE)
    await dana.send("/review")
    await eve.send("/review")
    eve_card = eve.shown()
    await dana.tap("Mark reviewed")
    await eve.tap("Mark reviewed")  # both are writing a comment now

    await dana.send("Spoke with Mo.")
    await eve.send("I'll call Mo.")
    assert eve.last_text().startswith("Dana already reviewed this on ")
    assert await conversation(sessionmaker, EVE) == (None, {})
    await eve.tap("Mark reviewed", eve_card)  # her old card
    assert eve.last_text().startswith("Dana already reviewed this on ")

    [item] = await all_items(sessionmaker)
    assert (item.reviewed_by, item.comment) == (DANA, "Spoke with Mo.")
    eve.assert_no_apology()


async def test_a_too_long_comment_is_refused_and_the_item_still_waits(
    harness, watch, sessionmaker, settings
) -> None:
    _, ids = await mo_with_two_mentees(harness, watch, sessionmaker)
    await flagged(sessionmaker, ids)
    dana = person(harness, watch, DANA)
    await dana.send("/review")
    await dana.tap("Mark reviewed")
    await dana.send("x" * (settings.note_max_length + 1))
    assert "comments can be up to" in dana.last_text()
    [item] = await all_items(sessionmaker)
    assert item.reviewed_at is None
    await dana.send("Short one.")
    [item] = await all_items(sessionmaker)
    assert item.comment == "Short one."


# --- export and erase -------------------------------------------------------------------------


async def mentorship_records(sessionmaker, ids) -> None:
    """Profiles, an active and an ended match with a relay, notes, and schedules."""
    rosalind_match = await match(sessionmaker, ids, MENTOR, ROSALIND, mentee_feeling="good")
    await match(
        sessionmaker,
        ids,
        MENTOR,
        TOM,
        status=MatchStatus.ENDED,
        ended_by=ids[TOM],
        end_reason="We wanted different things",
        ended_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    await match(sessionmaker, ids, OTHER_MENTOR, STRANGER_MENTEE)
    await flagged(sessionmaker, ids)
    async with sessionmaker() as session:
        session.add(Profile(user_id=ids[ROSALIND], goals=["pacing"], preferences="Evenings"))
        session.add(Profile(user_id=ids[MENTOR], goals=["sleep"], capacity=3))
        session.add(Profile(user_id=ids[STRANGER_MENTEE], goals=["work"]))
        session.add(Relay(match_id=rosalind_match, opened_by=ids[MENTOR]))
        for kind in ("checkin", "silence", "digest"):
            for who in (MENTOR, ROSALIND, STRANGER_MENTEE):
                await schedules.set_due(session, kind, ids[who], dt.datetime.now(dt.UTC))
        await session.commit()


async def exported(sessionmaker, telegram_id: int) -> dict:
    async with sessionmaker() as session:
        data = await users.export(session, await users.get_by_telegram_id(session, telegram_id))
    return json.loads(json.dumps(data, ensure_ascii=False))


async def test_an_export_holds_profile_matches_own_notes_and_flags_but_no_comments(
    sessionmaker,
) -> None:
    ids = await program(sessionmaker)
    await mentorship_records(sessionmaker, ids)

    rosalind = await exported(sessionmaker, ROSALIND)
    assert rosalind["intake_profile"]["goals"] == ["pacing"]
    assert rosalind["intake_profile"]["preferences"] == "Evenings"
    [as_mentee] = rosalind["matches"]
    assert (as_mentee["as"], as_mentee["with"], as_mentee["status"]) == (
        "mentee",
        "Oak-800",
        "active",
    )
    assert as_mentee["how_it_felt"] == "good"
    assert rosalind["session_notes"] == []
    said = json.dumps(rosalind, ensure_ascii=False)
    assert WORRY not in said and "Sleeping a bit better" not in said  # Mo's notes about her
    assert '"Mo"' not in said  # the mentor by pseudonym only

    mo = await exported(sessionmaker, MENTOR)
    assert mo["intake_profile"]["capacity"] == 3
    assert [(m["as"], m["with"], m["status"]) for m in mo["matches"]] == [
        ("mentor", "Heron-42", "active"),
        ("mentor", "Finch-7", "ended"),
    ]
    assert mo["matches"][1]["end_reason"] is None  # Tom's reason is Tom's
    [note] = mo["session_notes"]
    assert (note["date"], note["minutes"], note["mentee"]) == ("2026-11-20", 30, "Heron-42")
    assert (note["concern"], note["concern_text"]) == (True, WORRY)
    said = json.dumps(mo, ensure_ascii=False)
    assert "Rosalind" not in said
    # His flags are his (what was flagged and when); a supervisor's comment is not.
    [flag] = mo["flags"]
    assert (flag["kind"], flag["about"], flag["reviewed"]) == ("note", "your mentoring", False)
    assert "comment" not in flag

    tom = await exported(sessionmaker, TOM)
    assert tom["matches"][0]["end_reason"] == "We wanted different things"
    assert tom["intake_profile"] is None


async def count_where(session, table: str, column: str, value: int) -> int:
    statement = text(f"SELECT count(*) FROM {table} WHERE {column} = :v")
    return int(await session.scalar(statement, {"v": value}))


async def test_erasing_a_mentor_removes_profile_matches_relays_notes_items_and_schedules(
    sessionmaker,
) -> None:
    ids = await program(sessionmaker)
    await mentorship_records(sessionmaker, ids)

    async with sessionmaker() as session, session.begin():
        await users.erase(session, await users.get_by_telegram_id(session, MENTOR))

    async with sessionmaker() as session:  # plain SQL: the database's own cascades are seen
        mo = ids[MENTOR]
        assert await count_where(session, "profiles", "user_id", mo) == 0
        assert await count_where(session, "matches", "mentor_id", mo) == 0
        assert await count_where(session, "session_notes", "mentor_id", mo) == 0
        assert await count_where(session, "review_items", "mentor_id", mo) == 0
        assert await session.scalar(select(func.count()).select_from(Relay)) == 0
        for kind in ("checkin", "silence", "digest"):
            assert await schedules.get(session, kind, mo) is None
        # Everyone else's records stay.
        assert await session.scalar(select(func.count()).select_from(Profile)) == 2
        [left] = (await session.execute(select(Match))).scalars()
        assert left.mentor_id == ids[OTHER_MENTOR]
        assert await session.scalar(select(func.count()).select_from(Schedule)) == 6


async def test_erasing_a_mentee_removes_their_records_and_unlinks_notes_about_them(
    sessionmaker,
) -> None:
    ids = await program(sessionmaker)
    await mentorship_records(sessionmaker, ids)

    async with sessionmaker() as session, session.begin():
        await users.erase(session, await users.get_by_telegram_id(session, ROSALIND))

    async with sessionmaker() as session:
        rosalind = ids[ROSALIND]
        assert await count_where(session, "profiles", "user_id", rosalind) == 0
        assert await count_where(session, "matches", "mentee_id", rosalind) == 0
        assert await session.scalar(select(func.count()).select_from(Relay)) == 0
        for kind in ("checkin", "silence", "digest"):
            assert await schedules.get(session, kind, rosalind) is None
        # Mo's note (his hours) stays, no longer linked to her; so does its review item.
        [note] = (await session.execute(select(SessionNote))).scalars()
        assert (note.mentor_id, note.mentee_id, note.match_id) == (ids[MENTOR], None, None)
        [item] = (await session.execute(select(ReviewItem))).scalars()
        assert item.mentee_id is None
        assert await session.scalar(select(func.count()).select_from(Match)) == 2
