"""A personal crisis plan, in the sections of the Stanley–Brown Safety Planning Intervention.

A person writes it on a calmer day, part by part, in any order, and can skip any
part. Each part is free text kept encrypted (storage.crisis_plans). The plan is
shown whole, with the crisis lines for the person's language, whenever they ask
for it, whatever else they were doing.

This module holds the sections, their order, the length limit, who may keep a
plan, and the crisis lines that come with it (the "professionals and services"
part is pre-filled with them). No Telegram types; the wording lives in
handlers/crisis.py.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from functools import cache

from babel.core import get_global

from flows.crisis_lines import CrisisLines, crisis_lines, international
from flows.screening import Hit, screen
from flows.steps import TooLong
from storage import schedules
from storage.models import Role, User

TEXT_LIMIT = 1000  # characters per section: a few lines someone can read in a hard moment

PLANNERS = frozenset({Role.MENTEE, Role.MENTOR})


class Section(enum.StrEnum):
    # The values are stored (crisis_plan_sections.section, at most 32 characters).
    WARNING_SIGNS = "warning_signs"
    COPING_ALONE = "coping_alone"
    DISTRACTIONS = "distractions"
    PEOPLE_TO_ASK = "people_to_ask"
    PROFESSIONALS = "professionals"
    SAFER_SURROUNDINGS = "safer_surroundings"
    REASONS = "reasons"


ORDER = tuple(Section)

# Parts that come pre-filled: the crisis lines for where the person lives are always
# shown with them (and always up to date: they are read from locales/, not copied).
PREFILLED = frozenset({Section.PROFESSIONALS})


# Warning signs are meant to hold the words screening looks for. When a part of the plan
# does, the person is asked whether it is how they feel now before anyone is alerted; if
# no answer comes within this time (or they leave the question with /cancel), the alert
# is raised anyway. Waiting costs a calm person one "No"; not alerting could cost someone
# in crisis, with no energy left to tap, the help they needed. A false alarm costs a
# supervisor a minute.
FEELING_CHECK = dt.timedelta(minutes=10)
FEELING_CHECK_KIND = schedules.PLAN_CHECK  # the row that raises the alert if no answer comes


@dataclass
class FlaggedWords:
    """Crisis language in a part of the plan being written (found by the screening
    middleware). The plan's step ``take``s it to ask the person first; words nobody took
    are alerted on as usual, so nothing is lost if the step could not ask."""

    hits: list[Hit]
    taken: bool = field(default=False)

    def take(self) -> list[Hit]:
        self.taken = True
        return self.hits


def words_to_check(text: str, language: str) -> list[Hit]:
    """What screening finds in a saved part of the plan (read again when the person says it
    is how they feel now, or does not answer): the alert quotes what the plan says."""
    return screen(text, language)


def feeling_check_due(now: dt.datetime) -> dt.datetime:
    return now + FEELING_CHECK


class EmptyText(Exception):
    """Nothing but spaces was sent."""


@dataclass(frozen=True)
class Draft:
    """What a person is writing: the section, and whether they are walking through the plan
    (after this part comes the next one) or changing one part."""

    section: Section
    walk: bool = False


def parse_section(value: str | None) -> Section | None:
    """A section id from a button (a hint: anything unknown is None)."""
    try:
        return Section(value) if value else None
    except ValueError:
        return None


def number(section: Section) -> int:
    return ORDER.index(section) + 1


def next_section(section: Section) -> Section | None:
    index = ORDER.index(section)
    return ORDER[index + 1] if index + 1 < len(ORDER) else None


def first_unfilled(filled: set[str] | frozenset[str]) -> Section | None:
    return next((section for section in ORDER if section not in filled), None)


def take_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """The text to store for a section; raises EmptyText or TooLong (nothing is cut)."""
    text = text.strip()
    if not text:
        raise EmptyText()
    if len(text) > limit:
        raise TooLong(len(text), limit)
    return text


def shortened(text: str, limit: int = TEXT_LIMIT) -> str:
    """The first ``limit`` characters, when the person chooses to keep them."""
    return text.strip()[:limit].rstrip()


def may_keep_a_plan(user: User | None) -> bool:
    """Mentees and mentors who have agreed to how their data is kept (onboarding may still
    be under way: the plan needs consent, not a check-in time)."""
    return user is not None and user.role in PLANNERS and user.consent_version is not None


def next_unfilled(section: Section, filled: set[str] | frozenset[str]) -> Section | None:
    """The next part after ``section`` that is still empty (for walking through the plan)."""
    later = ORDER[ORDER.index(section) + 1 :]
    return next((s for s in later if s not in filled), None)


@dataclass(frozen=True)
class WhereToCall:
    lines: CrisisLines  # emergency number and crisis lines, for the person's country if known
    elsewhere: CrisisLines | None  # directories that work anywhere, when the place is a guess


def where_to_call(language: str, zone: str | None, language_tag: str | None = None) -> WhereToCall:
    """The crisis lines to show: the country of the person's time zone (else the region of
    their app's language, e.g. "es-MX"), in their language. When the country is unknown or
    not in the data, the language's default country is shown, with international help too.
    """
    country = country_of_zone(zone) or _region(language_tag)
    lines = crisis_lines(language, country)
    sure = country is not None and not lines.fallback and lines.country == country
    return WhereToCall(lines, None if sure else international(lines.language))


@cache
def country_of_zone(zone: str | None) -> str | None:
    """'Europe/London' → 'GB' (CLDR's zone territories, through Babel); None when unknown."""
    if not zone:
        return None
    territory = get_global("zone_territories").get(zone)
    return territory if territory and territory != "001" else None


def _region(language_tag: str | None) -> str | None:
    parts = (language_tag or "").replace("_", "-").split("-")
    region = parts[1].upper() if len(parts) > 1 else ""
    return region if len(region) == 2 and region.isalpha() else None
