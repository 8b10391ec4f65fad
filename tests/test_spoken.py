"""Spoken-text rules and pronunciation lexicons."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewpub.errors import SettingsError
from reviewpub.narration.lexicon import Lexicon, load_lexicon
from reviewpub.narration.spoken import spoken_text

CASES = [
    ("“I.S.S.” boasts a cast.", "I S S boasts a cast."),
    ("the US/Russia station", "the U S and Russia station"),
    ("Rating: 4/5", "Rating: 4 out of 5"),
    ("It scored 7/10 overall.", "It scored 7 out of 10 overall."),
    ("Tom & Jerry", "Tom and Jerry"),
    ("50% better", "50 percent better"),
    ("Alien vs. Predator", "Alien versus Predator"),
    ("John Gallagher Jr. shines", "John Gallagher Junior shines"),
    ("e.g. this, i.e. that", "for example this, that is that"),
    ("tense — and tight", "tense, and tight"),
    ("the film’s realism", "the film's realism"),
    ("<script>alert(1)</script>", "script alert(1) /script"),
    ("popcorn 🍿 time", "popcorn time"),
    ("a bell\x07 here", "a bell here"),
    ("[link]{x} *bold* _it_ #tag", "link x bold it tag"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_spoken_text(text: str, expected: str) -> None:
    assert spoken_text(text) == expected


def test_no_markup_ever_reaches_the_engine() -> None:
    hostile = "<speak><prosody rate='x-fast'>&amp; ]]> <![CDATA[x]]></prosody></speak>"
    spoken = spoken_text(hostile)
    assert not set("<>&[]{}") & set(spoken)


def test_other_languages_keep_their_words() -> None:
    assert spoken_text("Le film “I.S.S.” — vraiment.", language="fr") == "Le film I.S.S., vraiment."


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("names.toml", '"Asbæk" = "Ahsbeck"\n"Cowperthwaite" = "Cooper-thwaite"\n'),
        ("names.yaml", "Asbæk: Ahsbeck\nCowperthwaite: Cooper-thwaite\n"),
        (
            "names.pls",
            '<?xml version="1.0"?><lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" '
            'alphabet="ipa" xml:lang="en"><lexeme><grapheme>Asbæk</grapheme><alias>Ahsbeck</alias></lexeme>'
            "<lexeme><grapheme>Cowperthwaite</grapheme><alias>Cooper-thwaite</alias></lexeme></lexicon>",
        ),
    ],
)
def test_lexicon_formats(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    lexicon = load_lexicon(path)
    text = "Pilou Asbæk and Gabriela Cowperthwaite, not Asbækson."
    assert spoken_text(text, lexicon=lexicon) == "Pilou Ahsbeck and Gabriela Cooper-thwaite, not Asbækson."


def test_lexicon_round_trips_through_pls(tmp_path: Path) -> None:
    lexicon = Lexicon((("Asbæk", "Ahsbeck"), ("A&B", "A and B")))
    path = tmp_path / "out.pls"
    path.write_bytes(lexicon.to_pls("en"))
    assert load_lexicon(path).entries == lexicon.entries
    assert lexicon.fingerprint == load_lexicon(path).fingerprint


@pytest.mark.parametrize(("name", "content"), [("bad.toml", "= nope"), ("bad.yaml", "- a list"), ("bad.txt", "x")])
def test_bad_lexicons_are_settings_errors(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SettingsError, match=name):
        load_lexicon(path)
