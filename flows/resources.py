"""Resources as data: ``locales/<lang>/resources.toml``.

A per-language list of places people can turn to after (and beside) the program:
patient associations, helplines, clinics, community centres, online forums and
information sites. Each entry says what it is about (``topics``), where it is
(``country`` with an optional ``region`` and ``city``, or ``online = true`` for what
works from anywhere in that language), how to reach it (``website``, and ``phone`` or
``address`` only when someone has checked them), a short description, where the details
were checked (``source``) and when (``checked``).

Admins extend it without code: edit the TOML file, run ``peerbot resources check``
(``check_all``: malformed data is named by file and entry; entries checked more than a
year ago are listed), restart the bot. Pure Python: no Telegram, no database.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.core import get_global

from flows import timezones

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
FILENAME = "resources.toml"
BASE_LANGUAGE = "en"
STALE_AFTER = dt.timedelta(days=365)  # a phone number or a website changes within a year

TOPICS = ("fibromyalgia", "me_cfs", "ibs", "fnd", "chronic_pain", "wellbeing")
KINDS = (
    "patient_association",
    "helpline",
    "clinic",
    "community_centre",
    "online_forum",
    "information",
)
ONLINE = "online"  # the place "online": what works from anywhere
_REQUIRED = ("name", "kind", "description", "website", "source")
_OPTIONAL = ("phone", "address", "region", "city", "note")
_KNOWN_KEYS = {*_REQUIRED, *_OPTIONAL, "topics", "country", "online", "checked"}


class ResourcesError(ValueError):
    """A resources file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Resource:
    name: str
    kind: str
    topics: tuple[str, ...]
    description: str
    website: str
    source: str
    checked: dt.date
    country: str | None = None  # ISO 3166-1 alpha-2; None: online only
    region: str | None = None
    city: str | None = None
    online: bool = False
    phone: str | None = None
    address: str | None = None
    note: str | None = None

    @property
    def local(self) -> bool:
        """Tied to a city or region, not the whole country."""
        return bool(self.city or self.region)


@dataclass(frozen=True)
class Stale:
    path: Path
    resource: Resource
    age_days: int


# --------------------------------------------------------------------------- search


def resources(language: str) -> tuple[Resource, ...]:
    return _load(_language(language))


def countries(language: str) -> tuple[str, ...]:
    """The countries the language's file has entries for, in the file's order."""
    seen: dict[str, None] = {}
    for item in resources(language):
        if item.country:
            seen.setdefault(item.country, None)
    return tuple(seen)


def has_online(language: str) -> bool:
    return any(item.online for item in resources(language))


def by_topic(language: str, topic: str | None) -> tuple[Resource, ...]:
    """Entries about ``topic`` (None: every topic)."""
    return tuple(r for r in resources(language) if topic is None or topic in r.topics)


def in_country(language: str, topic: str | None, country: str) -> tuple[Resource, ...]:
    """The country's entries on the topic: nationwide ones first, then local ones."""
    found = [r for r in by_topic(language, topic) if r.country == country]
    return tuple(sorted(found, key=lambda r: r.local))


def online(language: str, topic: str | None) -> tuple[Resource, ...]:
    return tuple(r for r in by_topic(language, topic) if r.online)


def find_place(language: str, typed: str) -> tuple[str, str | None] | None:
    """What a typed place names: ``(country, city or region)`` for a city or region in the
    file, ``(country, None)`` for a country (its name in the language or English, or its
    code), ``(ONLINE, None)`` for "online"; None when the file knows no such place."""
    folded = _fold(typed)
    if not folded:
        return None
    if folded in {_fold(word) for word in _ONLINE_WORDS}:
        return ONLINE, None
    items = resources(language)
    for item in items:
        for local in (item.city, item.region):
            if local and item.country and _fold(local) == folded:
                return item.country, local
    for code in countries(language):
        if folded in _country_names(code, _language(language)):
            return code, None
    # A town the file does not list: its country, from the places people type for their
    # time zone ('Sevilla', 'München'): the country's nationwide entries serve it.
    zone = timezones.find_zone(typed, _language(language))
    country = get_global("zone_territories").get(zone) if zone else None
    if country in countries(language):
        return country, None
    return None


def near(language: str, topic: str | None, country: str, local: str | None) -> tuple[Resource, ...]:
    """For a place in ``country`` (``local``: a city or region in it): entries of that city or
    region first, then the country's nationwide ones (they serve every town in it)."""
    found = in_country(language, topic, country)
    if local is None:
        return found
    here = [r for r in found if _fold(local) in (_fold(r.city or ""), _fold(r.region or ""))]
    nationwide = [r for r in found if not r.local]
    return tuple(here + nationwide)


def country_name(code: str, language: str) -> str:
    try:
        return Locale.parse(_language(language)).territories.get(code, code)
    except ValueError:
        return code


_ONLINE_WORDS = ("online", "internet", "en línea", "en linea", "web")


# --------------------------------------------------------------------------- checking


def available_languages() -> tuple[str, ...]:
    return tuple(sorted(p.parent.name for p in LOCALES_DIR.glob(f"*/{FILENAME}")))


def check_all(today: dt.date, directory: Path | None = None) -> list[Stale]:
    """Validate every language's file (``ResourcesError`` on the first malformed one) and
    return the entries whose ``checked`` date is more than a year before ``today``."""
    base = directory or LOCALES_DIR
    stale: list[Stale] = []
    for path in sorted(base.glob(f"*/{FILENAME}")):
        for item in parse_file(path):
            age = (today - item.checked).days
            if today - item.checked > STALE_AFTER:
                stale.append(Stale(path, item, age))
    return stale


def parse_file(path: Path) -> tuple[Resource, ...]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ResourcesError(f"{path}: cannot be read: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ResourcesError(f"{path}: not valid TOML: {error}") from error
    unknown = set(data) - {"resource"}
    if unknown:
        raise ResourcesError(f"{path}: unknown section(s) {sorted(unknown)}; use [[resource]]")
    raw_entries = data.get("resource", [])
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ResourcesError(f"{path}: no [[resource]] entries")
    parsed = tuple(
        _entry(raw, f"{path}: entry {number}") for number, raw in enumerate(raw_entries, 1)
    )
    names = [item.name.casefold() for item in parsed]
    for number, name in enumerate(names, 1):
        if names.index(name) + 1 != number:
            raise ResourcesError(f"{path}: entry {number} ({parsed[number - 1].name}): duplicate")
    return parsed


# --------------------------------------------------------------------------- helpers


def _language(language: str | None) -> str:
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in available_languages() else BASE_LANGUAGE


@functools.cache
def _load(language: str) -> tuple[Resource, ...]:
    return parse_file(LOCALES_DIR / language / FILENAME)


def _entry(raw: object, where: str) -> Resource:
    if not isinstance(raw, dict):
        raise ResourcesError(f"{where}: must be a [[resource]] table")
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where} ({name.strip()})"
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise ResourcesError(f"{where}: unknown field(s) {sorted(unknown)}")
    text = {key: _text(raw, key, where) for key in _REQUIRED}
    optional = {key: _optional(raw, key, where) for key in _OPTIONAL}
    if text["kind"] not in KINDS:
        raise ResourcesError(f"{where}: kind {text['kind']!r} is not one of {', '.join(KINDS)}")
    for link in ("website", "source"):
        if not text[link].startswith(("https://", "http://")):
            raise ResourcesError(f"{where}: {link!r} must be a web address (https://...)")
    topics = raw.get("topics")
    if not isinstance(topics, list) or not topics or not all(t in TOPICS for t in topics):
        raise ResourcesError(f"{where}: 'topics' must be a list of: {', '.join(TOPICS)}")
    country = raw.get("country")
    if country is not None and not (
        isinstance(country, str) and len(country) == 2 and country.isalpha() and country.isupper()
    ):
        raise ResourcesError(f"{where}: country {country!r} must be an ISO code like 'DE'")
    is_online = raw.get("online", False)
    if not isinstance(is_online, bool):
        raise ResourcesError(f"{where}: 'online' must be true or false")
    if country is None and not is_online:
        raise ResourcesError(f"{where}: needs a 'country', or online = true")
    if (optional["city"] or optional["region"]) and country is None:
        raise ResourcesError(f"{where}: a city or region needs its 'country'")
    return Resource(
        name=text["name"],
        kind=text["kind"],
        topics=tuple(topics),
        description=text["description"],
        website=text["website"],
        source=text["source"],
        checked=_date(raw, where),
        country=country,
        online=is_online,
        **optional,
    )


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ResourcesError(f"{where}: {key!r} is required")
    return value.strip()


def _optional(raw: dict, key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ResourcesError(f"{where}: {key!r} must be text")
    return value.strip() or None


def _date(raw: dict, where: str) -> dt.date:
    value = raw.get("checked")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ResourcesError(f"{where}: 'checked' must be a date like 2026-12-05")


@functools.cache
def _country_names(code: str, language: str) -> frozenset[str]:
    names = {_fold(code)}
    for tongue in {language, BASE_LANGUAGE}:
        try:
            names.add(_fold(Locale.parse(tongue).territories.get(code, code)))
        except ValueError:
            continue
    if code == "GB":
        names |= {"uk", "england", "scotland", "wales", "northern ireland"}
    if code == "US":
        names |= {"usa", "america"}
    return frozenset(names)


def _fold(text: str) -> str:
    """Case, accents and spacing do not matter: 'München' finds 'munchen'."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").split())
