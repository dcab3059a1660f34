"""Queries on people: who they are, their role, language, time zone and consent."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from time import monotonic

from sqlalchemy import case, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import schedules
from storage.models import (
    Consent,
    CrisisPlanSection,
    DailyLog,
    Match,
    Profile,
    Role,
    SessionNote,
    User,
    utcnow,
)

# Schedules whose subject is a person (users.id); erasing them goes with the person.
PERSONAL_SCHEDULES = ("checkin", "silence", "digest")


async def get_by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    return (
        await session.execute(select(User).where(User.telegram_id == telegram_id))
    ).scalar_one_or_none()


async def create(
    session: AsyncSession,
    *,
    telegram_id: int,
    locale: str,
    pseudonym: str,
    role: Role = Role.MENTEE,
    invite_id: int | None = None,
) -> User:
    user = User(
        telegram_id=telegram_id,
        locale=locale,
        pseudonym=pseudonym,
        role=role,
        invite_id=invite_id,
    )
    session.add(user)
    await session.flush()
    return user


def record_consent(session: AsyncSession, user: User, version: int) -> None:
    now = utcnow()
    user.consent_version = version
    user.consent_at = now
    session.add(Consent(user_id=user.id, version=version, locale=user.locale, given_at=now))


def finish_onboarding(user: User, timezone: str, checkin_time: dt.time) -> None:
    user.timezone = timezone
    user.checkin_time = checkin_time
    if user.onboarded_at is None:
        user.onboarded_at = utcnow()


async def refresh_role(session: AsyncSession, user: User) -> str:
    """The person's role as stored now. The running bot remembers people for a while
    (KnownUsers); a role given or taken on the command line must count at once wherever
    alerts are concerned, so those places read it again. The remembered person is updated."""
    await session.refresh(user, attribute_names=["role"])
    return user.role


async def list_with_roles(session: AsyncSession, roles: list[Role]) -> list[User]:
    statement = select(User).where(User.role.in_(roles)).order_by(User.role, User.telegram_id)
    return list((await session.execute(statement)).scalars())


async def export(session: AsyncSession, user: User) -> dict[str, object]:
    """Everything we hold about a person, readable, for them to keep."""

    consents = (
        await session.execute(
            select(Consent).where(Consent.user_id == user.id).order_by(Consent.given_at)
        )
    ).scalars()
    logs = (
        await session.execute(
            select(DailyLog).where(DailyLog.user_id == user.id).order_by(DailyLog.local_date)
        )
    ).scalars()
    return {
        "profile": {
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
        },
        "crisis_plan": {
            section.section: section.text
            for section in (
                await session.execute(
                    select(CrisisPlanSection).where(CrisisPlanSection.user_id == user.id)
                )
            ).scalars()
        },
        "consents": [{"version": c.version, "given_at": c.given_at.isoformat()} for c in consents],
        "daily_logs": [
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
            for log in logs
        ],
        "intake_profile": _profile_export(await session.get(Profile, user.id)),
        "matches": await _matches_export(session, user),
        "session_notes": await _notes_export(session, user),
    }


def _profile_export(profile: Profile | None) -> dict[str, object] | None:
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


async def _matches_export(session: AsyncSession, user: User) -> list[dict[str, object]]:
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


async def _notes_export(session: AsyncSession, user: User) -> list[dict[str, object]]:
    """Session notes they wrote (as a mentor). Notes about them and review items are
    supervision records, not theirs to read."""
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


async def erase(session: AsyncSession, user: User) -> None:
    """Delete the person. Their logs, consents, profile, matches (and the relays in them),
    the notes they wrote and review items about their mentoring go with them (ON DELETE
    CASCADE); notes and items about them as a mentee lose the link (SET NULL). Schedules
    name people without a foreign key, so theirs are removed here."""
    for kind in PERSONAL_SCHEDULES:
        await schedules.forget(session, kind, [user.id])
    await session.delete(user)


class KnownUsers:
    """People seen recently, kept between updates so that most updates need no read.

    An entry is re-read after ``ttl`` seconds, which bounds how long a change made
    elsewhere (a role given on the command line) takes to be seen. Entries are
    re-attached to each update's session, so handlers change them as usual.
    """

    def __init__(self, ttl: float = 30.0, size: int = 20_000) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[int, tuple[User, float]] = OrderedDict()

    async def get(self, session: AsyncSession, telegram_id: int) -> User | None:
        entry = self._entries.get(telegram_id)
        if entry is not None and monotonic() - entry[1] < self._ttl:
            self._entries.move_to_end(telegram_id)  # the active stay; the quiet are dropped first
            session.add(entry[0])
            return entry[0]
        user = await get_by_telegram_id(session, telegram_id)
        if user is not None:
            self._entries[telegram_id] = (user, monotonic())
            self._trim()
        return user

    def settle(self, user: User | None) -> None:
        """After a commit: keep the person, or drop them if they were deleted."""
        if user is not None and inspect(user).was_deleted:
            self.forget(user.telegram_id)

    def forget(self, telegram_id: int) -> None:
        """After a failed update: the in-memory person may hold changes that were rolled back."""
        self._entries.pop(telegram_id, None)

    def _trim(self) -> None:
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
