"""Weekly measures: four short validated questionnaires, one a week in turn, for mentees.

What each instrument is, how its manual scores it, which week asks which, and the change
since a person's first score. No Telegram, no database (handlers/measures.py renders,
storage/measures.py stores). The sources, licences and why each language is or is not
offered are in docs/measures.md.

**The items' wording is data, not a translation.** A validated questionnaire is valid only
in the words it was validated in, so its items, response options and recall period are
written here exactly as published, per language (``WORDING``), and never go through the
gettext catalogs, where a translator would be asked to write new ones. A measure is offered
in a language only when ``WORDING`` holds that language's validated text; today that is
English alone (docs/measures.md names the validated translations a program would need to
obtain for Spanish and German). The bot's own words around them (buttons, the invitation,
what a score means) are in the catalogs as usual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from aiogram.utils.i18n import lazy_gettext as __

from flows import questionnaire as q
from flows.questionnaire import Kind
from flows.states import WeeklyMeasure

SSS8, WSAS, UCLA3, PSEQ2 = "sss8", "wsas", "ucla3", "pseq2"
ROTATION = (SSS8, WSAS, UCLA3, PSEQ2)  # one a week, in this order, then again
NOT_APPLICABLE = "na"  # the WSAS work item, for someone retired or without a job by choice
PAIN = "pain"  # the intake's symptom id: the PSEQ-2 asks about confidence despite pain


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    name: str  # a key of handlers/measures.py's band names (the manual's label, localised)


@dataclass(frozen=True)
class Instrument:
    """How a measure is answered and scored (the same in every language)."""

    id: str
    short: str  # its published abbreviation, the same in every language
    items: tuple[str, ...]  # item ids, in the published order
    values: tuple[int, ...]  # the answers' values, in the order they are offered
    higher_is_better: bool
    bands: tuple[Band, ...] = ()  # published severity bands over the full sum; none: none
    needs: str | None = None  # offered only to someone who named this symptom at intake

    def score_range(self, items: int | None = None) -> tuple[int, int]:
        count = len(self.items) if items is None else items
        return min(self.values) * count, max(self.values) * count


INSTRUMENTS: dict[str, Instrument] = {
    # Gierk et al. 2014: 0–4 per item, sum 0–32; bands from the same paper.
    SSS8: Instrument(
        SSS8,
        "SSS-8",
        ("stomach", "back", "limbs", "headaches", "chest", "dizziness", "tired", "sleep"),
        (0, 1, 2, 3, 4),
        higher_is_better=False,
        bands=(
            Band(0, 3, "minimal"),
            Band(4, 7, "low"),
            Band(8, 11, "medium"),
            Band(12, 15, "high"),
            Band(16, 32, "very_high"),
        ),
    ),
    # Mundt et al. 2002: 0–8 per item, sum 0–40. Their reading of the total (below 10,
    # 10–20, above 20) is given as ranges seen in patient groups, named in handlers.
    WSAS: Instrument(
        WSAS,
        "WSAS",
        ("work", "home", "social", "private", "close"),
        tuple(range(9)),
        higher_is_better=False,
        bands=(Band(0, 9, "subclinical"), Band(10, 20, "significant"), Band(21, 40, "severe")),
    ),
    # Hughes et al. 2004: 1–3 per item, sum 3–9; the paper publishes no cut-off.
    UCLA3: Instrument(UCLA3, "UCLA-3", ("companionship", "left_out", "isolated"), (1, 2, 3), False),
    # Nicholas et al. 2015: items 5 and 9 of the PSEQ, 0–6 each, sum 0–12; no bands.
    PSEQ2: Instrument(PSEQ2, "PSEQ-2", ("work", "normal_life"), tuple(range(7)), True, needs=PAIN),
}


@dataclass(frozen=True)
class Wording:
    """An instrument's published text in one language: what the person reads."""

    title: str  # what it measures, in a few words, with its abbreviation
    instructions: str  # the published instructions, with the recall period
    items: Mapping[str, str]  # item id → the item's exact words
    answers: Mapping[int, str]  # value → the response option's exact words ("" unnamed)
    repeat_instructions: bool  # the stem heads every item (it is part of the question)
    not_applicable: str | None = None  # the WSAS work item's published opt-out


# The validated wording, per language. English only (see the module's docstring).
WORDING: dict[str, dict[str, Wording]] = {
    "en": {
        # Gierk B, Kohlmann S, Kroenke K, et al. JAMA Intern Med. 2014;174(3):399-407.
        SSS8: Wording(
            "Somatic symptoms (SSS-8)",
            "During the past 7 days, how much have you been bothered by any of the "
            "following problems?",
            {
                "stomach": "Stomach or bowel problems",
                "back": "Back pain",
                "limbs": "Pain in your arms, legs, or joints",
                "headaches": "Headaches",
                "chest": "Chest pain or shortness of breath",
                "dizziness": "Dizziness",
                "tired": "Feeling tired or having low energy",
                "sleep": "Trouble sleeping",
            },
            {0: "Not at all", 1: "A little bit", 2: "Somewhat", 3: "Quite a bit", 4: "Very much"},
            repeat_instructions=True,
        ),
        # Mundt JC, Marks IM, Shear MK, Greist JH. Br J Psychiatry. 2002;180:461-464.
        # "[problem]" is the scale's own placeholder for the problem being rated: here,
        # "symptoms" (docs/measures.md).
        WSAS: Wording(
            "Work and social life (WSAS)",
            "People's problems sometimes affect their ability to do certain day-to-day tasks "
            "in their lives. To rate your problems look at each section and determine on the "
            "scale provided how much your problem impairs your ability to carry out the "
            "activity.",
            {
                "work": "Because of my symptoms my ability to work is impaired. '0' means "
                "'not at all impaired' and '8' means very severely impaired to the point I "
                "can't work.",
                "home": "Because of my symptoms my home management (cleaning, tidying, "
                "shopping, cooking, looking after home or children, paying bills) is impaired.",
                "social": "Because of my symptoms my social leisure activities (with other "
                "people e.g. parties, bars, clubs, outings, visits, dating, home entertaining) "
                "are impaired.",
                "private": "Because of my symptoms, my private leisure activities (done alone, "
                "such as reading, gardening, collecting, sewing, walking alone) are impaired.",
                "close": "Because of my symptoms, my ability to form and maintain close "
                "relationships with others, including those I live with, is impaired.",
            },
            {
                0: "Not at all",
                1: "",
                2: "Slightly",
                3: "",
                4: "Definitely",
                5: "",
                6: "Markedly",
                7: "",
                8: "Very severely",
            },
            repeat_instructions=False,
            not_applicable="I'm retired or choose not to have a job for reasons unrelated to "
            "my problem",
        ),
        # Hughes ME, Waite LJ, Hawkley LC, Cacioppo JT. Res Aging. 2004;26(6):655-672.
        UCLA3: Wording(
            "Loneliness (UCLA 3-item)",
            "The next questions are about how you feel about different aspects of your life. "
            "For each one, tell me how often you feel that way.",
            {
                "companionship": "How often do you feel that you lack companionship?",
                "left_out": "How often do you feel left out?",
                "isolated": "How often do you feel isolated from others?",
            },
            {1: "Hardly ever", 2: "Some of the time", 3: "Often"},
            repeat_instructions=False,
        ),
        # Nicholas MK, McGuire BE, Asghari A. J Pain. 2015;16(2):153-163: items 5 and 9 of
        # the PSEQ (Nicholas MK. Eur J Pain. 2007;11(2):153-163).
        PSEQ2: Wording(
            "Confidence despite pain (PSEQ-2)",
            "Please rate how confident you are that you can do the following things at "
            "present, despite the pain.",
            {
                "work": 'I can do some form of work, despite the pain. ("work" includes '
                "housework, paid and unpaid work).",
                "normal_life": "I can live a normal lifestyle, despite the pain.",
            },
            {
                0: "Not at all confident",
                1: "",
                2: "",
                3: "",
                4: "",
                5: "",
                6: "Completely confident",
            },
            repeat_instructions=True,
        ),
    },
}


def wording(measure: str, language: str) -> Wording | None:
    return WORDING.get(language, {}).get(measure)


def offered(language: str, symptoms: Sequence[str] | None) -> tuple[str, ...]:
    """The measures this person is asked, in rotation order: those with validated wording in
    their language, and the PSEQ-2 only for someone who named pain at intake (its items
    ask about doing things "despite the pain")."""
    named = set(symptoms or ())
    return tuple(
        measure
        for measure in ROTATION
        if wording(measure, language) is not None
        and (INSTRUMENTS[measure].needs is None or INSTRUMENTS[measure].needs in named)
    )


def next_in_rotation(last: str | None, choices: Sequence[str]) -> str | None:
    """The measure after ``last`` in the rotation, among ``choices`` (None: none offered)."""
    if not choices:
        return None
    if last not in ROTATION:
        return choices[0]
    after = ROTATION.index(last)
    ordered = ROTATION[after + 1 :] + ROTATION[: after + 1]
    return next(measure for measure in ordered if measure in choices)


# --- scoring ---------------------------------------------------------------------------------


class Incomplete(ValueError):
    """An item without a valid answer: no score (the manuals score complete forms only)."""


@dataclass(frozen=True)
class Score:
    measure: str
    total: int
    items: tuple[int | None, ...]  # per item, in order; None: not applicable (WSAS work)
    low: int  # the range this total is out of
    high: int
    band: str | None  # the published band, when there is one for this range


def score(measure: str, answers: Mapping[str, Any]) -> Score:
    """Sum the items as the manual says. The WSAS work item may be "not applicable"
    (retired, or no job for other reasons): the total is then of the other four (0–32),
    and the published bands, which are of all five, are not applied."""
    instrument = INSTRUMENTS[measure]
    values: list[int | None] = []
    for item in instrument.items:
        value = answers.get(step_name(measure, item))
        if value == NOT_APPLICABLE and measure == WSAS and item == "work":
            values.append(None)
            continue
        if isinstance(value, str) and value.isdecimal():
            value = int(value)
        if not isinstance(value, int) or value not in instrument.values:
            raise Incomplete(item)
        values.append(value)
    answered = [v for v in values if v is not None]
    total = sum(answered)
    low, high = instrument.score_range(len(answered))
    full = len(answered) == len(instrument.items)
    return Score(
        measure, total, tuple(values), low, high, band_of(measure, total) if full else None
    )


def band_of(measure: str, total: int) -> str | None:
    for band in INSTRUMENTS[measure].bands:
        if band.low <= total <= band.high:
            return band.name
    return None


def step_name(measure: str, item: str) -> str:
    """The questionnaire step (and answer key) of one item."""
    return f"{measure}_{item}"


# --- change since the start -----------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A score as stored: its day, total and the range it is out of."""

    day: dt.date
    total: int
    high: int


@dataclass(frozen=True)
class Change:
    first: Stored
    latest: Stored
    difference: int  # latest minus first
    better: bool | None  # None: no change


def change_since_start(measure: str, scores: Sequence[Stored]) -> Change | None:
    """The latest score against the person's first of this measure; None with only one, or
    when the two are out of different ranges (a WSAS with and without the work item)."""
    if len(scores) < 2:
        return None
    ordered = sorted(scores, key=lambda s: s.day)
    first, latest = ordered[0], ordered[-1]
    if first.high != latest.high:
        return None
    difference = latest.total - first.total
    if difference == 0:
        return Change(first, latest, 0, None)
    up_is_better = INSTRUMENTS[measure].higher_is_better
    return Change(first, latest, difference, (difference > 0) == up_is_better)


# --- when ------------------------------------------------------------------------------------

FIRST_AFTER_DAYS = 7  # the first weekly questions a week after joining: settled in first


# --- the questionnaire -----------------------------------------------------------------------
# One declaration holds every instrument's items; the measure asked this week is in the
# draft's answers (``MEASURE``), and each item is shown only for its own measure, so the
# counter reads "1/8" for the SSS-8 and "1/3" for the UCLA 3-item. The context is the
# person's language: it picks the validated wording.


MEASURE = "measure"  # the draft's answer naming this week's measure


def _for(measure: str):  # type: ignore[no-untyped-def]
    def shown(answers: Mapping[str, Any], context: Any) -> bool:
        return answers.get(MEASURE) == measure

    return shown


def _asks(measure: str, item: str, first: bool):  # type: ignore[no-untyped-def]
    def question(language: Any) -> str:
        text = wording(measure, str(language)) or wording(measure, "en")
        assert text is not None
        parts = []
        if text.repeat_instructions or first:
            parts.append(escape(text.instructions, quote=False))
        parts.append("<b>" + escape(text.items[item], quote=False) + "</b>")
        if measure == WSAS and item == "work" and text.not_applicable:
            parts.append("<i>" + escape(text.not_applicable, quote=False) + "</i>")
        return "\n\n".join(parts)

    return question


def answer_value(text: str, context: Any = None) -> int | str:
    """A tapped answer: the item's value, or "not applicable" (the WSAS work item)."""
    return NOT_APPLICABLE if text == NOT_APPLICABLE else int(text)


def _steps() -> tuple[q.Step, ...]:
    steps = []
    for measure in ROTATION:
        instrument = INSTRUMENTS[measure]
        for number, item in enumerate(instrument.items):
            choices = tuple(str(v) for v in instrument.values)
            if measure == WSAS and item == "work":
                choices += (NOT_APPLICABLE,)
            steps.append(
                q.Step(
                    step_name(measure, item),
                    Kind.ONE,
                    _asks(measure, item, first=number == 0),
                    choices=choices,
                    parse=answer_value,
                    when=_for(measure),
                    hint=__("Please tap one of the answers."),
                )
            )
    return tuple(steps)


QUESTIONS = q.Questionnaire(
    name="weekly_measure",
    state=WeeklyMeasure.answering,
    header=__("Weekly questions · {number}/{total}"),
    steps=_steps(),
    back=True,
)
