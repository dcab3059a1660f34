"""Onboarding: who a newcomer becomes, consent, and the daily check-in time."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import invites, users
from storage.models import Invite, Role, User

# Raise this when the consent text changes in a way people must agree to again.
CONSENT_VERSION = 1

CHECKIN_CHOICES = (dt.time(8), dt.time(10), dt.time(12), dt.time(18), dt.time(20), dt.time(21))
DEFAULT_CHECKIN = dt.time(20)

_PSEUDONYM_WORDS = (
    "Alder", "Aspen", "Birch", "Cedar", "Clover", "Coral", "Fern", "Finch", "Heron", "Iris",
    "Juniper", "Lark", "Linden", "Maple", "Moss", "Otter", "Pebble", "Robin", "Rowan", "Sage",
    "Sparrow", "Thistle", "Willow", "Wren",
)  # fmt: skip

# "8", "08:30", "8.30", "20h", "8pm", "8 p. m." (es), "20 Uhr" (de)
_TIME = re.compile(
    r"^\s*(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(a\.?\s?m\.?|p\.?\s?m\.?|h|uhr)?\s*$", re.I
)


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
    """Find or create the person for /start, noting the invite they came with.

    Raises InviteProblem or InviteOnly before anything is stored. Someone who has not
    consented yet only holds the invite (``invite_id``): its role is given, and one use
    spent, at consent (``record_consent``), so a person who opens a supervisor link and
    never agrees never sees an alert. Someone who already consented gets it at once.
    """
    user = await users.get_by_telegram_id(session, telegram_id)
    invite = await invites.find(session, invite_code) if invite_code else None
    if user is not None and invite is not None and not _raises_role(invite.role, user.role):
        invite = None  # their own link again, or one that would not give them more: welcome back
    elif invite_code and (invite is None or not invites.is_usable(invite)):
        raise InviteProblem(invite_code)
    if user is None and invite is None and invite_only:
        raise InviteOnly()
    if user is None:
        user = await users.create(
            session,
            telegram_id=telegram_id,
            locale=locale,
            pseudonym=new_pseudonym(),
            invite_id=invite.id if invite else None,
        )
        return Arrival(user, is_new=True, role_changed=False)
    if invite is None:
        return Arrival(user, is_new=False, role_changed=False)
    if user.consent_version is None:
        user.invite_id = invite.id  # held until they agree
        return Arrival(user, is_new=False, role_changed=False)
    if not await invites.use(session, invite):
        raise InviteProblem(invite_code)
    user.role, user.invite_id = invite.role, invite.id
    return Arrival(user, is_new=False, role_changed=True)


async def joining_as(session: AsyncSession, user: User) -> Role:
    """The role someone is joining as: before consent, the one their invite offers (it is
    given only at consent), so a mentor reads a mentor's introduction and consent."""
    if user.consent_version is None and user.invite_id is not None:
        invite = await session.get(Invite, user.invite_id)
        if invite is not None:
            return Role(invite.role)
    return Role(user.role)


def _raises_role(offered: str, current: str) -> bool:
    """An invite can give a person more to do, never less (an admin opening a mentee link)."""
    order = [Role.MENTEE, Role.MENTOR, Role.SUPERVISOR, Role.ADMIN]
    return order.index(Role(offered)) > order.index(Role(current))


def parse_checkin_time(text: str) -> dt.time | None:
    """'8', '08:30', '8.30', '8pm', '20h' → a time of day; None when it is not one."""
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower().replace(".", "").replace(" ", "")
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


async def record_consent(session: AsyncSession, user: User) -> bool:
    """Store the consent. A newcomer's invite is spent now and its role given, if it is still
    valid now: False when it expired or was used up meanwhile (they stay, as a mentee)."""
    granted = True
    if user.consent_version is None and user.invite_id is not None:
        role = await invites.spend(session, user.invite_id)
        granted = role is not None
        user.role = Role(role) if role is not None else Role.MENTEE
        user.invite_id = user.invite_id if granted else None
    users.record_consent(session, user, CONSENT_VERSION)
    return granted


def finish(user: User, zone: str, checkin_time: dt.time) -> None:
    users.finish_onboarding(user, zone, checkin_time)
