"""Spoken-text rules: one table per rule, the whole chain, safety properties, and listening proxies.

The listening proxies ask eSpeak NG itself how it reads a text (its IPA and its word events):
a rule is only worth having if the written form is misread and the spoken form is not.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewpub.engines.espeak import EspeakEngine
from reviewpub.narration import spoken
from reviewpub.narration.lexicon import Lexicon
from reviewpub.narration.spoken import spoken_text
from tests.helpers.paths import SEED

Rule = Callable[[str], str]

RULE_CASES: list[tuple[Rule, str, str]] = [
    # strip_controls
    (spoken.strip_controls, "a bell\x07 here", "a bell here"),
    (spoken.strip_controls, "NUL\x00byte", "NULbyte"),
    (spoken.strip_controls, "soft\u00adhyphen and zero\u200bwidth", "softhyphen and zerowidth"),
    (spoken.strip_controls, "line\nbreak\ttab", "line break tab"),
    (spoken.strip_controls, "popcorn 🍿 time", "popcorn   time"),
    (spoken.strip_controls, "love ❤️ it 👍🏽!", "love    it   !"),
    (spoken.strip_controls, "© 2023, 25°C, Brand™", "© 2023, 25°C, Brand™"),
    (spoken.strip_controls, "Asbæk, Maškova, 東京", "Asbæk, Maškova, 東京"),
    # quotes_and_dashes
    (spoken.quotes_and_dashes, "“I.S.S.” boasts", " I.S.S.  boasts"),
    (spoken.quotes_and_dashes, "the film’s realism", "the film's realism"),
    (spoken.quotes_and_dashes, "the astronauts’ struggle", "the astronauts  struggle"),
    (spoken.quotes_and_dashes, '‘single’ and "plain"', " single  and  plain "),
    (spoken.quotes_and_dashes, "tense — and tight", "tense, and tight"),
    (spoken.quotes_and_dashes, "tense–tight", "tense, tight"),
    (spoken.quotes_and_dashes, "1990–1995", "1990 to 1995"),
    (spoken.quotes_and_dashes, "pages 10 — 20", "pages 10 to 20"),
    (spoken.quotes_and_dashes, "wait…", "wait..."),
    (spoken.quotes_and_dashes, "life‑or‑death", "life-or-death"),
    # abbreviations
    (spoken.abbreviations, "Alien vs. Predator", "Alien versus Predator"),
    (spoken.abbreviations, "Alien vs Predator", "Alien versus Predator"),
    (spoken.abbreviations, "John Gallagher Jr. shines", "John Gallagher Junior shines"),
    (spoken.abbreviations, "e.g. this, i.e. that, etc.", "for example this, that is that, et cetera"),
    (spoken.abbreviations, "No. 5 and #1", "number 5 and number 1"),
    (spoken.abbreviations, "No. It was not.", "No. It was not."),
    (spoken.abbreviations, "120 min. long", "120 minutes long"),
    (spoken.abbreviations, "Mr. Messina and Dr. Ronin", "Mr. Messina and Dr. Ronin"),
    (spoken.abbreviations, "versus vsx", "versus vsx"),
    # dotted_acronyms
    (spoken.dotted_acronyms, "I.S.S. boasts", "I S S boasts"),
    (spoken.dotted_acronyms, "the U.S., then", "the U S, then"),
    (spoken.dotted_acronyms, "at 9 a.m.", "at 9 a m"),
    (spoken.dotted_acronyms, "end of I.S.S.", "end of I S S"),
    (spoken.dotted_acronyms, "A. Smith", "A. Smith"),
    # currency
    (spoken.currency, "It cost $5.", "It cost 5 dollars."),
    (spoken.currency, "a $1 ticket", "a 1 dollar ticket"),
    (spoken.currency, "$2 million budget", "2 million dollars budget"),
    (spoken.currency, "£1,200 and €3.50", "1,200 pounds and 3.50 euros"),
    # number_slashes
    (spoken.number_slashes, "Rating: 4/5", "Rating: 4 out of 5"),
    (spoken.number_slashes, "It scored 7/10 overall.", "It scored 7 out of 10 overall."),
    (spoken.number_slashes, "3.5/4 stars", "3.5 out of 4 stars"),
    (spoken.number_slashes, "85/100", "85 out of 100"),
    (spoken.number_slashes, "3/4 of the film", "three quarters of the film"),
    (spoken.number_slashes, "1/2 the cast", "one half the cast"),
    (spoken.number_slashes, "open 24/7", "open 24 7"),
    (spoken.number_slashes, "after 9/11", "after 9 11"),
    (spoken.number_slashes, "on 3/4/2023 we", "on 3 4 2023 we"),
    (spoken.number_slashes, "6/5 is odd", "6 5 is odd"),
    # word_slashes
    (spoken.word_slashes, "the US/Russia station", "the US Russia station"),
    (spoken.word_slashes, "an Action/Thriller", "an Action Thriller"),
    (spoken.word_slashes, "his/her choice", "his or her choice"),
    (spoken.word_slashes, "and/or", "and or"),
    (spoken.word_slashes, "at 90 km/h", "at 90 kilometres per hour"),
    (spoken.word_slashes, "see a/b/c", "see a/b/c"),
    # symbols
    (spoken.symbols, "50% better", "50 percent better"),
    (spoken.symbols, "ages 18+", "ages 18 plus "),
    (spoken.symbols, "me@home", "me at home"),
    # years
    (spoken.years, "In 1984, and in 2023.", "In nineteen eighty-four, and in twenty twenty-three."),
    (
        spoken.years,
        "1905, 1900, 2000, 2005, 2010",
        "nineteen oh five, nineteen hundred, two thousand, two thousand five, twenty ten",
    ),
    (spoken.years, "the 1990s and the 90s", "the nineteen nineties and the nineties"),
    (spoken.years, "the 2000s, the 2010s, the 1800s", "the two thousands, the twenty tens, the eighteen hundreds"),
    (spoken.years, "1,984 people, 1984.5, 2023% and 19845", "1,984 people, 1984.5, 2023% and 19845"),
    (spoken.years, "999 and 2100", "999 and 2100"),
    # initialisms
    (spoken.initialisms, "the ISS crew", "the I S S crew"),
    (spoken.initialisms, "US and UK on TV", "U S and U K on T V"),
    (spoken.initialisms, "NASA and IMAX", "NASA and IMAX"),
    (spoken.initialisms, "ISSUES", "ISSUES"),
    # markup
    (spoken.markup, "<b>bold</b> & [link]{x} *a* _b_ #c |d| `e` ~f^", " b bold /b     link  x   a   b   c  d   e   f "),
    # whitespace
    (spoken.whitespace, "  too   many \t spaces  ", "too many spaces"),
    (spoken.whitespace, "tight , and ; so .", "tight, and; so."),
    (spoken.whitespace, ", leading and doubled, , commas,", "leading and doubled, commas"),
    (spoken.whitespace, "quiet, .", "quiet."),
]


@pytest.mark.parametrize(
    ("rule", "text", "expected"), RULE_CASES, ids=[f"{rule.__name__}:{text[:24]}" for rule, text, _ in RULE_CASES]
)
def test_each_rule(rule: Rule, text: str, expected: str) -> None:
    assert rule(text) == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Tom & Jerry", "Tom  and  Jerry"),
        ("en-GB", "A&B", "A and B"),
        ("fr", "Tom & Jerry", "Tom  et  Jerry"),
        ("de-AT", "Tom & Jerry", "Tom  und  Jerry"),
        ("ja", "Tom & Jerry", "Tom ,  Jerry"),
    ],
)
def test_ampersand_is_said_in_the_language(language: str, text: str, expected: str) -> None:
    assert spoken.ampersand(text, language) == expected


def test_year_and_decade_words() -> None:
    assert [spoken.year_words(year) for year in (1100, 1492, 1969, 2001, 2019, 2099)] == [
        "eleven hundred",
        "fourteen ninety-two",
        "nineteen sixty-nine",
        "two thousand one",
        "twenty nineteen",
        "twenty ninety-nine",
    ]
    assert [spoken.decade_words(decade) for decade in (1920, 1900, 2000, 2020)] == [
        "nineteen twenties",
        "nineteen hundreds",
        "two thousands",
        "twenty twenties",
    ]


CASES = [
    ("“I.S.S.” boasts a cast.", "I S S boasts a cast."),
    (
        "Join us in the world of “I.S.S.,” a film set in the US/Russia International Space Station.",
        "Join us in the world of I S S, a film set in the U S Russia International Space Station.",
    ),
    ("Rating: 4/5", "Rating: 4 out of 5"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("50% better", "50 percent better"),
    ("Alien vs. Predator (1979)", "Alien versus Predator (nineteen seventy-nine)"),
    ("John Gallagher Jr. shines", "John Gallagher Junior shines"),
    ("tense — and tight", "tense, and tight"),
    ("the film’s realism", "the film's realism"),
    ("It cost $40 million — in the ’90s.", "It cost 40 million dollars, in the nineties."),
    ("<script>alert(1)</script>", "script alert(1) /script"),
    ("popcorn 🍿 time", "popcorn time"),
    ("a bell\x07 here", "a bell here"),
    ("[link]{x} *bold* _it_ #tag", "link x bold it tag"),
    ("Is “I.S.S.” suitable for all audiences?", "Is I S S suitable for all audiences?"),
    ("— starts with a dash", "starts with a dash"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_spoken_text(text: str, expected: str) -> None:
    assert spoken_text(text) == expected


def test_other_languages_get_only_the_language_neutral_rules() -> None:
    assert spoken_text("Le film “I.S.S.” — vraiment, 4/5 & 1984.", language="fr") == (
        "Le film I.S.S., vraiment, 4/5 et 1984."
    )
    assert spoken_text("<b>Tom</b> & 🍿", language="ja") == "b Tom /b"


def test_the_lexicon_sees_the_words_as_written_before_the_rules() -> None:
    lexicon = Lexicon.from_aliases({"I.S.S.": "eye ess ess", "Asbæk": "Ahsbeck"})
    said = spoken_text("“I.S.S.” stars Pilou Asbæk & co.", lexicon=lexicon)
    assert said == "eye ess ess stars Pilou Ahsbeck and co."


FORBIDDEN = set("<>&[]{}") | {chr(code) for code in range(32)} | {"\x7f"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), st.sampled_from(["en", "en-US", "fr", "zh"]))
def test_nothing_an_engine_could_parse_survives(text: str, language: str) -> None:
    said = spoken_text(text, language=language)
    assert not FORBIDDEN & set(said)
    assert not any(unicodedata.category(character) in ("Cc", "Cf", "Cs") for character in said)
    assert said == said.strip() and "  " not in said


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120))
def test_the_rules_are_stable(text: str) -> None:
    """Speaking spoken text again changes nothing: no rule undoes or re-triggers another."""
    once = spoken_text(text)
    assert spoken_text(once) == once


def test_every_sentence_of_the_seed_review_is_clean() -> None:
    for line in SEED.read_text(encoding="utf-8").splitlines():
        said = spoken_text(line)
        assert not set("“”’/&") & set(said), said
        assert "I.S.S" not in said and "US" not in said.split()


# --- listening proxies: how eSpeak NG reads the written and the spoken forms ------------------------


@pytest.fixture(scope="module")
def espeak() -> EspeakEngine:
    return EspeakEngine()


def test_iss_is_read_as_three_letters(espeak: EspeakEngine) -> None:
    written = "The ISS: a review"  # in a short clause eSpeak NG says "iss"
    assert espeak.phonemes(written, voice="en-us").count("ɛs") == 0
    said = spoken_text(written)
    assert espeak.phonemes(said, voice="en-us").count("ɛs") == 2  # "eye ess ess"
    letters = espeak.synthesize(said, voice="en-us")
    word = espeak.synthesize(written, voice="en-us")
    assert len(letters.words) == len(word.words) + 2 and letters.duration_s > word.duration_s


def test_dotted_iss_keeps_its_letters_and_loses_its_false_full_stop(espeak: EspeakEngine) -> None:
    said = spoken_text("“I.S.S.” boasts an exceptional cast.")
    phonemes = espeak.phonemes(said, voice="en-us")
    assert " | " not in phonemes  # one clause: no sentence break after the last dot
    assert phonemes.count("ɛs") == 2


@pytest.mark.parametrize(
    ("written", "heard_as"),
    [
        ("Alien vs. Predator", "Alien versus Predator"),
        ("John Gallagher Jr.", "John Gallagher Junior"),
        ("Rated 4/5", "Rated four out of five"),
        ("It cost $5", "It cost five dollars"),
        ("the 1990s", "the nineteen nineties"),
        ("in 1984", "in nineteen eighty-four"),
        ("the US/Russia station", "the U S Russia station"),
        ("No. 5", "number five"),
        ("popcorn 🍿 time", "popcorn time"),
    ],
)
def test_a_rule_fixes_what_espeak_misreads(espeak: EspeakEngine, written: str, heard_as: str) -> None:
    reference = espeak.phonemes(heard_as, voice="en-us")
    assert espeak.phonemes(written, voice="en-us") != reference  # without the rule, a listener hears otherwise
    assert espeak.phonemes(spoken_text(written), voice="en-us") == reference


@pytest.mark.parametrize(
    ("written", "heard_as"),
    [
        ("the 21st century", "the twenty first century"),
        ("her 3rd film", "her third film"),
        ("Mr. Messina", "mister Messina"),
        ("Dr. Ronin", "doctor Ronin"),
        ("10:30", "ten thirty"),
        ("1,000 viewers", "one thousand viewers"),
    ],
)
def test_what_espeak_already_reads_right_is_left_alone(espeak: EspeakEngine, written: str, heard_as: str) -> None:
    """No rule for ordinals, titles, times or grouped numbers: the engines say them as a listener expects."""
    assert spoken_text(written) == written
    assert espeak.phonemes(written, voice="en-us").replace(" | ", " ") == espeak.phonemes(heard_as, voice="en-us")


def test_an_apostrophe_before_markup_goes_in_one_reading() -> None:
    # Found by hypothesis: "0'_" read as "0'" and only then as "0".
    assert spoken_text("0'_") == "0"
    assert spoken_text("rock_'n'_roll") == "rock n roll"


@settings(max_examples=400)
@given(
    st.text(
        alphabet=st.characters()
        | st.sampled_from(" a\u00a0\u202f\u200b\u00ad\u218f\u2190\u2191\u2603\ufe0f\x85\x7f\U0001f37f"),
        max_size=40,
    )
)
def test_the_fast_path_of_strip_controls_changes_nothing(text: str) -> None:
    # Most sentences skip the character loop; what they skip must be what the loop would keep.
    assert spoken.strip_controls(text) == spoken.strip_controls_by_character(text)


CLUE_FRAGMENTS = [
    *"vs e.g. i.e. etc. Jr. Sr. No. # approx. min mins hr hrs km m mi h s a x US".split(),
    *"0 1 2 5 9 19 20 90 . , / $ £ € ' \" “ ” „ ‟ « » — – ―".split(),
    " ",
]
"""Pieces of what the rules' patterns look for (every clue, and the letters, digits and marks around them)."""


def test_a_rule_is_skipped_only_where_none_of_its_patterns_could_match() -> None:
    # Rules skip their regular expressions on text without their clue: that must never skip a
    # match. Every text of up to three fragments (about 100,000) is tried on every rule.
    for count in (1, 2, 3):
        for pieces in itertools.product(CLUE_FRAGMENTS, repeat=count):
            text = "".join(pieces)
            for clues, patterns in spoken.RULE_CLUES:
                if not spoken.has_clue(text, clues):
                    assert all(pattern.search(text) is None for pattern in patterns), (text, clues)


@pytest.mark.parametrize(
    "text",
    [
        "He said “no” — then left… 1990–1995.",
        "vs. Smith Jr. e.g. i.e. etc. No. 5 #3 approx. 5 mins. 2 hrs.",
        "$5 and £2 million, €1",
        "4/5 3/4 of 24/7 12/05/2024 at 50 km/h, his/her US/Russia and/or",
        "1984, the 1990s and the '90s, 2005",
    ],
)
def test_every_rule_still_applies_where_its_clue_is(text: str) -> None:
    said = spoken_text(text)
    for written in ("“", "—", "vs.", "Jr.", "e.g.", "No. 5", "$", "4/5", "km/h", "his/her", "1984", "1990s", "2005"):
        assert written not in said, (written, said)
