"""Disguised spellings reach screening as a reader would read them, in every language,
whatever language the person chose; ordinary messages are left as they are."""

from __future__ import annotations

import pytest

from flows.disguises import _EMOJI, undisguise
from flows.screening import screen, undisguised
from flows.screening_corpus import corpus

ZWSP, SOFT_HYPHEN, CYRILLIC_I, CYRILLIC_O, CYRILLIC_E = "\u200b", "\u00ad", "і", "о", "е"


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("i want to k i l l myself", "i want to kill myself"),
        ("k.i.l.l m.y.s.e.l.f", "kill myself"),
        ("k-i-l-l myself", "kill myself"),
        ("k_i_l_l myself", "kill myself"),
        ("su1c1de", "suicide"),
        ("k1ll mys3lf", "kill myself"),
        ("$uicide", "suicide"),
        ("quiero m@t@rme", "quiero matarme"),
        ("d i e", "die"),
        ("e-n-d i-t", "end it"),  # two letters beside a longer run spelled the same way
        ("k.i.l.l m.e", "kill me"),
        ("x-y k.i.l.l", "x-y kill"),  # another separator: left as written
        ("su!c!de", "suicide"),
        (f"ki{ZWSP}ll my{SOFT_HYPHEN}self", "kill myself"),
        (f"k{CYRILLIC_I}ll myself", "kill myself"),
        ("🔪 bye", " knife  bye"),
    ],
)
def test_disguises_are_undone(text: str, reads: str) -> None:
    assert undisguise(text) == reads


@pytest.mark.parametrize(
    "text",
    [
        "take 10mg at 3pm on the 2nd",
        "my b12 came back low",
        "cardiology did a 24hr tape",
        "a las 8 y a las 2 como dijo la farmaceutica",
        "40km zur schmerztherapie, die A7 war voll",
        "e.g. the U.K. NHS 111 line",
        "Привет, как дела",  # a Russian word stays Russian
        "hello! how are you?",
        "@Marlies danke für alles, bis dienstag",  # a mention, not "a" for "@"
        "se donde trabaja y a q hora sale",  # Spanish one-letter words, not spelled out
        "y q a las 3am no pasa nadie",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert undisguise(text) == text


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("k i l l m y s e l f tonight", "kill myself tonight"),
        ("i w a n t t o d i e", "i want to die"),
        ("k.i.l.l.m.y.s.e.l.f", "kill myself"),
        ("q u i e r o m o r i r", "quiero morir"),
        ("i-c-h-w-i-l-l-m-i-c-h-u-m-b-r-i-n-g-e-n", "ich will mich umbringen"),
        ("h e l l o e v e r y o n e", "hello everyone"),
        ("k i l l", "kill"),  # one word: nothing to split
        ("s u i c i d e", "suicide"),
    ],
)
def test_a_phrase_spelled_letter_by_letter_reads_as_its_words(text: str, reads: str) -> None:
    assert undisguised(text) == reads


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("i want to k*ll myself", "i want to kill myself"),
        ("k*ll m*self tonight", "kill myself tonight"),
        ("wanna k#ll myself", "wanna kill myself"),
        ("me quiero s*icidar", "me quiero suicidar"),
        ("ich will mich umbr*ngen", "ich will mich umbringen"),
        ("s*izid ist eine option", "suizid ist eine option"),
        # not a masked letter: emphasis, a hashtag, a language, sums, too short, two masks
        ("this is *really* bad", "this is *really* bad"),
        ("#blessed day", "#blessed day"),
        ("C# rocks", "C# rocks"),
        ("5*3=15", "5*3=15"),
        ("a*b", "a*b"),
        ("su**ide", "su**ide"),
    ],
)
def test_a_masked_letter_becomes_the_one_of_a_known_word(text: str, reads: str) -> None:
    assert undisguised(text) == reads


def test_a_masked_word_the_model_cannot_restore_stays_as_written() -> None:
    def knows_only_kill(word: str) -> float | None:
        return 1.0 if word == "kill" else None

    assert undisguise("k*ll m*self", knows_only_kill) == "kill m*self"
    assert undisguise("k*ll m*self") == "k*ll m*self"  # no words known: nothing guessed


def test_letters_that_spell_no_known_words_stay_one_word() -> None:
    def knows_only_kill(word: str) -> float | None:
        return 1.0 if word == "kill" else None

    assert undisguise("k i l l m y s e l f", knows_only_kill) == "killmyself"
    assert undisguise("k i l l k i l l", knows_only_kill) == "kill kill"


def test_almost_every_corpus_message_reads_as_written() -> None:
    # The harm emojis are read as words (a pill box emoji, say); besides them, only a
    # word mixing scripts or a joiner inside an emoji may move.
    texts = [_EMOJI.sub("", e.text) for e in corpus("train") + corpus("heldout")]
    changed = [t for t in texts if undisguised(t) != t]
    assert len(changed) <= len(texts) // 2000, changed[:10]


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("i want to k i l l myself", "en"),
        ("k.i.l.l m.y.s.e.l.f tonight", "en"),
        ("i want to d1e", "en"),
        (f"i want to ki{ZWSP}ll myself", "en"),
        (f"thinking about sui{SOFT_HYPHEN}cide every day, i want to die", "en"),
        (f"i will k{CYRILLIC_I}ll myself", "en"),
        ("🔪 bye everyone, thank you for everything", "en"),
        ("me quiero s.u.i.c.i.d.a.r", "es"),
        ("quiero m0r1r", "es"),
        (f"me quiero suici{ZWSP}dar", "es"),
        (f"me quiero m{CYRILLIC_O}rir", "es"),
        ("i want to k*ll m*self", "en"),
        ("pienso en el s*icidio", "es"),
        ("ich will mich u m b r i n g e n", "de"),
        ("ich will st3rb3n", "de"),
        (f"ich will mich umbr{SOFT_HYPHEN}ingen", "de"),
        (f"ich will st{CYRILLIC_E}rben", "de"),
        # written in another language than the person chose
        ("me quiero suicidar", "en"),
        ("ich will mich umbringen", "en"),
        ("i want to kill myself", "de"),
        ("ich will sterben", "es"),
        ("m.e q.u.i.e.r.o m.o.r.i.r", "de"),
        # spelled letter by letter, the breaks between words lost too
        ("k i l l m y s e l f tonight", "en"),
        ("i w a n t t o d i e", "en"),
        ("q u i e r o m o r i r", "es"),
        ("i c h w i l l s t e r b e n", "de"),
        ("i w a n t t o d i e", "de"),
    ],
)
def test_a_disguised_crisis_alerts(text: str, setting: str) -> None:
    assert screen(text, setting), f"{text!r} ({setting}) raised no alert"


@pytest.mark.parametrize(
    "text", ["t h a n k y o u s o m u c h", "h e l l o e v e r y o n e", "g o o d n i g h t"]
)
def test_a_calm_phrase_spelled_letter_by_letter_stays_calm(text: str) -> None:
    assert screen(text, "en") == []
