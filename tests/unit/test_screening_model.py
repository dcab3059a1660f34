"""The second detector: the bot's own scoring agrees with scikit-learn, a broken model file
is refused with a reason, and the shipped model catches wording no lexicon entry holds."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows import screening
from flows.disguises import undisguise
from flows.screening_corpus import Example
from flows.screening_model import ModelError, floats, load_model, pack_floats, words
from flows.screening_training import (
    _cv_decision,
    _folds,
    _thresholds,
    fit,
    fit_alert_model,
    write_model,
)

CRISES = [
    "i have been saving my pills for weeks and nobody knows",
    "everyone would be better off if i was gone for good",
    "i gave my guitar and my books away, i wont need them",
    "wrote letters to my kids, they will find them on friday",
    "no point going on, there is only one way out of this",
    "i keep thinking about the bridge near the station at night",
    "he hits me when he drinks and i am scared to go home",
    "i cut my arms again last night to feel something",
    "ya no aguanto mas, quiero dormirme y no despertar nunca",
    "tengo guardadas las pastillas en el cajon, ya casi son suficientes",
    "ich habe alles geregelt, der hund ist bei meiner schwester",
    "ich will einfach einschlafen und nie wieder aufwachen",
]
CALM = [
    "this pain is killing me today but the heat pad helps",
    "saving up for a new mattress, my back needs it",
    "gave my old coat to the charity shop this morning",
    "wrote a birthday card to my niece, she turns six on friday",
    "walked over the bridge to the park, first walk in weeks",
    "my physio says pacing is the only way out of boom and bust",
    "cut my fringe myself again, looks awful lol",
    "i am dead tired after the hospital appointment",
    "hoy el dolor no me deja, pero mañana voy a la fisio",
    "tengo que recoger las pastillas en la farmacia el lunes",
    "ich bin todmüde, aber der spaziergang war schön",
    "der hund ist heute bei meiner schwester, ich hab termin",
]


def _examples(times: int = 3) -> list[Example]:
    """A small balanced corpus: each message a few times with a variant ending."""
    endings = ["", " honestly", " tbh", " again", " today"][:times]
    return [
        Example(lang=_lang(t), text=t + end, alert=alert, kind="active_ideation" if alert else None)
        for texts, alert in ((CRISES, True), (CALM, False))
        for t in texts
        for end in endings
    ]


def _lang(text: str) -> str:
    if any(w in text for w in ("ich", "der", "bin")):
        return "de"
    return "es" if any(w in text for w in ("ya", "tengo", "hoy")) else "en"


def test_the_bots_scoring_agrees_with_scikit_learn(tmp_path: Path) -> None:
    # One message repeats its words hundreds of times: past the counts the bot looks up.
    examples = [*_examples(), Example("en", "so tired so sore " * 150, False)]
    _, estimator, x, _ = fit_alert_model(examples)
    expected = estimator.probability(x)
    path = tmp_path / "model.json.gz"
    write_model(fit(examples), path)
    model = load_model(path)
    for example, p in zip(examples, expected, strict=True):
        seen = screening.without_idioms(undisguise(example.text), example.lang)
        assert model.verdict(seen, example.lang).probability == pytest.approx(p, abs=2e-4), (
            example.text
        )


def test_a_hit_names_the_words_that_weighed_most_as_they_were_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.json.gz"
    write_model(fit(_examples()), path)
    monkeypatch.setattr(screening, "lexicon_hits", lambda text, language, reading=None: [])
    try:
        screening.use_model(path)
        [hit] = screening.screen("Saving my PILLS for weeks, nobody knows!", "en")
    finally:
        screening.use_model()
    label, _, words = hit.why.partition(": ")
    assert label.startswith("model 0.") or label == "model 1.00"
    shown = words.split(", ")
    assert 1 <= len(shown) <= 3
    assert set(" ".join(shown).split()) <= {
        "Saving",
        "my",
        "PILLS",
        "for",
        "weeks",
        "nobody",
        "knows",
    }


def test_one_or_two_words_are_left_to_the_lexicon() -> None:
    model = screening.current_model()
    assert model is not None
    for text in ("im", "pills", "bridge tonight"):
        verdict = model.verdict(text, "en")
        assert (verdict.alert, verdict.probability) == (False, 0.0)


# mtime=0: a gzip header carries the time, and each test worker must name these tests alike.
@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no screening model"),
        (b"\x1f\x8b\x08 cut short", "unreadable"),
        (gzip.compress(b"not json", mtime=0), "unreadable"),
        (gzip.compress(json.dumps({"format": 1}).encode(), mtime=0), "malformed"),
        (gzip.compress(json.dumps({"format": 2, "blocks": {}}).encode(), mtime=0), "malformed"),
    ],
)
def test_a_broken_model_file_is_refused_with_a_reason(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    path = tmp_path / "model.json.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=says) as refused:
        load_model(path)
    assert str(path) in str(refused.value)


def test_without_a_model_the_lexicon_still_screens_and_says_why(tmp_path: Path) -> None:
    try:
        problem = screening.use_model(tmp_path / "gone.json.gz")
        assert problem and "no screening model" in problem
        assert screening.model_problem() == problem
        [hit] = screening.screen("i want to kill myself", "en")
        assert hit.detector == "lexicon"
        assert screening.screen("my family would manage fine once im gone for good", "en") in (
            [],
            screening.lexicon_hits("my family would manage fine once im gone for good", "en"),
        )
    finally:
        screening.use_model()
    assert screening.model_problem() is None


def test_a_model_file_is_read_once_and_again_when_it_is_replaced(tmp_path: Path) -> None:
    """Each dispatcher asks for the model; the file already loaded is not read again, but a
    file rewritten since is, and a broken one is reported, never hidden by the first."""
    path = tmp_path / "model.json.gz"
    path.write_bytes(screening.MODEL_PATH.read_bytes())
    try:
        assert screening.use_model(path) is None
        loaded = screening.current_model()
        assert screening.use_model(path) is None
        assert screening.current_model() is loaded
        path.write_bytes(b"not a model")
        problem = screening.use_model(path)
        assert problem and "unreadable" in problem and screening.current_model() is None
        path.write_bytes(screening.MODEL_PATH.read_bytes())
        assert screening.use_model(path) is None
        assert screening.current_model() is not loaded
        text = "you lot kept me going longer than anyone. thank you, truly. look after each other"
        assert [h.detector for h in screening.screen(text, "en")] == ["model"]
    finally:
        screening.use_model()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("you lot kept me going longer than anyone. thank you, truly. look after each other", "en"),
        ("my kids deserve a mum who isnt a weight around their necks every single day", "en"),
        ("ya les deje todo ordenado a mis hijos, el viernes es el dia", "es"),
        ("ich hab meine sachen verschenkt, brauch ich eh nicht mehr lange", "de"),
    ],
)
def test_the_shipped_model_catches_wording_no_lexicon_entry_holds(
    text: str, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screening, "lexicon_hits", lambda text, language, reading=None: [])
    [hit] = screening.screen(text, language)
    assert hit.detector == "model" and hit.rule == "model"
    assert hit.severity == screening.MODEL_SEVERITY and hit.category in screening.CATEGORIES
    assert hit.why.startswith(("model 0.", "model 1.00")) and hit.sentence == text


def test_the_model_file_keeps_every_weight_exactly_and_refuses_arrays_that_disagree(
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.json.gz"
    data = fit(_examples())
    write_model(data, path)
    model = load_model(path)
    word = data["blocks"]["word"]
    assert list(model.blocks["word"].index) == word["features"]
    assert list(model.blocks["word"].weight) == list(floats(word["weight"]))
    assert floats(pack_floats([0.25, -1.5, 3.0])).tolist() == [0.25, -1.5, 3.0]

    word["idf"] = pack_floats([1.0])  # one idf for many features
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh)
    with pytest.raises(ModelError, match="malformed"):
        load_model(path)


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("medical_emergency", "medical_red_flag"),  # a kind of warning sign
        ("medical_red_flag", "medical_red_flag"),  # a file that labels by category
        ("abuse_or_danger_at_home", "abuse_or_danger_at_home"),
        ("burden", "suicide"),
        (None, "suicide"),
    ],
)
def test_a_crisis_teaches_the_category_its_label_names(kind: str | None, category: str) -> None:
    # The register batches label their crises by category; read as unknown kinds, their
    # 1,350 medical emergencies taught the category model "suicide" (round 25).
    assert Example("en", "help", True, kind).category == category


def test_thresholds_are_set_holding_out_one_author_at_a_time() -> None:
    examples = [
        Example(e.lang, e.text, e.alert, e.kind, source=f"train-{'ab'[i % 2]}")
        for i, e in enumerate(_examples())
    ] + [Example("en", "walked to the shop and back today", False, source="train-lexicon")]
    folds = _folds(examples)
    tests = [set(test) for _, test in folds.split()]
    assert len(tests) == 2  # one fold per author; train-lexicon is no author's fold
    for test in tests:
        assert len({examples[i].source for i in test if examples[i].source != "train-lexicon"}) == 1
    without_authors = _folds([Example(e.lang, e.text, e.alert) for e in examples])
    assert without_authors.get_n_splits() == 5  # random folds, as before


def test_a_calm_message_the_lexicon_already_alerts_on_uses_up_the_allowance() -> None:
    # Twenty calm English messages scored 0.00 … 0.95 out of fold; 10 % may alert, so two.
    walks = [Example("en", f"walked the dog again today number {i}", False) for i in range(20)]
    scores = [i / 20 for i in range(20)]
    alone = _thresholds(walks, scores, 0.10, [words(e.text) for e in walks])["en"]
    assert 0.85 < alone < 0.9  # the model's two highest (0.90, 0.95) alert
    # The lowest-scored one is a message the lexicon alerts on whatever the model says:
    # it is one of the two, so only the model's highest may alert now.
    walks[0] = Example("en", "i want to kill myself", False)
    assert screening.lexicon_hits(walks[0].text, "en")
    counted = _thresholds(walks, scores, 0.10, [words(e.text) for e in walks])["en"]
    assert 0.9 < counted < 0.95


def test_calm_messages_written_to_be_hard_teach_but_do_not_raise_the_threshold() -> None:
    # Twenty ordinary calm messages scored 0.00 … 0.95: at 10 %, the two highest alert.
    walks = [Example("en", f"walked the dog again today number {i}", False) for i in range(20)]
    scores = [i / 20 for i in range(20)]
    ordinary = _thresholds(walks, scores, 0.10, [words(e.text) for e in walks])["en"]
    # Ten twins of crises, written to score high (0.96 … 0.99): counted, they would take
    # the whole allowance and push the threshold over them all.
    twins = [  # their author's file name marks them: train-<author>-hard.jsonl
        Example(
            "en", f"counted the pills for the week again number {i}", False, source="train-t-hard"
        )
        for i in range(10)
    ]
    mixed, mixed_scores = walks + twins, scores + [0.96 + i / 300 for i in range(10)]
    tokens = [words(e.text) for e in mixed]
    assert _thresholds(mixed, mixed_scores, 0.10, tokens)["en"] == ordinary
    # The model's recorded false-alert rate is over the same ordinary calm messages.
    thresholds = {"en": ordinary}
    assert _cv_decision(mixed, mixed_scores, thresholds, tokens)["en"]["fpr"] == 0.1
    as_ordinary = [Example(e.lang, e.text, e.alert, source="train-t") for e in twins]
    assert _thresholds(walks + as_ordinary, mixed_scores, 0.10, tokens)["en"] > ordinary + 0.05


@pytest.mark.parametrize("source", ["train-g-chat", "train-zv-register"])
def test_ordinary_chat_and_short_register_lines_teach_but_do_not_lower_the_threshold(
    source: str,
) -> None:
    # The same twenty calm messages, and thirty lines of ordinary chat (or of the first
    # sets' short register) the model scores near zero: counted, they would stretch the
    # allowance and let more of the walks alert.
    walks = [Example("en", f"walked the dog again today number {i}", False) for i in range(20)]
    scores = [i / 20 for i in range(20)]
    ordinary = _thresholds(walks, scores, 0.10, [words(e.text) for e in walks])["en"]
    chat = [  # their file's name marks them: train-<author>-chat, train-<batch>-register
        Example("en", f"can we move our call to thursday number {i}", False, source=source)
        for i in range(30)
    ]
    mixed, mixed_scores = walks + chat, scores + [0.001] * 30
    tokens = [words(e.text) for e in mixed]
    assert _thresholds(mixed, mixed_scores, 0.10, tokens)["en"] == ordinary
    as_ordinary = [Example(e.lang, e.text, e.alert, source="train-g") for e in chat]
    assert _thresholds(walks + as_ordinary, mixed_scores, 0.10, tokens)["en"] < ordinary - 0.05


RESIDENT = """
import resource, sys
from flows import screening
screening.use_model(None if sys.argv[1] == "without" else screening.MODEL_PATH)
for lang in screening.available_languages():
    screening.load_lexicon(lang)
screening.screen("walked the dog to the park, tired now", "en")
print(int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize())
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc (Linux)")
def test_the_shipped_model_keeps_the_bot_within_30_mb_more_memory() -> None:
    def resident(how: str) -> int:
        run = [sys.executable, "-c", RESIDENT, how]
        return int(subprocess.run(run, capture_output=True, check=True, text=True).stdout)

    growth = resident("with") - resident("without")
    assert 0 < growth <= 30 * 2**20, f"the model adds {growth / 2**20:.1f} MB"
