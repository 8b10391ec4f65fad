"""Sentence rules, one table row per case; span cutting; no characters lost; hostile runs of punctuation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewpub.document import Span
from reviewpub.reading.sentences import ends_sentence, normalize_spans, split_sentences, split_spans

CASES = [
    # plain terminal punctuation
    ("One. Two.", ["One.", "Two."]),
    ("Is it? Yes! Fine.", ["Is it?", "Yes!", "Fine."]),
    ("Really?! Yes.", ["Really?!", "Yes."]),
    ("No end punctuation", ["No end punctuation"]),
    ("  spaced   out.  ", ["spaced   out."]),
    ("Line one.\nLine two.", ["Line one.", "Line two."]),
    # rule 1: a lowercase letter next means the sentence goes on
    ("“Why?” she asked. He left.", ["“Why?” she asked.", "He left."]),
    ("It was good. really good.", ["It was good. really good."]),
    # rule 2: closing quotes and brackets stay with the sentence
    ("He said “Go.” Then he left.", ["He said “Go.”", "Then he left."]),
    ("the highlights of “I.S.S.” Next one.", ["the highlights of “I.S.S.”", "Next one."]),
    ("(Nobody knew.) Fine.", ["(Nobody knew.)", "Fine."]),
    ("She wrote 'done.' Then slept.", ["She wrote 'done.'", "Then slept."]),
    # rule 2: ellipses
    ("Wait… What happened?", ["Wait…", "What happened?"]),
    ("Wait... What happened?", ["Wait...", "What happened?"]),
    ("It was... fine, I suppose.", ["It was... fine, I suppose."]),
    # rule 3: abbreviations before a name
    ("Mr. Nolan and Dr. Who met.", ["Mr. Nolan and Dr. Who met."]),
    ("Mrs. Dalloway met St. John.", ["Mrs. Dalloway met St. John."]),
    ("Robert Downey Jr. gives a turn. Then more.", ["Robert Downey Jr. gives a turn.", "Then more."]),
    ("John Gallagher Jr. Deliver it. Yes.", ["John Gallagher Jr. Deliver it.", "Yes."]),
    ("Kramer vs. Kramer won. Yes.", ["Kramer vs. Kramer won.", "Yes."]),
    ("Films, e.g. Alien, work. And i.e. This one.", ["Films, e.g. Alien, work.", "And i.e. This one."]),
    ("E.g. This one.", ["E.g. This one."]),
    # etc. mid-sentence stays in, before a capital it ends the sentence
    ("Lions, tigers, etc. are here. Yes.", ["Lions, tigers, etc. are here.", "Yes."]),
    ("Lions, tigers, etc. The end.", ["Lions, tigers, etc.", "The end."]),
    # rule 3: dotted acronyms and initials
    ("The U.S. Army came. Then it left.", ["The U.S. Army came.", "Then it left."]),
    ("“I.S.S.” boasts a cast. It is good.", ["“I.S.S.” boasts a cast.", "It is good."]),
    ("world of “I.S.S.,” a film. Yes.", ["world of “I.S.S.,” a film.", "Yes."]),
    ("A film set in the US/Russia station. It works.", ["A film set in the US/Russia station.", "It works."]),
    ("J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."]),
    ("J.R.R. Tolkien wrote it.", ["J.R.R. Tolkien wrote it."]),
    ("We met at 9 a.m. Then we left.", ["We met at 9 a.m. Then we left."]),
    # rule 3: numbering abbreviations only before a number
    ("See No. 5 here. No. Not there.", ["See No. 5 here.", "No.", "Not there."]),
    ("Released Sept. 15 in cinemas.", ["Released Sept. 15 in cinemas."]),
    ("It opens in Jan. The wait is long.", ["It opens in Jan.", "The wait is long."]),
    # decimals and numbers
    ("It is 2.5 hours. Long.", ["It is 2.5 hours.", "Long."]),
    ("Rated 4.5 out of 5. Good.", ["Rated 4.5 out of 5.", "Good."]),
    ("It made $1.2 billion. 12 people saw it twice.", ["It made $1.2 billion.", "12 people saw it twice."]),
    # words that merely look like abbreviations
    ("I sat in the sun. Then it rained.", ["I sat in the sun.", "Then it rained."]),
    ("He studied art. Then film.", ["He studied art.", "Then film."]),
    # scripts without case split on their own punctuation
    ("Das ist gut. Ödön stimmt zu.", ["Das ist gut.", "Ödön stimmt zu."]),
    ("שלום. מה נשמע?", ["שלום.", "מה נשמע?"]),
    ("Great film! 🎬 Go.", ["Great film!", "🎬 Go."]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0][:40] for case in CASES])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("word", "following", "expected"),
    [
        ("end.", None, True),
        ("end.", "t", False),
        ("end.", "T", True),
        ("Mr.", "N", False),
        ("(Mr.", "N", False),
        ("mr.", "N", True),
        ("Vs.", "K", False),
        ("No.", "5", False),
        ("No.", "N", True),
        ("U.S.", "A", False),
        ("“I.S.S.”", "N", True),
        ("S.)", "N", True),
        ("why?", "Y", True),
        ("so…", "B", True),
    ],
)
def test_ends_sentence_rules(word: str, following: str | None, expected: bool) -> None:
    assert ends_sentence(word, following) is expected


def test_spans_are_cut_at_sentence_boundaries() -> None:
    spans = [Span("One "), Span("two. Three", emphasis=True), Span(" four.")]
    sentences = split_spans(spans)
    assert [[span.text for span in sentence] for sentence in sentences] == [["One ", "two."], ["Three", " four."]]
    assert sentences[0][1].emphasis and sentences[1][0].emphasis and not sentences[1][1].emphasis


def test_a_link_across_a_boundary_is_kept_on_both_sides() -> None:
    spans = [Span("See "), Span("this film. It rocks", href="https://example.org/x"), Span(". Bye.")]
    sentences = split_spans(spans)
    assert [[(span.text, span.href) for span in sentence] for sentence in sentences] == [
        [("See ", None), ("this film.", "https://example.org/x")],
        [("It rocks", "https://example.org/x"), (".", None)],
        [("Bye.", None)],
    ]


def test_abbreviations_are_judged_across_span_borders() -> None:
    sentences = split_spans([Span("Mr."), Span(" Nolan", strong=True), Span(" wins. ")])
    assert len(sentences) == 1


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([Span("  a  "), Span("  b ")], ["a ", "b"]),
        ([Span("a"), Span(" "), Span(" b")], ["a", " ", "b"]),
        ([Span(" \n\t ")], []),
        ([Span("a\u00a0\u2003b")], ["a b"]),
        ([Span("a "), Span(" ", emphasis=True)], ["a"]),
    ],
)
def test_normalize_spans(spans: list[Span], expected: list[str]) -> None:
    assert [span.text for span in normalize_spans(spans)] == expected


SENTENCE_ALPHABET = st.sampled_from([*list("ab AZ.?!…”“’()I.S\n\tJr12éß🎬"), "Mr.", "U.S.", "No. 5", "e.g.", " etc. "])


@given(st.lists(SENTENCE_ALPHABET, max_size=60).map("".join))
def test_splitting_loses_no_characters(text: str) -> None:
    normalized = " ".join(text.split())
    assert " ".join(split_sentences(normalized)) == normalized


@given(st.text(max_size=200))
def test_splitting_any_text_loses_no_characters(text: str) -> None:
    normalized = " ".join(text.split())
    sentences = split_sentences(normalized)
    assert " ".join(sentences) == normalized
    assert all(sentence == sentence.strip() and sentence for sentence in sentences)


@given(st.lists(st.tuples(st.text(max_size=20), st.booleans()), max_size=8))
def test_splitting_spans_loses_no_characters(pieces: list[tuple[str, bool]]) -> None:
    spans = [Span(text, emphasis=emphasis) for text, emphasis in pieces]
    normalized = " ".join("".join(text for text, _ in pieces).split())
    sentences = split_spans(spans)
    assert " ".join("".join(span.text for span in sentence) for sentence in sentences) == normalized


@pytest.mark.parametrize(
    "text",
    [
        "word. " * 400_000,
        "." * 2_000_000 + " A",
        "a." * 1_000_000 + " B",
        ")" * 2_000_000 + ". A",
        "Mr. " * 500_000,
    ],
    ids=["many sentences", "a run of dots", "a dotted word", "a run of brackets", "many abbreviations"],
)
def test_hostile_runs_of_punctuation_split_without_blowing_up(text: str) -> None:
    sentences = split_sentences(text)
    assert sentences
