"""Finding a person's time zone from what they type, and their local date through DST."""

from __future__ import annotations

import datetime as dt

import pytest

from flows import timezones
from flows.timezones import find_zone, local_date


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- finding a zone --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["Europe/Madrid", "America/Argentina/Buenos_Aires", "  Europe/Berlin ", "UTC"]
)
def test_an_iana_name_is_taken_as_it_is(typed: str) -> None:
    assert find_zone(typed, "en") == typed.strip()


def test_an_iana_name_in_the_wrong_case_is_still_found() -> None:
    assert find_zone("europe/madrid", "es") == "Europe/Madrid"


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("London", "Europe/London"),
        ("new york", "America/New_York"),
        ("Los Angeles", "America/Los_Angeles"),
        ("los_angeles", "America/Los_Angeles"),
        ("Buenos Aires", "America/Argentina/Buenos_Aires"),
        ("Sao Paulo", "America/Sao_Paulo"),
        ("Zurich", "Europe/Zurich"),
    ],
)
def test_an_english_city_name_is_found(typed: str, zone: str) -> None:
    assert find_zone(typed, "en") == zone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Nueva York", "America/New_York"),
        ("nueva york", "America/New_York"),
        ("Ciudad de México", "America/Mexico_City"),
        ("ciudad de mexico", "America/Mexico_City"),  # typed without the accent
        ("Londres", "Europe/London"),
        ("Viena", "Europe/Vienna"),
        ("São Paulo", "America/Sao_Paulo"),
    ],
)
def test_a_spanish_speaker_s_city_name_is_found(typed: str, zone: str) -> None:
    assert find_zone(typed, "es") == zone


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("Wien", "Europe/Vienna"), ("wien", "Europe/Vienna"), ("Zürich", "Europe/Zurich")],
)
def test_a_german_speaker_s_city_name_is_found(typed: str, zone: str) -> None:
    assert find_zone(typed, "de") == zone


def test_english_city_names_work_whatever_the_person_s_language() -> None:
    assert find_zone("Vienna", "de") == "Europe/Vienna"
    assert find_zone("London", "es") == "Europe/London"


def test_a_city_name_in_another_language_than_the_person_s_is_not_guessed() -> None:
    assert find_zone("Wien", "en") is None
    assert find_zone("Nueva York", "en") is None


@pytest.mark.parametrize(
    ("typed", "language", "zone"),
    [
        ("Múnich", "es", "Europe/Berlin"),
        ("München", "de", "Europe/Berlin"),
        ("Munich", "en", "Europe/Berlin"),
        ("Sevilla", "es", "Europe/Madrid"),
        ("Tenerife", "es", "Atlantic/Canary"),
        ("Manchester", "en", "Europe/London"),
    ],
)
def test_a_city_people_type_without_an_iana_zone_of_its_own_is_found(
    typed: str, language: str, zone: str
) -> None:
    # Munich shares Europe/Berlin but is no IANA city: locales/places.toml knows it.
    assert find_zone(typed, language) == zone


@pytest.mark.parametrize(
    ("typed", "language", "zone"),
    [
        ("Alemania", "es", "Europe/Berlin"),
        ("Spanien", "de", "Europe/Madrid"),
        ("Mexico", "en", "America/Mexico_City"),
        ("Schweiz", "de", "Europe/Zurich"),
    ],
)
def test_a_country_with_one_zone_to_stand_for_it_is_found(
    typed: str, language: str, zone: str
) -> None:
    assert find_zone(typed, language) == zone


@pytest.mark.parametrize(("typed", "language"), [("Estados Unidos", "es"), ("Kanada", "de")])
def test_a_country_over_many_zones_is_not_guessed(typed: str, language: str) -> None:
    assert find_zone(typed, language) is None


@pytest.mark.parametrize("typed", ["", "   ", "Atlantis", "Europe/Atlantis", "Etc"])
def test_nonsense_is_not_a_zone(typed: str) -> None:
    assert find_zone(typed, "en") is None


@pytest.mark.parametrize("language", ["en", "es", "de", "fr"])
def test_every_likely_zone_offered_as_a_button_is_a_real_zone(language: str) -> None:
    offered = timezones.likely_zones(language)
    assert offered
    assert all(timezones.is_valid_zone(zone) for zone in offered)


def test_a_language_without_its_own_list_is_offered_the_english_one() -> None:
    assert timezones.likely_zones("fr") == timezones.likely_zones("en")
    assert timezones.likely_zones("de")[0] == "Europe/Berlin"


def test_a_zone_button_reads_as_the_city_in_the_person_s_language() -> None:
    assert timezones.city_name("Europe/Vienna", "de") == "Wien"
    assert timezones.city_name("America/New_York", "es") == "Nueva York"
    assert timezones.city_name("America/Los_Angeles", "en") == "Los Angeles"


# --- the person's local date -----------------------------------------------------------------

# 2026: Europe/Berlin moves to summer time on Sunday 29 March at 01:00 UTC and back on
# Sunday 25 October at 01:00 UTC; America/New_York on 8 March at 07:00 UTC and 1 November
# at 06:00 UTC.


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 28, 22, 59), dt.date(2026, 3, 28)),  # 23:59 CET
        (utc(2026, 3, 28, 23, 0), dt.date(2026, 3, 29)),  # 00:00 CET
        (utc(2026, 3, 29, 21, 59), dt.date(2026, 3, 29)),  # 23:59 CEST
        (utc(2026, 3, 29, 22, 0), dt.date(2026, 3, 30)),  # 00:00 CEST: at +1 it would be the 29th
        (utc(2026, 10, 24, 22, 0), dt.date(2026, 10, 25)),  # 00:00 CEST
        (utc(2026, 10, 25, 22, 30), dt.date(2026, 10, 25)),  # 23:30 CET: at +2 it'd be the 26th
        (utc(2026, 10, 25, 23, 0), dt.date(2026, 10, 26)),  # 00:00 CET
    ],
)
def test_berlin_s_date_follows_summer_time_in_march_and_october(
    now: dt.datetime, expected: dt.date
) -> None:
    assert local_date("Europe/Berlin", now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 8, 4, 59), dt.date(2026, 3, 7)),  # 23:59 EST
        (utc(2026, 3, 9, 4, 30), dt.date(2026, 3, 9)),  # 00:30 EDT: at -5 it would be the 8th
        (utc(2026, 11, 2, 4, 30), dt.date(2026, 11, 1)),  # 23:30 EST: at -4 it'd be the 2nd
        (utc(2026, 11, 2, 5, 0), dt.date(2026, 11, 2)),  # 00:00 EST
    ],
)
def test_new_york_s_date_follows_daylight_saving_time(now: dt.datetime, expected: dt.date) -> None:
    assert local_date("America/New_York", now) == expected


def test_far_from_utc_the_local_date_is_a_day_ahead_or_behind_across_midnight_utc() -> None:
    late_evening_utc = utc(2026, 1, 15, 23, 30)
    assert local_date("Pacific/Kiritimati", late_evening_utc) == dt.date(2026, 1, 16)  # +14
    assert local_date("Pacific/Auckland", late_evening_utc) == dt.date(2026, 1, 16)  # +13 in summer
    assert local_date("Europe/London", late_evening_utc) == dt.date(2026, 1, 15)

    just_after_midnight_utc = utc(2026, 1, 16, 0, 30)
    assert local_date("Pacific/Honolulu", just_after_midnight_utc) == dt.date(2026, 1, 15)  # -10
    assert local_date("Pacific/Pago_Pago", just_after_midnight_utc) == dt.date(2026, 1, 15)  # -11
    assert local_date("UTC", just_after_midnight_utc) == dt.date(2026, 1, 16)


def test_the_local_date_does_not_depend_on_the_zone_the_instant_is_written_in() -> None:
    instant = utc(2026, 3, 29, 22, 0)
    in_tokyo = instant.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert local_date("Europe/Berlin", in_tokyo) == local_date("Europe/Berlin", instant)
