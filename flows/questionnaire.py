"""A questionnaire declared as data: its steps, each step's kind, when a step is shown,
skip and back, and how an answer is validated. One engine (handlers/questionnaire.py)
renders every questionnaire and keeps its draft in the SQL FSM storage; this module is
the part without Telegram types: which step comes next and what an answer means.

The draft in the conversation state is ``{"step": <step name>, "answers": {...},
"prompt": <message id>}`` plus whatever the questionnaire's own start put there, so a
restart (even ``kill -9``) continues at the same step with the answers given so far.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.state import State
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from flows.steps import InvalidAnswer, TooLong

# Values the engine reserves on every step's buttons (a choice may not use them).
DONE, SKIP, BACK, TRIM = "done", "skip", "back", "trim"

# The states of questionnaires whose answers are about someone else (each adds its own).
ABOUT_SOMEONE_ELSE: set[str] = set()

Context = Hashable  # what a questionnaire's steps may depend on (a role, a list from settings)
Text = LazyProxy | str | Callable[[Any], str]  # a text, or one made from the context


class Kind(enum.StrEnum):
    ONE = "one"  # one choice: a tap (or its label typed)
    SEVERAL = "several"  # several choices, each tap toggles, then Done
    SCALE = "scale"  # a whole number from low to high: a tap or typed
    NUMBER = "number"  # a number: a tap on a common value, or typed (``parse`` validates)
    TIME = "time"  # a time of day, HH:MM: typed (or a tap on ``choices``)
    DATE = "date"  # a day: a tap on ``choices`` ("today") or typed (``parse`` reads both)
    TEXT = "text"  # free text up to ``limit`` characters, typed


@dataclass(frozen=True)
class Step:
    """One question. ``name`` is also the key of the answer it collects."""

    name: str
    kind: Kind
    question: Text
    choices: tuple[str, ...] | Callable[[Any], tuple[str, ...]] = ()
    # A choice's label: a table of lazy texts, or a function of the choice id.
    labels: Mapping[str, LazyProxy] | Callable[[str], str] | None = None
    low: int = 0  # a scale's ends
    high: int = 10
    low_label: LazyProxy | None = None
    high_label: LazyProxy | None = None
    # A button's value (or a typed NUMBER's, TIME's or DATE's) from its text and the
    # context, or raise InvalidAnswer.
    parse: Callable[[str, Any], Any] | None = None
    limit: int | Callable[[Any], int] = 0  # a TEXT's length limit
    when: Callable[[Mapping[str, Any], Any], bool] | None = None  # shown only when true
    counts_as: str | None = None  # a follow-up: the counter shows that step's number
    # "Skip ▸" keeps what the step holds (or records none); a function of the answers so
    # far and the context when only some drafts may skip (the crisis plan: only its walk)
    skip: bool | Callable[[Mapping[str, Any], Any], bool] = False
    skip_label: LazyProxy | None = None  # the skip button's own words ("Skip this part ▸")
    widths: tuple[int, ...] = (1,)  # buttons per row, the last repeating
    hint: LazyProxy | None = None  # said after a typed answer that does not answer
    too_long: LazyProxy | None = None  # a TEXT over its limit ({length}, {limit})
    too_long_skip: LazyProxy | None = None  # the skip button under that message

    def options(self, context: Any) -> tuple[str, ...]:
        if not isinstance(self.choices, tuple):
            return self.choices(context)
        if self.kind is Kind.SCALE and not self.choices:
            return tuple(str(n) for n in range(self.low, self.high + 1))
        return self.choices

    def skips(self, answers: Mapping[str, Any], context: Any) -> bool:
        return self.skip if isinstance(self.skip, bool) else self.skip(answers, context)

    def text_limit(self, context: Any) -> int:
        return self.limit if isinstance(self.limit, int) else self.limit(context)

    def label(self, value: str) -> str:
        if self.labels is None:
            return value
        if callable(self.labels) and not isinstance(self.labels, Mapping):
            return self.labels(value)
        name = self.labels.get(value)
        return str(name) if name is not None else value

    def asks(self, context: Any) -> str:
        if isinstance(self.question, LazyProxy | str):  # a LazyProxy is callable too
            return str(self.question)
        return self.question(context)


@dataclass(frozen=True)
class Progress:
    """Where a draft stands after an answer: the next step's name, or None when complete."""

    answers: dict[str, Any]
    step: str | None


@dataclass(frozen=True)
class Questionnaire:
    name: str
    # The one FSM state while it runs; the step is in the state's data. Left out, the
    # questionnaire has a state of its own, "<name>:answering" (no StatesGroup to add).
    state: State | None = None
    header: LazyProxy | str = ""  # above every question: "{number}/{total}"
    steps: tuple[Step, ...] = ()
    back: bool = False  # "◂ Back" from the second step shown on
    # Its texts are about someone else (a mentor's note on a mentee): screening does not
    # read them as the writer's own crisis (bot/screening.py reads ABOUT_SOMEONE_ELSE).
    about_someone_else: bool = False
    _by_name: dict[str, Step] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"questionnaire {self.name!r} has no steps")
        if self.state is None:
            object.__setattr__(self, "state", State("answering", group_name=self.name))
        self._by_name.update({step.name: step for step in self.steps})
        if len(self._by_name) != len(self.steps):
            raise ValueError(f"questionnaire {self.name!r} names two steps alike")
        for step in self.steps:
            if step.name in (DONE, SKIP, BACK, TRIM):
                raise ValueError(f"step name {step.name!r} is reserved")
        if self.about_someone_else:
            ABOUT_SOMEONE_ELSE.add(self.state_name)

    @property
    def state_name(self) -> str:
        """The state's name as stored ("DailyLogging:answering")."""
        assert self.state is not None
        return str(self.state.state)

    def __hash__(self) -> int:
        return hash(self.name)

    def step(self, name: str) -> Step:
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidAnswer(name) from None

    def shown(self, answers: Mapping[str, Any], context: Any) -> tuple[Step, ...]:
        """The steps asked, given the answers so far."""
        return tuple(s for s in self.steps if s.when is None or s.when(answers, context))

    def first(self, answers: Mapping[str, Any], context: Any) -> Step:
        return self.shown(answers, context)[0]

    def next(self, name: str, answers: Mapping[str, Any], context: Any) -> str | None:
        index = self._index(name)
        for step in self.steps[index + 1 :]:
            if step.when is None or step.when(answers, context):
                return step.name
        return None

    def previous(self, name: str, answers: Mapping[str, Any], context: Any) -> str | None:
        index = self._index(name)
        for step in reversed(self.steps[:index]):
            if step.when is None or step.when(answers, context):
                return step.name
        return None

    def counter(self, name: str, answers: Mapping[str, Any], context: Any) -> tuple[int, int]:
        """The step's number among those shown, and how many are shown."""
        shown = [s.name for s in self.shown(answers, context) if s.counts_as is None]
        name = self.step(name).counts_as or name
        return (shown.index(name) + 1 if name in shown else 1), len(shown)

    def _index(self, name: str) -> int:
        return self.steps.index(self.step(name))

    # --- answers ------------------------------------------------------------------------

    def tap(self, name: str, value: str, answers: Mapping[str, Any], context: Any) -> Progress:
        """Take a tapped value (or a typed one that names a button). Several choices toggle
        until Done; Skip keeps what the step holds (or records none); Back goes one back."""
        step = self.step(name)
        answers = dict(answers)
        if value == BACK:
            before = self.previous(name, answers, context) if self.back else None
            if before is None:
                raise InvalidAnswer(value)
            return Progress(answers, before)
        if value == SKIP:
            if not step.skips(answers, context):
                raise InvalidAnswer(value)
            answers.setdefault(name, None)
            return Progress(answers, self.next(name, answers, context))
        if step.kind is Kind.SEVERAL:
            options = step.options(context)
            chosen = set(answers.get(name) or ())
            if value == DONE:
                answers[name] = [item for item in options if item in chosen]
                return Progress(answers, self.next(name, answers, context))
            if value not in options:
                raise InvalidAnswer(value)
            chosen ^= {value}
            answers[name] = [item for item in options if item in chosen]  # the list's order
            return Progress(answers, name)
        answers[name] = self._tapped_value(step, value, context)
        return Progress(answers, self.next(name, answers, context))

    def typed(self, name: str, text: str, answers: Mapping[str, Any], context: Any) -> Progress:
        """Take a typed answer: a scale's number, a NUMBER or TIME ``parse`` takes, or a text
        within its limit (``TooLong`` otherwise; a blank text is no answer). Choices are
        answered by their buttons (the engine first matches a typed label to one)."""
        step = self.step(name)
        answers = dict(answers)
        text = text.strip()
        if step.kind is Kind.TEXT:
            limit = step.text_limit(context)
            if limit and len(text) > limit:
                raise TooLong(len(text), limit)
            # ``parse`` may refuse a text (a blank one, where the step needs words)
            answers[name] = step.parse(text, context) if step.parse is not None else text or None
        elif step.kind is Kind.SCALE:
            answers[name] = scale_value(text, step.low, step.high)
        elif step.kind in (Kind.NUMBER, Kind.TIME, Kind.DATE) and step.parse is not None:
            answers[name] = step.parse(text, context)
        else:
            raise InvalidAnswer(text)
        return Progress(answers, self.next(name, answers, context))

    def trim(self, name: str, kept: str, answers: Mapping[str, Any], context: Any) -> Progress:
        """A text kept after it was too long, cut to the step's limit."""
        step = self.step(name)
        if step.kind is not Kind.TEXT:
            raise InvalidAnswer(name)
        return self.typed(name, kept[: step.text_limit(context)], answers, context)

    def repeats_a_taken_answer(
        self, name: str, value: str, current: str | None, answers: Mapping[str, Any], context: Any
    ) -> bool:
        """A tap for a step the draft has gone past (``current`` is asked now), giving the
        answer that step already holds: the same tap again, not a change of mind."""
        try:
            if current is None or self._index(name) >= self._index(current):
                return False
            step = self.step(name)
            if step.kind is Kind.SEVERAL:
                return value == DONE  # the toggles before it are in the stored list already
            if value in (SKIP, BACK):
                return False
            taken = self.tap(name, value, answers, context)
        except InvalidAnswer:
            return False
        return name in answers and taken.answers.get(name) == answers.get(name)

    def _tapped_value(self, step: Step, value: str, context: Any) -> Any:
        if value not in step.options(context):
            raise InvalidAnswer(value)
        if step.kind is Kind.SCALE:
            return scale_value(value, step.low, step.high)
        return step.parse(value, context) if step.parse is not None else value


def scale_value(text: str, low: int = 0, high: int = 10) -> int:
    if not text.isdecimal() or not low <= int(text) <= high:
        raise InvalidAnswer(text)
    return int(text)


def whole_number(low: int, high: int) -> Callable[[str, Any], int]:
    """A NUMBER step's ``parse`` for a whole number within bounds."""

    def parse(text: str, context: Any = None) -> int:
        return scale_value(text.strip(), low, high)

    return parse


def time_of_day(text: str, context: Any = None) -> str:
    """A TIME step's ``parse``: "8:05", "08.05", "0805" → "08:05"."""
    digits = text.strip().replace(".", ":").replace("h", ":")
    hours, _, minutes = digits.partition(":") if ":" in digits else (digits[:-2], "", digits[-2:])
    if not (hours.isdecimal() and minutes.isdecimal()) or len(minutes) != 2:
        raise InvalidAnswer(text)
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise InvalidAnswer(text)
    return f"{int(hours):02d}:{minutes}"
