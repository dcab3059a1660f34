"""A group post in the group's languages: one message that is the same for everyone, with
each language's line together (the group's first language first), so a mixed group reads
one compact post instead of three on a phone."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.utils.i18n import I18n

from storage.models import ProgramGroup


def languages_of(group: ProgramGroup | None, fallback: str) -> list[str]:
    return (group.language_list if group is not None else []) or [fallback]


def in_each(
    i18n: I18n, languages: Sequence[str], render: Callable[[str], str]
) -> list[tuple[str, str]]:
    """``(language, render(language))`` with gettext in each language, in order; repeats
    dropped (a text not yet translated reads the same in two languages)."""
    said: list[tuple[str, str]] = []
    for language in languages:
        with i18n.use_locale(language):
            text = render(language)
        if all(text != earlier for _, earlier in said):
            said.append((language, text))
    return said


def joined(
    i18n: I18n, languages: Sequence[str], render: Callable[[str], str], separator: str = "\n"
) -> str:
    """The languages' lines together; with more than one language, each is marked. An
    event's short lines take one line each; a group's paragraphs pass a blank line."""
    lines = in_each(i18n, languages, render)
    if len(lines) == 1:
        return lines[0][1]
    return separator.join(f"{code.upper()}: {line}" for code, line in lines)


def button_label(i18n: I18n, languages: Sequence[str], render: Callable[[str], str]) -> str:
    """A button's text in each language, short forms joined: "I'm coming · Voy · Ich komme"."""
    return " · ".join(text for _, text in in_each(i18n, languages, render))
