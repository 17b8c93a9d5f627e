"""The safety detector: normalisation, rules with negation, the classifier, and the sets."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from scipy.sparse import hstack

from bot.safety.detect import VETO, Detector, Reading, decide
from bot.safety.learning import data_hash, shipped_languages
from bot.safety.model import TRAINED, Model, Score, Trained
from bot.safety.normalise import normalise
from bot.safety.rules import Rules
from bot.safety.sets import load_set

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT = load_set(ROOT / "bot" / "safety" / "development.yaml")
HELDOUT = load_set(ROOT / "tests" / "data" / "safety_heldout.yaml")
DETECTOR = Detector.load()
RULES_ONLY = Detector(Rules.load(), None)
# Every language's signals, no classifier: what the rules alone read in a language.
EACH_LANGUAGES_RULES = Detector(RULES_ONLY.rules, None, others=DETECTOR.others)


def test_the_sets_are_big_enough_and_apart() -> None:
    for examples in (DEVELOPMENT, HELDOUT):
        danger = sum(e.danger for e in examples)
        assert danger >= 150 and len(examples) - danger >= 150
    # Apart means apart: no development message is the same as a held-out one, nor a near
    # copy once normalised (the classifier would be judged on what it was trained on).
    heldout = [normalise(e.text) for e in HELDOUT]
    for example in DEVELOPMENT:
        text = normalise(example.text)
        for other in heldout:
            matcher = difflib.SequenceMatcher(None, text, other)
            assert matcher.quick_ratio() < 0.85 or matcher.ratio() < 0.85, example.text


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("ＫＩＬＬ myself", "kill myself"),  # full-width letters (NFKC)
        ("He didn\u2019t stop", "he didn't stop"),  # curly quote
        ("i just wanna dieeee", "i just want to die"),  # stretched letters, shorthand
        ("k1ll mys3lf", "kill myself"),  # leetspeak inside words
        ("💊💊 tonight", "pills pills tonight"),  # risk emoji
        ("wanna kms tbh", "want to kill myself"),
        ("bf wont let me c my friends", "boyfriend won't let me see my friends"),
        ("I've started self-harming", "i've started self-harming"),  # hyphens stay
        ("we have 2 kids, I'm 24", "we have to kids, i'm 24"),  # only a lone 2 or 4
    ],
)
def test_normalise(typed: str, read: str) -> None:
    assert normalise(typed) == read


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I want to kill myself", "self_harm"),
        ("he hits me", "violence"),
        ("he won't let me see my friends", "coercion"),
        ("I'm afraid of him", "fear"),
        # negation stops at a new clause and at "but"
        ("No one knows he chokes me", "violence"),
        ("He wouldn't stop, slapped me twice", "violence"),
        ("He didn't mean to but he hit me", "violence"),
        ("He won't stop hitting me", "violence"),
        ("It wasn't the first time he slapped me", "violence"),
        # typed the way people type
        ("he slaped me", "violence"),
        ("i want 2 die", "self_harm"),
        ("🔪 he held it to me", "violence"),
        ("walking on eggshells every day at home", "fear"),
        ("if I can't have you nobody can, he said", "coercion"),
        # next to the idioms that leave a house rule or a game alone
        ("he locked me out of the house all night", "coercion"),
        ("he took my phone so i couldn't call my sister", "coercion"),
        ("he broke my wrist", "violence"),
        # from two new writers' misses (D160, D162): plain words the rules lacked
        ("I have lost all will to live", "self_harm"),
        ("gave away all my stuff this week, feels calmer", "self_harm"),
        ("i deserved that slap, i was being annoying", "violence"),
        ("she says she'll kill me and then herself if i leave", "violence"),
        ("found a tracker under my car seat", "coercion"),
        ("he makes me ask permission before i eat", "coercion"),
        ("is it normal to be scared of your husband", "fear"),
        # from three more writers' misses (D161, D168, D169)
        ("sat in the garage with the car running for a while last night", "self_harm"),
        ("lol i only took like 8 of the tylenol, im fine just a lil nauseous", "self_harm"),
        ("he's sweet most days. the other days i'm afraid for my life", "fear"),
        ("cant sleep. listening for his footsteps", "fear"),
        ("Dad went for Mum with a hammer last night", "violence"),
        ("she's been putting something in my tea to make me sick", "violence"),
        ("Locked in the spare room for the night again", "coercion"),
        ("found an airtag sewn into my gym bag", "coercion"),
        # from two more writers' misses (D178, D179)
        ("no point carrying on", "self_harm"),
        ("if i died tomorrow would anyone even notice", "self_harm"),
        ("reading up on how much paracetamol is too much", "self_harm"),
        ("i get slapped if dinner's late. that's just how it is", "violence"),
        ("if i spend anything without asking he cuts up my card", "coercion"),
        ("he doesn't let me get a job", "coercion"),
        ("I'm not allowed female friends", "coercion"),
        ("she says she will tell police I hit her if I say something", "coercion"),
        ("whats the safest way to leave someone", "fear"),
    ],
)
def test_signs_are_caught_by_the_rules(text: str, kind: str) -> None:
    finding = RULES_ONLY.screen(text)
    assert finding is not None and finding.kind == kind and finding.sure


@pytest.mark.parametrize(
    "text",
    [
        "He would never hit me",
        "He has never hurt me, he is very gentle",
        "This traffic is killing me",
        "My boss is going to kill me if I'm late",
        "I could kill for a coffee",
        "he beat me at tennis",
        "Hit me up when you're free",
        "I'm scared of spiders",
        "I don't want to die on this hill, the blue sofa is fine",
        # a house rule, a lost charger, a game, a broken wrist: new writers' false alarms
        "he hid my phone so i'd stop doomscrolling",
        "she locked me out of the netflix account lmao",
        "wife beat me up in mortal kombat again",
        "broke my wrist skateboarding, cast for 6 weeks",
        "my mother-in-law is here for a month and i'm losing the will to live",
        "he makes me ask permission to touch his sourdough starter",
        # ... and their look-alikes: a small dose, a bridge in traffic, a past that is over
        "took 2 tylenol for the headache, feeling better",
        "Me da was handy with his fists when we were kids. He's long dead.",
        "had a restraining order on my ex in 2015, all good now",
        # their false alarms: laughing hard, a chili, the news, the traffic, a gym class
        "She's killing herself laughing cos I said the car would make it",
        "tried his chili and i genuinely thought i was gonna die",
        "that murder-suicide on the news has been everywhere",
        "This traffic in Lagos wants to kill me",
        "He dragged me to his CrossFit class",
    ],
)
def test_look_alikes_are_left_alone_by_the_rules(text: str) -> None:
    assert RULES_ONLY.screen(text) is None


@pytest.mark.parametrize(
    "text",
    ["my private words", "first try", "hello?", "a", "weekends", "Take the kids to school?"],
)
def test_short_flow_answers_pass(text: str) -> None:
    assert DETECTOR.screen(text) is None


def test_negation_never_cancels_self_harm_it_asks_instead() -> None:
    finding = RULES_ONLY.screen("I'm not suicidal, just really stressed")
    assert finding is not None and finding.kind == "self_harm" and not finding.sure


def test_an_everyday_reading_lets_a_doubted_sign_go_but_asks_about_a_sure_one() -> None:
    """When the classifier is all but sure a message is everyday talk, a sure sign of
    self-harm is still asked about; a doubted one ("I'm not suicidal") goes, like violence."""
    everyday = {"en": Score(VETO / 2, "")}
    sure = decide(Reading("self_harm", None, everyday), {})
    assert sure is not None and sure.kind == "self_harm" and not sure.sure
    assert decide(Reading(None, "self_harm", everyday), {}) is None
    assert decide(Reading("violence", None, everyday), {}) is None
    unsure = {"en": Score(VETO * 2, "")}
    doubted = decide(Reading(None, "self_harm", unsure), {})
    assert doubted is not None and doubted.kind == "self_harm" and not doubted.sure


def test_a_weaker_sign_asks_rather_than_answers() -> None:
    finding = RULES_ONLY.screen("I can't do this anymore")
    assert finding is not None and not finding.sure


def test_the_fast_scorer_is_the_trained_regression() -> None:
    """Model copies scikit-learn's weights into NumPy tables and writes out its analyzers;
    both must score alike, and the analyzers must cut n-grams exactly as scikit-learn's.
    The danger score is the blend of the two fitted classifiers' decision functions."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from bot.safety.model import BLEND, SGD_ALPHA, Analyzer
    from bot.safety.reading import model_text

    model = Model.train(DEVELOPMENT)
    texts = [model_text(e.text) for e in DEVELOPMENT]
    labels = [e.danger for e in DEVELOPMENT]
    analyzers = [Analyzer("char", 2, 5), Analyzer("word", 1, 2)]
    vectorizers = [a.vectorizer() for a in analyzers]
    matrix = hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
    regression = LogisticRegression(C=16.0, max_iter=3000).fit(matrix, labels)
    huber = SGDClassifier(loss="modified_huber", alpha=SGD_ALPHA, random_state=7).fit(
        matrix, labels
    )
    probe = [model_text(e.text) for e in HELDOUT[:40]] + ["", "zzz qqq", "  two  spaces  "]
    for analyzer in [*analyzers, Analyzer("char_wb", 2, 5)]:
        for text in probe:
            assert analyzer(text) == analyzer.vectorizer().build_analyzer()(text)
    read = hstack([v.transform(probe) for v in vectorizers]).tocsr()
    expected = (1 - BLEND) * regression.decision_function(read) + BLEND * huber.decision_function(
        read
    )
    for text, want in zip(probe, expected, strict=True):
        assert model.danger.scores(text)[0] == pytest.approx(want, abs=1e-6)


def test_the_shipped_classifiers_are_trained_on_todays_development_sets() -> None:
    """Nothing trains while a person waits: the classifiers ship in trained.npz, made
    by `us-coach safety train` from the development sets whose hash it records."""
    shipped = Trained.read(TRAINED)
    assert shipped is not None, "trained.npz is in an older layout: run `us-coach safety train`"
    assert shipped.hash == data_hash(shipped_languages()), (
        "the development sets changed: run `us-coach safety train` and commit trained.npz"
    )
    assert set(shipped.models) == set(shipped_languages()) == set(shipped.asks)
    assert all(0.5 <= ask < 1 for ask in shipped.asks.values())


def test_the_development_set_is_learned() -> None:
    """Not a held-out figure: the rules were written and the classifier trained on it."""
    missed = [e.text for e in DEVELOPMENT if e.danger and DETECTOR.screen(e.text) is None]
    alarms = [e.text for e in DEVELOPMENT if not e.danger and DETECTOR.screen(e.text)]
    danger = sum(e.danger for e in DEVELOPMENT)
    assert len(missed) <= danger // 100, missed  # the classifier is regularised: not all
    assert len(alarms) <= 8, alarms


# Guards two points under the figures reported in the issue note (bench/safety.py prints
# them with their intervals): the independent held-out sets, all writers of a language
# together. Retraining after a template change moves a figure by a message or two; a slip
# past these is a real one. Raise them when the detector gets better; never tune on these
# sets to pass them.
FLOORS = {"en": (0.95, 0.92), "de": (0.90, 0.93), "es": (0.94, 0.89), "ar": (0.94, 0.88)}


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_the_independent_held_out_figures_do_not_slip(lang: str) -> None:
    examples = [
        e
        for path in sorted((ROOT / "tests" / "data" / "heldout").glob(f"*_{lang}.yaml"))
        for e in load_set(path)
    ]
    danger = [e for e in examples if e.danger]
    assert len(danger) >= 150 and len(examples) - len(danger) >= 150
    caught = sum(1 for e in danger if DETECTOR.screen(e.text, lang))
    alarms = sum(1 for e in examples if not e.danger and DETECTOR.screen(e.text, lang))
    recall, precision = caught / len(danger), caught / max(1, caught + alarms)
    assert recall >= FLOORS[lang][0] and precision >= FLOORS[lang][1], (recall, precision)


def test_odd_input_is_screened_without_error() -> None:
    for text in ["", " ", "🙂" * 500, "a" * 20_000, "\u202e\u0000", "$$$", "4 2 4"]:
        DETECTOR.screen(text)


@pytest.mark.parametrize("lang", ["de", "es", "ar"])
def test_each_language_has_its_signals_and_two_sets_apart(lang: str) -> None:
    development = load_set(ROOT / "bot" / "safety" / lang / "development.yaml")
    heldout = load_set(ROOT / "tests" / "data" / f"safety_heldout_{lang}.yaml")
    assert lang in DETECTOR.languages
    for examples in (development, heldout):
        assert {e.kind for e in examples if e.danger} == {
            "self_harm",
            "violence",
            "coercion",
            "fear",
        }
        assert sum(e.danger for e in examples) >= 20 and sum(not e.danger for e in examples) >= 15
    assert not {normalise(e.text) for e in development} & {normalise(e.text) for e in heldout}
    # The development set is what the signals were written with: the rules read all of it
    # right (the classifiers, trained on far more, may disagree on a few).
    rules = EACH_LANGUAGES_RULES
    missed = [e.text for e in development if e.danger and rules.screen(e.text, lang) is None]
    alarms = [e.text for e in development if not e.danger and rules.screen(e.text, lang)]
    assert missed == [] and alarms == []


@pytest.mark.parametrize(
    ("lang", "text", "kind"),
    [
        ("de", "Mein Partner schlägt mich jede Woche", "violence"),
        ("de", "Ich will mir das Leben nehmen", "self_harm"),
        ("es", "Tengo miedo de mi marido", "fear"),
        ("es", "Me quita la tarjeta y el sueldo", "coercion"),
        ("ar", "أُفكّر في الانتحار", "self_harm"),  # with vowel marks and hamza: read the same
        ("ar", "زوجي يضربني", "violence"),
    ],
)
def test_signs_in_other_languages_are_read_in_that_language(
    lang: str, text: str, kind: str
) -> None:
    finding = DETECTOR.screen(text, lang)
    assert finding is not None and finding.kind == kind


@pytest.mark.parametrize(
    ("lang", "text", "kind"),
    [
        # typed without umlauts or accents: the rules read both spellings alike
        ("de", "er schlagt mich", "violence"),
        ("de", "er wurgt mich", "violence"),
        ("es", "me pego otra vez", "violence"),
        # short and plain, under the classifier's four words: the rules' own work
        ("de", "hat mich vergewaltigt", "violence"),
        ("de", "faust ins gesicht", "violence"),
        ("de", "hab tabletten gesammelt", "self_harm"),
        ("de", "will mich umbringen", "self_harm"),
        ("de", "angst vor seiner wut", "fear"),
        ("es", "me violó", "violence"),
        ("es", "se le pasó la mano", "violence"),
        ("es", "quiero matarme", "self_harm"),
        ("es", "me prohíbe salir", "coercion"),
        ("es", "caminando sobre cáscaras de huevo", "fear"),
        ("de", "ihm rutscht öfter mal die hand aus", "violence"),
        ("de", "bin so lebensmuede", "self_harm"),
        ("de", "zuhause zu gefährlich", "fear"),
        ("de", "er hat gedroht mich abzustechen", "violence"),
        ("de", "ich will schlafen und nie aufwachen", "self_harm"),
        ("de", "sie schaut immer mein handy durch", "coercion"),
        ("es", "me ha pegao otra vez", "violence"),
        ("es", "me ha dado una paliza", "violence"),
        ("es", "le tengo miedo, mucho", "fear"),
        ("es", "me quita toda la nomina", "coercion"),
        ("es", "estoy harta de vivir", "self_harm"),
        # Arabic dialects, in Arabic script and in Arabizi, on one consonant skeleton
        ("ar", "darabni kaman marra", "violence"),
        ("ar", "jouzi drebni", "violence"),
        ("ar", "خايفة منه", "fear"),
        ("ar", "ana 5ayfa mno", "fear"),
        ("ar", "bghit nmout", "self_harm"),
        ("ar", "بغيت نموت", "self_harm"),
        ("ar", "ابي اموت وخلاص", "self_harm"),
        ("ar", "ساحب جوازي", "coercion"),
        ("ar", "خايفه ارجع البيت", "fear"),
        # umlauts typed as two letters, and the dialects' own words
        ("de", "mein mann hat mich gewuergt", "violence"),
        ("de", "er schlaegt mich", "violence"),
        ("de", "het mi vor de chind gschlage", "violence"),
        ("de", "will nimma lebn", "self_harm"),
        ("de", "er schlägt mich nicht nur mit der hand", "violence"),
        ("es", "me esta pegando ayuda", "violence"),
        ("es", "me cambio la cerradura", "coercion"),
        ("en", "he kicked my pregnant belly", "violence"),
        # from eight new writers' misses (D126-D133): Swiss, Viennese, pill counts
        ("de", "möcht nümme läbe", "self_harm"),
        ("de", "i fürcht mi vor eam", "fear"),
        ("de", "30 ibus liegen vor mir", "self_harm"),
        ("de", "droht mir mit der axt", "violence"),
        ("es", "me clavo el tenedor en la mano", "violence"),
        ("es", "me tiene prohibido salir con mis amigas", "coercion"),
        ("es", "me sobra la vida, tio", "self_harm"),
        ("ar", "كسرلي سنتي", "violence"),
        ("ar", "قافل عليا الباب", "coercion"),
        ("ar", "نويت اشرب السم", "self_harm"),
        # beside the words that say a past is over: an age, "fine now", a friend in prison
        ("en", "he threw me across the room, i blacked out but im fine now", "violence"),
        ("en", "he hit me last night. i'm safe now, at my sister's", "violence"),
        ("es", "anoche me pegó. ya estoy a salvo en casa de mi madre", "violence"),
        ("en", "I've been frightened of him for years. I'm 74 now and I'm still waiting", "fear"),
        ("de", "meine frau schlägt mich wenn sie trinkt. bin 67, wem sag ich das", "violence"),
        ("de", "er nimmt mir das auto weg. ich komm jetzt nicht mehr zur tochter", "coercion"),
        ("es", "mi viejo me jala del pelo cuando la comida no esta, ya tengo 65 años", "violence"),
        ("es", "me va a rajar la cara, tiene un amigo que ya estuvo en la cárcel", "violence"),
        # from a new writer's misses (D180)
        ("de", "wenn ich noch einmal mit meinem ex schreib dann schlitzt er mich auf", "violence"),
        ("de", "ich frag mich jeden tag ob heute der tag ist an dem er durchdreht", "fear"),
        # self-injury still reads after "hurt feelings" learnt to pass
        ("de", "ich hab mich wieder verletzt, mit der klinge", "self_harm"),
        ("de", "ich lächel, nick, sag ja. alles andere ist zu gefährlich", "fear"),
    ],
)
def test_short_and_unaccented_signs_are_read_by_each_languages_rules(
    lang: str, text: str, kind: str
) -> None:
    rules = EACH_LANGUAGES_RULES
    finding = rules.screen(text, lang)
    assert finding is not None and finding.kind == kind and finding.sure


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("de", "ich bring dich um 😂"),
        ("de", "hab mich beim kochen geschnitten"),
        ("de", "der stau bringt mich noch um"),
        ("de", "er hat mich nie geschlagen"),
        ("es", "lo voy a matar"),
        ("es", "me pegó un susto"),
        ("es", "el tráfico me está matando"),
        # "no" is a negation (YAML once read the bare word as false and dropped it)
        ("es", "no me pega"),
        ("en", "there is no way he hits me"),
        ("ar", "mesh khayfa menno"),  # "I'm not afraid of him"
        ("ar", "zaman kan ydaffashne"),  # "he used to push me, long ago"
        ("ar", "لو حسيت اني خايفه منه وش اسوي"),  # "if I ever felt afraid of him, what would I do"
        ("en", "I am afraid of the fifth man"),
        # "nich", "ned", "null": how "nicht" is typed and said in the North and the South
        ("de", "hab nich angst vor ihm"),
        ("de", "i hob ned angst vor eam"),
        ("de", "ich hab null angst vor ihm"),
        ("de", "nein er sperrt mich nich ein, die tuer klemmt nur"),
        # a past with a number in it
        ("de", "vor 3 jahren hat mein ex mich geschlagen"),
        ("es", "hace 10 años un ex me pegaba"),
        ("en", "in 2015 my boyfriend hit me, never again since"),
        ("es", "le tengo miedo... a las arañas"),
        # German says "not" after the verb; "nie wieder" and "nicht nur" keep it going
        ("de", "nein, er schlägt mich nicht"),
        ("de", "er kontrolliert mein handy nich, wir vertrauen uns"),
        ("de", "naa, er hod mi no nia gschlagn"),
        ("de", "vor zehn jahr hat mi mei ex gschlagn"),
        ("en", "i want to die of embarrassment"),
        ("en", "he stabbed me in the back in among us"),
        ("es", "me quiero morir de la vergüenza"),
        ("es", "mi novia me dio una paliza al parchís"),
        # and their look-alikes: a kitchen rule, forgetting milk, a number of years ago
        ("es", "mi marido me tiene prohibido cantar en la ducha"),
        ("es", "se le fue la mano con la sal"),
        ("de", "ich könnt mich ohrfeigen, schon wieder die milch vergessen"),
        ("de", "hab zu viele pillen gegen heuschnupfen genommen"),
        ("ar", "قبل ١٢ سنة طليقي كسر إيدي، اليوم أنا بأمان"),
        # a past said to be over after it is told (`negation.over`)
        ("en", "my ex hit me. 10 yrs ago. i'm ok now"),
        ("en", "My ex-husband once threatened me with a knife. That was twelve years ago."),
        ("de", "mein ex hat mich geschlagen, aber das ist 10 jahre her"),
        ("de", "die zeit wo ich angst vor ihm hatte is vorbei, er sitzt im knast"),
        ("es", "mi ex me pegaba, pero eso fue hace ocho años. ahora estoy a salvo"),
        ("ar", "طليقي كان بيضربني، بس ده من خمس سنين والحمد لله خلصت"),
        # hurt feelings, a coffee overdose, a crime drama (writers D180, D182)
        ("de", "ich hab mich verletzt gefühlt, als du ohne mich zum grillen bist"),
        ("de", "was mich verletzt hat war nicht der streit selbst"),
        ("de", "hab heut ne überdosis kaffee, 6 tassen, zitter wie blöd"),
        ("de", "im tatort heute stösst ein mann seine frau die treppe runter"),
        ("de", "der krimi gestern im zdf: mann trackt ihr auto mit nem airtag"),
    ],
)
def test_each_languages_look_alikes_are_left_alone_by_the_rules(lang: str, text: str) -> None:
    rules = EACH_LANGUAGES_RULES
    assert rules.screen(text, lang) is None


def test_a_negation_word_yaml_would_read_as_true_or_false_is_refused(tmp_path: Path) -> None:
    signals = tmp_path / "signals.yaml"
    signals.write_text(
        "negation: {cues: [no, never], clause_words: [], keep_going: [], distance: []}\n"
        "signals: {violence: {hit: ['\\bhits me\\b']}}\n"
    )
    with pytest.raises(ValueError, match="quoted"):
        Rules.load(signals)


def test_another_languages_everyday_words_are_not_read_by_the_english_classifier() -> None:
    # A Spanish apology scored as danger by the English classifier once: it reads English only.
    assert DETECTOR.screen("Me equivoqué en gritar", "es") is None
    assert DETECTOR.screen("Es tut mir leid, dass ich zu spät kam", "de") is None


def test_the_shipped_file_reads_back_to_the_same_bytes(tmp_path: Path) -> None:
    """trained.npz read and written again is the same file, byte for byte (the same training
    gives the same bytes, so a retrain that changed nothing shows no diff)."""
    shipped = Trained.read(TRAINED)
    assert shipped is not None
    again = tmp_path / "again.npz"
    shipped.save(again)
    assert again.read_bytes() == TRAINED.read_bytes()
    reread = Trained.read(again)
    assert reread is not None and reread.asks == shipped.asks and reread.hash == shipped.hash


def test_ngram_keys_are_the_same_in_every_process_and_tell_grams_apart() -> None:
    """The shipped file holds its terms as keys: a process with another string-hash salt
    must make the same key of the same n-gram, or nothing it reads would be found."""
    import json
    import os
    import subprocess
    import sys

    from bot.safety.features import keys_of

    grams = ["ab", "abc", " hi ", "schläge", "ضربني", "x" * 48, "x" * 49, "x" * 300, "b a"]
    here = [int(k) for k in keys_of(grams)]
    assert len(set(here)) == len(grams)
    script = (
        "import json, sys; from bot.safety.features import keys_of; "
        "print(json.dumps([int(k) for k in keys_of(json.loads(sys.argv[1]))]))"
    )
    for salt in ("1", "2"):
        there = subprocess.run(
            [sys.executable, "-c", script, json.dumps(grams)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": salt},
        ).stdout
        assert json.loads(there) == here


def test_the_written_out_multipliers_are_the_seeded_ones_the_model_was_trained_with() -> None:
    """The shipped terms' keys were made with these numbers: one changed digit and no term
    would be found again."""
    import numpy as np

    from bot.safety.features import KEYED, MULTIPLIERS, SEED

    seeded = np.random.default_rng(SEED).integers(1, 2**63, size=KEYED + 1, dtype=np.uint64)
    assert [int(m) for m in seeded | np.uint64(1)] == list(MULTIPLIERS)


def test_window_keys_are_the_keys_of_the_analyzers_grams() -> None:
    """Scoring makes the character n-grams' keys from the text's code points without cutting
    the grams: the same keys, as often, as cutting them and keying each (accents, Arabic
    script, Arabizi, emoji, runs of spaces, texts shorter than a gram)."""
    from collections import Counter

    from bot.safety.features import keys_of, window_keys
    from bot.safety.model import Analyzer
    from bot.safety.reading import arabic_text, model_text

    others = [
        load_set(ROOT / "bot" / "safety" / lang / "development.yaml") for lang in ["de", "es", "ar"]
    ]
    texts = [e.text for e in DEVELOPMENT[::7] + [e for each in others for e in each[::9]]] + [
        "",
        "a",
        "ab",
        " a ",
        "x  y\tz",
        "😀 hi 😀",
        "Er schlägt mich",
        "jouzi dara2ni",
        "جوزي ضربني",
    ]
    for read in (model_text, arabic_text):
        for text in (read(t) for t in texts):
            for analyzer in (
                Analyzer("char", 2, 5),
                Analyzer("char_wb", 2, 5),
                Analyzer("char_wb", 1, 3),
            ):
                want = Counter(int(k) for k in keys_of(analyzer(text)))
                assert Counter(int(k) for k in window_keys(analyzer, text)) == want, (
                    analyzer.kind,
                    text,
                )


@pytest.mark.parametrize("lang", ["en", "de", "es", "ar"])
def test_the_one_scan_before_the_signals_never_hides_one(lang: str) -> None:
    """`Rules.hits` looks for every signal at once before it looks for each: on the
    development messages of the language, the one scan finds something exactly when some
    signal does, so skipping the rest loses no sign. Every fourth message (3,300 to 7,600 a
    language): reading all of them with every signal one by one took 80 s of
    CI's time once the sets passed 88,000 messages."""
    from bot.safety.learning import development_files

    rules = DETECTOR.rules if lang == "en" else DETECTOR.others[lang]
    assert rules.anything is not None
    every = [normalise(e.text) for path in development_files(lang) for e in load_set(path)]
    texts = every[::4]
    matched = 0
    for text in texts:
        one = rules.anything.search(text) is not None
        each = any(s.pattern.search(text) for s in rules.signals)
        assert one == each, text
        matched += each
    assert 0 < matched < len(texts)  # both ways were tried


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("she keeps my insulin in her purse", "coercion"),
        ("gonna take all of them tonight", "self_harm"),
        ("i'm standing on the overpass", "self_harm"),
    ],
)
def test_weaker_signs_ask_first(text: str, kind: str) -> None:
    """Signs that can be innocent (medicine kept safe, a bridge in traffic) ask "Are you
    safe right now?" instead of answering outright."""
    finding = RULES_ONLY.screen(text)
    assert finding is not None and finding.kind == kind and not finding.sure


def test_a_languages_signals_are_read_when_a_message_first_needs_them(tmp_path: Path) -> None:
    """A start reads English's signals alone; German's file is opened by the first message
    read in German (here it is missing, so reading it fails, and only then)."""
    from bot.safety.detect import SignalsByLanguage

    others = SignalsByLanguage({"de": tmp_path / "de" / "signals.yaml"})
    assert "de" in others and list(others) == ["de"] and len(others) == 1
    with pytest.raises(FileNotFoundError):
        others["de"]
    shipped = SignalsByLanguage({"de": ROOT / "bot" / "safety" / "de" / "signals.yaml"})
    assert shipped["de"] is shipped["de"]  # read once
    assert Detector(RULES_ONLY.rules, None, others=shipped).screen("er schlägt mich", "de")
