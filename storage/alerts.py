"""Queries on crisis alerts, their hits, the audit trail, and the labelled examples."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import (
    Alert,
    AlertHit,
    AlertStatus,
    AuditEvent,
    CaseEvent,
    LabelledExample,
    OutboxMessage,
    utcnow,
)

# Hits that carry the person's own words (not a tap, not their mentor's reason).
WORD_DETECTORS = frozenset({"lexicon", "model"})
# Every outbox row about one alert carries one of these keys (handlers/alerts.py).
ALERT_KEYS = ("alert:{id}:%", "alertnote:{id}:%", "alertedit:{id}:%", "alerttopic:{id}")
FORGOTTEN = json.dumps({"forgotten": True})  # a sent row's payload once its words must go


def quotes_the_person(hit: AlertHit) -> bool:
    return hit.detector in WORD_DETECTORS


async def any_open_case(session: AsyncSession, user_id: int) -> Alert | None:
    """The person's latest unresolved case, however old (their reminders pause meanwhile)."""
    statement = (
        select(Alert)
        .where(Alert.user_id == user_id, Alert.status != AlertStatus.RESOLVED)
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def with_open_cases(session: AsyncSession, user_ids: list[int]) -> set[int]:
    """Which of these people have an unresolved case (a tick asks for thousands at once)."""
    if not user_ids:
        return set()
    statement = select(Alert.user_id).where(
        Alert.user_id.in_(user_ids), Alert.status != AlertStatus.RESOLVED
    )
    return set((await session.execute(statement.distinct())).scalars())


async def open_case_of(session: AsyncSession, user_id: int, since: dt.datetime) -> Alert | None:
    """The person's unresolved case with a hit after ``since``: new hits join it."""
    statement = (
        select(Alert)
        .where(
            Alert.user_id == user_id,
            Alert.status != AlertStatus.RESOLVED,
            Alert.last_hit_at >= since,
        )
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get(session: AsyncSession, alert_id: int) -> Alert | None:
    return await session.get(Alert, alert_id)


async def case_of_update(session: AsyncSession, update_id: int) -> Alert | None:
    """The case an update's hits were recorded in, if that update was handled before."""
    statement = (
        select(Alert)
        .join(AlertHit, AlertHit.alert_id == Alert.id)
        .where(AlertHit.update_id == update_id)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def hits_of(session: AsyncSession, alert_id: int) -> list[AlertHit]:
    statement = select(AlertHit).where(AlertHit.alert_id == alert_id).order_by(AlertHit.id)
    return list((await session.execute(statement)).scalars())


async def unresolved(session: AsyncSession) -> list[Alert]:
    statement = select(Alert).where(Alert.status != AlertStatus.RESOLVED).order_by(Alert.id)
    return list((await session.execute(statement)).scalars())


async def due_for_escalation(session: AsyncSession, now: dt.datetime) -> list[Alert]:
    statement = (
        select(Alert)
        .where(Alert.status == AlertStatus.OPEN, Alert.escalate_at <= now)
        .order_by(Alert.id)
    )
    return list((await session.execute(statement)).scalars())


async def claim_escalation(
    session: AsyncSession, alert: Alert, next_at: dt.datetime | None
) -> bool:
    """Move the alert one escalation level up, unless another process just did."""
    result = await session.execute(
        update(Alert)
        .where(
            Alert.id == alert.id,
            Alert.status == AlertStatus.OPEN,
            Alert.escalation_level == alert.escalation_level,
        )
        .values(escalation_level=alert.escalation_level + 1, escalate_at=next_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def audit(
    session: AsyncSession,
    action: str,
    *,
    alert_id: int | None = None,
    actor: int | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEvent(alert_id=alert_id, actor=actor, action=action, detail=detail, at=utcnow())
    )


async def audit_trail(session: AsyncSession, alert_id: int) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.alert_id == alert_id).order_by(AuditEvent.id)
    return list((await session.execute(statement)).scalars())


async def copies_of(session: AsyncSession, alert_id: int) -> list[tuple[int, int]]:
    """(chat id, message id) of every alert message we sent for this case."""
    statement = select(OutboxMessage.chat_id, OutboxMessage.message_id).where(
        OutboxMessage.key.like(f"alert:{alert_id}:%"),
        OutboxMessage.status == outbox.SENT,
        OutboxMessage.message_id.is_not(None),
    )
    return [(row.chat_id, row.message_id) for row in await session.execute(statement)]


async def cases_in_copy(session: AsyncSession, chat_id: int, message_id: int) -> list[int]:
    """The alerts one message of ours carries: one, or several when the outbox combined
    alerts that waited together for that chat (bot/combining.py), in their order."""
    statement = (
        select(OutboxMessage.key)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.message_id == message_id,
            OutboxMessage.status == outbox.SENT,
            OutboxMessage.key.like("alert:%"),
        )
        .order_by(OutboxMessage.id)
    )
    keys = (await session.scalars(statement)).all()
    return list(dict.fromkeys(int(key.split(":")[1]) for key in keys))


async def reached_a_supervisor(session: AsyncSession, alert_id: int) -> bool:
    """Whether any copy of the alert (not an admin's) was delivered: the channel's, a page,
    a direct copy."""
    sent = await session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.key.like(f"alert:{alert_id}:%"),
            OutboxMessage.key.not_like(f"alert:{alert_id}:nobody:admin:%"),
            OutboxMessage.status == outbox.SENT,
        )
        .limit(1)
    )
    return sent is not None


async def forget_words(session: AsyncSession, alert_id: int) -> None:
    """Drop every copy of the words of a resolved case whose person erased their data: its
    hits, the examples labelled from them, the messages of its conversation with a
    supervisor, and what the outbox holds. Rows not sent yet go
    (a resolved case pages nobody, and the resolution queues its own edits after this);
    sent rows keep their ids without their words, so the supervisors' copies can still be
    edited and a press on them checked."""
    await session.execute(delete(AlertHit).where(AlertHit.alert_id == alert_id))
    await session.execute(delete(LabelledExample).where(LabelledExample.alert_id == alert_id))
    await session.execute(delete(CaseEvent).where(CaseEvent.alert_id == alert_id))
    about_it = or_(*(OutboxMessage.key.like(key.format(id=alert_id)) for key in ALERT_KEYS))
    await session.execute(
        delete(OutboxMessage)
        .where(about_it, OutboxMessage.status == "pending")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(about_it)
        .values(payload=FORGOTTEN)
        .execution_options(synchronize_session=False)
    )


def label(
    session: AsyncSession,
    *,
    language: str,
    verdict: str,
    text: str,
    rule: str | None,
    category: str | None,
    alert_id: int | None,
    by: int | None,
) -> None:
    session.add(
        LabelledExample(
            language=language,
            label=verdict,
            text=text,
            rule=rule,
            category=category,
            alert_id=alert_id,
            created_by=by,
        )
    )


async def labelled(session: AsyncSession, language: str | None = None) -> list[LabelledExample]:
    statement = select(LabelledExample).order_by(LabelledExample.language, LabelledExample.id)
    if language:
        statement = statement.where(LabelledExample.language == language)
    return list((await session.execute(statement)).scalars())
