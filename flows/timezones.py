"""Time zones: likely ones per language, and finding a zone from what a person types."""

from __future__ import annotations

import datetime as dt
import unicodedata
import zoneinfo
from functools import cache, lru_cache

from babel import Locale

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
    """An IANA name ('Europe/Madrid') or a city in the person's language or English."""
    typed = text.strip()
    if typed in _all_zones():
        return typed
    return _zones_by_name(language).get(_fold(typed))


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
