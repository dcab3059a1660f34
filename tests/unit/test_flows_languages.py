"""Which language peerbot speaks to a person, from the code their Telegram app sends."""

from __future__ import annotations

import pytest

from flows.languages import NATIVE_NAMES, SUPPORTED, match_language


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("es", "es"),
        ("es-419", "es"),
        ("es-MX", "es"),
        ("de_AT", "de"),
        ("EN-gb", "en"),
        ("de", "de"),
    ],
)
def test_a_regional_variant_gets_its_language(code: str, language: str) -> None:
    assert match_language(code, default="en") == language


@pytest.mark.parametrize("code", [None, "", "pt-BR", "fr", "zz"])
def test_an_unknown_or_missing_code_gets_the_program_s_default(code: str | None) -> None:
    assert match_language(code, default="de") == "de"


def test_a_default_that_peerbot_does_not_speak_falls_back_to_english() -> None:
    assert match_language("pt-BR", default="pt") == "en"


def test_every_language_has_its_own_name_on_the_picker() -> None:
    assert set(NATIVE_NAMES) == set(SUPPORTED)
    assert NATIVE_NAMES["es"] == "Español" and NATIVE_NAMES["de"] == "Deutsch"
