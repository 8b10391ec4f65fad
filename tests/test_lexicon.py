"""Pronunciation lexicons: TOML, YAML and W3C PLS in, PLS out, whole-word matching, fingerprints."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from lxml import etree

from reviewpub.engines.espeak import EspeakEngine
from reviewpub.errors import SettingsError
from reviewpub.narration.lexicon import PLS_NAMESPACE, Lexeme, Lexicon
from reviewpub.narration.lexicon_files import load_lexicon
from reviewpub.narration.spoken import spoken_text

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = ["names.toml", "names.yaml", "names.pls"]
SENTENCE = "Pilou Asbæk and “I.S.S.” by Gabriela Cowperthwaite, with Masha Mashkova and Costa Ronin."
SAID = "Pilou Ahs-beck and eye ess ess by Gabriela Cooper-thwait, with Masha Mash-kova and Costa Ronin."
NS = {"pls": PLS_NAMESPACE}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_reads_the_same_lexicon(name: str) -> None:
    lexicon = load_lexicon(FIXTURES / name)
    assert lexicon.lexemes == (
        Lexeme(("Asbæk",), "Ahs-beck"),
        Lexeme(("Cowperthwaite",), "Cooper-thwait"),
        Lexeme(("Mashkova",), "Mash-kova"),
        Lexeme(("I.S.S.",), "eye ess ess", "ˌaɪ ˌɛs ˈɛs"),
        Lexeme(("Ronin",), None, "ˈroʊnɪn"),
    )
    assert spoken_text(SENTENCE, lexicon=lexicon) == SAID


def test_the_fingerprint_is_the_same_whatever_the_format_and_changes_with_an_entry() -> None:
    fingerprints = {load_lexicon(FIXTURES / name).fingerprint for name in FORMATS}
    assert len(fingerprints) == 1
    (fingerprint,) = fingerprints
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    ahs, az = Lexicon.from_aliases({"Asbæk": "Ahs-beck"}), Lexicon.from_aliases({"Asbæk": "Az-beck"})
    assert ahs.fingerprint != az.fingerprint
    assert ahs.fingerprint == Lexicon.from_aliases({"Asbæk": "Ahs-beck"}).fingerprint


def test_phoneme_only_entries_are_spoken_by_piper_alone_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="reviewpub.narration.lexicon_files"):
        lexicon = load_lexicon(FIXTURES / "names.pls")
    assert (
        "names.pls: 1 entry without an <alias> change only Piper's narration (other engines cannot say "
        "phonemes; the EPUB keeps them): Ronin"
    ) in caplog.text
    assert ("Ronin", "ˈroʊnɪn") not in lexicon.entries
    assert ("Ronin", "ˈroʊnɪn") in lexicon.phoneme_entries
    assert spoken_text("Ronin waits.", lexicon=lexicon) == "Ronin waits."
    assert spoken_text("Ronin waits.", lexicon=lexicon, phonemes=True) == "[[ ˈroʊnɪn ]] waits."
    assert lexicon.apply("Costa Ronin") == "Costa Ronin"
    assert b"<grapheme>Ronin</grapheme><phoneme>\xcb\x88ro\xca\x8an\xc9\xaan</phoneme>" in lexicon.to_pls("en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asbæk shines", "Ahs-beck shines"),
        ("Asbæk's role", "Ahs-beck's role"),
        ("ASBÆK shouts", "Ahs-beck shouts"),
        ("asbæk whispers", "Ahs-beck whispers"),
        ("Asbækson and MyAsbæk", "Asbækson and MyAsbæk"),
        ("Ronin, RONIN and ronin", "Roh-neen, R O N I N and Roh-neen"),
        ("Gallagher Jr. and Gallagher", "Gallagher Junior and Gal-a-ger"),
        ("the I.S.S., then", "the eye ess ess, then"),
    ],
)
def test_whole_words_match_exact_case_first_then_any_case(text: str, expected: str) -> None:
    lexicon = Lexicon.from_aliases(
        {
            "Asbæk": "Ahs-beck",
            "Ronin": "Roh-neen",
            "RONIN": "R O N I N",
            "Gallagher": "Gal-a-ger",
            "Gallagher Jr.": "Gallagher Junior",
            "I.S.S.": "eye ess ess",
        }
    )
    assert lexicon.apply(text) == expected


def test_an_empty_lexicon_changes_nothing() -> None:
    assert Lexicon(()).apply("Asbæk") == "Asbæk" and Lexicon(()).entries == ()


def test_to_pls_is_valid_pls_that_reads_back_the_same(tmp_path: Path) -> None:
    lexicon = Lexicon(
        (
            Lexeme(("Asbæk", "Asbaek"), "Ahs-beck"),
            Lexeme(("A&B <Co>",), 'A and B "company"'),
            Lexeme(("Ronin",), None, "ˈroʊnɪn"),
            Lexeme(("Tomato",), None, 't@"meItoU', "x-sampa"),
        )
    )
    pls = lexicon.to_pls("en-GB")
    root = etree.fromstring(pls)
    assert root.tag == f"{{{PLS_NAMESPACE}}}lexicon" and root.get("version") == "1.0" and root.get("alphabet") == "ipa"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-GB"
    assert [element.text for element in root.iterfind(".//pls:grapheme", NS)] == [
        "Asbæk",
        "Asbaek",
        "A&B <Co>",
        "Ronin",
        "Tomato",
    ]
    assert root.find(".//pls:lexeme[4]/pls:phoneme", NS).get("alphabet") == "x-sampa"
    path = tmp_path / "out.pls"
    path.write_bytes(pls)
    again = load_lexicon(path)
    assert again == lexicon and again.fingerprint == lexicon.fingerprint
    assert again.apply("Asbaek met A&B <Co>") == 'Ahs-beck met A and B "company"'


def test_a_lexicon_pickles_for_worker_processes() -> None:
    lexicon = load_lexicon(FIXTURES / "names.toml")
    lexicon.apply("warm the matcher: Asbæk")
    copy = pickle.loads(pickle.dumps(lexicon))
    assert copy == lexicon and copy.apply("Asbæk") == "Ahs-beck"


def test_yaml_words_stay_words(tmp_path: Path) -> None:
    """YAML 1.1 would read No, On and 1e3 as booleans and numbers; a lexicon keeps them as written."""
    path = tmp_path / "words.yml"
    path.write_text("No: Noh\nOn: Awn\n1e3: one thousand\nyes: yess\n", encoding="utf-8")
    assert load_lexicon(path).entries == (("No", "Noh"), ("On", "Awn"), ("1e3", "one thousand"), ("yes", "yess"))


def test_the_alias_is_what_espeak_says() -> None:
    """The proof a lexicon works: eSpeak NG reads the alias, not its own guess at the name."""
    espeak = EspeakEngine()
    lexicon = load_lexicon(FIXTURES / "names.toml")
    guess = espeak.phonemes("Cowperthwaite", voice="en-us")
    fixed = espeak.phonemes(spoken_text("Cowperthwaite", lexicon=lexicon), voice="en-us")
    assert fixed == espeak.phonemes("Cooper-thwait", voice="en-us") != guess


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.toml", "= nope", r"bad.toml: not valid TOML \(Invalid statement"),
        ("list.yaml", "- a list\n", "list.yaml: a lexicon is a mapping of words to how they are said"),
        ("empty.yaml", "", "empty.yaml: a lexicon is a mapping"),
        ("broken.yaml", "a: [b\n", r"broken.yaml: not valid YAML \("),
        ("nothing.toml", '"Asbæk" = ""\n', "nothing.toml: entry 'Asbæk': its spoken form must be a non-empty text"),
        ("flag.toml", '"Asbæk" = true\n', "flag.toml: entry 'Asbæk': its spoken form must be a non-empty text"),
        ("field.toml", '"Asbæk" = { sound = "x" }\n', "field.toml: entry 'Asbæk': unknown field 'sound'"),
        ("none.toml", '"Asbæk" = { alphabet = "ipa" }\n', "none.toml: entry 'Asbæk' needs an alias or a phoneme"),
        ("names.txt", "Asbæk = Ahsbeck", r"names.txt: a lexicon is a .toml, .yaml or .pls file"),
        ("latin1.toml", b'"Asb\xe6k" = "x"', "latin1.toml: a lexicon must be UTF-8 text"),
        ("bad.pls", "<lexicon", r"bad.pls: not a valid PLS file \("),
        ("html.pls", "<html><body/></html>", "html.pls: a PLS file's root element is <lexicon"),
        (
            "empty.pls",
            f'<lexicon xmlns="{PLS_NAMESPACE}" version="1.0" alphabet="ipa" xml:lang="en"/>',
            "empty.pls: no <lexeme> with a <grapheme> and an <alias> or <phoneme>",
        ),
    ],
)
def test_bad_lexicons_are_one_line_settings_errors(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(SettingsError, match=message) as raised:
        load_lexicon(path)
    assert "\n" not in str(raised.value)


def test_a_missing_lexicon_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(
        SettingsError, match=r"missing.toml: cannot read the lexicon \(No such file or directory\); check --lexicon"
    ):
        load_lexicon(tmp_path / "missing.toml")


def test_pls_entities_are_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xxe.pls"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE lexicon [<!ENTITY leak SYSTEM "file://{secret}">]>'
        f'<lexicon xmlns="{PLS_NAMESPACE}" version="1.0" alphabet="ipa" xml:lang="en">'
        "<lexeme><grapheme>Leak</grapheme><alias>&leak;</alias></lexeme>"
        "<lexeme><grapheme>Asbæk</grapheme><alias>Ahs-beck</alias></lexeme></lexicon>",
        encoding="utf-8",
    )
    lexicon = load_lexicon(path)
    assert "TOP-SECRET" not in repr(lexicon) and lexicon.entries == (("Asbæk", "Ahs-beck"),)
