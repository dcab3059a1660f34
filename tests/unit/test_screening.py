"""Crisis screening: labelled test sets per language, plus focused behaviour tests.

The regression sets (locales/<lang>/screening/train-lexicon.jsonl) were written before
the lexicons: realistic alerts (including ones buried in long messages) and look-alikes
that people with chronic pain write every day. The lexicons were written against them
and the model is trained on them, so they guard against regressions and say nothing of
wording never seen (tests/unit/test_screening_heldout.py does). Recall must stay >= 0.95
and the false-positive rate <= 0.10 in every language. Run with -s to see the table.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest

from flows import screening
from flows.disguises import undisguise
from flows.screening import CATEGORIES, Hit, LexiconError, normalise, screen
from flows.screening_corpus import Example, read_jsonl

LOCALES = Path(__file__).resolve().parents[2] / "locales"
LANGUAGES = ("en", "es", "de")
MIN_RECALL = 0.95
MAX_FALSE_POSITIVE_RATE = 0.10


def _rows(language: str) -> list[Example]:
    return read_jsonl(LOCALES / language / "screening" / "train-lexicon.jsonl")


@dataclasses.dataclass
class _Score:
    alerts: int = 0
    caught: int = 0
    right_category: int = 0
    benign: int = 0
    false_alarms: int = 0
    missed: list[str] = dataclasses.field(default_factory=list)
    flagged: list[str] = dataclasses.field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.alerts if self.alerts else 1.0

    @property
    def fpr(self) -> float:
        return self.false_alarms / self.benign if self.benign else 0.0

    def line(self, language: str) -> str:
        return (
            f"{language:<4} {self.alerts:>6} {self.recall:>7.3f} {self.benign:>8} "
            f"{self.fpr:>7.3f} {self.right_category / max(1, self.caught):>9.3f}"
        )


def _score(language: str) -> _Score:
    score = _Score()
    for row in _rows(language):
        hits = screen(row.text, language)
        if row.alert:
            score.alerts += 1
            if hits:
                score.caught += 1
                score.right_category += any(h.category == row.category for h in hits)
            else:
                score.missed.append(row.text)
        else:
            score.benign += 1
            if hits:
                score.false_alarms += 1
                score.flagged.append(f"{row.text!r} -> {[h.rule for h in hits]}")
    return score


@pytest.fixture(scope="module")
def scores() -> dict[str, _Score]:
    result = {lang: _score(lang) for lang in LANGUAGES}
    print("\n\nlang alerts  recall   benign     FPR  category")
    for lang, score in result.items():
        print(score.line(lang))
    return result


def test_test_sets_are_well_formed() -> None:
    for lang in LANGUAGES:
        rows = _rows(lang)
        assert len(rows) >= 150, lang
        for row in rows:
            assert row.text.strip() and row.lang == lang, row
        assert {r.alert for r in rows} == {True, False}
        assert {r.category for r in rows if r.alert} == set(CATEGORIES), lang


@pytest.mark.parametrize("language", LANGUAGES)
def test_recall_and_false_positive_rate(language: str, scores: dict[str, _Score]) -> None:
    score = scores[language]
    figures = (
        f"{language}: recall {score.recall:.3f} ({score.caught}/{score.alerts}), "
        f"false-positive rate {score.fpr:.3f} ({score.false_alarms}/{score.benign})"
    )
    assert score.recall >= MIN_RECALL, f"{figures}; missed: {score.missed}"
    assert score.fpr <= MAX_FALSE_POSITIVE_RATE, f"{figures}; false alarms: {score.flagged}"


# --------------------------------------------------------------------------- API


def test_api_shape() -> None:
    assert screening.available_languages() == ("de", "en", "es")
    hits = screen("I want to kill myself", "en")
    assert hits and all(isinstance(h, Hit) for h in hits)
    hit = hits[0]
    assert dataclasses.is_dataclass(hit)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.severity = 1  # type: ignore[misc]
    assert hit.category == "suicide"
    assert hit.severity in (1, 2, 3)
    assert hit.language == "en"
    assert hit.rule.startswith("en:suicide.")
    assert screening.load_lexicon("en") is screening.load_lexicon("en")  # cached


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "ok", "thanks x", "😊"])
def test_nothing_to_report(text: str) -> None:
    assert screen(text, "en") == []


def test_unknown_language_is_screened_in_english() -> None:
    assert screen("i want to die", "fr")
    assert screen("i want to die", "pt-BR")[0].language == "en"


# --------------------------------------------------------------------------- normalisation


def test_normalise_case_accents_repeats() -> None:
    assert normalise("I WANT TO DIEEEE!!!") == "i want to die"
    assert normalise("Ich will stérben", "de") == "ich wil sterben"
    assert normalise("Me quiero MORIIIR ya", "es") == "me quiero morir ya"
    assert normalise("Ich würde nicht mehr aufwachen", "de") == normalise(
        "ich wuerde nicht mehr aufwachen", "de"
    )
    assert normalise("I’m gonna… don't", "en") == "im going to dont"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("i want to dieeee", "en"),
        ("I WANT TO KILL MYSELF", "en"),
        ("suicde is the only way out", "en"),
        ("i really want to kil myself", "en"),
        ("gonna kill myslef", "en"),
        ("i wanna die", "en"),
        ("quiero matarmeee", "es"),
        ("kiero morirme ya", "es"),
        ("suisidarme es lo unico en lo que pienso", "es"),
        ("NO QUIERO SEGUIR VIVIENDO", "es"),
        ("ich will sterbeeeen", "de"),
        ("will mich umbrigen", "de"),
        ("alle waeren besser dran ohne mich", "de"),
        ("ICH WILL NICHT MEHR LEBEN", "de"),
    ],
)
def test_normalisation_catches_spelling_variants(text: str, language: str) -> None:
    hits = screen(text, language)
    assert hits, text
    assert hits[0].category == "suicide"


@pytest.mark.parametrize(
    "text",
    [
        "danke, sehr nett von dir",
        "das ist nett gemeint, danke",
        "mein mentor ist total nett",
        "alle sind hier so nett, danke euch",
    ],
)
def test_a_german_thank_you_is_kind_not_a_dialect_no(text: str) -> None:
    # "nett" once lost its double t and read as "net", Austrian for "nicht": "mein mentor
    # ist total nicht" alerted. It is respelled as typed, before doubled letters go.
    assert "nicht" not in normalise(text, "de")
    assert not screen(text, "de"), text


def test_the_dialect_no_still_reads_as_no() -> None:
    assert normalise("i mog net mehr", "de") == "ich mag nicht mehr"
    assert screen("i mog net mehr", "de")
    assert screen("echt nett von euch, aber ich hab mich entschieden", "de")


# --------------------------------------------------------------------------- idioms, negation


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("this pain is killing me", "en"),
        ("I'm dead tired", "en"),
        ("I'm dying to see that film", "en"),
        ("I'm killing myself laughing at this thread", "en"),
        ("I could kill him, he forgot my prescription again lol", "en"),
        ("overdosed on coffee this morning lol", "en"),
        ("i cut myself a slice of cake", "en"),
        ("este dolor me está matando", "es"),
        ("estoy muerta de cansancio", "es"),
        ("me muero de ganas de ver la peli", "es"),
        ("die schmerzen bringen mich um", "de"),
        ("ich bin todmüde", "de"),
        ("ich lach mich tot", "de"),
        ("ich bring die kinder um 8 zur schule", "de"),
    ],
)
def test_idiom_alone_does_not_alert(text: str, language: str) -> None:
    assert screen(text, language) == []


def _lexicon_look_alikes() -> list[tuple[str, str, str]]:
    cases = []
    for lang in screening.available_languages():
        lex = screening.load_lexicon(lang)
        for idiom in lex.idioms:
            cases += [(lang, idiom.id, text) for text in idiom.examples]
        cases += [(lang, f"{lang}:look_alikes", text) for text in lex.look_alikes]
    return cases


@pytest.mark.parametrize(("language", "source", "text"), _lexicon_look_alikes())
def test_lexicon_look_alike_examples_do_not_alert(language: str, source: str, text: str) -> None:
    hits = screen(text, language)
    assert hits == [], f"{source}: {text!r} alerted: {[h.rule for h in hits]}"


def _lexicon_entry_examples() -> list[tuple[str, str, str]]:
    return [
        (lang, rule.id, text)
        for lang in screening.available_languages()
        for rule in screening.load_lexicon(lang).rules
        for text in rule.examples
    ]


@pytest.mark.parametrize(("language", "rule", "text"), _lexicon_entry_examples())
def test_lexicon_entry_examples_alert(language: str, rule: str, text: str) -> None:
    hits = screen(text, language)
    assert hits, f"{rule}: {text!r} did not alert"


def test_every_lexicon_covers_every_category() -> None:
    for lang in screening.available_languages():
        lex = screening.load_lexicon(lang)
        assert {r.category for r in lex.rules} == set(CATEGORIES), lang
        assert lex.idioms, lang
        assert all(r.comment for r in lex.rules), lang


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("this pain is killing me and honestly I want to kill myself", "en"),
        ("I'm dead tired. I wish I was dead", "en"),
        ("este dolor me está matando, me quiero morir", "es"),
        ("estoy muerta de cansancio y ya no quiero vivir", "es"),
        ("die schmerzen bringen mich um, ich will sterben", "de"),
        ("ich bin todmüde und will nicht mehr leben", "de"),
        # Insomnia is blanked (idiom.not_sleeping); what follows is still read.
        ("not sleeping for days and i want it all to end", "en"),
        ("no duermo desde hace días y ya no quiero seguir viviendo", "es"),
        ("schlafe seit tagen nicht und will nicht mehr leben", "de"),
        ("the pain won't let me sleep, i just want to die", "en"),
        ("my back wont let me sleep forever, thats the only way this ends", "en"),
        ("after dinner im finishing the level, then im finishing it for good", "en"),
        # A countdown to an occasion, letters for grown-up children (round 27).
        ("counting down to my birthday, then im done", "en"),
        ("3 weeks till my pain clinic appt, counting down. after that im going", "en"),
        ("briefe an meine kinder, für später wenn sie groß sind. ich will nicht mehr leben", "de"),
        ("coffee's the only thing keeping me alive, honestly i want to die", "en"),
        ("nach dem essen mach ich noch das level fertig, dann mach ich schluss", "de"),
        # Talk about a course is blanked (idiom.meta_talk), one's own thoughts in it are not.
        ("how to tell people im suicidal", "en"),
        ("how do you tell someone youre suicidal without scaring them", "en"),
        ("the course taught us how to ask if someone is suicidal and honestly i am", "en"),
        # A goodnight, a holiday missed, a deep sleep, a rope railing, a cake (round 28).
        ("goodbye for tonight, i wont be here tomorrow", "en"),
        ("goodbye for tonight. and forever", "en"),
        ("we cant go on holiday and i cant go on like this anymore", "en"),
        ("i want to sleep and be dead to the world and never wake up", "en"),
        ("i bought a rope and pulley to hang myself", "en"),
        ("I'm going to cut the cake and then kill myself", "en"),
        (
            "15 years since my brother jumped from the bridge and tonight im going to do the same",
            "en",
        ),
        ("en el curso estoy pensando en suicidarme", "es"),
        ("mein therapeut hat gefragt ob ich suizidgedanken hab und ich hab ja gesagt", "de"),
        # Spanish and German calm lines of round 28; their crisis neighbours still alert.
        ("quiero dormir y no despertar hasta el lunes, o nunca", "es"),
        ("soy una carga para mis compañeros y para todos, mejor me muero", "es"),
        ("compre una soga para colgarme", "es"),
        ("me despido de ustedes para siempre", "es"),
        ("este es mi ultimo mensaje, gracias por todo", "es"),
        ("aprendi a detectar ideas suicidas y creo que yo las tengo", "es"),
        ("wie sagt man jemandem dass man suizidgedanken hat", "de"),
        ("ich verabschiede mich aus der gruppe. danke für alles, ihr wart toll", "de"),
        # A hello with a name is blanked (idiom.greeting_introduction), never a goodbye.
        ("Hello Ben, this is Cleo. i dont want to be here anymore", "en"),
        ("hi all this is goodbye", "en"),
        ("Hola Ana, soy Cleo. ya no quiero vivir", "es"),
        ("hola, soy una carga para todos", "es"),
        ("Hallo Ben, hier ist Cleo. ich will nicht mehr leben", "de"),
        ("hallo, ich bin am ende", "de"),
    ],
)
def test_idiom_plus_explicit_intent_alerts(text: str, language: str) -> None:
    hits = screen(text, language)
    assert hits and hits[0].category == "suicide", text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Good morning, what is the quickest way with pills, honestly", "en"),
        ("Good morning, signed my car over to my sister. told her it's a gift", "en"),
        ("Buenos días, el viernes se acaba todo", "es"),
        ("Buenos días, tengo 50 pastillas contadas aquí en la mesa", "es"),
        ("Buenos días, ya me he despedido de todos, solo faltabais vosotros", "es"),
        ("Guten Morgen, das Auto steht in der Garage, der Schlauch ist dran", "de"),
        ("Guten Morgen, hab Omas Tabletten aus ihrem Nachtschrank genommen", "de"),
        ("Guten Morgen, ich bin am Ende", "de"),
    ],
)
def test_a_greeting_before_a_crisis_does_not_hide_it(text: str, language: str) -> None:
    # idiom.opening_greeting: the model had learned "good morning" from calm chat.
    assert screen(text, language), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hey all, this is goodbye", "en"),  # a farewell is no greeting
        ("Morgen ist es so weit, dann hab ich es hinter mir", "de"),  # "morgen" = tomorrow
    ],
)
def test_a_short_message_or_tomorrow_keeps_its_first_word(text: str, language: str) -> None:
    assert screen(text, language), text


@pytest.mark.parametrize(
    "text",
    [
        "puse 9 de dolor en vez de 3 sin querer, se puede corregir?",
        "puse dolor 9 en vez de 3",
        "puse 8 en vez de 2 en el cansancio, cómo lo cambio?",
        "tenemos perro nuevo!! ya me mordió dos pantuflas y el cable del cargador",
    ],
)
def test_a_mistyped_log_or_a_chewed_slipper_pages_nobody(text: str) -> None:
    assert screen(text, "es") == [], text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("me puse 20 unidades de insulina en vez de 2", "medical_red_flag"),
        ("tomé 3 en vez de 1 por el dolor y estoy mareada", "medical_red_flag"),
        ("me mordió la mano cuando intenté irme", "abuse_or_danger_at_home"),
    ],
)
def test_a_real_dose_error_or_a_bite_still_alerts(text: str, category: str) -> None:
    assert [h.category for h in screen(text, "es")][:1] == [category], text


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        # a question about method, whatever its words: at the top severity
        ("which method of dying doesn't hurt", "en", "suicide"),
        ("what's the least painful way to die", "en", "suicide"),
        ("qué método para morir no duele", "es", "suicide"),
        ("cuál es la forma menos dolorosa de morir", "es", "suicide"),
        ("welche methode zum sterben tut nich weh", "de", "suicide"),
        ("was ist die schmerzloseste art zu sterben", "de", "suicide"),
        # all of one's pills, then a goodbye
        ("took all my pills lol bye", "en", "medical_red_flag"),
        ("me tomé todas las pastillas jaja chau", "es", "medical_red_flag"),
        ("hab alle meine tabletten genommen tschüss", "de", "medical_red_flag"),
    ],
)
def test_a_method_question_or_pills_taken_with_a_goodbye_is_top_severity(
    text: str, language: str, category: str
) -> None:
    hits = screen(text, language)
    assert hits and (hits[0].category, hits[0].severity) == (category, 3), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("tell mam i loved her. bye x", "en"),  # a farewell's message to pass on
        ("q ganas de desaparecer de una vez 🥀", "es"),
        ("tmrw i e-n-d i-t. for real", "en"),  # "i-t" beside "e-n-d": spelled too
    ],
)
def test_a_farewell_message_a_wish_to_vanish_or_a_spelled_end_alerts(
    text: str, language: str
) -> None:
    assert screen(text, language), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("took all my pills, bye for now, off to physio", "en"),
        ("she pushed me into going to the party lol", "en"),  # persuaded, not pushed
        ("i never got to tell nan i loved her", "en"),  # grief, not a farewell
        ("tell mum i loved her lasagne", "en"),
    ],
)
def test_the_neighbours_of_those_stay_calm(text: str, language: str) -> None:
    assert screen(text, language) == [], text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hab alle meine tabletten genommen, tschüss bis morgen ihr lieben", "de"),
        ("me tomé todas las pastillas, chau nos vemos mañana", "es"),
    ],
)
def test_pills_taken_with_see_you_tomorrow_are_never_the_top_severity(
    text: str, language: str
) -> None:
    # "See you tomorrow" lifts the lexicons' pills-and-goodbye emergency. "All my
    # tablets taken" may still be an overdose, so the model may ask a supervisor to
    # look (severity 2), as it does for the same words without a goodbye.
    assert not screening.lexicon_hits(undisguise(text), language), text
    assert all(hit.severity < 3 for hit in screen(text, language)), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("this minecraft creeper just unalived my whole base 😭", "en"),
        ("FIBRO CAN GO JUMP OFF A CLIFF. RANT OVER.", "en"),
        ("my boss can go jump off a bridge", "en"),
        ("goodbye all, last message from me tonight, phone's nearly dead, talk tomorrow", "en"),
        ("got 60 of my tramadol saved for the holiday", "en"),
        ("sorting the hedge out with the axe this weekend", "en"),
        ("after dinner im finishing the level, then bed", "en"),
        ("Este es mi último mensaje en un tiempo: me voy a la playa sin móvil.", "es"),
    ],
)
def test_a_game_a_rant_a_phone_battery_or_a_holiday_stays_calm(text: str, language: str) -> None:
    assert screen(text, language) == [], text


@pytest.mark.parametrize(
    "text",
    [
        "sorry dass ich so lang nix geschrieben hab, war viel los. bin wieder da!",
        "sorry, war länger nicht da, hatte einen schub",
        "entschuldigt, dass ich mich so lange nicht gemeldet habe, die reha war anstrengend",
    ],
)
def test_a_german_apology_for_being_away_pages_nobody(text: str) -> None:
    assert screen(text, "de") == [], text


@pytest.mark.parametrize(
    "text",
    [
        "ich bin bald nicht mehr da",
        "sorry dass ich so lang nix geschrieben hab, ich will nicht mehr leben",
    ],
)
def test_being_gone_soon_or_a_wish_after_the_apology_still_alerts(text: str) -> None:
    assert screen(text, "de"), text


# Rounds 14 and 15 (docs/screening.md): wording from writers who read nothing of the project, each
# line what a lexicon construct was written for, and beside it the everyday wording that
# shares its words and must stay out of the lexicons.
NEW_WRITERS_CATEGORY = [
    # understatement
    ("After our Carys's wedding in June, I'm ending it.", "en", "suicide"),
    ("Nearly got 90 of my tramadol saved up now.", "en", "suicide"),
    (
        "I have consumed the remainder of my co-codamol and I am beginning to feel rather unwell.",
        "en",
        "medical_red_flag",
    ),
    ("Sorting that neighbour out with the rifle. Done talking.", "en", "harm_to_others"),
    ("i wanna unalive", "en", "suicide"),
    ("si te tomás toda la caja con fernet pega muy fuerte? curiosidad jaja", "es", "suicide"),
    ("hab mich bei jedem für alles bedankt und entschuldigt", "de", "suicide"),
    # a group chat: falls, a week's pills, a walker taken away
    ("took my whole week of pregabalin at once by mistake", "en", "medical_red_flag"),
    ("fell in the bathroom and cant get up", "en", "medical_red_flag"),
    ("me e caido en el baño y no puedo levantarme", "es", "medical_red_flag"),
    ("bin im bad gestürzt und komm nicht mehr hoch", "de", "medical_red_flag"),
    ("hat mich heute die Treppe runter gezerrt", "de", "abuse_or_danger_at_home"),
    (
        "Sie nimmt mir den Rollator weg, damit ich mich mal bewege",
        "de",
        "abuse_or_danger_at_home",
    ),
]
NEW_WRITERS_CAUGHT = [
    # the neighbours of the calm lines below, still caught
    ("this is goodbye", "en"),
    ("this is my last message here", "en"),
    ("bought a rope today", "en"),
    ("manche tage will ich nicht mehr leben", "de"),
    ("hab ein seil gekauft", "de"),
    ("me duele tanto que me quiero morir", "es"),
    ("puse una manguera conectada al tubo de escape", "es"),
    # means, plans and preparations without a death word
    ("does the multistorey at the hospital have roof access", "en"),
    ("cant type much. got all my pills out on the bed. counting", "en"),
    ("the 6:40 doesn't stop at our station. tomorrow.", "en"),
    ("After the christening Saturday I'll go, pet. I'm ready.", "en"),
    ("Going up the old tip on Friday. Won't be coming down, butt.", "en"),
    ("found a lovely new home for biscuit. for after.", "en"),
    ("key's under the mat. sorry", "en"),
    ("tngo l amitriptilina toda junta aqui", "es"),
    ("tengo el cuchillo de la cocina en mi cuarto", "es"),
    ("Tengo la escopeta de caza del güelu cargada.", "es"),
    ("El jueves los niños se van con la abuela. Es la ventana que estaba esperando.", "es"),
    ("el seguro de vida paga si pasa después de los dos años de la póliza", "es"),
    ("La Nala ya tiene nueva familia, para después.", "es"),
    ("Cancelé todas las citas de marzo en adelante.", "es"),
    ("Pásate mañana a casa, llave bajo el felpudo. Perdona.", "es"),
    ("Le dije que me vuelvo a Ecuador, pero no me vuelvo.", "es"),
    ("Das Seil im Keller hält, hab's getestet.", "de"),
    ("hab holzkohle gekauft u die fugen vom badfenstr abgeklebt", "de"),
    ("Nach der Prüfung am 12. werde ich gehen, ich habe es genau geplant.", "de"),
    ("will nur schlafen und nie wieder geweckt werden", "de"),
    # passwords, a bridge, rat poison, a date with the dead
    ("Sent my sister my 1Password export. Just in case.", "en"),
    ("Parked by the Humber Bridge again. Just looking, like.", "en"),
    ("bought rat poison. we don't have rats.", "en"),
    ("Mi roommate tiene una pistola en el closet. Sé dónde tiene las balas.", "es"),
    ("Compré veneno de ratas. No tenemos ratas.", "es"),
    ("Fui al cementerio. Le dije que para el 18 ya vamos a estar juntos.", "es"),
    ("Am 3. Mai ist ihr Todestag, und an dem Tag gehe ich zu ihr.", "de"),
    ("Hab mir den Sonntag nach ihrem Geburtstag ausgesucht, danach bin ich weg.", "de"),
    ("Abschalten wäre für mein Umfeld die effizienteste Lösung.", "de"),
    ("Hab mich von Gretas Rosen verabschiedet. Die gießt ab jetzt Frau Jensen.", "de"),
    # short lines sent late at night
    ("whats even the point of tomorrow", "en"),
    ("stockpiled me pregabalin for this", "en"),
    ("sorted my will n passwords. bye", "en"),
    ("might smother mum, cant take it", "en"),
    ("hes got the belt out again", "en"),
    ("hes kicking the door in help", "en"),
    ("hoy me mato wey", "es"),
    ("el viernes me despido de todo", "es"),
    ("voy con el machete a su casa", "es"),
    ("a mi jefe le meto un tiro mañana", "es"),
    ("fahr jetz zu dem gutachter, mit messer", "de"),
    ("nehm das baby mit, wir gehn beide", "de"),
    # round 15: how seriously, the eyes never opened again, everything but the group
    ("estoy pensando seriamente en matarme", "es"),
    (
        "los panas ya ni me invitan xq siempre cancelo, el profe me quito la nota... "
        "y la verdad es q estoy pensando seriamente en matarme",
        "es",
    ),
    ("esta semana me doy de baja de todo, de la vida tambien", "es"),
    ("me acuesto rogando no abrir mas los ojos", "es"),
    ("hoy le di las alhajas de mi madre a mi sobrina. donde voy no los necesito", "es"),
    ("me voy. no del grupo, de todo.", "es"),
    ("i go to bed praying i don't open my eyes again", "en"),
    ("i'm checking out. not from the group. from everything.", "en"),
    ("ich check dann mal aus. nicht aus der gruppe. aus allem.", "de"),
    ("ich bete jeden abend dass ich die augen nicht mehr aufmache", "de"),
    (
        "manchmal wünsch ich mir ne krankheit die mich schnell wegmacht. fnd reicht ja nich mal dafür lol",
        "de",
    ),
    ("hab alle meine sachen verschenkt, brauch eh nichts mehr", "de"),
    # round 15, disguised and mixed: the words beside a game, a word asked about, a lie-in
    ("played fortnite all day, still want to unalive", "en"),
    ("why do i want to unalive so much", "en"),
    ("why do people say i should unalive myself", "en"),
    ("bought a rope. going to hang myself from the swing frame", "en"),
    ("tonights the night. finally doing it", "en"),
    ("no quiero despertar nunca mas", "es"),
    ("hab in 20 minuten 40 tabletten genommen", "de"),
    # round 15, ordinary chat: the words its idioms sit beside
    ("i've written my note, it's under my pillow", "en"),
    ("papa atmet komisch und ist nicht ansprechbar", "de"),
    # round 15, long messages: the one clause that matters
    ("honestly I wish a truck would just hit me on the way home and end it I am so done", "en"),
    ("I hob echt überlegt ob i mi ned einfach umbring, heut scho zum dritten mal", "de"),
    (
        "Bin heut wieder mitm Kopf gegen die Wand, net bildlich gmeint, so lang bis ma schwindlig war",
        "de",
    ),
]
THEIR_NEIGHBOURS = [
    # a teenager in the morning (an older entry read it as someone who cannot be woken)
    ("cant wake him up for school, teenagers honestly", "en"),
    ("can't wake them up in the morning since the holidays", "en"),
    # a programme ending, a swing, a switched medicine, a backache
    (
        "Program wraps up today. Thanks y'all for everything, this is goodbye but not forever.",
        "en",
    ),
    ("Hi everyone, this is my last week in the group for a while.", "en"),
    ("bought a rope fae B&Q for the wean's swing, took me three hours tae tie it", "en"),
    ("VA finally switched me off the gabapentin onto pregabalin.", "en"),
    ("Honestly, the drive through Camden nearly finished me off.", "en"),
    ("Hab mir im Baumarkt 'n Seil gekauft und die Wäscheleine aufm Balkon neu gespannt.", "de"),
    ("Wir haben über Warnsignale gelernt, wenn alte Menschen nicht mehr leben wollen.", "de"),
    ("Hoy por fin colgué una cuerda en el patio para tender la ropa.", "es"),
    ("Llevé el coche al taller, el tubo de escape hacía un ruido que ni te cuento.", "es"),
    ("Hija, tengo las piernas que me quiero morir, mañana tengo fisio.", "es"),
    # a night shift's sleep, a train, a pill organiser, a key for a neighbour
    ("If anyone messages I'm not ignoring you, I'm unconscious!", "en"),
    ("I just want to sleep and not be woken till at least 4pm.", "en"),
    ("the 6:40 doesn't stop at our station, so i take the 7:10", "en"),
    ("got all my pills out on the table to fill the organiser", "en"),
    ("tengo todas las pastillas de la semana juntas en el pastillero", "es"),
    ("cancelé las citas de marzo porque me voy de viaje", "es"),
    ("dejo la llave bajo el felpudo para la vecina", "es"),
    ("die Schaukel hält, hab sie getestet", "de"),
    # a night shift, real rats, a grave visit, a wifi password
    ("Me despido, que me toca turno de noche. ¡Besos!", "es"),
    ("compré veneno de ratas porque tenemos ratas en el garaje", "es"),
    ("am Todestag gehe ich zu ihr ans Grab und bringe Blumen", "de"),
    ("sent my sister the wifi password just in case the router dies while im away", "en"),
    ("walked over the bridge again today, lovely views", "en"),
    # everyday neighbours of the short lines
    ("sorted my will at the solicitors, bye for now off to lunch", "en"),
    ("i might smother my toast in butter", "en"),
    ("i could strangle my husband, he left the milk out again lol", "en"),
    ("hoy me mato a estudiar", "es"),
    ("le pego un tiro al balon", "es"),
    ("fahr zu meiner oma mit dem messer von ihr zum schleifen", "de"),
    # falling asleep, or getting up again
    ("fell asleep on the sofa and cant get up now lol so comfy", "en"),
    ("sat on the floor for 3 hours cause there werent enough chairs", "en"),
    ("me cai en el baño pero ya me pude levantar", "es"),
    ("bin gestern gestürzt aber bin wieder hochgekommen", "de"),
    # round 15: a holiday's gloves, social life, a detox, a flare, gym clothes
    ("me di de baja de todo lo de la vida social, no puedo con el cansancio", "es"),
    ("me voy del grupo, no de todo jaja", "es"),
    ("checking out of everything for the weekend, digital detox", "en"),
    ("hope i don't open my eyes to another flare tomorrow", "en"),
    (
        "hab meine gym sachen verschenkt, kann mit fnd eh grad nich trainieren. "
        "wenns besser wird kauf ich halt neu",
        "de",
    ),
    ("hab meine baby sachen verschenkt, die kleine ist jetzt 3", "de"),
    # round 15, ordinary chat: out of it tomorrow after washing one's hair
    ("Hab mir heute die Haare gewaschen UND gekocht. Morgen bin ich nicht ansprechbar 😂", "de"),
    # round 15, disguised and mixed: a grandmother years ago, a hammock, a yoga class, a lie-in
    (
        "Meine Oma hat sich vor 20 Jahren das Leben genommen. Ich arbeite das gerade mit "
        "meiner Therapeutin auf.",
        "de",
    ),
    ("bought rope 🪢 to hang a hammock in the garden so i can rest outside this summer", "en"),
    (
        "this is my last post here 👋 my new meds are working and i'm doing so much better, "
        "thank you all for everything",
        "en",
    ),
    ("tonight's the night!! finally trying the new chair yoga class, wish me luck", "en"),
    ("Me voy a dormir y no quiero despertar hasta el mediodía 😴 mañana no trabajo", "es"),
    ("gute nacht ihr lieben, ab in die ewige ruhe… also bis 10 uhr 😴", "de"),
    # round 15, long messages: a lie-in, a commute, a move, a volunteer, a good reason to leave
    ("I just want to sleep and sleep and not wake up till Monday haha", "en"),
    ("hope the new meds hit me soon, need the relief", "en"),
    ("Went to office and the local train travel itself finished me off.", "en"),
    ("My daughter asked me what a suicide crisis line actually does", "en"),
    (
        "so leute, das ist mein letzter post hier, ich zieh mit meiner freundin nach leipzig. "
        "tschüss und alles gute euch",
        "de",
    ),
    (
        "Ihr Lieben, ich wollt mich verabschieden, aber keine Sorge, aus gutem Grund! Die neue "
        "Therapie hat endlich angeschlagen. Danke für alles, ich schau bestimmt ab und zu noch rein.",
        "de",
    ),
    ("wenn der bescheid positiv ist, dann mach ich's wirklich: ich kauf mir nen e-rollstuhl", "de"),
    ("bin heute mit dem kopf gegen die wand gelaufen beim amt, bildlich gesprochen", "de"),
    (
        "el viernes es el día, ya tengo todo preparado, las cajas listas: ¡nos cambiamos de casa!",
        "es",
    ),
    # round 16, the first sets' register: a dosette, a cat, grinding teeth, a lie-in's
    # 'that's it for me today', a teenager who won't wake, a padel ball, courgettes in dinner
    ("my head keeps telling me i should rest but i never listen", "en"),
    ("pills lined up in the dosette for the week, sorted", "en"),
    ("hit my own head on the cupboard door again lol", "en"),
    ("i crush his tablets into his yoghurt because he cant swallow them", "en"),
    ("my cat forces herself onto my lap every evening", "en"),
    ("following my old boss on linkedin lol", "en"),
    ("my jaw aches from grinding, dentist says get a guard", "en"),
    ("dried my hair with the hairdryer after the bath", "en"),
    ("deleting my facebook, too much drama. bye facebook!", "en"),
    ("our gas smells funny, engineer coming tomorrow", "en"),
    ("i want the weeds dead and i want to be the one who does it lol", "en"),
    ("me hice un corte en el dedo cortando cebolla", "es"),
    ("me duele la mandibula del bruxismo y tengo nauseas por la medicacion nueva", "es"),
    ("duele mucho tirarse al agua desde tan alto? mi hijo quiere probar en la piscina", "es"),
    ("no puedo despertar a mi hijo para el cole, adolescentes", "es"),
    ("compre soga para atar las plantas", "es"),
    ("me dejo el ojo morado la pelota de padel jaja", "es"),
    ("das wars mit mir für heute, gute nacht ihr lieben", "de"),
    ("methoden die sicher gegen migräne helfen? bin für alles offen", "de"),
    ("ich krieg die kinder morgens nicht wach, pubertät halt", "de"),
    ("mir fallen die haare büschelweise aus von dem neuen medikament", "de"),
    ("ich misch zucchini ins essen damit die kinder gemüse essen", "de"),
    ("danke für eure tipps, aber ich hab mich schon entschieden: ich geh zur reha", "de"),
    ("meine katze krampft manchmal im schlaf, 1 minute oder so", "de"),
    ("ich spring gleich aus dem bett und mach kaffee", "de"),
    # round 18, emergencies by their signs: sweets, a good run of nights, normal oxygen and sugar,
    # a heavy period, a bump on the head, a laugh, a power cut
    ("my daughter ate all the gummies at the party lol", "en"),
    ("had two good nights in a row, no fits of coughing", "en"),
    ("oxygen was 97 at the appointment, all good", "en"),
    ("was on methotrexate weekly for years, now on a biologic", "en"),
    ("my period is heavy, soaking through a pad every few hours", "en"),
    ("sugar was 5.6 this morning, happy with that", "en"),
    ("banged my head on the cupboard door lol", "en"),
    ("pregnant with number two, aching on one side from sleeping badly", "en"),
    ("choking on my tea laughing at the cat video", "en"),
    ("my leg is swollen from standing all day at work", "en"),
    ("mi hija se comio todas las gominolas jaja", "es"),
    ("la saturacion estaba en 98, todo bien", "es"),
    ("me atragante con el cafe de la risa", "es"),
    ("embarazada de 5 meses, me duele un poco el costado de dormir mal", "es"),
    ("perdi la vista del movil de repente, se apago la pantalla jaja", "es"),
    ("mein kind hat die ganzen gummibärchen gegessen", "de"),
    ("sauerstoff 98, alles gut beim arzt", "de"),
    ("lieg am boden auf der yogamatte und komm nicht hoch vor lachen 😂", "de"),
    ("kopf am schrank gestoßen, alles gut", "de"),
    ("zucker heute morgen 5,6, passt", "de"),
    ("schwanger in der 20. woche, rücken zwickt ein bisschen", "de"),
    ("hab mich am kaffee verschluckt vor lachen", "de"),
    ("plötzlich seh ich nichts mehr, stromausfall im ganzen haus 😅", "de"),
    ("scalded my finger with the kettle, bit red", "en"),
    ("me queme con el aceite, solo un poco rojo", "es"),
]


# Rounds 16 and 18 (docs/screening.md): the register of the sets the first lexicons were written
# against, by new writers; the kinds those sets hold most, each in the category a supervisor
# should see first.
REGISTER_CATEGORY = [
    ("the voices keep saying i should die", "en", "suicide"),
    ("hid the kitchen knives from myself but found the scissors", "en", "self_harm"),
    ("put some of my sleeping pills in my husband's tea", "en", "harm_to_others"),
    ("every time i mention leaving he says he'll kill the dog", "en", "abuse_or_danger_at_home"),
    ("pain in my jaw and left arm and im all sweaty and sick", "en", "medical_red_flag"),
    ("my son has been fitting for 6 minutes", "en", "medical_red_flag"),
    ("tengo ganas de saltar del puente", "es", "suicide"),
    ("me hice un tajo en el antebrazo con el cutter", "es", "self_harm"),
    ("le clavo la jeringa en el cuello a la enfermera", "es", "harm_to_others"),
    ("mi novio me dio una bofetada y me dejo el ojo morado", "es", "abuse_or_danger_at_home"),
    ("huele a gas en la casa y todos tenemos dolor de cabeza", "es", "medical_red_flag"),
    ("mein kopf sagt mir den ganzen tag, dass ich sterben soll", "de", "suicide"),
    ("ich will ihr tabletten in den kaffee mischen", "de", "harm_to_others"),
    ("mein ex steht vor der tür, obwohl er ein kontaktverbot hat", "de", "abuse_or_danger_at_home"),
    ("meine tochter krampft seit 7 minuten", "de", "medical_red_flag"),
    ("mein mann ist in der badewanne und ich krieg ihn nicht wach", "de", "medical_red_flag"),
    # round 18: the signs the NHS tells people to call 999 for, and what a peer hears first
    ("havent weed all day and i am shivering and confused", "en", "medical_red_flag"),
    ("im pregnant and have a sharp pain on one side", "en", "medical_red_flag"),
    ("my sons swallowed a button battery", "en", "medical_red_flag"),
    ("my sats are 85 and falling", "en", "medical_red_flag"),
    ("perdi la vista de un ojo de repente", "es", "medical_red_flag"),
    ("mi nieto se trago una pila de boton", "es", "medical_red_flag"),
    ("mein zucker ist bei 35, ich zittere und kann nicht denken", "de", "medical_red_flag"),
    ("lieg seit gestern abend aufm boden und komm nicht hoch", "de", "medical_red_flag"),
    # a deep burn is an emergency first, whatever else it may be
    ("burned my arm badly with boiling water, skin is white and peeling", "en", "medical_red_flag"),
    (
        "me queme el brazo con agua hirviendo, la piel esta blanca y se despega",
        "es",
        "medical_red_flag",
    ),
]


@pytest.mark.parametrize(("text", "language", "category"), REGISTER_CATEGORY)
def test_register_crises_alert_in_their_category(text: str, language: str, category: str) -> None:
    hits = screen(text, language)
    assert hits and hits[0].detector == "lexicon", text
    assert hits[0].category == category, text


@pytest.mark.parametrize(("text", "language", "category"), NEW_WRITERS_CATEGORY)
def test_new_writers_crises_alert_in_their_category(
    text: str, language: str, category: str
) -> None:
    assert [h.category for h in screen(text, language)][:1] == [category], text


@pytest.mark.parametrize(("text", "language"), NEW_WRITERS_CAUGHT)
def test_new_writers_crises_are_caught_by_the_lexicon(text: str, language: str) -> None:
    assert any(h.detector == "lexicon" for h in screen(text, language)), text


@pytest.mark.parametrize(("text", "language"), THEIR_NEIGHBOURS)
def test_their_everyday_neighbours_are_no_lexicon_entry(text: str, language: str) -> None:
    assert not any(h.detector == "lexicon" for h in screen(text, language)), text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # leaving the group better, but on a decision, not a treatment; or more after the thanks
        (
            "me despido del grupo, ya estoy mucho mejor ahora que tome la decision. "
            "gracias por todo los quiero",
            "es",
        ),
        (
            "leaving the group, i feel so much better now i've decided. "
            "thanks for everything, love you all",
            "en",
        ),
        (
            "ich verabschiede mich aus der gruppe, mir geht es besser seit ich mich "
            "entschieden habe. danke für alles",
            "de",
        ),
        (
            "leaving the group as im doing much better on the new meds. "
            "thanks for everything. i've saved up my pills for tonight",
            "en",
        ),
        # wishing for cancer to be believed is a complaint; wishing it to end is not
        ("i wish i had cancer so it would all be over", "en"),
        ("ojala tuviera cancer y que se acabe todo", "es"),
        ("ich wünschte ich hätte krebs, dann wär es bald vorbei", "de"),
        # the safety question asked of someone else, then answered in the same message
        ("are you thinking about suicide? i am", "en"),
        ("have you ever wanted to die? because i do", "en"),
        ("¿estás pensando en quitarte la vida? yo sí", "es"),
        ("hast du gedanken, dir das leben zu nehmen? ich schon", "de"),
        # "ever" is as often a veiled "I do" as a check
        ("do you ever think about killing yourself?", "en"),
        ("¿alguna vez pensaste en quitarte la vida?", "es"),
        ("hast du schon mal dran gedacht dich umzubringen?", "de"),
        # the everyday reasons above are not words that hide a crisis beside them
        ("wish the overdose had finished me off", "en"),
        ("i want to go to sleep and never wake up", "en"),
        ("das ist mein letzter post hier. danke für alles", "de"),
        ("el viernes es el dia. ya tengo todo preparado", "es"),
        ("casi me suicidé anoche", "es"),
    ],
)
def test_a_goodbye_or_a_wish_without_its_everyday_reason_still_alerts(
    text: str, language: str
) -> None:
    assert screen(text, language), text


def test_someone_who_touches_a_person_is_still_danger_at_home() -> None:
    assert [h.category for h in screen("mi tio me toca cuando no hay nadie", "es")] == [
        "abuse_or_danger_at_home"
    ]


@pytest.mark.parametrize(
    "text", ["i could go jump off a cliff", "want to jump off a bridge", "i want to unalive myself"]
)
def test_said_of_oneself_they_still_alert(text: str) -> None:
    assert screen(text, "en"), text


@pytest.mark.parametrize(
    ("joke", "meant", "self_directed", "language"),
    [
        (
            "hubby let the plant die again, im going to kill him 😂",
            "hubby let the plant die again, im going to kill him",
            "hubby let the plant die again, im going to kill myself 😂",
            "en",
        ),
        (
            "mi marido dejó secar la planta otra vez, lo mato 🤣",
            "mi marido dejó secar la planta otra vez, lo mato",
            "mi marido dejó secar la planta otra vez, me voy a matar 🤣",
            "es",
        ),
        (
            "mein mann hat die pflanze vertrocknen lassen, ich bring ihn um haha",
            "mein mann hat die pflanze vertrocknen lassen, ich bring ihn um",
            "mein mann hat die pflanze vertrocknen lassen, ich bring mich um haha",
            "de",
        ),
    ],
)
def test_a_laugh_makes_a_threat_at_a_housemate_a_joke_but_never_one_at_oneself(
    joke: str, meant: str, self_directed: str, language: str
) -> None:
    assert not screen(joke, language)
    assert screen(meant, language)
    assert screen(self_directed, language)


def test_a_laughing_face_is_read_by_the_lexicons_not_by_the_model() -> None:
    assert "laughingface" in normalise("lol 😂", "en")
    assert screening.without_idioms("such a day 😂 honestly", "en").split() == [
        "such",
        "a",
        "day",
        "honestly",
    ]


def test_negation_does_not_suppress_explicit_intent() -> None:
    hits = screen("I'm not going to kill myself… but I have the pills ready", "en")
    assert hits
    assert hits[0].category == "suicide"
    assert hits[0].severity == 3  # the pills ready, given the context

    softened = screen("I'm not going to kill myself", "en")
    assert softened, "an explicit statement alerts, negation or not"
    assert softened[0].negated

    assert screen("I want to kill myself", "en")[0].severity >= 2
    assert screen("no me voy a matar... pero tengo las pastillas preparadas", "es")[0].severity == 3
    assert screen("ich bring mich nicht um... aber die Tabletten liegen bereit", "de")


@pytest.mark.parametrize(
    ("language", "tonight", "someone_else"),
    [
        ("en", "I want to kill myself tonight.", "my mum will kill me tonight if I'm late"),
        ("es", "Quiero suicidarme esta noche.", "mi jefe tiene ganas de matarme hoy"),
        ("es", "quiero matarme hoy", "mi madre me va a matar hoy si llego tarde"),
        ("de", "Ich will mich heute Nacht umbringen.", "mein mann will mich heute umbringen"),
        ("de", "heute abend will ich mich umbringen", "mein mann will mich heute umbringen"),
    ],
)
def test_a_wish_to_die_with_a_time_now_is_imminent_in_every_language(
    language: str, tonight: str, someone_else: str
) -> None:
    # The supervisor on shift sorts by severity: "tonight" must read the same in each language.
    assert max(hit.severity for hit in screen(tonight, language)) == 3
    # Someone else's threat is not the person's own plan, whatever it raises.
    assert all(hit.severity < 3 for hit in screen(someone_else, language))


@pytest.mark.parametrize(
    ("language", "plan"),
    [
        ("en", "tonight I'm going to jump off the bridge"),
        ("es", "esta noche me tiro del puente"),
        ("de", "heute nacht spring ich von der brücke"),
    ],
)
def test_a_place_and_a_time_now_are_an_imminent_suicide_plan(language: str, plan: str) -> None:
    [top, *_] = screen(plan, language)
    assert (top.category, top.severity) == ("suicide", 3)


def test_being_thrown_or_pushed_is_danger_at_home_and_stretching_is_not() -> None:
    for said in ("mi ex me tiró por las escaleras", "me empujó contra la pared"):
        assert screen(said, "es")[0].category == "abuse_or_danger_at_home", said
    assert screen("me tiró del pelo", "es")[0].category == "abuse_or_danger_at_home"
    assert screen("me tiro al suelo a hacer los estiramientos", "es") == []
    assert screen("wenn die telekom nochmal anruft spring ich aus dem fenster haha", "de") == []


@pytest.mark.parametrize(
    ("language", "said", "category"),
    [
        ("en", "I'm standing on the platform edge", "suicide"),
        ("de", "ich steh an der bahnsteigkante", "suicide"),
        ("es", "anoche me volví a hacer daño", "self_harm"),
        ("de", "ich will meinem mann wehtun, ich kann an nichts anderes denken", "harm_to_others"),
        ("es", "le di mi perro a mi hermana para que lo cuide cuando ya no esté", "suicide"),
    ],
)
def test_the_same_warning_sign_reads_the_same_in_every_language(
    language: str, said: str, category: str
) -> None:
    [top, *_] = screen(said, language)
    assert (top.category, top.severity, top.detector) == (category, 2, "lexicon")


def test_rather_die_than_a_dentist_is_hyperbole_and_than_go_on_is_not() -> None:
    # As in Spanish and German ("antes muerta que volver a ese dentista", "lieber sterbe ich
    # als nochmal zu dem Zahnarzt"): the thing one would rather die than do decides.
    assert screen("I'd rather die than go to that dentist again haha", "en") == []
    assert screen("i'd rather die than go on like this", "en")[0].category == "suicide"
    assert screen("id rather die than live another year like this", "en")


def test_standing_at_the_platform_edge_for_a_seat_is_not_a_plan() -> None:
    waiting = "standing at the edge of the platform trying to get the first seat on the train"
    assert screen(waiting, "en") == []


def test_german_third_person_will_kill_me_is_not_the_persons_own_plan() -> None:
    # "wird" is he or she, never I: "er wird mich umbringen" is not a plan to die tonight.
    assert max(hit.severity for hit in screen("ich werde mich heute umbringen", "de")) == 3
    assert all(hit.severity < 3 for hit in screen("mein mann wird mich umbringen", "de"))
    # Pain, as in English "this pain is killing me", is blanked like the heat and the knee.
    assert screen("die schmerzen werden mich noch umbringen", "de") == []


def test_context_only_entries_need_another_hit() -> None:
    assert screen("the pills are ready in my weekly organiser", "en") == []
    assert screen("ya tengo las pastillas listas en el pastillero", "es") == []
    assert screen("die tabletten liegen bereit in der wochenbox", "de") == []


# --------------------------------------------------------------------------- languages


def test_screens_in_every_language_whatever_the_persons_setting() -> None:
    spanish = screen("me quiero morir", "es")
    assert spanish and spanish[0].language == "es"

    english_from_spanish_speaker = screen("honestly i want to die", "es")
    assert english_from_spanish_speaker and english_from_spanish_speaker[0].language == "en"

    english_from_german_speaker = screen("I just want to die, sorry for english", "de")
    assert english_from_german_speaker[0].language == "en"

    # People write in more than the language they chose: every lexicon reads every message.
    for text, setting, written_in in (
        ("me quiero suicidar", "en", "es"),
        ("ich will mich umbringen", "en", "de"),
        ("ich will sterben", "es", "de"),
        ("me quiero morir", "de", "es"),
    ):
        [hit] = screen(text, setting)
        assert hit.language == written_in and hit.detector == "lexicon"


# --------------------------------------------------------------------------- the hit


def test_the_matched_sentence_is_returned_not_the_whole_message() -> None:
    text = (
        "Hi all, quick update on pacing. Physio has me on 5 min walks which is fine. "
        "Honestly though I've been planning how to end my life. "
        "Anyway sleep is still awful, any tips welcome x"
    )
    (hit,) = [h for h in screen(text, "en") if h.category == "suicide"][:1]
    assert hit.sentence == "Honestly though I've been planning how to end my life."


def test_long_sentences_are_trimmed_around_the_match() -> None:
    filler = " ".join(["the flare has been awful and pacing is hard"] * 20)
    text = f"{filler} and I want to kill myself and {filler}"
    hit = screen(text, "en")[0]
    assert len(hit.sentence) <= screening.MAX_SENTENCE_CHARS + 2  # + ellipses
    assert "kill myself" in hit.sentence
    assert hit.sentence.startswith("…") and hit.sentence.endswith("…")


@pytest.mark.parametrize(
    ("text", "language", "category", "severity"),
    [
        ("I'M GOING TO KILL MYSELF TONIGHT", "en", "suicide", 3),
        ("i cut myself again last night", "en", "self_harm", 2),
        ("i swear im going to kill him when he gets home", "en", "harm_to_others", 3),
        ("my husband hit me again last night", "en", "abuse_or_danger_at_home", 2),
        ("crushing chest pain and i can't catch my breath", "en", "medical_red_flag", 3),
        ("me voy a quitar la vida esta noche", "es", "suicide", 3),
        ("me amenazó con matarme si me voy", "es", "abuse_or_danger_at_home", 3),
        ("hab die ganze packung diazepam geschluckt", "de", "medical_red_flag", 3),
        ("ich hab mich gestern wieder geritzt", "de", "self_harm", 2),
    ],
)
def test_category_and_severity_are_reported(
    text: str, language: str, category: str, severity: int
) -> None:
    hit = screen(text, language)[0]
    assert (hit.category, hit.severity) == (category, severity), hit


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("se me duerme la mitad de la cara y no puedo hablar bien", "es"),
        ("no puedo mover el brazo derecho y se me tuerce la boca", "es"),
        ("tengo la mitad de la cara dormida desde hace un rato", "es"),
        ("my mouth is twisting to one side", "en"),
    ],
)
def test_a_face_going_numb_or_twisting_now_is_a_stroke_sign(text: str, language: str) -> None:
    # Said in the present, as it happens; the past ("se me durmió") was caught, these were
    # only the model's "high".
    hit = screen(text, language)[0]
    assert (hit.rule, hit.severity) == (f"{language}:medical_red_flag.stroke", 3), hit


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("se me duerme la pierna cuando me siento mucho rato", "es"),
        ("se me duerme la mano por la noche, será el túnel carpiano", "es"),
        ("i twisted my face into a smile for the photo lol", "en"),
        ("my smile looks crooked in photos, always has", "en"),
    ],
)
def test_a_limb_asleep_or_a_crooked_smile_is_not(text: str, language: str) -> None:
    assert not [h for h in screen(text, language) if h.detector == "lexicon"]


@pytest.mark.parametrize(
    "text",
    [
        "in der fortbildung ging es heute um suizidgedanken bei chronischen schmerzen",
        "woran merkt man eigentlich ob jemand selbstmordgedanken hat?",
        "was macht der bot wenn jemand schreibt dass er nicht mehr leben will?",
        "im praktikum arbeite ich mit suizidalen jugendlichen, ganz schön fordernd",
    ],
)
def test_german_talk_about_training_or_someone_else_is_not_a_crisis(text: str) -> None:
    # As idiom.meta_talk in English and Spanish; German had no such idiom.
    assert not [h for h in screen(text, "de") if h.detector == "lexicon"]


@pytest.mark.parametrize(
    "text",
    [
        "seit der fortbildung hab ich selbst wieder suizidgedanken",
        "wenn jemand sagt es wird besser, will ich trotzdem nicht mehr leben",
        "wie merkt man ob man selbst suizidgedanken hat? ich glaub ich hab welche",
    ],
)
def test_german_talk_that_turns_to_oneself_still_alerts(text: str) -> None:
    assert screen(text, "de")[0].category == "suicide"


@pytest.mark.parametrize(
    ("text", "language", "alerts"),
    [
        ("stockpiling tins for winter in case i cant get to the shops", "en", False),
        ("stocked up on loo roll and pasta before the snow", "en", False),
        ("stockpiling my tramadol, got 60 now", "en", True),
        (
            "estoy haciendo acopio de latas para el invierno por si no puedo ir a la compra",
            "es",
            False,
        ),
        ("hago acopio de leña para la estufa", "es", False),
        ("estoy haciendo acopio de pastillas, ya tengo bastantes", "es", True),
    ],
)
def test_stocking_up_on_food_is_not_hoarding_means(text: str, language: str, alerts: bool) -> None:
    assert bool(screen(text, language)) is alerts


@pytest.mark.parametrize(
    ("text", "language", "alerts"),
    [
        ("gonna leave the car running in the closed garage tonight", "en", True),
        ("had the car running in the garage to warm it up before the appointment", "en", False),
        ("left the engine running in the garage to charge the battery", "en", False),
        ("esta noche dejo el coche encendido en el garaje cerrado", "es", True),
        ("dejé el coche encendido en el garaje para calentarlo antes de la cita", "es", False),
        ("ich lass heute nacht das auto in der geschlossenen garage laufen", "de", True),
        ("ich setz mich in die garage und lass den motor laufen", "de", True),
        ("hab das auto in der garage laufen lassen zum aufwärmen vor dem termin", "de", False),
    ],
)
def test_an_engine_left_running_in_a_garage_is_a_method_unless_it_warms_the_car(
    text: str, language: str, alerts: bool
) -> None:
    lexicon = [h for h in screen(text, language) if h.detector == "lexicon"]
    assert [(h.rule, h.severity) for h in lexicon] == (
        [(f"{language}:suicide.method", 2)] if alerts else []
    )


@pytest.mark.parametrize(
    "text",
    [
        "sitting on the balcony with my tomato plants, top floor views are the best",
        "sat on the balcony with my old dog all afternoon",
    ],
)
def test_a_balcony_with_plants_or_a_pet_is_calm(text: str) -> None:
    assert screen(text, "en") == []


@pytest.mark.parametrize(
    ("text", "language", "alerts"),
    [
        ("i've stopped taking my meds so i'll have more to use", "en", True),
        ("stopped taking my meds because of the side effects", "en", False),
        ("dejé de tomar la medicación para tener más para usar", "es", True),
        ("dejé de tomar la pregabalina porque me mareaba", "es", False),
        ("ich hab die medikamente abgesetzt damit ich mehr zum nehmen hab", "de", True),
        ("hab die tabletten abgesetzt weil mir schwindlig war", "de", False),
    ],
)
def test_medication_stopped_to_save_it_up_is_hoarding(
    text: str, language: str, alerts: bool
) -> None:
    lexicon = [h.rule for h in screen(text, language) if h.detector == "lexicon"]
    assert lexicon == ([f"{language}:suicide.hoarding"] if alerts else [])


@pytest.mark.parametrize(
    ("text", "language", "alerts"),
    [
        ("ich seh diese woche alle ein letztes mal", "de", True),
        ("ich seh euch alle ein letztes mal vor dem umzug nach kanada", "de", False),
        ("esta semana veo a todos por última vez", "es", True),
        ("veo a mis amigas por última vez antes de la mudanza", "es", False),
        ("la última vez que fui al médico fue en mayo", "es", False),
        ("la última vez que vi a mi hermana fue en navidad", "es", False),
        ("es la última vez que me ven, ellos no lo saben", "es", True),
    ],
)
def test_seeing_everyone_one_last_time_is_a_goodbye_but_the_last_visit_is_a_date(
    text: str, language: str, alerts: bool
) -> None:
    assert bool(screen(text, language)) is alerts


def test_highest_severity_first() -> None:
    text = "I can't go on like this. I took 30 paracetamol an hour ago."
    hits = screen(text, "en")
    assert len(hits) >= 2
    assert [h.severity for h in hits] == sorted((h.severity for h in hits), reverse=True)
    assert hits[0].category == "medical_red_flag"
    assert hits[0].sentence == "I took 30 paracetamol an hour ago."
    assert hits[-1].severity == 1


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("language", LANGUAGES)  # one language a test: they run side by side
def test_key_gate_never_hides_a_match(monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    """Skipping entries by literal keys is an optimisation: results must not change."""
    texts = [(row.text, language) for row in _rows(language)]
    gated = [screen(t, lang) for t, lang in texts]

    @functools.cache  # one ungated lexicon a language, as the bot builds one gated
    def ungated(language: str) -> screening.Lexicon:
        lex = original(language)

        def no_gate(item):  # type: ignore[no-untyped-def]
            parts = tuple(dataclasses.replace(p, keys=None) for p in item.parts)
            return dataclasses.replace(item, keys=None, parts=parts)

        return dataclasses.replace(
            lex,
            rules=tuple(no_gate(r) for r in lex.rules),
            idioms=tuple(no_gate(i) for i in lex.idioms),
        )

    original = screening.load_lexicon
    monkeypatch.setattr(screening, "load_lexicon", ungated)
    assert [screen(t, lang) for t, lang in texts] == gated


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_model_reads_the_same_text_whether_or_not_the_lexicon_pass_shared_it(
    language: str,
) -> None:
    """The lexicon pass hands its normalised, idiom-blanked text to the model's reading
    (one normalisation a language instead of two): what the model reads must not change,
    in any language a message is written in."""
    for row in _rows(language):
        for written_as in LANGUAGES:  # the person's setting need not be the text's language
            text = undisguise(row.text)
            alone = screening.without_idioms(text, written_as)
            reading = screening._Reading(text)
            screening.lexicon_hits(text, written_as, reading)
            assert screening.without_idioms(text, written_as, reading) == alone, row.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"entry": [{"id": "x", "category": "nope", "severity": 1, "phrases": ["a"]}]}, "category"),
        (
            {"entry": [{"id": "x", "category": "suicide", "severity": 4, "phrases": ["a"]}]},
            "severity",
        ),
        ({"entry": [{"id": "x", "category": "suicide", "severity": 1}]}, "phrases or patterns"),
        (
            {"entry": [{"id": "x", "category": "suicide", "severity": 1, "pattern": ["a"]}]},
            "unknown key",
        ),
        (
            {
                "entry": [
                    {"id": "x", "category": "suicide", "severity": 1, "patterns": ["plan(?:ning)"]}
                ]
            },
            "doubled letters",
        ),
        (
            {
                "entry": [
                    {"id": "x", "category": "suicide", "severity": 1, "patterns": ["(unclosed"]}
                ]
            },
            "bad pattern",
        ),
        (
            {
                "normalise": {"spelling": {"gonna": "going to"}},
                "entry": [
                    {"id": "x", "category": "suicide", "severity": 1, "patterns": ["gonna die"]}
                ],
            },
            "respelling",
        ),
        (
            {"entry": [{"id": "x", "category": "suicide", "severity": 1, "phrases": ["... die"]}]},
            "required word",
        ),
        (
            {
                "entry": [
                    {"id": "x", "category": "suicide", "severity": 1, "phrases": ["{nope} die"]}
                ]
            },
            "unknown macro",
        ),
        (
            {
                "entry": [
                    {"id": "x", "category": "suicide", "severity": 1, "phrases": ["a"]},
                    {"id": "x", "category": "suicide", "severity": 1, "phrases": ["b"]},
                ]
            },
            "duplicate",
        ),
    ],
)
def test_malformed_lexicons_fail_loudly(data: dict, message: str) -> None:
    with pytest.raises(LexiconError, match=message.split()[0]):
        screening._build_lexicon("xx", data)


def test_phrase_syntax() -> None:
    lex = screening._build_lexicon(
        "xx",
        {
            "entry": [
                {
                    "id": "x",
                    "category": "suicide",
                    "severity": 2,
                    "phrases": [
                        "no reason [for me] to (live/be alive)",
                        "kill* myself",
                        "end ... life",
                    ],
                }
            ]
        },
    )
    regex = lex.rules[0].regex
    for ok in [
        "no reason to live",
        "no reason for me to be alive",
        "killing myself",
        "end my sad life",
    ]:
        assert regex.search(lex.normalise(ok)), ok
    for no in ["no reason to be", "skilled myself", "endure my life"]:
        assert not regex.search(lex.normalise(no)), no
