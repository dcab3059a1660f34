"""Alert cases and their escalation, below the chat: flows/alerts.py, storage/alerts.py and
the escalation tick (bot/escalation.py), with time moved by hand.

An alert nobody acknowledges is re-sent after ``escalation_ack_minutes`` with the backups
paged (level 1), then to every supervisor (level 2), and never again after that. Any
number of ticks may run at once (several bot processes): each level is paged once.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import insert

from bot.escalation import escalate_due
from bot.i18n import create_i18n
from flows import alerts as alert_flow
from flows.screening import screen
from handlers.alerts import announce
from storage import alerts, outbox, users
from storage.db import create_engine, create_sessionmaker
from storage.models import Alert, AlertStatus, Role, utcnow
from tests.unit.alert_helpers import (
    SUPERVISOR_CHAT,
    alert_messages,
    alert_settings,
    audit_rows,
    labelled_rows,
    make_overdue,
    member,
    on_call,
    outbox_rows,
    the_alert,
)

MENTEE, PRIMARY, BACKUP, OFF_DUTY, MENTOR = 300, 900, 901, 902, 800
CRISIS = "I want to kill myself tonight"


@pytest.fixture
def settings(tmp_path, database_url):
    return alert_settings(tmp_path, database_url, escalation_ack_minutes=5)


@pytest.fixture(scope="module")
def i18n():
    return create_i18n("en")


async def team(sessionmaker, *, with_shifts: bool = True) -> None:
    await member(sessionmaker, MENTEE, pseudonym="Heron-42")
    for telegram_id, name in ((PRIMARY, "Dana"), (BACKUP, "Eve"), (OFF_DUTY, "Flo")):
        await member(sessionmaker, telegram_id, role=Role.SUPERVISOR, display_name=name)
    await member(sessionmaker, MENTOR, role=Role.MENTOR)
    if with_shifts:
        await on_call(sessionmaker, PRIMARY)
        await on_call(sessionmaker, BACKUP, "backup")


async def open_alert(
    sessionmaker, settings, i18n, text: str = CRISIS, telegram_id: int = MENTEE
) -> int:
    """What the screening middleware does with a hit: record it and announce the case."""
    async with sessionmaker() as session:
        person = await users.get_by_telegram_id(session, telegram_id)
        case = await alert_flow.record_hits(
            session,
            person,
            screen(text, "en"),
            now=utcnow(),
            join_window=dt.timedelta(minutes=settings.alert_join_minutes),
            ack_within=dt.timedelta(minutes=settings.escalation_ack_minutes),
        )
        with i18n.context():
            await announce(session, case, settings, i18n)
        await session.commit()
        return case.alert.id


def paged(rows, level: int) -> list[int]:
    return sorted(r.chat_id for r in alert_messages(rows) if f":l{level}:" in r.key)


# --- escalation --------------------------------------------------------------------------------


async def test_unacknowledged_alerts_escalate_to_backups_then_everyone_then_stop(
    sessionmaker, settings, i18n
) -> None:
    await team(sessionmaker)
    alert_id = await open_alert(sessionmaker, settings, i18n)
    rows = await outbox_rows(sessionmaker)
    assert paged(rows, 0) == sorted([SUPERVISOR_CHAT, PRIMARY])

    # Not yet due: nothing happens.
    assert await escalate_due(sessionmaker, settings, i18n) == 0
    assert paged(await outbox_rows(sessionmaker), 1) == []

    await make_overdue(sessionmaker, alert_id)
    before = utcnow()
    assert await escalate_due(sessionmaker, settings, i18n) == 1
    alert = await the_alert(sessionmaker, alert_id)
    assert alert.escalation_level == 1 and alert.status == AlertStatus.OPEN
    assert alert.escalate_at - before >= dt.timedelta(minutes=5) - dt.timedelta(seconds=1)
    rows = await outbox_rows(sessionmaker)
    assert paged(rows, 1) == sorted([SUPERVISOR_CHAT, PRIMARY, BACKUP])
    for row in alert_messages(rows):
        if ":l1:" in row.key:
            assert CRISIS in row.text and "escalated (level 1)" in row.text
            assert row.labels == [
                "Acknowledge",
                "✉️ Write to them through me",
                "I'm contacting them",
                "Resolve…",
                "📋 Case",
            ]
    [channel] = [r for r in alert_messages(rows) if r.key == f"alert:{alert_id}:l1:channel"]
    assert channel.text.startswith("⏰ <b>Still not acknowledged</b> after 5 minutes.")
    # If the channel cannot be reached, its copy goes to everyone not paged directly.
    assert channel.on_undeliverable == f"all_supervisors:{PRIMARY},{BACKUP}"
    assert await escalate_due(sessionmaker, settings, i18n) == 0, "level 2 is not due yet"

    await make_overdue(sessionmaker, alert_id)
    assert await escalate_due(sessionmaker, settings, i18n) == 1
    alert = await the_alert(sessionmaker, alert_id)
    assert (alert.escalation_level, alert.escalate_at) == (2, None)
    rows = await outbox_rows(sessionmaker)
    assert paged(rows, 2) == sorted([SUPERVISOR_CHAT, PRIMARY, BACKUP, OFF_DUTY])
    assert MENTOR not in [r.chat_id for r in rows] and MENTEE not in [r.chat_id for r in rows]
    [channel] = [r for r in alert_messages(rows) if r.key == f"alert:{alert_id}:l2:channel"]
    assert "after 10 minutes" in channel.text
    assert all("escalated (level 2)" in r.text for r in alert_messages(rows) if ":l2:" in r.key)

    # The last level: nothing more, however long it stays unacknowledged.
    assert await escalate_due(sessionmaker, settings, i18n) == 0
    assert len(alert_messages(await outbox_rows(sessionmaker))) == len(alert_messages(rows))
    actions = [a[0] for a in await audit_rows(sessionmaker) if a[1] == alert_id]
    assert actions == ["opened", "escalated_to_1", "escalated_to_2"]


async def test_nobody_on_call_escalates_to_every_supervisor(sessionmaker, settings, i18n) -> None:
    await team(sessionmaker, with_shifts=False)
    alert_id = await open_alert(sessionmaker, settings, i18n)
    everyone = sorted([SUPERVISOR_CHAT, PRIMARY, BACKUP, OFF_DUTY])
    assert paged(await outbox_rows(sessionmaker), 0) == everyone
    await make_overdue(sessionmaker, alert_id)
    assert await escalate_due(sessionmaker, settings, i18n) == 1
    assert paged(await outbox_rows(sessionmaker), 1) == everyone


@pytest.mark.parametrize("answer", ["acknowledge", "contacting", "resolve"])
async def test_an_answered_alert_is_not_escalated(sessionmaker, settings, i18n, answer) -> None:
    await team(sessionmaker)
    alert_id = await open_alert(sessionmaker, settings, i18n)
    async with sessionmaker() as session:
        alert = await alerts.get(session, alert_id)
        supervisor = await users.get_by_telegram_id(session, PRIMARY)
        if answer == "resolve":
            assert await alert_flow.resolve(session, alert, supervisor, "safe", utcnow())
        else:
            assert await getattr(alert_flow, answer)(session, alert, supervisor, utcnow())
        await session.commit()
    await make_overdue(sessionmaker, alert_id)  # even with a stale time left behind

    assert await escalate_due(sessionmaker, settings, i18n) == 0
    assert (await the_alert(sessionmaker, alert_id)).escalation_level == 0
    assert paged(await outbox_rows(sessionmaker), 1) == []


async def test_an_acknowledgement_between_the_look_and_the_claim_wins(
    sessionmaker, settings, i18n, monkeypatch
) -> None:
    await team(sessionmaker)
    alert_id = await open_alert(sessionmaker, settings, i18n)
    await make_overdue(sessionmaker, alert_id)
    looked = alerts.due_for_escalation

    async def look_then_acknowledge(session, now):
        due = await looked(session, now)
        assert [a.id for a in due] == [alert_id]
        async with sessionmaker() as other:
            alert = await alerts.get(other, alert_id)
            supervisor = await users.get_by_telegram_id(other, PRIMARY)
            await alert_flow.acknowledge(other, alert, supervisor, utcnow())
            await other.commit()
        return due

    monkeypatch.setattr(alerts, "due_for_escalation", look_then_acknowledge)
    assert await escalate_due(sessionmaker, settings, i18n) == 0
    alert = await the_alert(sessionmaker, alert_id)
    assert (alert.status, alert.escalation_level) == (AlertStatus.ACKNOWLEDGED, 0)
    assert paged(await outbox_rows(sessionmaker), 1) == []


async def test_two_ticks_at_once_page_once(
    sessionmaker, settings, i18n, database_url, monkeypatch
) -> None:
    """Two bot processes run the tick at the same moment; both see the alert due."""
    await team(sessionmaker)
    alert_id = await open_alert(sessionmaker, settings, i18n)
    await make_overdue(sessionmaker, alert_id)
    looked = alerts.due_for_escalation
    both_looked = asyncio.Barrier(2)

    async def look_together(session, now):
        due = await looked(session, now)
        await both_looked.wait()  # neither claims before both have seen the alert due
        return due

    monkeypatch.setattr(alerts, "due_for_escalation", look_together)
    second_process = create_engine(database_url)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                escalate_due(sessionmaker, settings, i18n),
                escalate_due(create_sessionmaker(second_process), settings, i18n),
            ),
            timeout=20,
        )
    finally:
        await second_process.dispose()

    assert sorted(results) == [0, 1]
    assert (await the_alert(sessionmaker, alert_id)).escalation_level == 1
    actions = [a[0] for a in await audit_rows(sessionmaker) if a[1] == alert_id]
    assert actions == ["opened", "escalated_to_1"]
    assert paged(await outbox_rows(sessionmaker), 1) == sorted([SUPERVISOR_CHAT, PRIMARY, BACKUP])


async def test_one_tick_escalates_every_overdue_alert(sessionmaker, settings, i18n) -> None:
    await team(sessionmaker)
    await member(sessionmaker, 301)
    first = await open_alert(sessionmaker, settings, i18n)
    second = await open_alert(sessionmaker, settings, i18n, "I want to die", 301)
    third_person = await open_alert(sessionmaker, settings, i18n, "I feel hopeless", OFF_DUTY)
    await make_overdue(sessionmaker, first)
    await make_overdue(sessionmaker, second)
    assert await escalate_due(sessionmaker, settings, i18n) == 2
    levels = [(await the_alert(sessionmaker, a)).escalation_level for a in (first, second)]
    assert levels == [1, 1]
    assert (await the_alert(sessionmaker, third_person)).escalation_level == 0


# --- cases ------------------------------------------------------------------------------------------


async def test_a_worse_message_raises_the_case(sessionmaker, settings, i18n) -> None:
    await team(sessionmaker)
    first = await open_alert(sessionmaker, settings, i18n, "He hits me and I'm scared to go home")
    alert = await the_alert(sessionmaker, first)
    assert (alert.category, alert.severity) == ("abuse_or_danger_at_home", 2)
    assert await open_alert(sessionmaker, settings, i18n, CRISIS) == first
    alert = await the_alert(sessionmaker, first)
    assert (alert.category, alert.severity) == ("suicide", 3)
    # A milder one afterwards does not lower it.
    assert await open_alert(sessionmaker, settings, i18n, "I feel hopeless") == first
    alert = await the_alert(sessionmaker, first)
    assert (alert.category, alert.severity) == ("suicide", 3)


async def test_copies_are_the_sent_messages_of_this_alert_only(sessionmaker) -> None:
    await member(sessionmaker, MENTEE)
    async with sessionmaker() as session:
        person = await users.get_by_telegram_id(session, MENTEE)
        for alert_id in (1, 10):
            await session.execute(
                insert(Alert).values(
                    id=alert_id,
                    user_id=person.id,
                    category="suicide",
                    severity=3,
                    status=AlertStatus.OPEN,
                    opened_at=utcnow(),
                    last_hit_at=utcnow(),
                    escalation_level=0,
                )
            )
        for key, chat_id in (
            ("alert:1:l0:channel", SUPERVISOR_CHAT),
            ("alert:1:l0:dm:900", 900),
            ("alert:1:l0:dm:901", 901),  # never delivered
            ("alert:10:l0:channel", SUPERVISOR_CHAT),
            ("alertnote:1:123.0", SUPERVISOR_CHAT),
        ):
            await outbox.enqueue(
                session, key=key, chat_id=chat_id, method="sendMessage", params={"text": "x"}
            )
        await session.commit()
    rows = {r.key: r for r in await outbox_rows(sessionmaker)}
    async with sessionmaker() as session:
        for key, message_id in (
            ("alert:1:l0:channel", 11),
            ("alert:1:l0:dm:900", 12),
            ("alert:10:l0:channel", 13),
            ("alertnote:1:123.0", 14),
        ):
            await outbox.mark_sent(session, rows[key].id, message_id=message_id)
        await session.commit()
        assert sorted(await alerts.copies_of(session, 1)) == [(SUPERVISOR_CHAT, 11), (900, 12)]
        assert await alerts.copies_of(session, 10) == [(SUPERVISOR_CHAT, 13)]


async def test_resolving_labels_every_sentence_of_the_case_once(
    sessionmaker, settings, i18n
) -> None:
    await team(sessionmaker)
    alert_id = await open_alert(sessionmaker, settings, i18n, "I feel hopeless")
    await open_alert(sessionmaker, settings, i18n, "I want to die")
    async with sessionmaker() as session:
        alert = await alerts.get(session, alert_id)
        supervisor = await users.get_by_telegram_id(session, BACKUP)
        assert not await alert_flow.resolve(session, alert, supervisor, "maybe", utcnow())
        assert await alert_flow.resolve(session, alert, supervisor, "emergency_services", utcnow())
        assert not await alert_flow.resolve(session, alert, supervisor, "false_alarm", utcnow())
        assert not await alert_flow.acknowledge(session, alert, supervisor, utcnow())
        assert not await alert_flow.contacting(session, alert, supervisor, utcnow())
        await session.commit()
    alert = await the_alert(sessionmaker, alert_id)
    assert (alert.status, alert.outcome, alert.resolved_by) == (
        AlertStatus.RESOLVED,
        "emergency_services",
        BACKUP,
    )
    assert alert.acknowledged_by == BACKUP and alert.acknowledged_at is not None
    examples = await labelled_rows(sessionmaker)
    assert [(e[1], e[2]) for e in examples] == [
        ("confirmed", "I feel hopeless"),
        ("confirmed", "I want to die"),
    ]


# --- staffed hours ---------------------------------------------------------------------------------


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 1, 15, hour, minute, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "hours", "zone", "staffed"),
    [
        (at(7, 59), "08:00-20:00", "UTC", False),
        (at(8, 0), "08:00-20:00", "UTC", True),
        (at(19, 59), "08:00-20:00", "UTC", True),
        (at(20, 0), "08:00-20:00", "UTC", False),
        (at(23, 0), "22:00-06:00", "UTC", True),
        (at(5, 59), "22:00-06:00", "UTC", True),
        (at(6, 0), "22:00-06:00", "UTC", False),
        (at(12, 0), "22:00-06:00", "UTC", False),
        (at(7, 30), "08:00-20:00", "Europe/Madrid", True),  # 08:30 in Madrid in winter
        (at(19, 30), "08:00-20:00", "Europe/Madrid", False),  # 20:30 there
        (at(0, 0), "00:00-00:01", "UTC", True),
        (at(12, 0), "00:00-00:01", "UTC", False),
        (at(3, 0), "", "UTC", True),
        (at(3, 0), "  ", "UTC", True),
    ],
)
def test_staffed_hours(now, hours, zone, staffed) -> None:
    assert alert_flow.is_staffed(now, hours, zone) is staffed
