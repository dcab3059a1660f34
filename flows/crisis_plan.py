"""A personal crisis plan, in the sections of the Stanley–Brown Safety Planning Intervention.

A person writes it on a calmer day, part by part, in any order, and can skip any
part. Each part is free text kept encrypted (storage.crisis_plans). The plan is
shown whole, with the crisis lines for the person's language, whenever they ask
for it, whatever else they were doing.

This module holds the sections, their order and their words, the length limit, who may
keep a plan, the crisis lines that come with it (the "professionals and services" part is
pre-filled with them), and the writing of the plan declared as a questionnaire (``PLAN``,
asked by the engine in handlers/questionnaire.py; handlers/plan_writing.py adds the plan's
own rules). No Telegram types.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.core import get_global

from flows import questionnaire as q
from flows.crisis_lines import CrisisLines, crisis_lines, international
from flows.questionnaire import Kind
from flows.screening import Hit, screen
from flows.states import CrisisPlanning
from flows.steps import InvalidAnswer
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


TITLES = {
    Section.WARNING_SIGNS: __("Warning signs"),
    Section.COPING_ALONE: __("Things I can do on my own to cope"),
    Section.DISTRACTIONS: __("People and places that take my mind off things"),
    Section.PEOPLE_TO_ASK: __("People I can ask for help"),
    Section.PROFESSIONALS: __("Professionals and services"),
    Section.SAFER_SURROUNDINGS: __("Making my surroundings safer"),
    Section.REASONS: __("What matters most to me"),
}

PROMPTS = {
    Section.WARNING_SIGNS: __(
        "What tells you that a hard time may be starting? Thoughts, feelings, situations, "
        "changes in your body or your pain. For example: not sleeping, pulling away from "
        "people, a flare that won't settle."
    ),
    Section.COPING_ALONE: __(
        "What helps you through a hard moment on your own, even a little? For example: a warm "
        "shower, a heat pad, slow breathing, a favourite song, lying down in a quiet room."
    ),
    Section.DISTRACTIONS: __(
        "Who or where helps you think about something else for a while? For example: a friend "
        "to chat with about anything, a café, a bench in the park, an online group."
    ),
    Section.PEOPLE_TO_ASK: __(
        "Who can you reach out to when things get hard? Write each person's name and how to "
        "reach them. For example: Maria, 0151 2345678, or a message on WhatsApp."
    ),
    Section.PROFESSIONALS: __(
        "Which professionals and services can you contact? For example: your GP, your "
        "therapist or pain clinic, with their numbers and when they can be reached."
    ),
    Section.SAFER_SURROUNDINGS: __(
        "What could make where you are safer when things are hard? For example: asking "
        "someone to look after your medicines for a while, putting some things away, going "
        "somewhere you're not alone."
    ),
    Section.REASONS: __(
        "What matters most to you, and keeps you going? People, pets, plans, small things you "
        "look forward to."
    ),
}

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


def parse_section(value: str | None) -> Section | None:
    """A section id from a button (a hint: anything unknown is None)."""
    try:
        return Section(value) if value else None
    except ValueError:
        return None


def number(section: Section) -> int:
    return ORDER.index(section) + 1


def first_unfilled(filled: set[str] | frozenset[str]) -> Section | None:
    return next((section for section in ORDER if section not in filled), None)


def may_keep_a_plan(user: User | None) -> bool:
    """Mentees and mentors who have agreed to how their data is kept (onboarding may still
    be under way: the plan needs consent, not a check-in time)."""
    return user is not None and user.role in PLANNERS and user.consent_version is not None


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


# --- writing the plan, declared as a questionnaire -----------------------------------------
# One step a part, each free text up to TEXT_LIMIT. A draft either changes one part
# (``ONLY`` in its answers names it) or walks through the parts that were empty when it
# began (``EMPTY``), where each may be skipped. Each part is stored as soon as it is sent
# (handlers/plan_writing.py), so stopping half way keeps what was written.

ONLY = "only"  # the answers' key naming the one part being changed
EMPTY = "empty"  # the answers' key listing the parts a walk asks


def changing(section: Section) -> dict[str, Any]:
    """The answers a draft starts with that changes one part."""
    return {ONLY: section.value}


def walking(filled: set[str] | frozenset[str]) -> dict[str, Any]:
    """The answers a draft starts with that walks through the empty parts."""
    return {EMPTY: [s.value for s in ORDER if s not in filled]}


def is_walk(answers: Mapping[str, Any]) -> bool:
    return not answers.get(ONLY)


def _asked(section: Section) -> Callable[[Mapping[str, Any], Any], bool]:
    def when(answers: Mapping[str, Any], context: Any) -> bool:
        only = answers.get(ONLY)
        return only == section.value if only else section.value in answers.get(EMPTY, ())

    return when


def _may_skip(answers: Mapping[str, Any], context: Any) -> bool:
    return is_walk(answers)  # changing one part, Cancel leaves it as it was


def _words(text: str, context: Any) -> str:
    """A part's text (already stripped and within its limit): nothing but spaces is none."""
    if not text:
        raise InvalidAnswer(text)
    return text


def _prompt(section: Section) -> Callable[[Any], str]:
    def asks(context: Any) -> str:
        text = str(PROMPTS[section])
        if section in PREFILLED:
            text += "\n\n" + _(
                "The crisis lines for where you live are already part of your plan; /crisis "
                "always shows them."
            )
        return text

    return asks


PLAN = q.Questionnaire(
    name="crisis_plan",
    state=CrisisPlanning.writing,
    steps=tuple(
        q.Step(
            section.value,
            Kind.TEXT,
            _prompt(section),
            limit=TEXT_LIMIT,
            parse=_words,
            when=_asked(section),
            skip=_may_skip,
            skip_label=__("Skip this part ▸"),
            hint=__("I didn't find any words in that. Send the text, or tap Cancel."),
            too_long=__(
                "That is {length} characters long; each part of your plan can hold up to "
                "{limit}. I've kept what you wrote: send a shorter version, or keep the first "
                "{limit} characters."
            ),
        )
        for section in ORDER
    ),
)
