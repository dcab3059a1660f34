"""Onboarding: who a newcomer becomes, consent, and the daily check-in time."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import invites, users
from storage.models import Role, User

# Raise this when the consent text changes in a way people must agree to again.
CONSENT_VERSION = 1

CHECKIN_CHOICES = (dt.time(8), dt.time(10), dt.time(12), dt.time(18), dt.time(20), dt.time(21))
DEFAULT_CHECKIN = dt.time(20)

_PSEUDONYM_WORDS = (
    "Alder", "Aspen", "Birch", "Cedar", "Clover", "Coral", "Fern", "Finch", "Heron", "Iris",
    "Juniper", "Lark", "Linden", "Maple", "Moss", "Otter", "Pebble", "Robin", "Rowan", "Sage",
    "Sparrow", "Thistle", "Willow", "Wren",
)  # fmt: skip

_TIME = re.compile(r"^\s*(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h)?\s*$", re.I)


class InviteProblem(Exception):
    """The invite cannot be used: unknown, used up or expired."""


class InviteOnly(Exception):
    """The program takes people by invitation only and none was given."""


@dataclass(frozen=True)
class Arrival:
    user: User
    is_new: bool
    role_changed: bool


def needs_consent(user: User) -> bool:
    return user.consent_version is None or user.consent_version < CONSENT_VERSION


def new_pseudonym() -> str:
    """A friendly, non-identifying name for alerts and reports."""
    return f"{secrets.choice(_PSEUDONYM_WORDS)}-{secrets.randbelow(900) + 100}"


async def arrive(
    session: AsyncSession,
    *,
    telegram_id: int,
    locale: str,
    invite_code: str | None,
    invite_only: bool,
) -> Arrival:
    """Find or create the person for /start, applying the role of a valid invite.

    Raises InviteProblem or InviteOnly before anything is stored.
    """
    user = await users.get_by_telegram_id(session, telegram_id)
    invite = await invites.find_usable(session, invite_code) if invite_code else None
    if invite_code and invite is None:
        raise InviteProblem(invite_code)
    if user is None and invite is None and invite_only:
        raise InviteOnly()
    if invite is not None and (user is None or invite.role != user.role):
        # Only an invite that changes something spends one of its uses.
        if not await invites.use(session, invite):
            raise InviteProblem(invite_code)
    else:
        invite = None
    if user is None:
        user = await users.create(
            session,
            telegram_id=telegram_id,
            locale=locale,
            pseudonym=new_pseudonym(),
            role=Role(invite.role) if invite else Role.MENTEE,
            invite_id=invite.id if invite else None,
        )
        return Arrival(user, is_new=True, role_changed=False)
    if invite is not None:
        user.role = invite.role
        user.invite_id = invite.id
        return Arrival(user, is_new=False, role_changed=True)
    return Arrival(user, is_new=False, role_changed=False)


def parse_checkin_time(text: str) -> dt.time | None:
    """'8', '08:30', '8.30', '8pm', '20h' → a time of day; None when it is not one."""
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower().replace(".", "")
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def record_consent(session: AsyncSession, user: User) -> None:
    users.record_consent(session, user, CONSENT_VERSION)


def finish(user: User, zone: str, checkin_time: dt.time) -> None:
    users.finish_onboarding(user, zone, checkin_time)
