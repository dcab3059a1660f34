"""Resources as data: searched by topic and place in the person's language, and checked the
way an admin who edits the TOML files needs (file and entry named; old entries listed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import resources_cli
from flows import resources
from flows.resources import ONLINE, ResourcesError

GOOD = """
[[resource]]
name = "Example Association"
kind = "patient_association"
topics = ["fibromyalgia"]
country = "DE"
website = "https://example.org"
description = "An example."
source = "https://example.org"
checked = {checked}
"""


def _locales(tmp_path: Path, text: str, language: str = "de") -> Path:
    folder = tmp_path / language
    folder.mkdir(parents=True, exist_ok=True)
    (folder / resources.FILENAME).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_shipped_files_are_valid_and_cover_each_topic_in_each_language() -> None:
    assert resources.check_all(dt.date(2026, 12, 6)) == []
    for language in ("en", "es", "de"):
        for topic in resources.TOPICS:
            assert resources.by_topic(language, topic), (language, topic)


def test_search_by_topic_and_country_in_the_persons_language() -> None:
    found = resources.in_country("de", "me_cfs", "DE")
    assert {r.name for r in found} >= {"Deutsche Gesellschaft für ME/CFS", "Fatigatio e.V."}
    assert all("me_cfs" in r.topics and r.country == "DE" for r in found)
    assert all(r.country != "DE" for r in resources.in_country("de", "me_cfs", "AT"))


def test_a_city_in_the_file_comes_before_the_countrys_nationwide_entries() -> None:
    place = resources.find_place("es", "  CASTILLA-LA MANCHA ")
    assert place == ("ES", "Castilla-La Mancha")
    found = resources.near("es", "fibromyalgia", *place)
    assert found[0].region == "Castilla-La Mancha"
    assert any(r.city is None and r.country == "ES" for r in found[1:])


def test_a_town_not_in_the_file_finds_its_country_and_names_are_read_loosely() -> None:
    assert resources.find_place("de", "Munchen") == ("DE", None)
    assert resources.find_place("de", "Österreich") == ("AT", None)
    assert resources.find_place("es", "españa") == ("ES", None)
    assert resources.find_place("en", "UK") == ("GB", None)
    assert resources.find_place("en", "online") == (ONLINE, None)
    assert resources.find_place("de", "Atlantis") is None
    assert resources.find_place("de", "   ") is None


def test_online_entries_work_from_anywhere() -> None:
    online = resources.online("en", "fnd")
    assert online and all(r.online for r in online)
    assert resources.online("en", None)  # every topic


def test_an_unknown_language_reads_the_english_file() -> None:
    assert resources.resources("fr") == resources.resources("en")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('kind = "patient_association"', 'kind = "shop"'), "kind 'shop'"),
        (('topics = ["fibromyalgia"]', 'topics = ["sadness"]'), "'topics'"),
        (('country = "DE"', 'country = "Germany"'), "country 'Germany'"),
        (('country = "DE"\n', ""), "needs a 'country', or online = true"),
        (('website = "https://example.org"', 'website = "example.org"'), "'website'"),
        (('description = "An example."\n', ""), "'description' is required"),
        (("checked = 2026-12-01", 'checked = "last week"'), "'checked' must be a date"),
        (
            ('name = "Example Association"', 'name = "Example Association"\nphone_nr = "1"'),
            "unknown field(s) ['phone_nr']",
        ),
    ],
)
def test_malformed_data_names_the_file_and_the_entry(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    text = (GOOD.format(checked="2026-12-01") * 2).replace(
        "Example Association", "Second", 1
    )  # the bad one is entry 2
    first, second = text.split("[[resource]]")[1:]
    second = second.replace(*change)
    _locales(tmp_path, "[[resource]]" + first + "[[resource]]" + second)
    with pytest.raises(ResourcesError) as error:
        resources.check_all(dt.date(2026, 12, 6), tmp_path)
    message = str(error.value)
    assert str(tmp_path / "de" / resources.FILENAME) in message
    assert "entry 2" in message and named in message, message


def test_broken_toml_and_duplicates_are_named(tmp_path: Path) -> None:
    _locales(tmp_path, GOOD.format(checked="2026-12-01") + "\n[[resource\n")
    with pytest.raises(ResourcesError, match="not valid TOML"):
        resources.check_all(dt.date(2026, 12, 6), tmp_path)
    _locales(tmp_path, GOOD.format(checked="2026-12-01") * 2)
    with pytest.raises(ResourcesError, match=r"entry 2 \(Example Association\): duplicate"):
        resources.check_all(dt.date(2026, 12, 6), tmp_path)


def test_entries_checked_over_a_year_ago_are_listed(tmp_path: Path) -> None:
    old = GOOD.format(checked="2025-12-05")
    fresh = GOOD.format(checked="2025-12-07").replace("Example Association", "Fresh")
    _locales(tmp_path, old + fresh)
    stale = resources.check_all(dt.date(2026, 12, 6), tmp_path)
    assert [(s.resource.name, s.age_days) for s in stale] == [("Example Association", 366)]


def test_the_cli_fails_on_bad_data_and_lists_old_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = type("Args", (), {"dir": tmp_path})()
    _locales(tmp_path, GOOD.format(checked="2020-01-01"))
    assert resources_cli.check_files(None, args) == 0
    out = capsys.readouterr().out
    assert "ok: de 1 entries" in out and "Example Association (checked 2020-01-01" in out
    _locales(
        tmp_path, GOOD.format(checked="2020-01-01").replace('kind = "patient_association"', "")
    )
    assert resources_cli.check_files(None, args) == 1
    assert "entry 1 (Example Association): 'kind' is required" in capsys.readouterr().err
