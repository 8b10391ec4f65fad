"""Hostile lexicons (issue 15, defect 7): every bad value is one line naming the file and entry,
sizes are capped before parsing, and the whole-word matcher stays exact with many entries."""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from reviewpub.errors import ExitStatus, SettingsError
from reviewpub.narration.lexicon import PLS_NAMESPACE, Lexicon, case_key
from reviewpub.narration.lexicon_files import (
    MAX_LEXICON_BYTES,
    MAX_SPOKEN_CHARACTERS,
    MAX_WRITTEN_CHARACTERS,
    MAX_WRITTEN_FORMS,
    load_lexicon,
)
from tests.helpers.cli import run_cli

HUGE = "1" + "0" * 5000
PLS_HEAD = f'<lexicon xmlns="{PLS_NAMESPACE}" version="1.0" alphabet="ipa" xml:lang="en">'


def one_line_settings_error(path: Path) -> str:
    """Load ``path`` expecting a one-line SettingsError that names the file; that line."""
    with pytest.raises(SettingsError) as raised:
        load_lexicon(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("int.toml", f"x = {HUGE}\n", "line 1, entry 'x': a number too long to read"),
        ("int-alias.toml", f'"Asbæk" = {{ alias = {HUGE} }}\n', "line 1, entry 'Asbæk': a number too long"),
        ("int-later.toml", f'a = "b"\n[Ronin]\nphoneme = -{HUGE}\n', "line 3, entry 'phoneme': a number too long"),
        ("int-array.toml", f"x = [1, {HUGE}]\n", "line 1, entry 'x': a number too long"),
        (
            "hex.toml",
            "x = 0x" + "f" * 5000 + "\n",
            "entry 'x': its spoken form must be a non-empty text in quotes, not a number",
        ),
        (
            "float.toml",
            f"x = {HUGE}.5\n",
            "entry 'x': its spoken form must be a non-empty text in quotes, not a number",
        ),
        ("inf.toml", "x = 1e999\n", "not a number"),
        ("nan.toml", "x = nan\n", "not a number"),
        ("small-int.toml", "x = 42\n", "entry 'x': its spoken form must be a non-empty text in quotes, not a number"),
        ("date.toml", "x = 2024-01-01\n", "entry 'x': its spoken form must be a non-empty text in quotes, not a date"),
        (
            "datetime.toml",
            "x = { alias = 2024-01-01T10:00:00Z }\n",
            "entry 'x': alias must be a non-empty text in quotes, not a date or time",
        ),
        (
            "time.toml",
            "x = { phoneme = 10:00:00 }\n",
            "entry 'x': phoneme must be a non-empty text in quotes, not a date",
        ),
        ("bad-date.toml", "x = 2024-02-30\n", r"not valid TOML \(Invalid date or datetime \(at line 1, column 5\)\)"),
        ("array.toml", "x = [[[1]]]\n", "entry 'x': its spoken form must be a non-empty text, not a list"),
        ("table.toml", '[x.alias]\nsound = "y"\n', "entry 'x': alias must be a non-empty text, not a table"),
        ("deep-array.toml", "x = " + "[" * 50_000 + "]" * 50_000 + "\n", r"nested too deeply"),
        ("deep-table.toml", "x = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n", r"nested too deeply"),
        ("deep.yaml", "x: " + "[" * 50_000 + "]" * 50_000 + "\n", r"nested too deeply"),
        ("deep-map.yaml", "x: " + "{a: " * 5000 + "b" + "}" * 5000 + "\n", r"nested too deeply"),
        ("list.yaml", "x: [a, b]\n", "entry 'x': its spoken form must be a non-empty text, not a list"),
        ("map-key.yaml", "? {a: b}\n: c\n", r"not valid YAML \("),
        ("nul.toml", 'x = "a\\u0000b"\n', "entry 'x': its spoken form holds U\\+0000"),
        ("surrogate.yaml", 'x: "\\ud800"\n', "entry 'x': its spoken form holds U\\+D800"),
        ("nonchar.toml", '"Asb\\uFFFEk" = "y"\n', "the written form holds U\\+FFFE"),
        (
            "long-word.toml",
            f'"{"w" * (MAX_WRITTEN_CHARACTERS + 1)}" = "y"\n',
            f"the written form has {MAX_WRITTEN_CHARACTERS + 1} characters; the most a lexicon allows is 100",
        ),
        (
            "long-alias.yaml",
            f'the: "{"a " * MAX_SPOKEN_CHARACTERS}"\n',
            f"entry 'the': its spoken form has {2 * MAX_SPOKEN_CHARACTERS - 1} characters; "
            "the most a lexicon allows is 200",
        ),
        ("deep.pls", PLS_HEAD + "<a>" * 300 + "</a>" * 300 + "</lexicon>", r"elements nested more than 256 deep"),
        (
            "nul.pls",
            PLS_HEAD + "<lexeme><grapheme>x</grapheme><alias>a&#1;b</alias></lexeme></lexicon>",
            r"not a valid PLS file",
        ),
        (
            "c1.pls",
            PLS_HEAD + "<lexeme><grapheme>x</grapheme><alias>a\u0090b</alias></lexeme></lexicon>",
            r"entry 'x': alias holds U\+0090",
        ),
        (
            "long.pls",
            PLS_HEAD + f"<lexeme><grapheme>x</grapheme><phoneme>{'ə' * 201}</phoneme></lexeme></lexicon>",
            "entry 'x': phoneme has 201 characters",
        ),
    ],
)
def test_every_bad_value_is_one_line_naming_the_file_and_entry(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    assert re.search(expected, one_line_settings_error(path))


def test_white_space_in_a_field_is_one_space(tmp_path: Path) -> None:
    """A pretty-printed PLS breaks lines inside an alias; the spoken form and the EPUB's PLS stay one line."""
    path = tmp_path / "pretty.pls"
    path.write_text(
        PLS_HEAD + "<lexeme>\n  <grapheme>\n    Asbæk\n  </grapheme>\n  <alias>Ahs\n      beck</alias>\n"
        "</lexeme></lexicon>",
        encoding="utf-8",
    )
    assert load_lexicon(path).entries == (("Asbæk", "Ahs beck"),)


def test_a_lexicon_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:  # sparse: 50 MB that would take a minute to parse, none written
        handle.truncate(50_000_000)
    message = one_line_settings_error(path)
    assert message == f"{path}: 50,000,000 bytes; a lexicon may be at most 2 MB; keep the names your reviews use"


def test_a_lexicon_at_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "padded.toml"
    entry = '"Asbæk" = "Ahs-beck"\n'.encode()
    path.write_bytes(entry + b"#" * (MAX_LEXICON_BYTES - len(entry) - 1) + b"\n")
    assert os.path.getsize(path) == MAX_LEXICON_BYTES
    assert load_lexicon(path).entries == (("Asbæk", "Ahs-beck"),)
    path.write_bytes(path.read_bytes() + b"\n")
    assert "2,000,001 bytes; a lexicon may be at most 2 MB" in one_line_settings_error(path)


@pytest.mark.parametrize("suffix", [".toml", ".yaml", ".pls"])
def test_a_lexicon_over_the_entry_limit_is_refused(tmp_path: Path, suffix: str) -> None:
    def write(count: int) -> Path:
        path = tmp_path / f"names{count}{suffix}"
        if suffix == ".toml":
            path.write_text("".join(f'w{index} = "a"\n' for index in range(count)), encoding="utf-8")
        elif suffix == ".yaml":
            path.write_text("".join(f"w{index}: a\n" for index in range(count)), encoding="utf-8")
        else:  # two graphemes per lexeme: the limit counts written forms, not lexemes
            path.write_text(
                PLS_HEAD
                + "".join(
                    f"<lexeme><grapheme>w{index}</grapheme><grapheme>v{index}</grapheme><alias>a</alias></lexeme>"
                    for index in range(count // 2)
                )
                + ("<lexeme><grapheme>odd</grapheme><alias>a</alias></lexeme>" if count % 2 else "")
                + "</lexicon>",
                encoding="utf-8",
            )
        return path

    lexicon = load_lexicon(write(MAX_WRITTEN_FORMS))
    assert len(lexicon.entries) == MAX_WRITTEN_FORMS
    last = lexicon.entries[-1][0]
    assert lexicon.apply(f"{last} and w0 and w10") == "a and a and a"
    assert "more than 10,000 words; a lexicon may hold at most 10,000" in one_line_settings_error(
        write(MAX_WRITTEN_FORMS + 1)
    )


def test_every_accepted_lexicon_ships_as_well_formed_pls(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text(
        '"A&B <Co>" = "a\\u0085b"\n"x\\ty" = { phoneme = "\\u2028ə", alphabet = "ipa" }\n', encoding="utf-8"
    )
    lexicon = load_lexicon(path)
    assert lexicon.entries == (("A&B <Co>", "a b"),)
    root = etree.fromstring(lexicon.to_pls("en"))
    assert [element.text for element in root.iter(f"{{{PLS_NAMESPACE}}}grapheme")] == ["A&B <Co>", "x y"]


def reference_spans(words: set[str], text: str) -> list[tuple[int, int]]:
    """What the matcher found before the prefix tree: one alternative per word, longest first."""
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return [match.span() for match in re.finditer(rf"(?<!\w)(?:{alternatives})(?!\w)", text, re.IGNORECASE)]


# Letters that re.IGNORECASE treats as one though case folding keeps some apart (i ı İ, s ſ, k K),
# sharp s in both cases, word and non-word characters: where a prefix tree could pick a shorter word.
TRICKY = "aAbB .-'ßẞæÆİiıſsSkK\u212aσςΣ\u1fd3\u0390"


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.text(TRICKY, min_size=1, max_size=6).filter(str.strip), min_size=1, max_size=10),
    st.lists(st.text(TRICKY + "xyz", max_size=30), min_size=1, max_size=5),
)
def test_the_prefix_tree_finds_what_one_alternative_per_word_found(words: set[str], texts: list[str]) -> None:
    lexicon = Lexicon.from_aliases({word: f"<{index}>" for index, word in enumerate(sorted(words))})
    found = lexicon.matcher
    assert found is not None
    pattern, exact, _ = found
    for text in texts:
        assert [match.span() for match in pattern.finditer(text)] == reference_spans(set(exact), text)


def test_longer_words_win_and_fall_back_to_shorter_ones() -> None:
    lexicon = Lexicon.from_aliases({"Gallagher": "G", "Gallagher Jr.": "GJ", "Gallagher Jr": "GJR", "a": "A"})
    assert lexicon.apply("Gallagher Jr. Gallagher Jrx Gallagher Jr, a") == "GJ G Jrx GJR, A"


def test_every_character_matches_its_case_key() -> None:
    for code in [*range(0x250), *range(0x370, 0x530), *range(0x1E00, 0x2000), 0x212A, 0x212B, 0xFB05, 0xFB06]:
        character = chr(code)
        assert re.fullmatch(re.escape(case_key(character)), character, re.IGNORECASE), hex(code)


def test_ten_thousand_words_of_a_hundred_characters_still_compile() -> None:
    """The deepest nesting allowed, 9,904 times: every word a prefix of the next, up to the length limit."""
    chains = [
        string.ascii_lowercase[index // 26] + string.ascii_lowercase[index % 26] + "q" * 98 for index in range(100)
    ]
    words = {
        chain[:length]: f"{chain[:2]}{length}" for chain in chains for length in range(1, MAX_WRITTEN_CHARACTERS + 1)
    }
    assert len(words) > 9_900
    lexicon = Lexicon.from_aliases(words)
    said = lexicon.apply(f"{chains[27][:2]} {chains[28]} {chains[29][:99]}x {chains[30][:50]}.")
    assert said == f"bb2 bc100 {chains[29][:99]}x be50."


@pytest.fixture
def review(tmp_path: Path) -> Path:
    source = tmp_path / "source" / "short.txt"
    source.parent.mkdir()
    source.write_text("A Short Review\n\nIntroduction\n\nThe film is good. It is long.\n", encoding="utf-8")
    return source


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("huge.toml", f"x = {HUGE}\n", "huge.toml: line 1, entry 'x': a number too long to read"),
        ("date.toml", "x = 2024-02-29\n", "date.toml: entry 'x': its spoken form must be a non-empty text in quotes"),
        (
            "many.toml",
            "".join(f'w{index} = "a"\n' for index in range(MAX_WRITTEN_FORMS + 1)),
            "many.toml: more than 10,000 words; a lexicon may hold at most 10,000",
        ),
        ("big.yaml", None, "big.yaml: 3,000,000 bytes; a lexicon may be at most 2 MB"),
        ("deep.pls", PLS_HEAD + "<a>" * 300 + "</a>" * 300 + "</lexicon>", "elements nested more than 256 deep"),
    ],
)
def test_a_hostile_lexicon_is_one_line_and_writes_nothing(
    review: Path, tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    lexicon = tmp_path / name
    if content is None:
        with lexicon.open("wb") as handle:
            handle.truncate(3_000_000)
    else:
        lexicon.write_text(content, encoding="utf-8")
    output = tmp_path / "output"
    for command in ("audio", "build"):
        result = run_cli(command, str(review), "-o", str(output), "--lexicon", str(lexicon), expect=ExitStatus.ERROR)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert expected in lines[0], lines[0]
    assert not output.exists()
