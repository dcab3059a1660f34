"""Helpers for the crisis-alert tests: settings with a supervisor channel, the program's
people straight in the database, and what the outbox, the alerts and the audit trail hold.

The outbox is where an alert leaves the update that raised it: these tests read it back,
and simulate its delivery (``deliver``) by recording the Telegram message id the delivery
worker would have stored, then build that delivered message so a supervisor can press its
buttons through the real dispatcher.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.types import Chat as TelegramChat
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows.onboarding import CONSENT_VERSION
from storage import crisis_plans, oncall, outbox, users
from storage.models import (
    Alert,
    AlertHit,
    AuditEvent,
    LabelledExample,
    OnCallShift,
    OutboxMessage,
    Role,
    utcnow,
)
from tests.fakes import BOT_USER

SUPERVISOR_CHAT = -1001
ONLY_SUPERVISORS = "Only supervisors can use these buttons."
MOVED_ON = "Someone has already acted on this alert."
BUTTONS = [
    "Acknowledge",
    "✉️ Write to them through me",
    "I'm contacting them",
    "Resolve…",
    "📋 Case",
]

_ids = itertools.count(7_000)


def alert_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "supervisor_chat_id": SUPERVISOR_CHAT,
        "escalation_ack_minutes": 5,
    }
    values.update(overrides)
    return Settings(_env_file=None, data_dir=tmp_path, database_url=database_url, **values)


# --- people ------------------------------------------------------------------------------


async def member(
    sessionmaker: async_sessionmaker[AsyncSession],
    telegram_id: int,
    *,
    role: Role = Role.MENTEE,
    locale: str = "en",
    zone: str = "Europe/London",
    pseudonym: str | None = None,
    display_name: str | None = None,
    onboarded: bool = True,
) -> int:
    """A person of the program (onboarded, consent given unless ``onboarded=False``);
    returns their users.id."""
    async with sessionmaker() as session:
        user = await users.create(
            session,
            telegram_id=telegram_id,
            locale=locale,
            pseudonym=pseudonym or f"Willow-{telegram_id}",
            role=role,
        )
        user.display_name = display_name
        if onboarded:
            users.record_consent(session, user, CONSENT_VERSION)
            users.finish_onboarding(user, zone, dt.time(20))
        await session.commit()
        return user.id


async def on_call(
    sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int, kind: str = oncall.PRIMARY
) -> None:
    async with sessionmaker() as session:
        person = await users.get_by_telegram_id(session, telegram_id)
        assert person is not None
        await oncall.take(session, person, kind)
        await session.commit()


async def set_role(
    sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int, role: Role
) -> None:
    async with sessionmaker() as session:
        person = await users.get_by_telegram_id(session, telegram_id)
        assert person is not None
        person.role = role
        await session.commit()


async def write_plan(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: int, **parts: str
) -> None:
    async with sessionmaker() as session:
        for section, words in parts.items():
            await crisis_plans.save(session, user_id, section, words)
        await session.commit()


async def shifts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    """(telegram id, kind) of every open shift."""
    async with sessionmaker() as session:
        primary, backups = await oncall.on_call(session)
        found = [(primary.telegram_id, oncall.PRIMARY)] if primary else []
        return found + [(b.telegram_id, oncall.BACKUP) for b in backups]


async def open_shift_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        rows = await session.execute(select(OnCallShift).where(OnCallShift.ended_at.is_(None)))
        return len(rows.all())


# --- the outbox ----------------------------------------------------------------------------


@dataclass
class OutRow:
    id: int
    key: str
    chat_id: int
    method: str
    params: dict[str, Any]
    status: str
    message_id: int | None
    on_undeliverable: str | None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def labels(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def datas(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [
            b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row
        ]


async def outbox_rows(
    sessionmaker: async_sessionmaker[AsyncSession], prefix: str = ""
) -> list[OutRow]:
    """Every outbox row (whose key starts with ``prefix``), in the order written."""
    async with sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        found = []
        for row in rows:
            if not row.key.startswith(prefix):
                continue
            payload = json.loads(row.payload)
            found.append(
                OutRow(
                    id=row.id,
                    key=row.key,
                    chat_id=row.chat_id,
                    method=payload["method"],
                    params=payload["params"],
                    status=row.status,
                    message_id=row.message_id,
                    on_undeliverable=payload.get("on_undeliverable"),
                )
            )
        return found


def alert_messages(rows: list[OutRow], chat_id: int | None = None) -> list[OutRow]:
    """New alert messages (with buttons), to ``chat_id`` if given."""
    return [
        r
        for r in rows
        if r.method == "sendMessage"
        and r.key.startswith("alert:")
        and (chat_id is None or r.chat_id == chat_id)
    ]


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], row: OutRow, message_id: int | None = None
) -> Message:
    """Mark the row sent as the delivery worker would, and return the message as delivered."""
    message_id = message_id or next(_ids)
    async with sessionmaker() as session:
        await outbox.mark_sent(session, row.id, message_id=message_id)
        await session.commit()
    return shown_message(row.chat_id, message_id, row.text, row.params.get("reply_markup"))


async def deliver_all(
    sessionmaker: async_sessionmaker[AsyncSession], prefix: str = "alert:"
) -> dict[str, Message]:
    """Deliver every pending row whose key starts with ``prefix``; their messages by key."""
    return {
        row.key: await deliver(sessionmaker, row)
        for row in await outbox_rows(sessionmaker, prefix)
        if row.status == outbox.PENDING
    }


def shown_message(
    chat_id: int, message_id: int, text: str, markup: dict[str, Any] | None
) -> Message:
    return Message(
        message_id=message_id,
        date=dt.datetime.now(dt.UTC),
        chat=TelegramChat(
            id=chat_id,
            type="supergroup" if chat_id < 0 else "private",
            title="Supervisors" if chat_id < 0 else None,
        ),
        from_user=BOT_USER,
        text=text,
        reply_markup=InlineKeyboardMarkup.model_validate(markup) if markup else None,
    )


# --- alerts, hits, audit, labels --------------------------------------------------------


async def alert_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Alert]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Alert).order_by(Alert.id))).scalars())


async def the_alert(sessionmaker: async_sessionmaker[AsyncSession], alert_id: int) -> Alert:
    async with sessionmaker() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        return alert


async def hit_rows(sessionmaker: async_sessionmaker[AsyncSession], alert_id: int) -> list[AlertHit]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(AlertHit).where(AlertHit.alert_id == alert_id).order_by(AlertHit.id)
        )
        return list(rows.scalars())


async def audit_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[tuple[str, int | None, int | None, str | None]]:
    """(action, alert id, actor, detail) of every audit event, in order."""
    async with sessionmaker() as session:
        rows = await session.execute(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.alert_id, e.actor, e.detail) for e in rows.scalars()]


async def labelled_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str, str, str | None, int | None, int | None]]:
    """(language, label, text, rule, alert id, by) of every labelled example."""
    async with sessionmaker() as session:
        rows = await session.execute(select(LabelledExample).order_by(LabelledExample.id))
        return [
            (e.language, e.label, e.text, e.rule, e.alert_id, e.created_by) for e in rows.scalars()
        ]


async def make_overdue(sessionmaker: async_sessionmaker[AsyncSession], alert_id: int) -> None:
    """Move time: the alert's acknowledgement is overdue now."""
    async with sessionmaker() as session:
        await session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values(escalate_at=utcnow() - dt.timedelta(seconds=1))
        )
        await session.commit()


async def age_case(
    sessionmaker: async_sessionmaker[AsyncSession], alert_id: int, minutes: float
) -> None:
    """Move time: the case's last hit was ``minutes`` ago."""
    async with sessionmaker() as session:
        await session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values(last_hit_at=utcnow() - dt.timedelta(minutes=minutes))
        )
        await session.commit()


def unstaffed_hours(now: dt.datetime | None = None) -> str:
    """A one-minute staffed window twelve hours away from now (UTC): outside it, surely."""
    at = (now or utcnow()) + dt.timedelta(hours=12)
    end = at + dt.timedelta(minutes=1)
    return f"{at:%H:%M}-{end:%H:%M}"
