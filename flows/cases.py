"""The supervisors' own case workflow: the open cases, a case's whole history in order,
the notes they add, and what resolving a case closes.

A case's history is read from three records, each written where its step happens: the
hits (the person's words, a tap, their mentor's concern), the audit trail (acknowledged,
contacting, escalated, resolved) and the case's events (a conversation through the bot,
its messages, notes). Texts are decrypted only when read. No Telegram types here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flows import alerts as alert_flow
from flows import reach
from storage import alerts, cases, users
from storage.models import Alert, AlertHit, AlertStatus, User

NOTE = "note"  # a supervisor's note on the case (case_events.kind), kept encrypted
MISREAD = "misread"  # the person tapped "I'm okay, I didn't mean it that way"

# Kinds of history entries beyond the case events' own (flows.reach: OPENED, TO_PERSON, …).
HIT, ACKNOWLEDGED, CONTACTING, ESCALATED, RESOLVED = (
    "hit",
    "acknowledged",
    "contacting",
    "escalated",
    "resolved",
)
CONVERSATION = (reach.TO_PERSON, reach.FROM_PERSON)
_FROM_AUDIT = {"acknowledged": ACKNOWLEDGED, "contacting": CONTACTING, "resolved": RESOLVED}
# "I'm contacting them" recorded by opening a conversation is the conversation's opening.
_SAME_STEP = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class Entry:
    """One step of a case, at its time: who did it, and what was said (decrypted)."""

    at: dt.datetime
    kind: str
    actor: User | None = None
    text: str | None = None
    hit: AlertHit | None = None
    detail: str | None = None  # an escalation's level, a resolution's outcome


async def open_cases(session: AsyncSession) -> list[Alert]:
    """Open, acknowledged and being-contacted cases, newest first."""
    return sorted(await alerts.unresolved(session), key=lambda a: a.id, reverse=True)


async def history(session: AsyncSession, alert: Alert) -> list[Entry]:
    """Everything that happened in the case, oldest first."""
    people: dict[tuple[str, int], User | None] = {}

    async def by_telegram(telegram_id: int | None) -> User | None:
        if telegram_id is None:
            return None
        if ("tg", telegram_id) not in people:
            people["tg", telegram_id] = await users.get_by_telegram_id(session, telegram_id)
        return people["tg", telegram_id]

    async def by_id(user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if ("id", user_id) not in people:
            people["id", user_id] = await session.get(User, user_id)
        return people["id", user_id]

    entries = [
        Entry(hit.at, HIT, hit=hit, text=hit.sentence or None)
        for hit in await alerts.hits_of(session, alert.id)
    ]
    events = await cases.events_of(session, alert.id)
    opened = [(event.actor_id, event.at) for event in events if event.kind == reach.OPENED]
    for audit in await alerts.audit_trail(session, alert.id):
        actor = await by_telegram(audit.actor)
        if audit.action.startswith("escalated_to_"):
            entries.append(
                Entry(audit.at, ESCALATED, detail=audit.action.removeprefix("escalated_to_"))
            )
        elif audit.action in _FROM_AUDIT:
            kind = _FROM_AUDIT[audit.action]
            if kind == CONTACTING and actor is not None and _opened_then(opened, actor, audit.at):
                continue
            entries.append(Entry(audit.at, kind, actor=actor, detail=audit.detail))
    for event in events:
        entries.append(
            Entry(event.at, event.kind, actor=await by_id(event.actor_id), text=event.text)
        )
    order = {id(entry): number for number, entry in enumerate(entries)}
    return sorted(entries, key=lambda entry: (entry.at, order[id(entry)]))


def _opened_then(
    opened: list[tuple[int | None, dt.datetime]], actor: User, at: dt.datetime
) -> bool:
    return any(who == actor.id and abs(when - at) <= _SAME_STEP for who, when in opened)


def add_note(session: AsyncSession, alert: Alert, by: User, text: str, now: dt.datetime) -> None:
    """A supervisor's note, encrypted at rest, in the case's history."""
    cases.add_event(session, alert.id, NOTE, actor_id=by.id, text=text, at=now)
    alerts.audit(session, "note_added", alert_id=alert.id, actor=by.telegram_id)


async def say_misread(session: AsyncSession, alert: Alert, person: User, now: dt.datetime) -> bool:
    """The person says screening misread their words. It goes into the case for the
    supervisors, who still decide: the alert stays open and escalates as before, because
    someone in crisis may also tap it. False when there is nothing to add: the case is
    closed, or they said so already."""
    if alert.status == AlertStatus.RESOLVED or await misread_at(session, alert) is not None:
        return False
    cases.add_event(session, alert.id, MISREAD, actor_id=person.id, at=now)
    alerts.audit(session, "person_said_misread", alert_id=alert.id, actor=person.telegram_id)
    return True


async def misread_at(session: AsyncSession, alert: Alert) -> dt.datetime | None:
    """When the person said the alert misread them, if they did."""
    return await cases.first_event_at(session, alert.id, MISREAD)


async def resolve_with_note(
    session: AsyncSession, alert: Alert, by: User, note: str, now: dt.datetime
) -> bool:
    """ "Resolve → Other": the note says what happened; without one it is not resolved."""
    if alert.status == AlertStatus.RESOLVED or not note.strip():
        return False
    add_note(session, alert, by, note.strip(), now)
    return await alert_flow.resolve(session, alert, by, "other", now)


async def close_conversation(
    session: AsyncSession, alert: Alert, by: User, now: dt.datetime
) -> reach.Talk | None:
    """Resolving a case ends its open conversation with the person (if any): the talk,
    for the caller to tell both sides."""
    talk = await reach.talk_on_alert(session, alert.id)
    if talk is not None:
        reach.end_talk(session, talk, by, now)
    return talk
