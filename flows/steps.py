"""What the step-by-step flows (daily log, intake, session notes) have in common: the
outcome of one answer, and the two ways an answer can be refused."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class InvalidAnswer(Exception):
    """The value does not answer the current question."""


class TooLong(Exception):
    """A typed text over its limit; the handler keeps it for the person to trim or resend."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(length, limit)
        self.length = length
        self.limit = limit


@dataclass(frozen=True)
class Progress:
    """Where a draft stands after an answer: the next step, or None when it is complete."""

    answers: dict[str, Any]
    step: StrEnum | None
