"""Crisis lines as data: ``locales/<lang>/crisis_lines.toml``.

``crisis_lines("es", "MX")`` gives the emergency number and crisis lines to show a
person (and the on-call supervisor) after a screening hit. Lookup order:

1. the country in the person's language file;
2. the country in another language's file (a German speaker in the US still needs
   988, not the German TelefonSeelsorge);
3. the first country of the language's file, with ``fallback=True`` so a caller can
   also show ``international`` (always filled) - e.g. "if you are elsewhere…".

An unknown language falls back to English. A locale tag such as ``"es-MX"`` or
``"de_AT"`` gives its region as the country when no country is passed.

Files are validated when loaded (every country has an emergency number, at least
one line, and every line a contact, hours, source and checked date) and cached.
Pure Python: no Telegram, no database.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BASE_LANGUAGE",
    "INTERNATIONAL",
    "CrisisLine",
    "CrisisLines",
    "CrisisLinesError",
    "available_languages",
    "countries",
    "crisis_lines",
    "international",
]

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
FILENAME = "crisis_lines.toml"
BASE_LANGUAGE = "en"
INTERNATIONAL = "INT"  # pseudo country code of the [international] section
_ISO = re.compile(r"[A-Z]{2}")


class CrisisLinesError(ValueError):
    """A crisis lines file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class CrisisLine:
    name: str
    phone: str | None
    text: str | None  # SMS instructions, e.g. "Text SHOUT to 85258"
    chat: str | None  # web chat / website
    hours: str
    source: str  # the organisation's site, where the details were checked
    checked: dt.date
    audience: str | None = None  # who it is for, when not everyone
    note: str | None = None  # anything uncertain


@dataclass(frozen=True)
class CrisisLines:
    language: str  # language of the file the data came from
    country: str  # ISO 3166-1 alpha-2, or INTERNATIONAL
    country_name: str
    emergency: str  # emergency number(s), as dialled
    lines: tuple[CrisisLine, ...]
    source: str  # where the emergency number was checked
    checked: dt.date
    note: str | None = None
    fallback: bool = False  # the requested country was not found: this is a default
    international: tuple[CrisisLine, ...] = ()  # directories that work anywhere


@dataclass(frozen=True)
class _File:
    language: str
    countries: dict[str, CrisisLines]
    international: CrisisLines


# --------------------------------------------------------------------------- public


@functools.cache
def available_languages() -> tuple[str, ...]:
    """Languages that have a ``locales/<lang>/crisis_lines.toml``."""
    return tuple(sorted(p.parent.name for p in LOCALES_DIR.glob(f"*/{FILENAME}")))


def countries(language: str) -> tuple[str, ...]:
    """ISO codes of the countries in the language's file, default first."""
    return tuple(_load(_language(language)).countries)


def international(language: str) -> CrisisLines:
    """The international fallback (directories, 112) in the given language."""
    return _load(_language(language)).international


def crisis_lines(language: str, country: str | None = None) -> CrisisLines:
    """Emergency number and crisis lines for a person (see the module docstring)."""
    lang = _language(language)
    wanted = _country(country) or _region(language)
    data = _load(lang)
    if wanted == INTERNATIONAL:
        return data.international
    if wanted in data.countries:
        return data.countries[wanted]
    if wanted:
        for other in (BASE_LANGUAGE, *available_languages()):
            found = _load(other).countries.get(wanted)
            if found is not None:
                return found
    first = next(iter(data.countries.values()))
    return first if wanted is None else _replace_fallback(first)


# --------------------------------------------------------------------------- helpers


def _language(language: str | None) -> str:
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in available_languages() else BASE_LANGUAGE


def _region(language: str | None) -> str | None:
    parts = (language or "").strip().replace("_", "-").split("-")
    return _country(parts[1]) if len(parts) > 1 else None


def _country(country: str | None) -> str | None:
    code = (country or "").strip().upper()
    if code in ("UK",):  # common, not ISO
        code = "GB"
    return code or None


def _replace_fallback(lines: CrisisLines) -> CrisisLines:
    return CrisisLines(**{**lines.__dict__, "fallback": True})


@functools.cache
def _load(language: str) -> _File:
    path = LOCALES_DIR / language / FILENAME
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CrisisLinesError(f"{path}: {exc}") from exc
    where = str(path)
    intl_raw = data.get("international")
    if not isinstance(intl_raw, dict):
        raise CrisisLinesError(f"{where}: missing [international] section")
    intl_lines = _lines(intl_raw, where, INTERNATIONAL)
    parsed: dict[str, CrisisLines] = {}
    for raw in data.get("country", []):
        code = raw.get("code")
        if not isinstance(code, str) or not _ISO.fullmatch(code):
            raise CrisisLinesError(f"{where}: country code {code!r} must be ISO 3166 'GB'")
        if code in parsed:
            raise CrisisLinesError(f"{where}: duplicate country {code}")
        parsed[code] = CrisisLines(
            language=language,
            country=code,
            country_name=_text(raw, "name", where, code),
            emergency=_text(raw, "emergency", where, code),
            lines=_lines(raw, where, code),
            source=_text(raw, "source", where, code),
            checked=_date(raw, where, code),
            note=_optional(raw, "note", where, code),
            international=intl_lines,
        )
    if not parsed:
        raise CrisisLinesError(f"{where}: no [[country]]")
    intl = CrisisLines(
        language=language,
        country=INTERNATIONAL,
        country_name=str(intl_raw.get("name", "International")),
        emergency=_text(intl_raw, "emergency", where, INTERNATIONAL),
        lines=intl_lines,
        source=_text(intl_raw, "source", where, INTERNATIONAL),
        checked=_date(intl_raw, where, INTERNATIONAL),
        note=_optional(intl_raw, "note", where, INTERNATIONAL),
        fallback=True,
        international=intl_lines,
    )
    return _File(language=language, countries=parsed, international=intl)


def _lines(raw: dict, where: str, code: str) -> tuple[CrisisLine, ...]:
    out = []
    for n, line in enumerate(raw.get("line", []), 1):
        what = f"{code} line {n}"
        item = CrisisLine(
            name=_text(line, "name", where, what),
            phone=_optional(line, "phone", where, what),
            text=_optional(line, "text", where, what),
            chat=_optional(line, "chat", where, what),
            hours=_text(line, "hours", where, what),
            source=_text(line, "source", where, what),
            checked=_date(line, where, what),
            audience=_optional(line, "audience", where, what),
            note=_optional(line, "note", where, what),
        )
        if not (item.phone or item.text or item.chat):
            raise CrisisLinesError(f"{where}: {what} ({item.name}): needs phone, text or chat")
        out.append(item)
    if not out:
        raise CrisisLinesError(f"{where}: {code}: needs at least one line")
    return tuple(out)


def _text(raw: dict, key: str, where: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CrisisLinesError(f"{where}: {what}: {key!r} is required")
    return value.strip()


def _optional(raw: dict, key: str, where: str, what: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CrisisLinesError(f"{where}: {what}: {key!r} must be text")
    return value.strip() or None


def _date(raw: dict, where: str, what: str) -> dt.date:
    value = raw.get("checked")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise CrisisLinesError(f"{where}: {what}: 'checked' must be a date like 2026-11-27")
