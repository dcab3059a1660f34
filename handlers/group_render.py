"""Words for a mixed-language group: one post carries each of the group's languages.

A group message is the same for everyone in it, so a post to the group is written once per
language of the group, one short paragraph each, in the group's order (its first language
first), in ONE message: on a phone three short paragraphs read better than three posts
(which triple the notifications, push each other off screen and would each need their own
buttons). A button's label carries each language's word, joined with " · ". What is said to
one person (a toast, a private message) is in that person's own language instead.

    🌿 Weekly check-in: how was your week? Tap below and I'll ask you 2 quick questions, privately.

    🌿 Check-in semanal: ¿qué tal tu semana? Toca abajo y te haré 2 preguntas rápidas, en privado.

    🌿 Wöchentlicher Check-in: Wie war deine Woche? Tippe unten, ich stelle dir privat 2 kurze Fragen.

    [ ✅ Check in · Registrarme · Einchecken ]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from aiogram.utils.i18n import I18n
from babel.dates import format_time, get_day_names

from flows.languages import SUPPORTED

SEPARATOR = "\n\n"


def in_languages(i18n: I18n, languages: Sequence[str], make: Callable[[], str]) -> str:
    """``make()`` rendered in each of the group's languages, one paragraph each (a text
    that reads the same in two languages, a name say, is said once)."""
    parts: list[str] = []
    for code in _known(languages):
        with i18n.use_locale(code):
            parts.append(make())
    return SEPARATOR.join(dict.fromkeys(parts))


def label_in_languages(i18n: I18n, languages: Sequence[str], make: Callable[[], str]) -> str:
    """A button's label with each language's word: "Check in · Registrarme · Einchecken"."""
    words: list[str] = []
    for code in _known(languages):
        with i18n.use_locale(code):
            words.append(make())
    return " · ".join(dict.fromkeys(words))


def in_one(i18n: I18n, language: str, make: Callable[[], str]) -> str:
    with i18n.use_locale(language):
        return make()


def day_name(weekday: int, language: str) -> str:
    """Monday is 0, as in ``datetime``; "Monday", "lunes", "Montag"."""
    return str(get_day_names("wide", locale=language)[weekday])


def time_text(at: dt.time, language: str) -> str:
    return format_time(at, "HH:mm", locale=language)


def _known(languages: Sequence[str]) -> list[str]:
    known = [code for code in languages if code in SUPPORTED]
    return known or [SUPPORTED[0]]
