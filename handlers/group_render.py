"""Words for a mixed-language group: one post carries each of the group's languages.

A group message is the same for everyone in it, so a post to the group is written once per
language of the group, one short paragraph each, marked with its language as events' posts
are (``handlers.multilingual``), in the group's order (its first language first), in ONE
message: on a phone three short paragraphs read better than three posts (which triple the
notifications, push each other off screen and would each need their own buttons). A
paragraph here is a sentence or two, so they are set apart by a blank line (an event's
short lines are not). A button's label carries each language's word, joined with " · ".
What is said to one person (a toast, a private message) is in that person's own language.

    ES: 🌿 Check-in semanal: ¿qué tal tu semana? Toca abajo y te haré 2 preguntas rápidas, en privado.

    EN: 🌿 Weekly check-in: how was your week? Tap below and I'll ask you 2 quick questions, privately.

    DE: 🌿 Wöchentlicher Check-in: Wie war deine Woche? Tippe unten, dann stelle ich dir privat 2 kurze Fragen.

    [ ✅ Hacer check-in · ✅ Check in · ✅ Einchecken ]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from aiogram.utils.i18n import I18n
from babel.dates import format_time, get_day_names

from flows.languages import SUPPORTED
from handlers.multilingual import button_label, joined

SEPARATOR = "\n\n"


def in_languages(i18n: I18n, languages: Sequence[str], make: Callable[[], str]) -> str:
    """``make()`` rendered in each of the group's languages, one paragraph each, marked with
    its language as events' posts are (``handlers.multilingual``); a text that reads the
    same in two languages (a name, say) is said once, and a single one is not marked."""
    return joined(i18n, _known(languages), lambda _code: make(), SEPARATOR)


def label_in_languages(i18n: I18n, languages: Sequence[str], make: Callable[[], str]) -> str:
    """A button's label with each language's word: "Check in · Registrarme · Einchecken"."""
    return button_label(i18n, _known(languages), lambda _code: make())


def day_name(weekday: int, language: str) -> str:
    """Monday is 0, as in ``datetime``; "Monday", "lunes", "Montag"."""
    return str(get_day_names("wide", locale=language)[weekday])


def time_text(at: dt.time, language: str) -> str:
    return format_time(at, "HH:mm", locale=language)


def _known(languages: Sequence[str]) -> list[str]:
    known = [code for code in languages if code in SUPPORTED]
    return known or [SUPPORTED[0]]
