"""What is personal data, table by table: how to export it and how to erase it.

One registry drives both `/privacy` export and delete, so a table cannot be exported
and forgotten at erasure, or the other way round. Every table of the schema is either
in ``REGISTRY`` or in ``NOT_PERSONAL`` with the reason; a test walks every table after an
erasure and fails on a table that is in neither.

Erasure runs the entries in order: the outbox, schedules and relays first, while the
matches and relays that name their rows still exist; the person's own row last.

An open alert outlives the person (``alerts``): supervisors keep its pseudonym, times,
status and the words that raised it until they resolve it; then the words go
(``storage.alerts.forget_words``). Supervision records about a mentee (a session note, a
boundary flag) keep their dates and minutes but lose their text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, case, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import alerts as alert_store
from storage import schedules
from storage.crypto import cipher
from storage.models import (
    Alert,
    AlertStatus,
    AuditEvent,
    CaseConversation,
    CaseEvent,
    Consent,
    CrisisPlanSection,
    DailyLog,
    EventRsvp,
    FsmRecord,
    Graduation,
    GroupCheckin,
    GroupEvent,
    GroupMember,
    InboxUpdate,
    LabelledExample,
    Match,
    MeasureScore,
    OnCallShift,
    OutboxMessage,
    Profile,
    ProgramGroup,
    Relay,
    ReviewItem,
    RotaShift,
    Schedule,
    SessionNote,
    User,
)

Exporter = Callable[[AsyncSession, User], Awaitable[Any]]
Eraser = Callable[[AsyncSession, User], Awaitable[None]]

# Schedules whose subject is a person (users.id); a match's check-in names the match.
PERSONAL_SCHEDULES = schedules.kinds_about(schedules.PERSON)  # every kind: one registry
MATCH_SCHEDULES = schedules.kinds_about(schedules.MATCH)
# Outbox keys that carry a conversation, a match or a flag, by the id that names them
# (see the keys in handlers/relay.py, handlers/matching.py, handlers/notes.py).
RELAY_KEYS = ("relay:{id}:%", "boundary:{id}:%", "undelivered:relay:{id}:%")
MATCH_KEYS = ("match:{id}:%", "match_checkin:{id}:%", "nudge:contact:{id}:%")
# "trends:{id}:%": a mentee's chart in their mentor's weekly digest (handlers/trends.py).
PERSON_KEYS = (
    "nudge:queue:{id}:%",
    "digest:{id}:%",
    "pacing:{id}:%",
    "trends:{id}:%",
    "event:%:unreachable:{id}",  # a creator told that this person missed a reminder
    "grad:{id}:%",  # graduation: the other side asked, thanks, admins told
    "undelivered:grad:{id}:%",  # a proposer told their graduation question did not arrive
)
REVIEW_KEYS = ("review:{id}:%",)


@dataclass(frozen=True)
class Holding:
    """One table's share of a person: what it holds, how to export and erase it."""

    table: str
    holds: str  # what of a person this table holds, in a line
    erase: Eraser
    export: Exporter | None = None  # None: nothing here is theirs to read (``holds`` says why)


# --- users, and what is theirs alone -------------------------------------------------------


async def _export_user(session: AsyncSession, user: User) -> dict[str, object]:
    return {
        "telegram_id": user.telegram_id,
        "pseudonym": user.pseudonym,
        "display_name": user.display_name,
        "role": user.role,
        "language": user.locale,
        "time_zone": user.timezone,
        "checkin_time": user.checkin_time.isoformat(timespec="minutes")
        if user.checkin_time
        else None,
        "joined": user.created_at.isoformat(),
    }


async def _erase_user(session: AsyncSession, user: User) -> None:
    await session.delete(user)  # through the ORM, so the person's cache sees it went


async def _export_consents(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(Consent).where(Consent.user_id == user.id).order_by(Consent.given_at)
    )
    return [{"version": c.version, "given_at": c.given_at.isoformat()} for c in rows]


async def _export_logs(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(DailyLog).where(DailyLog.user_id == user.id).order_by(DailyLog.local_date)
    )
    return [
        {
            "date": log.local_date.isoformat(),
            "symptom_intensity": log.symptom_intensity,
            "symptoms": log.symptoms,
            "energy": log.energy,
            "activity": log.activity,
            "rest_breaks": log.rest_breaks,
            "sleep_quality": log.sleep_quality,
            "sleep_hours": log.sleep_hours,
            "mood": log.mood,
            "interference": log.interference,
            "note": log.note,
        }
        for log in rows
    ]


async def _export_measures(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(MeasureScore)
        .where(MeasureScore.user_id == user.id)
        .order_by(MeasureScore.local_date, MeasureScore.id)
    )
    return [
        {
            "date": row.local_date.isoformat(),
            "measure": row.measure,
            "score": row.score,
            "out_of": row.out_of,
            "answers": row.items,
        }
        for row in rows
    ]


async def _export_plan(session: AsyncSession, user: User) -> dict[str, str]:
    rows = await session.scalars(
        select(CrisisPlanSection).where(CrisisPlanSection.user_id == user.id)
    )
    return {section.section: section.text for section in rows}


async def _export_profile(session: AsyncSession, user: User) -> dict[str, object] | None:
    profile = await session.get(Profile, user.id)
    if profile is None:
        return None
    return {
        "goals": profile.goals,
        "symptoms": profile.symptoms,
        "frequency": profile.frequency,
        "style": profile.style,
        "times": profile.times,
        "support": profile.support,
        "languages": profile.languages,
        "preferences": profile.preferences,
        "capacity": profile.capacity,
        "shares": profile.shares,
        "completed_at": profile.completed_at.isoformat() if profile.completed_at else None,
    }


async def _export_shifts(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(OnCallShift).where(OnCallShift.user_id == user.id).order_by(OnCallShift.id)
    )
    return [
        {
            "kind": s.kind,
            "started": s.started_at.isoformat(),
            "ended": s.ended_at.isoformat() if s.ended_at else None,
        }
        for s in rows
    ]


async def _export_rota(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(RotaShift)
        .where(or_(RotaShift.primary_id == user.id, RotaShift.backup_id == user.id))
        .order_by(RotaShift.id)
    )
    return [
        {
            "weekday": s.weekday,
            "starts": s.starts.isoformat("minutes"),
            "ends": s.ends.isoformat("minutes"),
            "timezone": s.timezone,
            "as": "primary" if s.primary_id == user.id else "backup",
        }
        for s in rows
    ]


async def _erase_rota(session: AsyncSession, user: User) -> None:
    """Their shifts as primary go; where they were the backup, the shift stays without one."""
    await session.execute(delete(RotaShift).where(RotaShift.primary_id == user.id))
    await session.execute(
        update(RotaShift).where(RotaShift.backup_id == user.id).values(backup_id=None)
    )


async def _export_group_places(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.execute(
        select(GroupMember, ProgramGroup.kind)
        .join(ProgramGroup, ProgramGroup.id == GroupMember.group_id)
        .where(GroupMember.user_id == user.id)
        .order_by(GroupMember.joined_at)
    )
    return [
        {
            "group": place.group_id,
            "kind": kind,
            "as": place.role,
            "since": place.joined_at.isoformat(),
        }
        for place, kind in rows
    ]


async def _export_group_checkins(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(GroupCheckin).where(GroupCheckin.user_id == user.id).order_by(GroupCheckin.week)
    )
    return [
        {
            "group": row.group_id,
            "week": row.week.isoformat(),
            "energy": row.energy,
            "pain": row.pain,
        }
        for row in rows
    ]


async def _export_rsvps(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.execute(
        select(EventRsvp, GroupEvent)
        .join(GroupEvent, GroupEvent.id == EventRsvp.event_id)
        .where(EventRsvp.user_id == user.id)
        .order_by(GroupEvent.starts_at)
    )
    return [
        {
            "event": event.title,
            "starts": event.starts_at.isoformat(),
            "answer": rsvp.status,
            "since": rsvp.created_at.isoformat(),
        }
        for rsvp, event in rows
    ]


async def _export_events_created(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(GroupEvent).where(GroupEvent.created_by == user.id).order_by(GroupEvent.starts_at)
    )
    return [
        {
            "title": event.title,
            "starts": event.starts_at.isoformat(),
            "place": event.place,
            "cancelled": event.cancelled_at.isoformat() if event.cancelled_at else None,
        }
        for event in rows
    ]


async def _forget_event_creator(session: AsyncSession, user: User) -> None:
    """An event they planned stays the group's (others are coming); their name on it goes."""
    await session.execute(
        update(GroupEvent).where(GroupEvent.created_by == user.id).values(created_by=None)
    )


async def _forget_registrar(session: AsyncSession, user: User) -> None:
    """A group they registered stays the program's; their name on it goes."""
    await session.execute(
        update(ProgramGroup).where(ProgramGroup.registered_by == user.id).values(registered_by=None)
    )


def _deleting(model: Any, *columns: Any) -> Eraser:
    """An eraser that deletes the rows of ``model`` whose ``columns`` name the person."""

    async def erase(session: AsyncSession, user: User) -> None:
        await session.execute(delete(model).where(or_(*(c == user.id for c in columns))))

    return erase


# --- conversations: FSM state, the inbox ---------------------------------------------------


def _their_fsm_keys(user: User) -> Any:
    # aiogram's keys read "fsm:<chat>:[<thread>:]<user>:<destiny>"; a person is their own
    # private chat and the user part of any group conversation.
    return FsmRecord.key.like(f"%:{user.telegram_id}:%")


async def _export_fsm(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.execute(
        select(FsmRecord.state, FsmRecord.data).where(_their_fsm_keys(user))
    )
    return [{"step": row.state, "answers so far": json.loads(row.data or "{}")} for row in rows]


async def _erase_fsm(session: AsyncSession, user: User) -> None:
    await session.execute(delete(FsmRecord).where(_their_fsm_keys(user)))


async def _erase_inbox(session: AsyncSession, user: User) -> None:
    """Their updates not yet handled (seconds' worth at most): each carries their words."""
    # Read as stored and decrypted here, one row at a time: a row no key opens names
    # nobody we can tell, and must not stop the erasure.
    rows = await session.execute(
        select(InboxUpdate.update_id, cast(InboxUpdate.payload, Text).label("sealed"))
    )
    theirs = []
    for row in rows:
        try:
            sender = _sender_of(cipher().decrypt(row.sealed))
        except ValueError:
            continue
        if sender == user.telegram_id:
            theirs.append(row.update_id)
    if theirs:
        await session.execute(delete(InboxUpdate).where(InboxUpdate.update_id.in_(theirs)))


def _sender_of(payload: str) -> int | None:
    update = json.loads(payload)
    for value in update.values():
        if isinstance(value, dict) and isinstance(value.get("from"), dict):
            return value["from"].get("id")
    return None


# --- alerts: a case outlives the person until it is resolved --------------------------------


async def _their_alerts(session: AsyncSession, user: User) -> list[Alert]:
    rows = await session.scalars(select(Alert).where(Alert.user_id == user.id).order_by(Alert.id))
    return list(rows)


async def _export_alerts(session: AsyncSession, user: User) -> list[dict[str, object]]:
    found = []
    for alert in await _their_alerts(session, user):
        hits = await alert_store.hits_of(session, alert.id)
        found.append(
            {
                "number": alert.id,
                "opened": alert.opened_at.isoformat(),
                "raised_by": alert.raised_by,
                "category": alert.category,
                "status": alert.status,
                "outcome": alert.outcome,
                # Their own words only: a mentor's reason is a supervision record.
                "your_words": [
                    {"at": hit.at.isoformat(), "text": hit.sentence}
                    for hit in hits
                    if alert_store.quotes_the_person(hit)
                ],
            }
        )
    return found


async def _erase_alert_words(session: AsyncSession, user: User) -> None:
    """The words of their resolved cases go now; an open case keeps them until resolved."""
    for alert in await _their_alerts(session, user):
        if alert.status == AlertStatus.RESOLVED:
            await alert_store.forget_words(session, alert.id)


async def _export_case_messages(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """What they and a supervisor wrote to each other through the bot about their cases."""
    their_cases = [alert.id for alert in await _their_alerts(session, user)]
    rows = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.alert_id.in_(their_cases), CaseEvent.text.is_not(None))
        .order_by(CaseEvent.id)
    )
    return [
        {"alert": e.alert_id, "kind": e.kind, "at": e.at.isoformat(), "text": e.text} for e in rows
    ]


async def _erase_case_events(session: AsyncSession, user: User) -> None:
    # Their own cases' messages go with the words (_erase_alert_words: when resolved); a
    # supervisor's name on the steps they took goes now.
    await session.execute(
        update(CaseEvent).where(CaseEvent.actor_id == user.id).values(actor_id=None)
    )


async def _export_case_conversations(session: AsyncSession, user: User) -> list[dict]:
    rows = await session.scalars(
        select(CaseConversation)
        .where(
            or_(CaseConversation.person_id == user.id, CaseConversation.supervisor_id == user.id)
        )
        .order_by(CaseConversation.id)
    )
    return [
        {
            "alert": c.alert_id,
            "as": "person" if c.person_id == user.id else "supervisor",
            "opened": c.opened_at.isoformat(),
            "closed": c.closed_at.isoformat() if c.closed_at else None,
        }
        for c in rows
    ]


async def _erase_case_conversations(session: AsyncSession, user: User) -> None:
    await session.execute(
        delete(CaseConversation).where(
            or_(CaseConversation.person_id == user.id, CaseConversation.supervisor_id == user.id)
        )
    )
    await session.execute(
        update(CaseConversation).where(CaseConversation.closed_by == user.id).values(closed_by=None)
    )


async def _erase_alerts(session: AsyncSession, user: User) -> None:
    # The case stays, under the pseudonym it opened with, unlinked from the person.
    await session.execute(
        update(Alert)
        .where(Alert.user_id == user.id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    # A supervisor's own name on the cases they handled.
    for column in (Alert.acknowledged_by, Alert.resolved_by):
        await session.execute(
            update(Alert).where(column == user.telegram_id).values({column: None})
        )


async def _erase_labelled(session: AsyncSession, user: User) -> None:
    # Their resolved cases' examples went with the words (_erase_alert_words); what is left
    # of theirs is a supervisor's name on a verdict.
    await session.execute(
        update(LabelledExample)
        .where(LabelledExample.created_by == user.telegram_id)
        .values(created_by=None)
    )


async def _export_audit(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.actor == user.telegram_id).order_by(AuditEvent.id)
    )
    return [{"action": e.action, "alert": e.alert_id, "at": e.at.isoformat()} for e in rows]


async def _erase_audit(session: AsyncSession, user: User) -> None:
    # The step stays in the alert's trail; who took it does not.
    await session.execute(
        update(AuditEvent).where(AuditEvent.actor == user.telegram_id).values(actor=None)
    )


# --- the mentorship: matches, relays, the outbox that carried them -------------------------


async def _their_matches(session: AsyncSession, user: User) -> list[int]:
    statement = select(Match.id).where((Match.mentee_id == user.id) | (Match.mentor_id == user.id))
    return list(await session.scalars(statement))


async def _their_relays(session: AsyncSession, user: User) -> list[int]:
    matches = await _their_matches(session, user)
    if not matches:
        return []
    return list(await session.scalars(select(Relay.id).where(Relay.match_id.in_(matches))))


async def _export_matches(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """Their matches on either side: dates, status and their own answers. The other person
    appears by pseudonym only, and an end reason only when they gave it themselves."""
    statement = (
        select(Match, User.pseudonym)
        .join(
            User,
            User.id == case((Match.mentee_id == user.id, Match.mentor_id), else_=Match.mentee_id),
        )
        .where((Match.mentee_id == user.id) | (Match.mentor_id == user.id))
        .order_by(Match.started_at, Match.id)
    )
    found = []
    for match, other in (await session.execute(statement)).all():
        as_mentee = match.mentee_id == user.id
        found.append(
            {
                "as": "mentee" if as_mentee else "mentor",
                "with": other,
                "status": match.status,
                "started": match.started_at.isoformat(),
                "ended": match.ended_at.isoformat() if match.ended_at else None,
                "how_it_felt": match.mentee_feeling if as_mentee else match.mentor_feeling,
                "end_reason": match.end_reason if match.ended_by == user.id else None,
            }
        )
    return found


async def _erase_matches(session: AsyncSession, user: User) -> None:
    await session.execute(
        delete(Match).where((Match.mentee_id == user.id) | (Match.mentor_id == user.id))
    )
    await session.execute(
        update(Match).where(Match.confirmed_by == user.telegram_id).values(confirmed_by=None)
    )


async def _export_relays(session: AsyncSession, user: User) -> list[dict[str, object]]:
    relays = await _their_relays(session, user)
    if not relays:
        return []
    rows = await session.scalars(select(Relay).where(Relay.id.in_(relays)).order_by(Relay.id))
    return [
        {
            "opened": r.opened_at.isoformat(),
            "closed": r.closed_at.isoformat() if r.closed_at else None,
        }
        for r in rows
    ]


async def _erase_relays(session: AsyncSession, user: User) -> None:
    relays = await _their_relays(session, user)
    if relays:
        await session.execute(delete(Relay).where(Relay.id.in_(relays)))


async def _keyed_rows(session: AsyncSession, user: User) -> list[Any]:
    """Conditions for the outbox rows that carry this person's conversations and matches."""
    patterns = [p.format(id=user.id) for p in PERSON_KEYS]
    for relay in await _their_relays(session, user):
        patterns += [p.format(id=relay) for p in RELAY_KEYS]
    for match in await _their_matches(session, user):
        patterns += [p.format(id=match) for p in MATCH_KEYS]
    mentored = await session.scalars(select(ReviewItem.id).where(ReviewItem.mentor_id == user.id))
    for item in mentored:
        patterns += [p.format(id=item) for p in REVIEW_KEYS]
    return [OutboxMessage.key.like(p) for p in patterns]


async def _export_relayed(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """Messages carried between them and their mentor or mentee: theirs, and those to them."""
    relays = await _their_relays(session, user)
    if not relays:
        return []
    keyed = or_(*(OutboxMessage.key.like(f"relay:{r}:%") for r in relays))
    rows = await session.execute(
        select(
            OutboxMessage.key,
            OutboxMessage.chat_id,
            OutboxMessage.payload,
            OutboxMessage.created_at,
        )
        .where(keyed)
        .order_by(OutboxMessage.id)
    )
    found = []
    for row in rows:
        params = json.loads(row.payload).get("params", {})
        said = params.get("text") or params.get("caption")
        if said and row.key.count(":") == 3:  # relay:<relay>:<sender>:<message>: a message
            found.append(
                {
                    "at": row.created_at.isoformat(),
                    "direction": "to you" if row.chat_id == user.telegram_id else "from you",
                    "text": said,
                }
            )
    return found


async def _erase_outbox(session: AsyncSession, user: User) -> None:
    """Rows to them, and rows that carry their conversations or matches to others. Their
    alerts' rows are the alerts' own (kept while a case is open, scrubbed once resolved)."""
    addressed = [OutboxMessage.chat_id == user.telegram_id]
    await session.execute(
        delete(OutboxMessage).where(or_(*addressed, *await _keyed_rows(session, user)))
    )


# --- graduation ------------------------------------------------------------------------------


async def _export_graduations(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """Their own graduations whole (milestones, booster answers); as a mentor, the dates."""
    rows = await session.scalars(
        select(Graduation)
        .where((Graduation.mentee_id == user.id) | (Graduation.mentor_id == user.id))
        .order_by(Graduation.id)
    )
    found: list[dict[str, object]] = []
    for g in rows:
        entry: dict[str, object] = {
            "as": "mentee" if g.mentee_id == user.id else "mentor",
            "status": g.status,
            "proposed": g.proposed_at.isoformat(),
            "graduated": g.graduated_at.isoformat() if g.graduated_at else None,
        }
        if g.mentee_id == user.id:
            entry |= {
                "milestones": json.loads(g.milestones) if g.milestones else [],
                "reminders": g.reminders,
                "mentor_training_interest": g.mentor_interest_at.isoformat()
                if g.mentor_interest_at
                else None,
                "refresher_asked": g.refresher_at.isoformat() if g.refresher_at else None,
                "check_ins": g.boosters or {},
            }
        found.append(entry)
    return found


async def _erase_graduations(session: AsyncSession, user: User) -> None:
    """Theirs go; where they were the mentor (or the one who proposed or confirmed it), the
    graduate's record stays without them."""
    await session.execute(delete(Graduation).where(Graduation.mentee_id == user.id))
    for column in (Graduation.mentor_id, Graduation.proposed_by, Graduation.confirmed_by):
        await session.execute(update(Graduation).where(column == user.id).values({column: None}))


# --- supervision records: session notes, review items, schedules ---------------------------


async def _export_notes(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """Session notes they wrote (as a mentor). Notes about them are supervision records."""
    statement = (
        select(SessionNote, User.pseudonym)
        .outerjoin(User, User.id == SessionNote.mentee_id)
        .where(SessionNote.mentor_id == user.id)
        .order_by(SessionNote.session_date, SessionNote.id)
    )
    return [
        {
            "date": note.session_date.isoformat(),
            "minutes": note.minutes,
            "mentee": mentee,
            "topics": note.topics,
            "progress": note.progress,
            "concern": note.concern,
            "concern_text": note.concern_text,
        }
        for note, mentee in (await session.execute(statement)).all()
    ]


async def _erase_notes(session: AsyncSession, user: User) -> None:
    # Notes about a mentee keep their date and minutes (the hours report) and lose the text.
    await session.execute(
        update(SessionNote)
        .where(SessionNote.mentee_id == user.id)
        .values(mentee_id=None, progress=None, concern_text=None)
    )
    await session.execute(delete(SessionNote).where(SessionNote.mentor_id == user.id))


async def _export_flags(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """Review items about their mentoring or about them: what was flagged and when. The
    flagged words when they were between the two of them; a supervisor's comment is not."""
    rows = await session.scalars(
        select(ReviewItem)
        .where((ReviewItem.mentor_id == user.id) | (ReviewItem.mentee_id == user.id))
        .order_by(ReviewItem.id)
    )
    return [
        {
            "kind": item.kind,
            "at": item.created_at.isoformat(),
            "about": "your mentoring" if item.mentor_id == user.id else "you",
            "message": item.detail,
            "reviewed": item.reviewed_at is not None,
        }
        for item in rows
    ]


async def _erase_flags(session: AsyncSession, user: User) -> None:
    # A flag about their mentor's conduct stays for the supervisors, without the words.
    await session.execute(
        update(ReviewItem)
        .where(ReviewItem.mentee_id == user.id)
        .values(mentee_id=None, detail=None, comment=None)
    )
    await session.execute(delete(ReviewItem).where(ReviewItem.mentor_id == user.id))
    await session.execute(
        update(ReviewItem)
        .where(ReviewItem.reviewed_by == user.telegram_id)
        .values(reviewed_by=None)
    )


async def _export_schedules(session: AsyncSession, user: User) -> list[dict[str, object]]:
    rows = await session.scalars(
        select(Schedule).where(
            Schedule.kind.in_(PERSONAL_SCHEDULES), Schedule.subject_id == user.id
        )
    )
    return [{"kind": s.kind, "next": s.due_at.isoformat() if s.due_at else None} for s in rows]


async def _erase_schedules(session: AsyncSession, user: User) -> None:
    # Schedules name their subject without a foreign key: a person, or one of their matches.
    subjects = [
        (PERSONAL_SCHEDULES, [user.id]),
        (MATCH_SCHEDULES, await _their_matches(session, user)),
    ]
    for kinds, ids in subjects:
        if ids:
            await session.execute(
                delete(Schedule).where(Schedule.kind.in_(kinds), Schedule.subject_id.in_(ids))
            )


async def _nothing(session: AsyncSession, user: User) -> None:
    """Rows that go with others' (see the entry's ``holds``)."""


# --- the registry ---------------------------------------------------------------------------

REGISTRY: tuple[Holding, ...] = (
    Holding(
        "outbox",
        "messages to them; relayed messages, match and flag notices about them",
        _erase_outbox,
        _export_relayed,
    ),
    Holding(
        "schedules",
        "their reminders, nudges, digests and match check-ins",
        _erase_schedules,
        _export_schedules,
    ),
    Holding("fsm_states", "their conversation's step and answers so far", _erase_fsm, _export_fsm),
    Holding("inbox", "their updates until handled (seconds): nothing to read later", _erase_inbox),
    Holding(
        "alert_hits",
        "the words that raised their alerts (exported with the alerts)",
        _erase_alert_words,
    ),
    Holding(
        "case_events",
        "what they and a supervisor wrote each other about their case (go with the words)",
        _erase_case_events,
        _export_case_messages,
    ),
    Holding(
        "case_conversations",
        "a supervisor's conversations with them through the bot, on either side",
        _erase_case_conversations,
        _export_case_conversations,
    ),
    Holding(
        "labelled_examples",
        "copies of their resolved alerts' words (go with the words); a supervisor's verdicts",
        _erase_labelled,
    ),
    Holding(
        "alerts",
        "their crisis cases; a supervisor's name on cases handled",
        _erase_alerts,
        _export_alerts,
    ),
    Holding("audit_events", "the steps a supervisor took", _erase_audit, _export_audit),
    Holding(
        "review_items", "flags about their mentoring or about them", _erase_flags, _export_flags
    ),
    Holding("session_notes", "notes they wrote; notes about them", _erase_notes, _export_notes),
    Holding("relays", "their conversations through the bot", _erase_relays, _export_relays),
    Holding(
        "graduations",
        "their graduation: milestones, check-in answers; a mentor's name on a mentee's",
        _erase_graduations,
        _export_graduations,
    ),
    Holding("matches", "their matches on either side", _erase_matches, _export_matches),
    Holding(
        "profiles", "their intake answers", _deleting(Profile, Profile.user_id), _export_profile
    ),
    Holding(
        "crisis_plan_sections",
        "their crisis plan",
        _deleting(CrisisPlanSection, CrisisPlanSection.user_id),
        _export_plan,
    ),
    Holding(
        "measure_scores",
        "their weekly questionnaires' answers and scores",
        _deleting(MeasureScore, MeasureScore.user_id),
        _export_measures,
    ),
    Holding("daily_logs", "their daily logs", _deleting(DailyLog, DailyLog.user_id), _export_logs),
    Holding(
        "consents", "each consent they gave", _deleting(Consent, Consent.user_id), _export_consents
    ),
    Holding(
        "oncall_shifts",
        "a supervisor's shifts",
        _deleting(OnCallShift, OnCallShift.user_id),
        _export_shifts,
    ),
    Holding(
        "group_members",
        "the program groups they are in, as member or facilitator",
        _deleting(GroupMember, GroupMember.user_id),
        _export_group_places,
    ),
    Holding(
        "group_checkins",
        "their answers to their groups' weekly check-ins",
        _deleting(GroupCheckin, GroupCheckin.user_id),
        _export_group_checkins,
    ),
    Holding(
        "event_rsvps",
        "their answers to group events (coming, waiting list)",
        _deleting(EventRsvp, EventRsvp.user_id),
        _export_rsvps,
    ),
    Holding(
        "group_events",
        "events they planned for a group (their name on it)",
        _forget_event_creator,
        _export_events_created,
    ),
    Holding("program_groups", "groups they registered (their name on it)", _forget_registrar),
    Holding("rota_shifts", "a supervisor's place in the on-call rota", _erase_rota, _export_rota),
    Holding(
        "users", "who they are: id, pseudonym, name, language, zone", _erase_user, _export_user
    ),
)

NOT_PERSONAL: dict[str, str] = {
    "invites": "codes and roles; the person's link to one goes with their users row",
    "system_status": "the bot's health facts and the poller's offset",
    "alembic_version": "the schema's version",
    "group_posts": "which of the bot's own messages sit in a group (ids only, no text)",
}

# How export names each table's share (a person reads these names in their file).
EXPORT_NAMES = {
    "users": "profile",
    "crisis_plan_sections": "crisis_plan",
    "profiles": "intake_profile",
    "outbox": "relayed_messages",
    "review_items": "flags",
    "fsm_states": "conversation_in_progress",
    "audit_events": "steps_you_took_on_alerts",
    "oncall_shifts": "on_call_shifts",
    "rota_shifts": "on_call_rota",
    "group_members": "groups",
    "group_checkins": "group_check_ins",
    "event_rsvps": "event_answers",
    "group_events": "events_you_planned",
    "case_events": "messages_with_a_supervisor",
    "case_conversations": "conversations_with_a_supervisor",
    "measure_scores": "weekly_questions",
}


async def export(session: AsyncSession, user: User) -> dict[str, object]:
    """Everything we hold about a person, readable, for them to keep."""
    found: dict[str, object] = {}
    for holding in REGISTRY:
        if holding.export is not None:
            found[EXPORT_NAMES.get(holding.table, holding.table)] = await holding.export(
                session, user
            )
    return found


async def erase(session: AsyncSession, user: User) -> None:
    """Delete the person: every table's share of them, in the registry's order."""
    for holding in REGISTRY:
        await holding.erase(session, user)
