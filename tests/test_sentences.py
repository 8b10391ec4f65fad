"""Sentence rules, one table row per case, and the no-characters-lost property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewpub.document import Span
from reviewpub.reading.sentences import split_sentences, split_spans

CASES = [
    ("One. Two.", ["One.", "Two."]),
    ("Is it? Yes! Fine.", ["Is it?", "Yes!", "Fine."]),
    ("Mr. Nolan and Dr. Who met.", ["Mr. Nolan and Dr. Who met."]),
    ("Robert Downey Jr. gives a turn. Then more.", ["Robert Downey Jr. gives a turn.", "Then more."]),
    ("The U.S. Army came. Then it left.", ["The U.S. Army came.", "Then it left."]),
    ("A film set in the US/Russia station. It works.", ["A film set in the US/Russia station.", "It works."]),
    ("“I.S.S.” boasts a cast. It is good.", ["“I.S.S.” boasts a cast.", "It is good."]),
    ("the highlights of “I.S.S.” Next one.", ["the highlights of “I.S.S.”", "Next one."]),
    ("world of “I.S.S.,” a film. Yes.", ["world of “I.S.S.,” a film.", "Yes."]),
    ("It is 2.5 hours. Long.", ["It is 2.5 hours.", "Long."]),
    ("J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."]),
    ("See No. 5 here. No. Not there.", ["See No. 5 here.", "No.", "Not there."]),
    ("He said “Go.” Then he left.", ["He said “Go.”", "Then he left."]),
    ("Wait… What happened? (Nobody knew.) Fine.", ["Wait…", "What happened?", "(Nobody knew.)", "Fine."]),
    ("e.g. this one. And vs. that.", ["e.g. this one.", "And vs. that."]),
    ("Really?! Yes.", ["Really?!", "Yes."]),
    ("No end punctuation", ["No end punctuation"]),
    ("  spaced   out.  ", ["spaced   out."]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_spans_are_cut_at_sentence_boundaries() -> None:
    spans = [Span("One "), Span("two. Three", emphasis=True), Span(" four.")]
    sentences = split_spans(spans)
    assert [[span.text for span in sentence] for sentence in sentences] == [["One ", "two."], ["Three", " four."]]
    assert sentences[0][1].emphasis and sentences[1][0].emphasis and not sentences[1][1].emphasis


@given(st.text(alphabet=st.sampled_from(list("ab .?!”“I.S\nJr12")), max_size=80))
def test_splitting_loses_no_characters(text: str) -> None:
    normalized = " ".join(text.split())
    assert " ".join(split_sentences(normalized)) == normalized
