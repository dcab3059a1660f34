"""The rules of program groups, without Telegram types: who may set one up or act in it,
when its weekly check-in is due, what its anonymous summary may say, who has gone quiet,
and the deep links that move anything personal to a private chat.

The summary's rule is the privacy promise of a group check-in: with fewer than
``MIN_ANSWERS`` answers there is no summary at all, because "1 of 5 checked in; energy
low" names a person to anyone who knows who answered."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from storage.models import Role, User

MIN_ANSWERS = 3  # never a summary of fewer answers than this
SUMMARY_AFTER = dt.timedelta(hours=24)  # the invitation stays open this long
QUIET_WEEKS = 2  # "who has not checked in" looks this far back

SETTERS_UP = frozenset({Role.MENTOR, Role.ADMIN})  # may run /group setup
ENERGY = ("low", "some", "good")
PAIN = ("worse", "same", "better")
MIXED = "mixed"

# Deep-link payloads (t.me/<bot>?start=<payload>): letters, digits, _ and -, 64 at most.
CHECKIN_LINK, JOIN_LINK, HELP_LINK = "gc", "gj", "sos"


@dataclass(frozen=True)
class Summary:
    answered: int
    members: int
    energy: str  # the most common answer, or MIXED when two lead together
    pain: str | None  # the same; None when nobody answered it


def may_set_up(user: User | None) -> bool:
    return user is not None and user.is_onboarded and user.role in SETTERS_UP


def may_facilitate(user: User | None, role_in_group: str | None) -> bool:
    """A group's facilitators use its tools; so do the program's admins."""
    if user is None or not user.is_onboarded:
        return False
    return role_in_group == "facilitator" or user.role == Role.ADMIN


def is_program_member(user: User | None) -> bool:
    """Only people who have joined the program (onboarded, consent given) are registered to
    a group; anyone else is told how to join."""
    return user is not None and user.is_onboarded and user.consent_version is not None


def mostly(values: Iterable[str | None]) -> str | None:
    counts = Counter(value for value in values if value)
    if not counts:
        return None
    (first, top), *rest = counts.most_common()
    if rest and rest[0][1] == top:
        return MIXED
    return first


def summary(energies: list[str], pains: list[str | None], members: int) -> Summary | None:
    """The group's anonymous summary of a week, or None under ``MIN_ANSWERS`` answers."""
    if len(energies) < MIN_ANSWERS:
        return None
    return Summary(
        len(energies), max(members, len(energies)), mostly(energies) or MIXED, mostly(pains)
    )


def next_checkin(weekday: int, at: dt.time, zone: str, now: dt.datetime) -> dt.datetime:
    """The next invitation after ``now`` (UTC), at the group's local day and time."""
    tz = zoneinfo.ZoneInfo(zone)
    local_now = now.astimezone(tz)
    days = (weekday - local_now.weekday()) % 7
    candidate = dt.datetime.combine(local_now.date() + dt.timedelta(days=days), at, tz)
    if candidate <= local_now:
        candidate = dt.datetime.combine(candidate.date() + dt.timedelta(days=7), at, tz)
    # A time skipped by a DST change resolves forward through UTC, as reminders do.
    return candidate.astimezone(dt.UTC)


def week_of(moment: dt.datetime, zone: str) -> dt.date:
    """The check-in's week, named by the group's local date of its invitation."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).date()


def quiet_since(today: dt.date) -> dt.date:
    return today - dt.timedelta(weeks=QUIET_WEEKS)


def quiet_members(
    joined: dict[int, dt.datetime], answered: set[int], today: dt.date, zone: str
) -> list[int]:
    """Members (users.id, by when they joined) with no check-in for ``QUIET_WEEKS``; someone
    who joined since then has not had two weeks to go quiet in."""
    cutoff = quiet_since(today)
    return [
        person
        for person, since in joined.items()
        if person not in answered and week_of(since, zone) <= cutoff
    ]


def checkin_link(group_id: int, week: dt.date) -> str:
    return f"{CHECKIN_LINK}{group_id}_{week:%Y%m%d}"


def join_link(group_id: int) -> str:
    return f"{JOIN_LINK}{group_id}"


@dataclass(frozen=True)
class Link:
    kind: str  # CHECKIN_LINK | JOIN_LINK | HELP_LINK
    group_id: int | None = None
    week: dt.date | None = None


def read_link(payload: str | None) -> Link | None:
    """A group deep link's payload, or None (then it is an invite code, or nothing)."""
    if not payload:
        return None
    payload = payload.strip()
    if payload == HELP_LINK:
        return Link(HELP_LINK)
    if payload.startswith(JOIN_LINK) and payload[2:].isdecimal():
        return Link(JOIN_LINK, int(payload[2:]))
    if payload.startswith(CHECKIN_LINK):
        group, _, week = payload[2:].partition("_")
        if group.isdecimal() and len(week) == 8 and week.isdecimal():
            try:
                return Link(CHECKIN_LINK, int(group), dt.datetime.strptime(week, "%Y%m%d").date())
            except ValueError:
                return None
    return None
