"""The tables. Times are UTC; free text is encrypted at rest (EncryptedText)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
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


class EncryptedText(TypeDecorator[str]):
    """Text that is encrypted with the configured key before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return cipher().encrypt(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return cipher().decrypt(value) if value is not None else None


class Role(enum.StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

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


class Consent(Base):
    """Each consent given, with the version of the text that was agreed to."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(SmallInteger)
    locale: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    uses_left: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class DailyLog(Base):
    """One symptom and pacing log per person per local date."""

    __tablename__ = "daily_logs"
    __table_args__ = (UniqueConstraint("user_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    symptom_intensity: Mapped[int] = mapped_column(SmallInteger)
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    energy: Mapped[int] = mapped_column(SmallInteger)
    activity: Mapped[str] = mapped_column(String(16))
    rest_breaks: Mapped[int] = mapped_column(SmallInteger)
    sleep_quality: Mapped[int] = mapped_column(SmallInteger)
    sleep_hours: Mapped[float] = mapped_column(Float)
    mood: Mapped[int] = mapped_column(SmallInteger)
    interference: Mapped[int] = mapped_column(SmallInteger)
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
