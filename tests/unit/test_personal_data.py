"""One registry of personal data: every table is in it or says why not; after an erasure
no table holds the person; ids are never handed out again (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import crypto, outbox, personal_data, users
from storage.models import (
    Alert,
    AlertHit,
    AlertStatus,
    AuditEvent,
    Base,
    Consent,
    CrisisPlanSection,
    DailyLog,
    FsmRecord,
    Graduation,
    InboxUpdate,
    LabelledExample,
    Match,
    MeasureScore,
    OnCallShift,
    Profile,
    Relay,
    ReviewItem,
    Role,
    Schedule,
    SessionNote,
)

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
ANA, BEN = 7_350_001, 7_350_002  # Telegram ids no other number stored could be mistaken for
OPEN_WORDS = "open-case words of Ana"
ANA_WORDS = ("resolved-case words of Ana", "Ana relayed this", "Ana's log note", "Ana's plan")


def test_every_table_is_in_the_registry_or_says_why_it_holds_nobody() -> None:
    registered = [holding.table for holding in personal_data.REGISTRY]
    assert len(registered) == len(set(registered))
    assert not set(registered) & set(personal_data.NOT_PERSONAL)
    assert set(Base.metadata.tables) <= set(registered) | set(personal_data.NOT_PERSONAL)
    assert registered[-1] == "users"  # the person's own row goes last


async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """Ana (a mentee) with something in every table that can hold her; Ben her mentor."""
    async with sessionmaker() as session:
        ana = await users.create(session, telegram_id=ANA, locale="en", pseudonym="Wren-1")
        ana.display_name = "Anastasia"
        ben = await users.create(
            session, telegram_id=BEN, locale="en", pseudonym="Oak-2", role=Role.MENTOR
        )
        await session.flush()
        match = Match(mentee_id=ana.id, mentor_id=ben.id, status="active")
        session.add_all(
            [
                Consent(user_id=ana.id, version=1, locale="en"),
                DailyLog(
                    user_id=ana.id,
                    local_date=NOW.date(),
                    symptom_intensity=5,
                    energy=5,
                    activity="as_planned",
                    rest_breaks=1,
                    sleep_quality=5,
                    sleep_hours=7.0,
                    mood=5,
                    interference=5,
                    note=ANA_WORDS[2],
                ),
                CrisisPlanSection(user_id=ana.id, section="reasons", text=ANA_WORDS[3]),
                Profile(user_id=ana.id, preferences="Ana prefers evenings"),
                match,
                FsmRecord(
                    key=f"fsm:{ANA}:{ANA}:default", state="log:note", data='{"n": "Ana typing"}'
                ),
                InboxUpdate(
                    update_id=1,
                    payload=json.dumps({"update_id": 1, "message": {"from": {"id": ANA}}}),
                ),
                OnCallShift(user_id=ana.id, kind="backup"),
                MeasureScore(
                    user_id=ana.id,
                    measure="sss8",
                    local_date=NOW.date(),
                    score=23,
                    out_of=32,
                    items=[3, 3, 3, 3, 3, 3, 3, 2],
                ),
            ]
        )
        await session.flush()
        relay = Relay(match_id=match.id, opened_by=ben.id)
        # Ana graduated with Ben, recorded a milestone, answered a booster; and a graduation
        # Ana confirmed for someone else would keep its record without her id.
        graduation = Graduation(
            mentee_id=ana.id, mentor_id=ben.id, match_id=match.id, status="graduated",
            proposed_by=ana.id, confirmed_by=ben.id, graduated_at=NOW,
            milestones=json.dumps(["Ana walked to the lake"]), boosters={"1": {"feel": "well"}},
        )  # fmt: skip
        session.add(graduation)
        resolved = Alert(
            user_id=ana.id, pseudonym="Wren-1", category="suicide", severity=3,
            status=AlertStatus.RESOLVED, outcome="safe", resolved_by=BEN,
        )  # fmt: skip
        still_open = Alert(
            user_id=ana.id, pseudonym="Wren-1", category="suicide", severity=3,
            status=AlertStatus.OPEN, escalate_at=NOW,
        )  # fmt: skip
        session.add_all([relay, resolved, still_open])
        await session.flush()
        for alert, words in ((resolved, ANA_WORDS[0]), (still_open, OPEN_WORDS)):
            session.add(
                AlertHit(
                    alert_id=alert.id,
                    sentence=words,
                    language="en",
                    rule="r",
                    category="suicide",
                    severity=3,
                    detector="lexicon",
                )
            )
            await outbox.enqueue(
                session, key=f"alert:{alert.id}:l0:channel", chat_id=-1001,
                method="sendMessage", params={"text": words},
            )  # fmt: skip
        session.add_all(
            [
                LabelledExample(
                    language="en", label="confirmed", text=ANA_WORDS[0], alert_id=resolved.id
                ),
                AuditEvent(alert_id=resolved.id, actor=ANA, action="refused_press"),
                SessionNote(
                    mentor_id=ben.id,
                    mentee_id=ana.id,
                    match_id=match.id,
                    session_date=NOW.date(),
                    minutes=30,
                    progress="Ana sleeps better",
                    concern=True,
                    concern_text="worried about Ana",
                ),
                ReviewItem(
                    kind="boundary",
                    mentor_id=ben.id,
                    mentee_id=ana.id,
                    detail="Ana, text me on 0777",
                    comment="spoke to Ben about Ana",
                ),
                Schedule(kind="checkin", subject_id=ana.id, due_at=NOW),
                Schedule(kind="match_checkin", subject_id=match.id, due_at=NOW),
                Schedule(kind="booster", subject_id=ana.id, due_at=NOW, state={"n": 1}),
            ]
        )
        for key, chat, words in (
            (f"relay:{relay.id}:{ana.id}:5", BEN, ANA_WORDS[1]),
            (f"relay:{relay.id}:{ben.id}:6", ANA, "Ben to Ana"),
            (f"nudge:queue:{ana.id}:2026-12-01:{BEN}", BEN, "Ana had a hard day"),
            (f"trends:{ana.id}:digest:{ben.id}:2026-12-01", BEN, "Ana's last 4 weeks"),
            (f"grad:{ana.id}:thanks:1", BEN, "Ana is complete: thank you"),
            (f"undelivered:grad:{ana.id}:proposal:1", BEN, "couldn't deliver it to Ana"),
        ):
            await outbox.enqueue(
                session, key=key, chat_id=chat, method="sendMessage", params={"text": words}
            )
        await session.commit()
        return ana.id, still_open.id


async def every_value(session: AsyncSession) -> list[tuple[str, str, object]]:
    """(table, column, value) of every row of every table the database has, decrypted."""
    tables = await session.run_sync(lambda s: inspect(s.connection()).get_table_names())
    found = []
    for table in tables:
        assert table in {h.table for h in personal_data.REGISTRY} | set(
            personal_data.NOT_PERSONAL
        ), f"{table} is in neither the registry nor NOT_PERSONAL"
        for row in (await session.execute(text(f'SELECT * FROM "{table}"'))).mappings():
            for column, value in row.items():
                if isinstance(value, str) and value.startswith("gAAAA"):
                    value = crypto.cipher().decrypt(value)
                found.append((table, column, value))
    return found


def references_to_users() -> set[tuple[str, str]]:
    """Every column that points at users.id."""
    return {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if any(fk.column.table.name == "users" for fk in column.foreign_keys)
    }


async def test_after_erasure_no_table_holds_the_person_but_their_open_alert_stays(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ana_id, open_id = await seeded(sessionmaker)
    async with sessionmaker() as session:
        exported = json.dumps(
            await users.export(session, await users.get_by_telegram_id(session, ANA))
        )
    for words in (*ANA_WORDS, "Ben to Ana", "Ana walked to the lake", '"feel": "well"'):
        assert words in exported, words
    [score] = json.loads(exported)["weekly_questions"]
    assert (score["measure"], score["score"], score["out_of"]) == ("sss8", 23, 32)

    async with sessionmaker() as session, session.begin():
        await users.erase(session, await users.get_by_telegram_id(session, ANA))

    async with sessionmaker() as session:
        values = await every_value(session)
        pointing = references_to_users()
        left = [
            (table, column)
            for table, column, value in values
            if (
                any(w in str(value) for w in (*ANA_WORDS, "Ana", str(ANA), "Anastasia"))
                and OPEN_WORDS not in str(value)
            )
            or ((table, column) in pointing and value == ana_id)
        ]
        assert not left, left
        assert (await session.execute(text("SELECT count(*) FROM measure_scores"))).scalar() == 0
        # The open case: its pseudonym, its status and the words that raised it, for now.
        alert = await session.get(Alert, open_id)
        assert (alert.user_id, alert.pseudonym, alert.status) == (None, "Wren-1", "open")
        holding = {table for table, _c, value in values if OPEN_WORDS in str(value)}
        assert holding == {"alert_hits", "outbox"}  # the hit, and the alert as sent
        # Supervision records keep their dates and minutes, not their words.
        [note] = (await session.execute(text("SELECT minutes, progress FROM session_notes"))).all()
        assert tuple(note) == (30, None)
        assert (await session.execute(text("SELECT kind FROM review_items"))).scalars().all() == [
            "boundary"
        ]


async def test_ids_are_never_handed_out_again(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The newest person and alert deleted: the next ones get new numbers."""
    async with sessionmaker() as session, session.begin():
        first = await users.create(session, telegram_id=1, locale="en", pseudonym="A")
        await session.flush()
        session.add(Alert(user_id=first.id, category="suicide", severity=3))
        await session.flush()
        person_id = first.id
        alert_id = (await session.execute(text("SELECT max(id) FROM alerts"))).scalar_one()
    async with sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM alerts"))
        await session.execute(text("DELETE FROM users"))
    async with sessionmaker() as session, session.begin():
        second = await users.create(session, telegram_id=2, locale="en", pseudonym="B")
        alert = Alert(user_id=second.id, category="suicide", severity=3)
        session.add(alert)
        await session.flush()
        assert second.id > person_id and alert.id > alert_id
