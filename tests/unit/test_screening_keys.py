"""The lexicons' gate keys ship computed, so the bot loads its lexicons in half the time;
a stale or missing file costs time, never a match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli
from flows import screening, screening_keys


def test_the_shipped_keys_are_exactly_those_of_todays_lexicons() -> None:
    """A lexicon edited without `peerbot screening keys` fails here, not in use: the bot
    would still be right, only slower to start."""
    shipped = json.loads(screening_keys.KEYS_PATH.read_text(encoding="utf-8"))["keys"]
    patterns = screening.lexicon_patterns()
    stale = {screening_keys._digest(p) for p in patterns} ^ set(shipped)
    assert not stale, f"{len(stale)} stale gate keys: run `peerbot screening keys`"
    for pattern in patterns:
        assert screening_keys.gate_keys(pattern) == screening_keys.compute(pattern), pattern


def test_an_edited_pattern_has_its_keys_computed_and_still_matches() -> None:
    lexicon = screening._build_lexicon(
        "en",
        {
            "entry": [
                {
                    "id": "test.new_phrase",
                    "category": "suicide",
                    "severity": 3,
                    "phrases": ["walk into the quarry lake tonight"],
                }
            ]
        },
    )
    (part,) = lexicon.rules[0].parts
    assert screening_keys._digest(part.regex.pattern) not in screening_keys._shipped()
    assert part.keys == screening_keys.compute(part.regex.pattern)[0]
    normalised = lexicon.normalise("Walk into the quarry lake tonight")
    assert any(k in normalised for k in part.keys) and part.regex.search(normalised)


@pytest.mark.parametrize("content", [None, "{not json", '{"format": 0, "keys": {}}'])
def test_a_missing_or_unreadable_keys_file_loses_no_match(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "keys.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setattr(screening_keys, "KEYS_PATH", path)
    screening_keys._shipped.cache_clear()
    try:
        assert screening_keys._shipped() == {}
        for pattern in screening.lexicon_patterns()[:200]:
            assert screening_keys.gate_keys(pattern) == screening_keys.compute(pattern)
    finally:
        screening_keys._shipped.cache_clear()


def test_the_keys_command_writes_a_file_the_bot_reads_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keys.json"
    monkeypatch.setattr(screening_keys, "KEYS_PATH", path)
    screening_keys._shipped.cache_clear()
    try:
        assert cli.main(["screening", "keys"]) == 0
        assert f"to {path}" in capsys.readouterr().out
        patterns = screening.lexicon_patterns()
        assert len(screening_keys._shipped()) == len(set(patterns))
        for pattern in patterns[::25]:
            assert screening_keys.gate_keys(pattern) == screening_keys.compute(pattern)
    finally:
        screening_keys._shipped.cache_clear()
