"""`peerbot screening eval | explain | retrain`, as an operator or a clinician runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from flows import screening, screening_corpus
from tests.unit.test_screening_model import CALM, CRISES, _examples


@pytest.fixture(autouse=True)
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no developer's .env leaks in
    monkeypatch.delenv("SCREENING_MODEL", raising=False)
    yield
    screening.use_model()  # the shipped model, for the tests after these


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


ROWS = [
    {"lang": "en", "text": "i want to kill myself", "alert": True, "kind": "active_ideation"},
    {"lang": "en", "text": "this pain is killing me", "alert": False, "kind": "pain_hyperbole"},
    {"lang": "es", "text": "me quiero morir", "alert": True},
    {"lang": "es", "text": "hoy fui a la fisio y bien", "alert": False},
    {"lang": "de", "text": "ich will sterben", "alert": True},
    {"lang": "de", "text": "ich bin todmüde", "alert": False},
]


def test_eval_prints_recall_and_false_alerts_per_language_and_ends_with_the_summary(
    capsys, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "screening", "eval", str(write(tmp_path / "set.jsonl", ROWS)))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1] == "min recall 1.000 max fpr 0.000"
    en = next(line for line in lines if line.startswith("en "))
    assert "1.000 [0.21, 1.00]" in en and "0.000 [0.00, 0.79]" in en  # Wilson bounds, n=1
    assert any("active_ideation" in line and "recall 1.000" in line for line in lines)
    assert "missed (0):" in out and "false alerts (0):" in out


def test_eval_is_the_running_bots_decision(capsys, tmp_path: Path) -> None:
    rows = [
        {"lang": e.lang, "text": e.text, "alert": e.alert}
        for e in screening_corpus.corpus("heldout", ["de"])[:150]
    ]
    _, out, _ = run(capsys, "screening", "eval", str(write(tmp_path / "de.jsonl", rows)))
    missed = [r for r in rows if r["alert"] and not screening.screen(r["text"], "de")]
    false = [r for r in rows if not r["alert"] and screening.screen(r["text"], "de")]
    assert f"missed ({len(missed)}):" in out and f"false alerts ({len(false)}):" in out
    for r in missed + false:
        assert f"[de] {r['text']}" in out


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("not json", "line 3: not JSON"),
        ('["a list"]', "line 3: expected an object"),
        ('{"lang": "en", "alert": true}', 'line 3: "text" must be a string'),
        ('{"lang": "en", "text": "x", "alert": "yes"}', 'line 3: "alert" must be true or false'),
        ('{"text": "x", "alert": true}', 'line 3: "lang" must be a language code'),
    ],
)
def test_eval_names_the_line_that_is_malformed(
    capsys, tmp_path: Path, line: str, says: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n\n" + line + "\n", "utf-8")
    code, out, err = run(capsys, "screening", "eval", str(path))
    assert code == 2 and out == ""
    assert says in err and str(path) in err


def test_eval_measures_several_files_together(capsys, tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", ROWS[:2])
    second = write(tmp_path / "b.jsonl", ROWS[2:])
    _, together, _ = run(capsys, "screening", "eval", str(first), str(second))
    _, whole, _ = run(capsys, "screening", "eval", str(write(tmp_path / "all.jsonl", ROWS)))
    assert together == whole


def test_eval_of_a_missing_file_says_so(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "screening", "eval", str(tmp_path / "nope.jsonl"))
    assert code == 2 and f"no such file: {tmp_path / 'nope.jsonl'}" in err


def test_explain_shows_what_each_detector_makes_of_a_message(capsys) -> None:
    code, out, _ = run(capsys, "screening", "explain", "en", "k.i.l.l m.y.s.e.l.f", "hi all")
    assert code == 0
    assert "undisguised: kill myself" in out
    assert "lexicon: " in out and "model: " in out
    assert out.count("decision: ALERT") == 1 and out.count("decision: no alert") == 1


@pytest.fixture
def small_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A corpus of a few dozen messages instead of thousands, so retraining takes seconds."""
    root = tmp_path / "locales"
    (root / "en" / "screening").mkdir(parents=True)
    train = [
        {"lang": e.lang, "text": e.text, "alert": e.alert, "kind": e.kind}
        for e in _examples(times=5)
    ]
    write(root / "en" / "screening" / "train-a.jsonl", train)
    heldout = [{"lang": "en", "text": t + " x", "alert": True} for t in CRISES[:8]]
    heldout += [
        {"lang": "en", "text": t + end, "alert": False} for t in CALM for end in (" x", " :)")
    ]
    write(root / "en" / "screening" / "heldout-a.jsonl", heldout)
    monkeypatch.setattr(screening_corpus, "LOCALES_DIR", root)
    monkeypatch.setattr(screening_corpus, "lexicon_examples", lambda: [])
    model = tmp_path / "model.json.gz"
    monkeypatch.setenv("SCREENING_MODEL", str(model))
    return model


def test_retrain_installs_a_model_that_keeps_recall(capsys, small_corpus: Path) -> None:
    code, out, err = run(capsys, "screening", "retrain", "--no-database")
    assert code == 0, err
    assert "held-out" in out and f"installed {small_corpus}" in out
    assert screening.use_model(small_corpus) is None
    about = screening.current_model().about
    assert about["examples"] == 120 and set(about["heldout"]) == {"en"}


def test_retrain_refuses_a_model_whose_recall_drops(capsys, small_corpus: Path) -> None:
    assert run(capsys, "screening", "retrain", "--no-database")[0] == 0
    installed = small_corpus.read_bytes()
    # Someone labels every crisis as calm: the new model would miss what the old one caught.
    train = small_corpus.parent / "locales" / "en" / "screening" / "train-a.jsonl"
    rows = [json.loads(line) for line in train.read_text("utf-8").splitlines()]
    write(train, [{**r, "alert": not r["alert"]} for r in rows])
    code, _, err = run(capsys, "screening", "retrain", "--no-database")
    assert code == 1
    assert "refused: held-out recall in en would drop" in err
    assert small_corpus.read_bytes() == installed


def test_retrain_dry_run_installs_nothing(capsys, small_corpus: Path) -> None:
    code, out, _ = run(capsys, "screening", "retrain", "--no-database", "--dry-run")
    assert code == 0 and "dry run: nothing installed" in out
    assert not small_corpus.exists()


def test_eval_piped_into_head_stops_without_a_traceback(tmp_path: Path) -> None:
    # Enough false alerts to fill the pipe long after `head` has stopped reading.
    rows = [
        {"lang": "en", "text": f"i want to kill myself {i}", "alert": False} for i in range(4000)
    ]
    data = write(tmp_path / "many.jsonl", rows)
    peerbot = subprocess.Popen(
        [sys.executable, "-m", "bot", "screening", "eval", str(data)],
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "BOT_TOKEN": ""},
    )
    assert peerbot.stdout.readline().startswith(b"lang")
    peerbot.stdout.close()  # as `head -1` does
    _, err = peerbot.communicate(timeout=60)
    assert b"Traceback" not in err
    assert peerbot.returncode == 1
