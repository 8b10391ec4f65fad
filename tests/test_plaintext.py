"""Plain-text heading, FAQ and list rules: each rule alone in a table, then small whole reviews."""

from __future__ import annotations

from typing import Any

import pytest

from reviewpub.document import ChapterRole
from reviewpub.reading.plaintext import (
    Group,
    cut_groups,
    heading_form,
    is_all_caps,
    is_title_case,
    parse_plain_text,
    question_of,
    split_blocks,
)
from reviewpub.reading.structure import DraftSection, text_of


@pytest.mark.parametrize(
    ("line", "form"),
    [
        ("The Plot: Peril and Intrigue in Space", "label"),
        ("Conclusion: A Must-Watch Thriller", "label"),
        ("Production Design and Special Effects: Immersive Realism", "label"),
        ("The Road Trip Structure", "title"),
        ("Pros", "title"),
        ("Pros:", "title"),
        ("Is “I.S.S.” Worth It", "title"),
        ("WHAT IT IS ABOUT", "caps"),
        ("1. The Story", "numbered"),
        ("2) The Characters", "numbered"),
        ("II. Characters", "numbered"),
        ("Chapter 3 The Ending", "numbered"),
        ("Part IV: The Return", "numbered"),
        ("Rating: 4/5", None),
        ("Verdict: worth it.", None),
        ("Director: Alex Garland", None),
        ("Starring: Kirsten Dunst", None),
        ("A short paragraph that ends with punctuation.", None),
        ("Worth seeing on the biggest screen you can find", None),
        ("Would I watch it again?", None),
        ("Great, but long;", None),
        ("★★★★☆", None),
        ("https://example.org/review", None),
        ("One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen", None),
        ("I Love It", "title"),
        ("הסרט הטוב", "title"),
        ("הסרט הטוב.", None),
    ],
)
def test_heading_form(line: str, form: str | None) -> None:
    found, rule = heading_form(line)
    assert found == form
    if form is not None or len(line.split()) <= 6:
        assert rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Plot Thickens", True),
        ("A Tense and Gripping Thriller Set in Space", True),
        ("Peril and intrigue in space", False),
        ("the plot", False),
        ("“Alien” Meets the Thing", True),
        ("Pros", True),
        ("Zoë’s Big Day Out", True),
        ("שלום עולם", True),
        ("ab", False),
    ],
)
def test_is_title_case(text: str, expected: bool) -> None:
    assert is_title_case(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"), [("HOW IT SOUNDS", True), ("I", False), ("TV Guide", False), ("ÉTÉ 85", True)]
)
def test_is_all_caps(text: str, expected: bool) -> None:
    assert is_all_caps(text) is expected


@pytest.mark.parametrize(
    ("lines", "question"),
    [
        (
            ["1. Is “I.S.S.” suitable for all audiences?", "It is a thriller."],
            "Is “I.S.S.” suitable for all audiences?",
        ),
        (["2) Is it long?"], "Is it long?"),
        (["Q: Is it long?", "A: Yes."], "Is it long?"),
        (["Q1. Is it long?", "A1. Yes."], "Is it long?"),
        (["Question 3: Why “Alien”?”"], "Why “Alien”?”"),
        (["1. Is it long?", "2. Is it loud?"], None),
        (["1. The Story"], None),
        (["Is it long?", "Yes."], None),
    ],
)
def test_question_of(lines: list[str], question: str | None) -> None:
    assert question_of(Group(1, lines)) == question


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["One line.", "Two lines."], [("paragraph", ["One line. Two lines."])]),
        (["- a", "- b"], [("list", ["a", "b"])]),
        (["* a", "  continued", "• b"], [("list", ["a continued", "b"])]),
        (
            ["Lead-in:", "- a", "- b", "After."],
            [("paragraph", ["Lead-in:"]), ("list", ["a", "b"]), ("paragraph", ["After."])],
        ),
        (
            ["- a long item that", "wraps here", "Next."],
            [("list", ["a long item that wraps here"]), ("paragraph", ["Next."])],
        ),
        (["1. a", "2. b"], [("ordered", ["a", "b"])]),
        (["1. Only one numbered line."], [("paragraph", ["1. Only one numbered line."])]),
        (["> Quoted.", ">", "> Again."], [("quote", ["Quoted.", "Again."])]),
    ],
)
def test_split_blocks(lines: list[str], expected: list[tuple[str, list[str]]]) -> None:
    blocks = split_blocks(lines)
    assert [(block.kind, [text_of(part) for part in block.parts]) for block in blocks] == expected


def test_cut_groups_separates_underlined_headings_and_labels_above_lists() -> None:
    groups = [
        Group(3, ["Intro text here.", "The Case", "========", "A man falls."]),
        Group(9, ["Pros:", "- Great cast", "- Tense"]),
        Group(13, ["* * *"]),
        Group(15, ["What I liked:", "- The sound"]),
    ]
    decisions: list[Any] = []
    cut = cut_groups(groups, decisions)
    assert [(group.line, group.lines, group.above_list) for group in cut] == [
        (3, ["Intro text here."], False),
        (4, ["The Case", "========"], False),
        (6, ["A man falls."], False),
        (9, ["Pros:"], True),
        (10, ["- Great cast", "- Tense"], False),
        (15, ["What I liked:", "- The sound"], False),
    ]
    assert [(decision.line, decision.rule) for decision in decisions] == [
        (13, "a separator line: left out of the text")
    ]


def tree(sections: list[DraftSection]) -> list[Any]:
    """Titles and roles of a draft tree, children nested."""
    return [
        (section.title, section.role.value, tree(section.children))
        if section.children
        else (section.title, section.role.value)
        for section in sections
    ]


def parse(text: str) -> Any:
    return tree(parse_plain_text(text, "From The File Name").sections)


INTRO = ChapterRole.INTRODUCTION.value
CHAPTER = ChapterRole.CHAPTER.value
SECTION = ChapterRole.SECTION.value
FAQ = ChapterRole.FAQ.value
QUESTION = ChapterRole.QUESTION.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Title\n\nIntro text.\n\nThe Plot\n\nBody.\n",
            [("Introduction", INTRO), ("The Plot", CHAPTER)],
            id="text before the first heading is the Introduction",
        ),
        pytest.param(
            "Title\n\nThe Plot\n\nBody.\n\nThe End\n",
            [("The Plot", CHAPTER)],
            id="a heading-shaped last line is text",
        ),
        pytest.param(
            "Title\n\nBody text only. Nothing else.\n",
            [("Introduction", INTRO)],
            id="no headings: one section, named after the document by read_document",
        ),
        pytest.param(
            "Title\n\nThe Verdict\n\nGood.\n\nPros\n\n- a\n\nCons\n\n- b\n\nFinal Thoughts\n\nGo.\n",
            [("The Verdict", CHAPTER, [("Pros", SECTION), ("Cons", SECTION)]), ("Final Thoughts", CHAPTER)],
            id="Pros and Cons are sections of the chapter before them",
        ),
        pytest.param(
            "Title\n\n3. Verdict\n\nPros\n\n- a\n\nCons\n\n- b\n",
            [("3. Verdict", CHAPTER, [("Pros", SECTION), ("Cons", SECTION)])],
            id="a heading straight after a chapter heading is its section",
        ),
        pytest.param(
            "Title\n\nTHE LOOK\n\nText.\n\nThe Sets\n\nText.\n\nThe Costumes\n\nText.\n\nTHE SOUND\n\nText.\n",
            [("THE LOOK", CHAPTER), ("The Sets", CHAPTER), ("The Costumes", CHAPTER), ("THE SOUND", CHAPTER)],
            id="title case among capitals is not a section without another sign",
        ),
        pytest.param(
            "Title\n\nThe Case\n========\n\nText.\n\nThe Trial\n---------\n\nText.\n\nThe End\n=======\n\nText.\n",
            [("The Case", CHAPTER, [("The Trial", SECTION)]), ("The End", CHAPTER)],
            id="'-' underlines under '=' underlines are sections",
        ),
        pytest.param(
            "Title\n\nThe Moments\n\nText.\n\nWhat Worked:\n- a\n- b\n\nThe Music\n\nText.\n",
            [("The Moments", CHAPTER, [("What Worked", SECTION)]), ("The Music", CHAPTER)],
            id="a short label right above a list is a section",
        ),
        pytest.param(
            "Title\n\nTop Picks:\n- a\n\nHonourable Mentions:\n- b\n",
            [("Top Picks", CHAPTER), ("Honourable Mentions", CHAPTER)],
            id="labels above lists are siblings when the chapter is one too",
        ),
        pytest.param(
            "Title\n\nIntro.\n\n1. Is it good?\nYes.\n\n2. Is it long?\nNo.\n",
            [
                ("Introduction", INTRO),
                ("Frequently Asked Questions", FAQ, [("Is it good?", QUESTION), ("Is it long?", QUESTION)]),
            ],
            id="numbered questions with answers make an FAQ",
        ),
        pytest.param(
            "Title\n\nIntro.\n\n1. Is it good?\n\nYes.\n\n2. Is it long?\n\nNo.\n",
            [
                ("Introduction", INTRO),
                ("Frequently Asked Questions", FAQ, [("Is it good?", QUESTION), ("Is it long?", QUESTION)]),
            ],
            id="answers may follow after a blank line",
        ),
        pytest.param(
            "Title\n\nIntro.\n\nQ: Is it good?\nA: Yes.\n\nQ: Is it long?\nA: No.\n",
            [
                ("Introduction", INTRO),
                ("Frequently Asked Questions", FAQ, [("Is it good?", QUESTION), ("Is it long?", QUESTION)]),
            ],
            id="Q and A pairs make an FAQ",
        ),
        pytest.param(
            "Title\n\nIntro.\n\nFAQs:\n\nIs it good?\nYes.\n\nIs it long?\nNo.\n",
            [("Introduction", INTRO), ("FAQs", FAQ, [("Is it good?", QUESTION), ("Is it long?", QUESTION)])],
            id="an FAQ heading names the chapter and takes unnumbered questions",
        ),
        pytest.param(
            "Title\n\nIntro.\n\nYour Burning Questions\n\n1. Is it good?\nYes.\n\n2. Is it long?\nNo.\n",
            [
                ("Introduction", INTRO),
                ("Your Burning Questions", FAQ, [("Is it good?", QUESTION), ("Is it long?", QUESTION)]),
            ],
            id="a heading right above the questions names the FAQ",
        ),
        pytest.param(
            "Title\n\nIntro.\n\n1. Is it good?\nYes, it is.\n\nMore text.\n",
            [("Introduction", INTRO)],
            id="a lone numbered question is text",
        ),
        pytest.param(
            "Title\n\nIntro.\n\n1. Why?\n2. How?\n3. When?\n\nGood questions.\n",
            [("Introduction", INTRO)],
            id="a list of questions is text",
        ),
        pytest.param(
            "Title\n\nIntro.\n\n1. Is it good?\n\n2. Is it long?\n\nThe End Part\n\nText.\n",
            [("Introduction", INTRO), ("The End Part", CHAPTER)],
            id="questions without answers are text",
        ),
        pytest.param(
            "Title\n\nIntro.\n\n1. The launch\n\n2. The blackout\n\n3. The end\n",
            [("Introduction", INTRO)],
            id="numbered lines with nothing between them are a list",
        ),
        pytest.param(
            "Title\n\n# Part One\n\nText.\n\n## Detail\n\nText.\n\n# Part Two\n\nText.\n",
            [("Part One", CHAPTER, [("Detail", SECTION)]), ("Part Two", CHAPTER)],
            id="'#' marks in a text file",
        ),
        pytest.param(
            "Title\n\nTitle Alone\n\nSecond Alone\n",
            [("Title Alone", CHAPTER, [("Second Alone", SECTION)])],
            id="only headings stay headings (and read_document reports no body text)",
        ),
    ],
)
def test_structure(text: str, expected: Any) -> None:
    assert parse(text) == expected


def test_title_is_the_first_line_and_may_be_underlined() -> None:
    assert parse_plain_text("  My Review  \n=========\nBody.\n", "x").title == "My Review"
    assert parse_plain_text("\n\n# My Review\n\nBody.\n", "x").title == "My Review"
    assert parse_plain_text("=========\nMy Review\n=========\n\nBody.\n", "x").title == "My Review"
    assert parse_plain_text("* * *\n\nMy Review\n\nBody.\n", "x").title == "My Review"


def test_a_long_first_line_is_text_and_the_title_comes_from_elsewhere() -> None:
    line = (
        "This review has no title line and starts straight away with a long sentence about the film, "
        "which goes on and on, well past the length any editor would accept for a title."
    )
    parsed = parse_plain_text(f"{line}\n\nMore.\n", "From The File Name")
    assert parsed.title == "From The File Name"
    assert text_of(parsed.sections[0].blocks[0].parts[0]) == line
    assert "too long for a title" in parsed.decisions[0].rule


def test_lists_stay_lists_inside_their_section_even_with_blank_lines_between_items() -> None:
    parsed = parse_plain_text("Title\n\nThe Good\n\n- a\n\n- b\n- c\n\nAfter.\n", "x")
    blocks = parsed.sections[0].blocks
    assert [(block.kind, [text_of(part) for part in block.parts]) for block in blocks] == [
        ("list", ["a", "b", "c"]),
        ("paragraph", ["After."]),
    ]


def test_answers_lose_their_prefix_and_questions_their_number() -> None:
    parsed = parse_plain_text(
        "Title\n\nIntro.\n\nQ1: Is it good?\nA1: Yes, very.\n\nQ2: Is it long?\n\nAnswer: No.\n", "x"
    )
    faq = parsed.sections[-1]
    assert [(child.title, text_of(child.blocks[0].parts[0])) for child in faq.children] == [
        ("Is it good?", "Yes, very."),
        ("Is it long?", "No."),
    ]


def test_decisions_explain_headings_and_near_misses() -> None:
    text = (
        "Title\n\nThe opening paragraph sets the scene for the film.\n\nThe Plot\n\nText.\n\nRating: 4/5\n\n"
        "Verdict: worth it.\n\nPros\n\n- a\n\nThe End\n"
    )
    parsed = parse_plain_text(text, "x")
    decisions = {(decision.line, decision.verdict): decision.rule for decision in parsed.decisions}
    assert decisions[(1, "title")] == "the first non-blank line is the title"
    assert decisions[(5, "heading")] == "a short line in Title Case"
    # A rating line is explained by read_document, which knows whether front matter overrides it.
    assert (9, "body") not in decisions
    assert [(line.line, str(line.rating)) for line in parsed.rating_lines] == [(9, "4/5")]
    assert "ends with punctuation" in decisions[(11, "body")]
    assert "names a part of the chapter" in decisions[(13, "subheading")]
    assert "no text follows it" in decisions[(17, "body")]
    assert (3, "body") not in decisions  # a plain paragraph nobody would take for a heading


def test_a_big_book_parses_into_its_chapters() -> None:
    # How fast is measured by make bench, not here.
    chapter = "Chapter {n}: The Part Number {n}\n\n" + ("Some words of text in a sentence here. " * 10 + "\n\n") * 10
    text = "A Long Book\n\n" + "".join(chapter.format(n=n) for n in range(1, 101))
    parsed = parse_plain_text(text, "x")
    assert len(parsed.sections) == 100


def test_a_sub_heading_under_a_faq_heading_is_a_question() -> None:
    # Found by a long hypothesis run: "FAQs" made a FAQ chapter whose child was a plain section.
    text = "The Plot: Peril and Intrigue in Space\nFAQs\n\nA\n- a bullet item"
    assert parse(text) == [("FAQs", FAQ, [("A", QUESTION)])]
