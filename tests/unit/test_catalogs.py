"""Every string the code shows exists, translated, in every catalog, and is safe to render."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, compile_catalogs, create_i18n
from flows.languages import SUPPORTED

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?(b|i|u|s|code|pre|a)\b[^>]*>")


def code_msgids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "__": None}
    found = set()
    for package in ("bot", "handlers", "flows"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.update(message if isinstance(message, tuple) else (message,))
    return found


def forms(message) -> list[tuple[str, str]]:
    """Each (source, translation) pair of an entry: one, or one per plural form."""
    if not message.pluralizable:
        return [(message.id, message.string)]
    singular, plural = message.id
    return [(singular if i == 0 else plural, s) for i, s in enumerate(message.string)]


def catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "peerbot.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_the_code_has_strings_to_translate() -> None:
    assert len(code_msgids()) > 50


@pytest.mark.parametrize("language", SUPPORTED)
def test_catalog_has_every_string_of_the_code(language: str) -> None:
    present = {
        source for message in catalog(language) if message.id for source, _ in forms(message)
    }
    missing = sorted(code_msgids() - present)
    assert not missing, (
        f"{language}: {len(missing)} strings missing (run python -m locales.sync): {missing[:5]}"
    )


@pytest.mark.parametrize("language", SUPPORTED)
def test_every_entry_is_translated(language: str) -> None:
    untranslated = [
        message.id
        for message in catalog(language)
        if message.id and (not all(s for _, s in forms(message)) or message.fuzzy)
    ]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated: {untranslated[:5]}"


@pytest.mark.parametrize("language", SUPPORTED)
def test_translations_keep_placeholders_and_markup(language: str) -> None:
    broken = []
    for message in catalog(language):
        if not message.id:
            continue
        for source, translation in forms(message):
            for pattern in (PLACEHOLDER, TAG):
                if translation and Counter(pattern.findall(source)) != Counter(
                    pattern.findall(translation)
                ):
                    broken.append(source)
    assert not broken, f"{language}: placeholders or tags differ in: {broken[:5]}"


@pytest.mark.parametrize("language", SUPPORTED)
def test_a_count_of_one_reads_in_the_singular(language: str) -> None:
    i18n = create_i18n("en")
    one, many = "Your last 4 weeks: {count} day logged.", "Your last 4 weeks: {count} days logged."
    said = {n: i18n.gettext(one, many, n, locale=language).format(count=n) for n in (1, 2, 5)}
    assert said[1] != said[2] == said[5].replace("5", "2")
    assert [
        source for message in catalog(language) if message.pluralizable for source in message.id
    ]


def test_each_language_speaks_its_own_words() -> None:
    translations = compile_catalogs()
    assert set(SUPPORTED) <= set(translations)
    i18n = create_i18n("en")
    texts = {
        code: i18n.gettext("Which language would you like me to use?", locale=code)
        for code in SUPPORTED
    }
    assert len(set(texts.values())) == len(SUPPORTED), texts
