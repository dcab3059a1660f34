"""Time zones: likely ones per language, and finding a zone from what a person types."""

from __future__ import annotations

import datetime as dt
import tomllib
import unicodedata
import zoneinfo
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.core import get_global

PLACES = Path(__file__).resolve().parent.parent / "locales" / "places.toml"

# A few taps' worth for each language; anything else can be typed.
LIKELY = {
    "en": (
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Australia/Sydney",
        "Europe/Dublin",
    ),
    "es": (
        "Europe/Madrid",
        "America/Mexico_City",
        "America/Bogota",
        "America/Argentina/Buenos_Aires",
        "America/Santiago",
        "America/Lima",
    ),
    "de": ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich"),
}


def likely_zones(language: str) -> tuple[str, ...]:
    return LIKELY.get(language, LIKELY["en"])


def is_valid_zone(name: str) -> bool:
    return name in _all_zones()


def find_zone(text: str, language: str) -> str | None:
    """An IANA name ('Europe/Madrid'), a city in the person's language or English, a place
    people type ('Sevilla', 'München': locales/places.toml) or a country ('Alemania')."""
    typed = text.strip()
    if typed in _all_zones():
        return typed
    folded = _fold(typed)
    return (
        _zones_by_name(language).get(folded)
        or _places().get(folded)
        or _zones_by_country(language).get(folded)
    )


@cache
def _places() -> dict[str, str]:
    with PLACES.open("rb") as handle:
        zones = tomllib.load(handle).get("zones", {})
    return {_fold(name): zone for name, zone in zones.items() if zone in _all_zones()}


@cache
def _zones_by_country(language: str) -> dict[str, str]:
    """Country names (Babel's, in the person's language and English) → the country's zone,
    when one zone can stand for it: its only one, or the one we offer as a likely zone. A
    country spread over several that we don't offer (the United States) is not guessed."""
    offered = {zone for zones in LIKELY.values() for zone in zones}
    names: dict[str, str] = {}
    for territory, zones in get_global("territory_zones").items():
        real = [zone for zone in zones if zone in _all_zones()]
        likely = [zone for zone in real if zone in offered]
        zone = likely[0] if len(likely) == 1 else real[0] if len(real) == 1 else None
        if zone is None:
            continue
        for code in dict.fromkeys((language, "en")):
            name = Locale.parse(code).territories.get(territory)
            if name:
                names.setdefault(_fold(name), zone)
    return names


@lru_cache(maxsize=4096)
def local_date(zone: str, now: dt.datetime) -> dt.date:
    """The person's date at the UTC instant ``now``; DST-safe through zoneinfo. (Cached: a
    scheduler tick asks it for thousands of people at one instant.)"""
    return now.astimezone(zoneinfo.ZoneInfo(zone)).date()


def today(zone: str | None, now: dt.datetime | None = None) -> dt.date:
    """A person's date now, or at ``now`` (UTC's before they have chosen a zone)."""
    return local_date(zone or "UTC", now or dt.datetime.now(dt.UTC))


def city_name(zone: str, language: str) -> str:
    """'Europe/Munich'-style names read as the city, in the person's language when Babel has it."""
    city = Locale.parse(language).time_zones.get(zone, {}).get("city")
    return city or zone.rsplit("/", 1)[-1].replace("_", " ")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


@cache
def _all_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _zones_by_name(language: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for zone in sorted(_all_zones()):
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/")):
            names.setdefault(_fold(zone), zone)
            names.setdefault(_fold(zone.rsplit("/", 1)[-1]), zone)
    # Cities as Babel's locale data spells them ("Nueva York", "Wien"), person's language first.
    for code in dict.fromkeys((language, "en")):
        for zone, info in Locale.parse(code).time_zones.items():
            city = info.get("city")
            if city and zone in _all_zones():
                names.setdefault(_fold(city), zone)
    return names


def local_now(zone: str, now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(zoneinfo.ZoneInfo(zone))
