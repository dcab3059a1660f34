"""Crisis lines data (locales/<lang>/crisis_lines.toml) and its loader."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import crisis_lines as cl
from flows.crisis_lines import (
    INTERNATIONAL,
    CrisisLines,
    CrisisLinesError,
    countries,
    crisis_lines,
    international,
)

LANGUAGES = ("en", "es", "de")
REQUIRED = {
    "en": {"US": ["988", "911"], "GB": ["116 123", "999", "111"], "IE": [], "CA": [], "AU": []},
    "es": {
        "ES": ["024", "112", "717 003 717"],
        "MX": ["800 911 2000", "911"],
        "AR": [],
        "CO": [],
        "CL": [],
        "US": ["988"],
    },
    "de": {
        "DE": ["0800 111 0 111", "0800 111 0 222", "112"],
        "AT": ["142", "147", "112", "144"],
        "CH": ["143", "147", "112", "144"],
    },
}


def _all(lines: CrisisLines) -> str:
    parts = [lines.emergency]
    for line in lines.lines:
        parts += [line.phone or "", line.text or "", line.chat or ""]
    return " | ".join(parts)


def test_every_file_loads() -> None:
    assert cl.available_languages() == ("de", "en", "es")
    for lang in LANGUAGES:
        assert countries(lang), lang
        assert all(len(code) == 2 and code.isupper() for code in countries(lang))


@pytest.mark.parametrize("language", LANGUAGES)
def test_required_countries_and_numbers(language: str) -> None:
    assert set(countries(language)) >= set(REQUIRED[language])
    for country, numbers in REQUIRED[language].items():
        lines = crisis_lines(language, country)
        assert lines.country == country and lines.language == language
        assert not lines.fallback
        for number in numbers:
            assert number in _all(lines), f"{language}/{country}: {number} missing"


def _every_entry() -> Iterator[tuple[str, CrisisLines]]:
    for lang in LANGUAGES:
        for country in countries(lang):
            yield lang, crisis_lines(lang, country)
        yield lang, international(lang)


@pytest.mark.parametrize(("language", "lines"), list(_every_entry()))
def test_every_country_is_complete(language: str, lines: CrisisLines) -> None:
    where = f"{language}/{lines.country}"
    assert lines.emergency.strip(), where
    assert lines.country_name.strip(), where
    assert lines.source.strip() and isinstance(lines.checked, dt.date), where
    assert lines.lines, f"{where}: no crisis line"
    for line in lines.lines:
        assert line.name.strip(), where
        assert line.phone or line.text or line.chat, f"{where}: {line.name}: no contact"
        assert line.hours.strip(), f"{where}: {line.name}: no hours"
        assert line.source.strip(), f"{where}: {line.name}: no source"
        assert isinstance(line.checked, dt.date), f"{where}: {line.name}: no checked date"
        assert line.checked <= dt.date(2027, 12, 31), f"{where}: {line.name}: checked in future?"
    assert lines.international, where


def test_default_is_the_languages_first_country() -> None:
    assert crisis_lines("en").country == countries("en")[0] == "US"
    assert crisis_lines("es").country == "ES"
    assert crisis_lines("de").country == "DE"
    assert not crisis_lines("de").fallback


def test_unknown_country_falls_back_to_the_languages_first_country() -> None:
    lines = crisis_lines("de", "ZZ")
    assert lines.country == "DE" and lines.language == "de"
    assert lines.fallback
    assert lines.international  # the caller can add "if you are elsewhere…"


def test_unknown_language_falls_back_to_english() -> None:
    assert crisis_lines("fr").language == "en"
    assert crisis_lines("fr").country == "US"
    assert crisis_lines("", None).language == "en"
    assert crisis_lines("fr", "GB").emergency.startswith("999")


def test_a_person_abroad_reads_their_countrys_lines_in_their_own_language() -> None:
    """An English speaker in Germany gets Germany's numbers with English hours and notes,
    not "rund um die Uhr" in the middle of an English message; so for every pair."""
    assert set(countries("en")) == set(countries("es")) == set(countries("de"))
    for language in LANGUAGES:
        for country in countries(language):
            lines = crisis_lines(language, country)
            assert (lines.language, lines.country, lines.fallback) == (language, country, False)
    in_germany = crisis_lines("en", "DE")
    assert "Germany" in in_germany.country_name
    assert not any("Uhr" in line.hours or "oder" in (line.phone or "") for line in in_germany.lines)
    assert "Frauen" not in " ".join(line.audience or "" for line in in_germany.lines)
    assert "24/7" not in " ".join(line.hours for line in crisis_lines("de", "US").lines)


# Whose file a country's lines were first written and checked in; the others translate them.
HOME = (
    dict.fromkeys(("US", "GB", "IE", "CA", "AU"), "en")
    | dict.fromkeys(("ES", "MX", "AR", "CO", "CL"), "es")
    | dict.fromkeys(("DE", "AT", "CH"), "de")
)


def _dialled(lines: CrisisLines) -> list:
    """What a person dials, texts or opens, line by line: the words around may be translated."""
    digits = re.compile(r"\d(?:[\d ]*\d)?")
    return [digits.findall(lines.emergency)] + [
        (digits.findall(line.phone or ""), digits.findall(line.text or ""), line.chat)
        for line in lines.lines
    ]


@pytest.mark.parametrize("country", sorted(HOME))
def test_every_language_gives_the_same_numbers_for_a_country(country: str) -> None:
    """A number corrected in one language's file must be corrected in all of them. The
    Spanish file's US lines are the Spanish-language services (988, option 2), on purpose."""
    home = _dialled(crisis_lines(HOME[country], country))
    for language in LANGUAGES:
        if language != HOME[country] and (country, language) != ("US", "es"):
            assert _dialled(crisis_lines(language, country)) == home, language


def test_a_country_only_another_languages_file_knows(fake_locales: Path) -> None:
    english = (fake_locales / "en" / "crisis_lines.toml").read_text(encoding="utf-8")
    france = """[[country]]
code = "FR"
name = "France"
emergency = "112"
source = "https://www.example.org"
checked = 2026-11-27

  [[country.line]]
  name = "Ligne"
  phone = "3114"
  hours = "24h/24"
  source = "https://www.example.org"
  checked = 2026-11-27
"""
    (fake_locales / "fr").mkdir()
    international = english[english.index("\n[international]\n") :]
    (fake_locales / "fr" / "crisis_lines.toml").write_text(france + international, "utf-8")
    lines = crisis_lines("fr", "US")  # a French speaker in the US still needs 988
    assert (lines.language, lines.country, lines.fallback) == ("en", "US", False)
    assert "988" in _all(lines)


def test_codes_and_locale_tags_are_normalised() -> None:
    assert crisis_lines("es", "mx").country == "MX"
    assert crisis_lines("es-MX").country == "MX"
    assert crisis_lines("de_AT").country == "AT"
    assert crisis_lines("EN", " gb ").country == "GB"
    assert crisis_lines("en", "UK").country == "GB"


def test_international_fallback() -> None:
    for lang in LANGUAGES:
        intl = international(lang)
        assert intl.country == INTERNATIONAL and intl.fallback
        assert any("findahelpline" in (line.chat or "") for line in intl.lines)
        assert crisis_lines(lang, INTERNATIONAL) == intl


def test_files_are_cached() -> None:
    crisis_lines("es", "CL")
    before = cl._load.cache_info()
    for _ in range(10):
        crisis_lines("es", "CL")
        countries("es")
    after = cl._load.cache_info()
    assert after.misses == before.misses
    assert after.hits > before.hits


@pytest.fixture
def fake_locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.copytree(
        cl.LOCALES_DIR / "en", tmp_path / "en", ignore=shutil.ignore_patterns("*.po", "*.mo")
    )
    monkeypatch.setattr(cl, "LOCALES_DIR", tmp_path)
    cl._load.cache_clear()
    cl.available_languages.cache_clear()
    yield tmp_path
    cl._load.cache_clear()
    cl.available_languages.cache_clear()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('emergency = "911"\n', "", "emergency"),
        ('  hours = "24/7"\n', "", "hours"),
        ('code = "US"', 'code = "usa"', "ISO"),
        ("checked = 2026-11-27\n", 'checked = "yesterday"\n', "checked"),
        (
            '  phone = "1-800-222-1222"\n  chat = "https://www.poison.org"\n',
            "",
            "needs phone, text or chat",
        ),
        ('code = "GB"', 'code = "US"', "duplicate"),
        ("\n[international]\n", "\n[elsewhere]\n", "INT: 'emergency' is required"),
    ],
)
def test_malformed_files_fail_loudly(fake_locales: Path, old: str, new: str, message: str) -> None:
    path = fake_locales / "en" / "crisis_lines.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CrisisLinesError, match=message):
        crisis_lines("en")


def test_missing_international_section_fails(fake_locales: Path) -> None:
    path = fake_locales / "en" / "crisis_lines.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n[international]\n")], encoding="utf-8")
    with pytest.raises(CrisisLinesError, match=r"missing \[international\]"):
        crisis_lines("en")
