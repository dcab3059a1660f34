"""The tables. Times are UTC; free text is encrypted at rest (EncryptedText)."""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.crypto import cipher

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: store times in UTC")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


_log = logging.getLogger(__name__)


class EncryptedText(TypeDecorator[str]):
    """Text that is encrypted with the configured key before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return cipher().encrypt(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        """A value no configured key opens reads as None, loudly: the safety path (the
        person's row, their conversation, their plan) must still work for them, and
        ``peerbot run`` refuses to start when the newest stored text is unreadable."""
        if value is None:
            return None
        try:
            return cipher().decrypt(value)
        except ValueError:
            _log.error("UNREADABLE: a stored value opens with none of the configured keys")
            return None


class Role(enum.StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Ids never repeat, even after the newest row is deleted (a person erasing their data):
# ids name alerts in supervisors' chats and make up the outbox's idempotency keys, so a
# reused id would collide with what was sent for the deleted row. SQLite reuses the
# highest rowid unless a table is AUTOINCREMENT; PostgreSQL's sequences never go back.
NEVER_REUSED = {"sqlite_autoincrement": True}


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MENTEE)
    locale: Mapped[str] = mapped_column(String(8))
    pseudonym: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[str | None] = mapped_column(EncryptedText)
    timezone: Mapped[str | None] = mapped_column(String(64))
    checkin_time: Mapped[dt.time | None] = mapped_column(Time)
    consent_version: Mapped[int | None] = mapped_column(SmallInteger)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    onboarded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def is_onboarded(self) -> bool:
        return self.onboarded_at is not None

    @property
    def known_as(self) -> str:
        """How others in the program call the person: their first name, else their pseudonym."""
        return self.display_name or self.pseudonym


class Consent(Base):
    """Each consent given, with the version of the text that was agreed to."""

    __tablename__ = "consents"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(SmallInteger)
    locale: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Invite(Base):
    __tablename__ = "invites"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    uses_left: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class DailyLog(Base):
    """One symptom and pacing log per person per local date."""

    __tablename__ = "daily_logs"
    __table_args__ = (UniqueConstraint("user_id", "local_date"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    symptom_intensity: Mapped[int] = mapped_column(SmallInteger)
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    energy: Mapped[int] = mapped_column(SmallInteger)
    activity: Mapped[str | None] = mapped_column(String(16))  # None: a three-tap log
    rest_breaks: Mapped[int | None] = mapped_column(SmallInteger)
    sleep_quality: Mapped[int | None] = mapped_column(SmallInteger)
    sleep_hours: Mapped[float | None] = mapped_column(Float)
    mood: Mapped[int] = mapped_column(SmallInteger)
    interference: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class FsmRecord(Base):
    """Conversation state of one chat, so a restart continues every conversation."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[str | None] = mapped_column(EncryptedText)  # JSON, encrypted: it holds answers
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class CrisisPlanSection(Base):
    """One section of a person's safety plan (Stanley–Brown), encrypted."""

    __tablename__ = "crisis_plan_sections"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(EncryptedText)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CONTACTING = "contacting"
    RESOLVED = "resolved"


class Alert(Base):
    """A crisis case: one person's hits within a short window, until a supervisor resolves it."""

    __tablename__ = "alerts"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None once the person has erased their data: the case stays until it is resolved.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The person's pseudonym when the case opened: what supervisors call them, after too.
    pseudonym: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN, index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_hit_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Escalation: 0 = sent to the channel and the on-call; 1 = re-sent with backups; 2 = everyone.
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    escalate_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    channel_message_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    # "words" (screening), "tap" (the person's "I need to talk to someone now") or "mentor"
    raised_by: Mapped[str] = mapped_column(String(8), default="words", server_default="words")
    # Who said "I'm contacting them" or opened a conversation with the person (Telegram id):
    # every copy names them, so two supervisors never call the same person unawares.
    contacting_by: Mapped[int | None] = mapped_column(BigInteger)


class AlertHit(Base):
    """A sentence that matched, with the rule that matched it (no other history).

    A tap or a mentor's concern is a hit without the person's words: ``detector`` says which
    ("tap", "mentor"), and a mentor's typed reason is its ``sentence``."""

    __tablename__ = "alert_hits"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    sentence: Mapped[str] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    detector: Mapped[str] = mapped_column(String(16), default="lexicon", server_default="lexicon")
    # The detector's reason, for the supervisor: may quote the person's words, so encrypted.
    why: Mapped[str | None] = mapped_column(EncryptedText)
    # Where the words were said (flows.reach.WHERE): mid-log, in their crisis plan, in a
    # conversation with their mentor… None for a tap, a mentor's concern, or older hits.
    said_in: Mapped[str | None] = mapped_column(String(16))
    # The Telegram update the hit came from: an update handled again after a crash finds
    # its hits already here, and pages nobody a second time.
    update_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class CaseConversation(Base):
    """A supervisor writing to the person of an alert through the bot, until either ends it.

    A person has at most one open at a time (a partial unique index): while it is open,
    their plain messages go to that supervisor rather than to their mentor."""

    __tablename__ = "case_conversations"
    __table_args__ = (
        Index(
            "uq_case_conversations_open_person",
            "person_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    supervisor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[int | None] = mapped_column(Integer)  # users.id


class CaseEvent(Base):
    """A case's history beyond its hits: the conversation opened and ended, and every
    message between the supervisor and the person (kept encrypted)."""

    __tablename__ = "case_events"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # flows.reach: OPENED, TO_PERSON, …
    actor_id: Mapped[int | None] = mapped_column(Integer)  # users.id; None for the bot
    text: Mapped[str | None] = mapped_column(EncryptedText)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEvent(Base):
    """Every step of an alert's life and every refused press, for review."""

    __tablename__ = "audit_events"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id; None for the bot itself
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class LabelledExample(Base):
    """A supervisor's verdict on screening: a false alarm, or a message that should have alerted."""

    __tablename__ = "labelled_examples"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    label: Mapped[str] = mapped_column(String(16))  # "false_alarm" | "missed" | "confirmed"
    text: Mapped[str] = mapped_column(EncryptedText)
    rule: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(32))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class OnCallShift(Base):
    """Who is on call: one primary at a time, any number of backups; ended shifts stay for audit."""

    __tablename__ = "oncall_shifts"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "primary" | "backup"
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RotaShift(Base):
    """One weekly shift of the on-call rota (``peerbot oncall rota set``): on ``weekday``
    (0 Monday) from ``starts`` to ``ends`` in ``timezone`` (an end at or before the start is
    the next day's), the primary and an optional backup. The bot hands over at its edges."""

    __tablename__ = "rota_shifts"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[int] = mapped_column(Integer)  # its line in the file it was read from
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts: Mapped[dt.time] = mapped_column(Time)
    ends: Mapped[dt.time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    primary_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    backup_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class OutboxMessage(Base):
    """A message that must arrive later or to someone else, written with what caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # idempotency key
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(EncryptedText)  # JSON: Bot API method and its params
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
    priority: Mapped[int] = mapped_column(SmallInteger, default=1)  # 0 first: crisis alerts
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # What Telegram answered (the sent message's id).
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class InboxUpdate(Base):
    """An update received from Telegram, kept until it has been handled."""

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(EncryptedText)  # the update's JSON: it carries their words
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)


class SystemStatus(Base):
    """Health facts that `peerbot status` and /status show (e.g. the channel is unreachable)."""

    __tablename__ = "system_status"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Profile(Base):
    """What a mentee or mentor told the intake: what matching reads, what a mentee shares.

    Every list holds ids (translated when shown); an item skipped stays empty or None."""

    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)  # patterns they live with
    frequency: Mapped[str | None] = mapped_column(String(16))  # how often they like to talk
    style: Mapped[str | None] = mapped_column(String(16))  # short texts or longer talks
    times: Mapped[list[str]] = mapped_column(JSON, default=list)  # times of day that suit them
    support: Mapped[str | None] = mapped_column(String(16))  # wanted (mentee) or offered (mentor)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferences: Mapped[str | None] = mapped_column(EncryptedText)  # optional, in their words
    capacity: Mapped[int | None] = mapped_column(SmallInteger)  # mentors: mentees at a time
    shares: Mapped[list[str]] = mapped_column(JSON, default=list)  # mentees: what the mentor sees
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MatchStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Match(Base):
    """A mentor and a mentee, from the confirmed suggestion until either side ends it."""

    __tablename__ = "matches"
    __table_args__ = (
        # A mentee has at most one mentor at a time.
        Index(
            "uq_matches_active_mentee",
            "mentee_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=MatchStatus.ACTIVE)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id; None: CLI
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[int | None] = mapped_column(Integer)  # users.id of the side who asked
    end_reason: Mapped[str | None] = mapped_column(EncryptedText)
    mentee_feeling: Mapped[str | None] = mapped_column(String(16))  # a week in: good|unsure|not_fit
    mentor_feeling: Mapped[str | None] = mapped_column(String(16))


class Relay(Base):
    """A conversation the bot carries between a mentor and a mentee, until either ends it."""

    __tablename__ = "relays"
    __table_args__ = (
        Index(
            "uq_relays_open_match",
            "match_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), index=True)
    opened_by: Mapped[int] = mapped_column(Integer)  # users.id
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the mentor last chose to write here: a mentor with several open conversations
    # writes to the one chosen last (a mentee has one mentor, so one conversation).
    focused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[int | None] = mapped_column(Integer)


class Schedule(Base):
    """Something due at a time — a check-in reminder, a nudge, a digest: scheduling is data.

    One row per (kind, subject); ``due_at`` None means nothing is due. A tick claims due
    rows with a conditional UPDATE and handles them in the same transaction."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "kind", "due_at"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. reminders sent today
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SessionNote(Base):
    """A mentor's note on a session with a mentee, for supervision and for the hours report."""

    __tablename__ = "session_notes"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(SmallInteger)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    progress: Mapped[str | None] = mapped_column(EncryptedText)  # progress on goals
    concern: Mapped[bool] = mapped_column(Boolean, default=False)
    concern_text: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReviewItem(Base):
    """Something a supervisor should look at: a note flagged with a concern, a boundary flag."""

    __tablename__ = "review_items"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "note" | "boundary"
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("session_notes.id", ondelete="CASCADE"))
    detail: Mapped[str | None] = mapped_column(EncryptedText)  # e.g. the message that was flagged
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id
    comment: Mapped[str | None] = mapped_column(EncryptedText)


class MeasureScore(Base):
    """A weekly validated questionnaire's score (flows/measures.py): one per person,
    measure and local date; the item answers kept so a score can be checked by hand."""

    __tablename__ = "measure_scores"
    __table_args__ = (UniqueConstraint("user_id", "measure", "local_date"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(16))  # "sss8" | "wsas" | "ucla3" | "pseq2"
    local_date: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(SmallInteger)
    # The range the score is out of: 40 for the WSAS, 32 when its work item did not apply.
    out_of: Mapped[int] = mapped_column(SmallInteger)
    items: Mapped[list[int | None]] = mapped_column(JSON, default=list)  # per item, in order
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class GroupKind(enum.StrEnum):
    PEER = "peer"  # a peer-led group of the program
    ALUMNI = "alumni"  # graduates, who stay in touch and mentor newcomers


class ProgramGroup(Base):
    """A Telegram group registered as one of the program's groups (``/group setup``).

    ``chat_id`` follows the chat when Telegram migrates a group to a supergroup;
    ``languages`` (e.g. "en,es") are what its posts are written in, the first one first.
    ``active`` is false while the bot is out of the group or cannot post there."""

    __tablename__ = "program_groups"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=GroupKind.PEER)
    title: Mapped[str | None] = mapped_column(EncryptedText)  # a title can say who meets
    languages: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    is_forum: Mapped[bool] = mapped_column(Boolean, default=False)
    checkin_weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 Monday
    checkin_time: Mapped[dt.time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]


class GroupMember(Base):
    """A program member's place in a program group: a member or a facilitator."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("program_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")  # "member" | "facilitator"
    joined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class GroupEvent(Base):
    """A walk, a workshop or an online meet-up of a program group (``/event``).

    ``starts_at`` is UTC; the group's time zone says how the group post shows it, each
    person's own how their private messages do. ``post_message_id`` is the group post whose
    buttons take RSVPs. Cancelled events are kept (``cancelled_at``) so a late tap is told."""

    __tablename__ = "group_events"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("program_groups.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # walk | workshop | online | other
    title: Mapped[str] = mapped_column(EncryptedText)  # in the creator's words
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    place: Mapped[str] = mapped_column(EncryptedText)  # an address or a link
    access: Mapped[list[str]] = mapped_column(JSON, default=list)  # step_free, seating, ...
    access_note: Mapped[str | None] = mapped_column(EncryptedText)
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    post_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    post_message_id: Mapped[int | None] = mapped_column(Integer)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class EventRsvp(Base):
    """A person's answer to an event: going, or on the waiting list (by ``created_at``)."""

    __tablename__ = "event_rsvps"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("group_events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # going | waiting
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class GraduationStatus(enum.StrEnum):
    PROPOSED = "proposed"  # one side asked; the other side's confirmation is awaited
    GRADUATED = "graduated"
    WITHDRAWN = "withdrawn"  # "not yet": the proposal was declined or taken back


class Graduation(Base):
    """A mentee's formal mentoring marked as done: proposed by one side of the match (or
    an admin), confirmed by the other (an admin alone is enough), then what follows it —
    the milestones they chose to record (encrypted), the booster check-ins' answers, a
    refresher asked for, an interest in training as a mentor. The match itself ends as
    matches end (``flows.matching.end``); nothing of it is erased."""

    __tablename__ = "graduations"
    __table_args__ = (
        # One open proposal per match, whatever two presses race.
        Index(
            "uq_graduations_proposed_match",
            "match_id",
            unique=True,
            sqlite_where=text("status = 'proposed'"),
            postgresql_where=text("status = 'proposed'"),
        ),
        NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=GraduationStatus.PROPOSED)
    proposed_by: Mapped[int | None] = mapped_column(Integer)  # users.id
    proposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    confirmed_by: Mapped[int | None] = mapped_column(Integer)  # users.id
    graduated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    milestones: Mapped[str | None] = mapped_column(EncryptedText)  # JSON list, their words
    summary_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reminders: Mapped[str | None] = mapped_column(String(8))  # "keep" | "pause", as chosen
    mentor_interest_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    refresher_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Each booster's answers: {"1": {"feeling": "well", "wish": "none", "at": iso}, …}
    boosters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
