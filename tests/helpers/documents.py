"""Documents built by hand for the writers' tests, the golden sources, and the promises every Document keeps."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

from reviewpub.document import (
    Chapter,
    ChapterRole,
    Document,
    ListBlock,
    Metadata,
    Paragraph,
    Quote,
    Sentence,
    Span,
)

DOCUMENTS = Path(__file__).resolve().parent.parent / "documents"


SOURCES = sorted(path for path in DOCUMENTS.iterdir() if path.suffix in (".txt", ".md"))
"""The golden sources in the folder (tests/test_epub.py builds an EPUB of each)."""


CHAPTER_ID = re.compile(r"[a-z][a-z0-9-]*")


XML_ILLEGAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def check_model_promises(document: Document) -> None:
    """Ids unique and well-formed, roles consistent, every text clean and whitespace-normalised."""
    chapters = list(document.walk())
    ids = [chapter.id for chapter in chapters]
    assert len(ids) == len(set(ids))
    assert all(CHAPTER_ID.fullmatch(chapter_id) and len(chapter_id) <= 64 for chapter_id in ids), ids
    sentence_ids = [sentence.id for sentence in document.sentences()]
    assert len(sentence_ids) == len(set(sentence_ids))
    for chapter in chapters:
        assert chapter.heading.id == f"{chapter.id}_h"
        assert chapter.heading.text == chapter.title
        numbers = [sentence.id for sentence in chapter.body_sentences()]
        assert numbers == [f"{chapter.id}_s{number}" for number in range(1, len(numbers) + 1)]
        for child in chapter.children:
            expected = ChapterRole.QUESTION if chapter.role == ChapterRole.FAQ else ChapterRole.SECTION
            assert child.role == expected
    assert all(chapter.role not in (ChapterRole.QUESTION, ChapterRole.SECTION) for chapter in document.chapters)
    for sentence in document.sentences():
        assert sentence.text and sentence.text == " ".join(sentence.text.split()), repr(sentence.text)
        assert not XML_ILLEGAL.search(sentence.text)
        assert all(span.text for span in sentence.spans)
    assert document.words > 0


MODIFIED = dt.datetime(2024, 5, 6, 9, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))
"""A non-UTC modification time: the package must say 07:30:15Z."""
HOSTILE = (
    "Tom & Jerry <script>alert(1)</script> ]]> <![CDATA[x]]> \"quoted\" 'single' "
    "🎬🍿 שלום עולם e\u0301 NUL\x00 bell\x07 \x1b[31m"
)


class Sentences:
    """Sentence factory with document-unique, XML-valid ids (``s1``, ``s2``, …)."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def __call__(self, *spans: str | Span) -> Sentence:
        return Sentence(
            f"s{next(self.counter)}", tuple(Span(span) if isinstance(span, str) else span for span in spans)
        )


def sample_document(**metadata: object) -> Document:
    """A review with every block kind, inline styles, links of every sort, an FAQ and hostile text."""
    say = Sentences()
    introduction = Chapter(
        id="introduction",
        title="Introduction",
        heading=say("Introduction"),
        role=ChapterRole.INTRODUCTION,
        blocks=(
            Paragraph(
                (
                    say("A ", Span("tense", emphasis=True), " and ", Span("gripping", strong=True), " thriller."),
                    say("Run ", Span("reviewpub build", code=True), " to make it."),
                )
            ),
            Paragraph(
                (
                    say(
                        "Directed by ",
                        Span("Gabriela Cowperthwaite", href="https://example.org/gabriela cowperthwaite"),
                        ".",
                    ),
                    say(
                        "Not a link: ",
                        Span("click me", href="javascript:alert(1)"),
                        ", ",
                        Span("a local file", href="notes/other review.md"),
                        ", ",
                        Span("see the verdict", href="#verdict"),
                        ", ",
                        Span("nowhere", href="#no-such-id"),
                        ".",
                    ),
                    say("Mail ", Span("the critic", href="mailto:critic@example.org"), "."),
                )
            ),
            ListBlock(
                (
                    (say("Chris Messina as Gordon."),),
                    (say("Ariana DeBose as Kira."), say("She leads.")),
                    (say("Pilou Asbæk as Nicholai, with Zoë at the controls."),),
                )
            ),
            Quote((Paragraph((say("“Space is hard.”"), say("So is trust."))),)),
            ListBlock(((say("First, the launch."),), (say("Then, the silence."),)), ordered=True),
        ),
    )
    hostile = Chapter(
        id="the-script-tag",
        title=f"The {HOSTILE} chapter",
        heading=say(f"The {HOSTILE} chapter"),
        blocks=(Paragraph((say(HOSTILE), say("A very long word: " + "x" * 400 + "."))),),
    )
    verdict = Chapter(
        id="verdict",
        title="Verdict",
        heading=say("Verdict"),
        blocks=(Paragraph((say("Worth the trip."),)),),
        children=(
            Chapter(
                id="pros",
                title="Pros",
                heading=say("Pros"),
                role=ChapterRole.SECTION,
                blocks=(ListBlock(((say("Tension."),), (say("Cast."),))),),
            ),
            Chapter(
                id="cons",
                title="Cons",
                heading=say("Cons"),
                role=ChapterRole.SECTION,
                blocks=(ListBlock(((say("Short."),),)),),
                children=(
                    Chapter(
                        id="nitpicks",
                        title="Nitpicks",
                        heading=say("Nitpicks"),
                        role=ChapterRole.SECTION,
                        blocks=(Paragraph((say("The stars move."),)),),
                    ),
                ),
            ),
        ),
    )
    faq = Chapter(
        id="frequently-asked-questions",
        title="Frequently Asked Questions",
        heading=say("Frequently Asked Questions"),
        role=ChapterRole.FAQ,
        children=tuple(
            Chapter(
                id=f"question-{number}",
                title=question,
                heading=say(question),
                role=ChapterRole.QUESTION,
                blocks=(Paragraph((say(answer),)),),
            )
            for number, (question, answer) in enumerate(
                [
                    ("Is it suitable for all audiences?", "No, it is rated R."),
                    ("Is it <really> set in space & orbit?", "Yes ]]> mostly."),
                ],
                start=1,
            )
        ),
    )
    fields: dict[str, object] = dict(
        title="I.S.S. <Review> & ]]> Thriller",
        subtitle="A <Sub> & Title",
        author="Zoë Asbæk",
        language="en",
        date="2024-01-19",
        description="A review of I.S.S. & more <b>bold</b>.",
        publisher="The Small Screen",
        rights="CC BY 4.0",
        identifier="urn:uuid:12345678-1234-5678-1234-567812345678",
        modified=MODIFIED,
    )
    fields.update(metadata)
    return Document(
        metadata=Metadata(**fields),  # type: ignore[arg-type]
        chapters=(introduction, hostile, verdict, faq),
        name="sample",
    )
