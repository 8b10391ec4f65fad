"""Plain-text reviews: decide, as an editor would, which lines are headings.

The first non-blank line is the title. Text before the first heading is the "Introduction". A
heading is a short line standing alone between blank lines, without sentence-final
punctuation, followed by more text, in one of the forms editors use: "Label: Subtitle", Title
Case, ALL CAPS, numbered ("1. The Story", "II. Characters") or underlined with ``===``/``---``.
A run of numbered questions ending in "?", each with an answer (or "Q:"/"A:" pairs), is an FAQ.
Short headings inside a chapter ("Pros" and "Cons" under "Verdict") are its sections.

The work is done in passes over blank-line-separated groups of lines: cut groups where a
heading is attached to its text, classify each group, then build the chapter tree. Every
heading, and every short line that looked like one but was not, keeps the rule that decided,
for ``reviewpub outline --explain``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewpub.document import ChapterRole, Decision, Span
from reviewpub.reading.ratings import RatingLine, find_rating_lines, read_rating_line
from reviewpub.reading.structure import FAQ_CHAPTER_TITLE, FAQ_TITLE, INTRODUCTION_TITLE, DraftBlock, DraftSection

MAX_TITLE_WORDS = 25
"""A first line longer than this is the start of the text, not its title."""
MAX_HEADING_WORDS = 12
MAX_SUBHEADING_WORDS = 4
MAX_QUESTION_WORDS = 40
MAX_EXPLAINED_SENTENCE_WORDS = 6
"""A one-line sentence up to this long ("Verdict: worth it.") could pass for a heading, so
``outline --explain`` says why it is not; longer ones plainly are text."""

SMALL_WORDS = frozenset(
    (
        "a an and as at but by en for from if in into nor of off on onto or per so than the to up upon via vs with yet"
    ).split()
)
"""Words Title Case leaves in lower case."""

SUBHEADING_NAMES = frozenset(
    {
        "pros",
        "cons",
        "the good",
        "the bad",
        "the ugly",
        "strengths",
        "weaknesses",
        "highlights",
        "lowlights",
        "likes",
        "dislikes",
        "what works",
        "what doesn't work",
        "what worked",
        "what didn't work",
        "what we liked",
        "what we didn't like",
        "positives",
        "negatives",
        "the positives",
        "the negatives",
    }
)
"""Headings that are sections of a chapter wherever they appear ("Pros" and "Cons" under "Verdict")."""

CHAPTER_NAMES = frozenset(
    {
        "introduction",
        "overview",
        "summary",
        "conclusion",
        "conclusions",
        "final thoughts",
        "final word",
        "final words",
        "verdict",
        "the verdict",
        "final verdict",
        "bottom line",
        "the bottom line",
        "in conclusion",
        "closing thoughts",
        "wrap-up",
        "the wrap-up",
    }
)
"""Headings that open or close a review and so are chapters, never sections of the one before."""

CREDIT_LABELS = frozenset(
    {
        "director",
        "directed by",
        "starring",
        "cast",
        "writer",
        "writers",
        "written by",
        "screenplay",
        "producer",
        "produced by",
        "runtime",
        "running time",
        "rating",
        "rated",
        "genre",
        "genres",
        "release date",
        "released",
        "release",
        "studio",
        "distributor",
        "score",
        "grade",
        "stars",
        "platform",
        "platforms",
        "price",
        "year",
        "country",
        "language",
        "certificate",
        "music",
        "cinematography",
        "editor",
        "developer",
        "publisher",
        "author",
        "format",
        "length",
        "pages",
        "network",
        "episodes",
        "seasons",
        "where to watch",
    }
)
"""Labels of "Label: Value" credit lines, which are text even when the value is in Title Case."""

SENTENCE_END = re.compile(r"[.!?,;…][”’\"')\]]*$")
INNER_SENTENCE_END = re.compile(r"[.!?…][”’\"')\]]*\s+\S")
"""Two sentences on one line: plainly text, not worth explaining in ``outline --explain``."""
SETEXT_UNDERLINE = re.compile(r"^\s*(?:=+|-+)\s*$")
SEPARATOR = re.compile(r"^\s*(?:[-=*_~#•·+]\s*){3,}$")
MARKED_HEADING = re.compile(r"^\s*(#{1,6})\s+(\S.*?)\s*#*\s*$")
"""A Markdown-style ``# Heading`` in a plain-text file."""
NUMBERED = re.compile(
    r"^\s*(?:(?:chapter|part|section)\s+(?:\d{1,3}|[IVXLC]{1,7})[.):]?|(?:\d{1,3}|[IVXLC]{1,7})[.):])\s+(\S.*)$",
    re.IGNORECASE,
)
NUMBERED_QUESTION = re.compile(
    r"^\s*(?:\d{1,3}[.)]|Q\d*\s*[.:)]|Question\s+\d+\s*[.:)]?)\s*(\S.*\?[”’\"')]*)\s*$", re.IGNORECASE
)
ANSWER_PREFIX = re.compile(r"^\s*(?:A\d*\s*[.:)]|Answer\s*[.:)])\s*", re.IGNORECASE)
BULLET = re.compile(r"^\s*[-*•+–◦▪]\s+(\S.*)$")
ORDERED_ITEM = re.compile(r"^\s*\d{1,3}[.)]\s+(\S.*)$")


@dataclass
class Group:
    """Lines between blank lines, with the number of the first line."""

    line: int
    lines: list[str]
    above_list: bool = False
    """Cut from the bulleted list right under it (a "Pros:" line with no blank line after)."""


@dataclass
class Kind:
    """What a group was taken for, and why."""

    name: str
    """``heading``, ``question`` or ``body``."""
    title: str = ""
    form: str = ""
    """For headings: ``label``, ``title``, ``caps``, ``numbered``, ``setext1`` or ``setext2``."""
    level: int = 1
    rule: str = ""
    """Why, in words a user can act on; empty for plain paragraphs nobody would take for a heading."""
    as_list: bool = False
    """Body that is one item of a numbered list split by blank lines."""
    in_faq: bool = False
    """A question under a heading that names the FAQ."""


@dataclass
class Parsed:
    """What the plain-text reader found: a title, chapter drafts, and why."""

    title: str
    sections: list[DraftSection]
    decisions: list[Decision] = field(default_factory=list)
    rating_lines: list[RatingLine] = field(default_factory=list)
    """Whole lines of body text that read as a rating (``Rating: 4/5``, ``★★★★☆``)."""


def split_groups(text: str) -> list[Group]:
    """Blank-line-separated groups of lines, numbered from 1."""
    groups: list[Group] = []
    current: Group | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if current is None:
                current = Group(number, [])
                groups.append(current)
            current.lines.append(line.rstrip())
        else:
            current = None
    return groups


def words_of(line: str) -> list[str]:
    """Whitespace-separated words."""
    return line.split()


def is_title_case(text: str) -> bool:
    """Whether the significant words start with a capital (three in four is enough).

    Scripts without case (Hebrew, Arabic, Chinese, ...) count as capitalised: there, a short
    line without final punctuation is all an editor has to go on.
    """
    words = [word.strip("“”\"'‘’()[]—–-:,") for word in text.split()]
    words = [word for word in words if any(character.isalpha() for character in word)]
    if not words or words[0][0].islower():
        return False
    significant = [word for word in words[1:] if word.lower() not in SMALL_WORDS]
    if not significant:
        return True
    capitalised = sum(1 for word in significant if not word[0].islower())
    return capitalised * 4 >= len(significant) * 3


def is_all_caps(text: str) -> bool:
    """Whether every letter is a capital (and there are at least two letters)."""
    letters = [character for character in text if character.isalpha()]
    return len(letters) >= 2 and all(character.isupper() for character in letters)


def is_list_item(line: str) -> bool:
    """Whether the line starts a bulleted item."""
    return BULLET.match(line) is not None


def heading_form(line: str) -> tuple[str | None, str]:
    """The heading form of a lone line (``None`` for body text) and the rule that decided.

    The rule is empty for text nobody would take for a heading (two sentences, a long one),
    so ``outline --explain`` lists only the near misses.
    """
    stripped = line.strip()
    count = len(words_of(stripped))
    if count > MAX_HEADING_WORDS:
        return None, f"{count} words: longer than a heading ({MAX_HEADING_WORDS} at most)"
    if SENTENCE_END.search(stripped):
        if count > MAX_EXPLAINED_SENTENCE_WORDS or INNER_SENTENCE_END.search(stripped):
            return None, ""
        return (
            None,
            "ends with punctuation, so it reads as a sentence (remove the final punctuation to make it a heading)",
        )
    if not any(character.isalpha() for character in stripped):
        return None, "has no letters"
    numbered = NUMBERED.match(stripped)
    if numbered and any(character.isalpha() for character in numbered.group(1)):
        return "numbered", "a numbered heading"
    if is_all_caps(stripped):
        return "caps", "a short line in capitals"
    if ":" in stripped.rstrip(":"):
        label, _, rest = stripped.partition(":")
        rest = rest.strip()
        if label.strip().lower() in CREDIT_LABELS:
            return None, f"a '{label.strip()}: …' credit line, kept as text"
        if len(words_of(label)) <= 6 and rest and rest[0].isupper() and is_title_case(rest) and is_title_case(label):
            return "label", "'Label: Subtitle' in Title Case"
        return None, "a 'label: value' line, not a title (write the part after ':' in Title Case to make it a heading)"
    if is_title_case(stripped.rstrip(":")):
        return "title", "a short line in Title Case"
    return None, "not a heading form (write it in Title Case, in capitals, numbered or as 'Label: Subtitle')"


def question_of(group: Group) -> str | None:
    """The question (number or "Q:" removed) if the group opens with a numbered or "Q:" question.

    A group whose other lines are questions too is a list of questions, not an FAQ entry.
    """
    match = NUMBERED_QUESTION.match(group.lines[0])
    if match is None or any(NUMBERED_QUESTION.match(line) for line in group.lines[1:]):
        return None
    return match.group(1).strip()


def split_blocks(lines: list[str], *, as_list: bool = False) -> list[DraftBlock]:
    """Lines of one group as blocks: paragraphs, bulleted or numbered lists, quotes."""
    if all(line.lstrip().startswith(">") for line in lines):
        paragraphs: list[list[str]] = [[]]
        for line in lines:
            content = line.lstrip()[1:].strip()
            if content:
                paragraphs[-1].append(content)
            elif paragraphs[-1]:
                paragraphs.append([])
        return [DraftBlock("quote", [[Span(" ".join(part))] for part in paragraphs if part])]
    blocks: list[DraftBlock] = []
    prose: list[str] = []
    items: list[str] = []
    list_kind = ""
    ordered_lines = sum(1 for line in lines if ORDERED_ITEM.match(line))

    def flush_prose() -> None:
        if prose:
            blocks.append(DraftBlock("paragraph", [[Span(" ".join(prose))]]))
            prose.clear()

    def flush_items() -> None:
        if items:
            blocks.append(DraftBlock(list_kind, [[Span(item)] for item in items]))
            items.clear()

    for line in lines:
        bullet = BULLET.match(line)
        ordered = ORDERED_ITEM.match(line) if ordered_lines >= 2 or as_list else None
        item = bullet or ordered
        if item is not None:
            kind = "list" if bullet else "ordered"
            if items and kind != list_kind:
                flush_items()
            flush_prose()
            list_kind = kind
            items.append(item.group(1).strip())
        elif items and (line.startswith(" ") or line.lstrip()[:1].islower()):
            # An indented line, or one going on in lower case, continues the item (hand-wrapped text).
            items[-1] += " " + line.strip()
        else:
            flush_items()
            prose.append(line.strip())
    flush_items()
    flush_prose()
    return blocks


def take_title(groups: list[Group], fallback_title: str) -> tuple[str, list[Group], list[Decision]]:
    """The title (the first non-blank line) and the groups left after it.

    Lines of decoration above the title (an overline of ``=====``) are skipped.
    """
    while groups and (SEPARATOR.match(groups[0].lines[0]) or SETEXT_UNDERLINE.match(groups[0].lines[0])):
        first = groups[0]
        groups = [Group(first.line + 1, first.lines[1:]), *groups[1:]] if len(first.lines) > 1 else groups[1:]
    if not groups:
        return fallback_title, groups, []
    first = groups[0]
    line = first.lines[0].strip()
    count = len(words_of(line))
    if count > MAX_TITLE_WORDS:
        rule = (
            f"{count} words: too long for a title, so the text starts here and the title comes from the file "
            "name (put a short title on the first line, or use --title)"
        )
        return fallback_title, groups, [Decision(first.line, line, "body", rule)]
    marked = MARKED_HEADING.match(line)
    title = marked.group(2) if marked else line
    rest = first.lines[1:]
    if rest and SETEXT_UNDERLINE.match(rest[0]):
        rest = rest[1:]
    remaining = groups[1:]
    if rest:
        remaining.insert(0, Group(first.line + len(first.lines) - len(rest), rest))
    return title, remaining, [Decision(first.line, title, "title", "the first non-blank line is the title")]


def cut_groups(groups: list[Group], decisions: list[Decision]) -> list[Group]:
    """Cut groups where a heading touches its text: underlined headings and labels above lists.

    Separator lines (``***``, ``-----`` alone) are decoration and are left out.
    """
    result: list[Group] = []
    for group in groups:
        if all(SEPARATOR.match(line) for line in group.lines):
            decisions.append(
                Decision(group.line, group.lines[0].strip(), "body", "a separator line: left out of the text")
            )
            continue
        lines, first_line = group.lines, group.line
        start = 0
        for index in range(1, len(lines)):
            heading = lines[index - 1]
            if (
                index - 1 >= start
                and SETEXT_UNDERLINE.match(lines[index])
                and not SETEXT_UNDERLINE.match(heading)
                and not is_list_item(heading)
                and len(words_of(heading)) <= MAX_HEADING_WORDS
                and not SENTENCE_END.search(heading.strip())
                and (index - 1 > start or index + 1 < len(lines))
            ):
                if index - 1 > start:
                    result.append(Group(first_line + start, lines[start : index - 1]))
                result.append(Group(first_line + index - 1, lines[index - 1 : index + 1]))
                start = index + 1
        rest = Group(first_line + start, lines[start:])
        if not rest.lines:
            continue
        if (
            len(rest.lines) >= 2
            and not is_list_item(rest.lines[0])
            and is_list_item(rest.lines[1])
            and len(words_of(rest.lines[0])) <= MAX_HEADING_WORDS
            and heading_form(rest.lines[0])[0] is not None
        ):
            result.append(Group(rest.line, rest.lines[:1], above_list=True))
            result.append(Group(rest.line + 1, rest.lines[1:]))
        else:
            result.append(rest)
    return result


def parse_plain_text(text: str, fallback_title: str) -> Parsed:
    """Read a plain-text review into a title, chapter drafts and the decisions behind them."""
    title, groups, decisions = take_title(split_groups(text), fallback_title)
    groups = cut_groups(groups, decisions)
    kinds = classify(groups)
    for group, kind in zip(groups, kinds):
        if kind.rule:
            verdict = kind.name if kind.name != "heading" else ("subheading" if kind.level == 2 else "heading")
            decisions.append(Decision(group.line, kind.title or group.lines[0].strip(), verdict, kind.rule))
    decisions.sort(key=lambda decision: decision.line)
    return Parsed(
        title=title,
        sections=arrange(groups, kinds),
        decisions=decisions,
        rating_lines=find_rating_lines(body_lines(groups, kinds)),
    )


def body_lines(groups: list[Group], kinds: list[Kind]) -> list[tuple[int, str]]:
    """``(line number, text)`` of every line of body text: answers included, headings and questions not."""
    lines: list[tuple[int, str]] = []
    for group, kind in zip(groups, kinds):
        if kind.name == "heading":
            continue
        first = 1 if kind.name == "question" else 0
        lines += [(group.line + offset, line) for offset, line in enumerate(group.lines) if offset >= first]
    return lines


def classify_group(group: Group, in_faq: bool) -> Kind:
    """What one group looks like on its own: a heading candidate, a question, or body text."""
    first = group.lines[0].strip()
    if len(group.lines) == 2 and SETEXT_UNDERLINE.match(group.lines[1]):
        underline_form = "setext1" if group.lines[1].strip().startswith("=") else "setext2"
        return Kind("heading", first, underline_form, rule="underlined with '=' or '-'")
    question = question_of(group)
    if question is not None:
        return Kind("question", question, in_faq=in_faq)
    if in_faq and first.rstrip("”’\"')").endswith("?") and len(words_of(first)) <= MAX_QUESTION_WORDS:
        return Kind("question", first, in_faq=True)
    if len(group.lines) > 1:
        return Kind("body")
    if is_list_item(first) or first.startswith(">"):
        return Kind("body")
    if read_rating_line(first) is not None:
        # "4 Out of 5 Stars" is Title Case, but a rating line is never a heading.
        return Kind("body")
    marked = MARKED_HEADING.match(first)
    if marked:
        level_form = "setext1" if len(marked.group(1)) == 1 else "setext2"
        return Kind("heading", marked.group(2), level_form, rule=f"marked with '{marked.group(1)}'")
    form, rule = heading_form(first)
    if form is None:
        return Kind("body", rule=rule if len(words_of(first)) <= MAX_HEADING_WORDS else "")
    if group.above_list:
        rule += ", directly above a list"
    title = first.rstrip(":").strip() if form == "title" else first
    return Kind("heading", title, form, rule=rule)


def classify(groups: list[Group]) -> list[Kind]:
    """Decide for each group whether it is a heading, an FAQ question or body text."""
    kinds: list[Kind] = []
    in_faq = False
    for group in groups:
        kind = classify_group(group, in_faq)
        if kind.name == "heading":
            in_faq = bool(FAQ_TITLE.match(kind.title))
        kinds.append(kind)
    demote_unfollowed_heading(kinds)
    demote_numbered_runs(kinds)
    mark_questions(groups, kinds)
    assign_levels(groups, kinds)
    return kinds


def demote_unfollowed_heading(kinds: list[Kind]) -> None:
    """A heading-shaped last line is text: a heading must be followed by something.

    A file of nothing but headings keeps them, and is then reported as having no body text.
    """
    if kinds and kinds[-1].name == "heading" and any(kind.name == "body" for kind in kinds):
        last = kinds[-1]
        kinds[-1] = Kind("body", rule=f"{last.rule}, but no text follows it")


def demote_numbered_runs(kinds: list[Kind]) -> None:
    """Numbered lines with nothing between them ("1. The launch", "2. The blackout") are a list."""
    index = 0
    while index < len(kinds):
        end = index
        while end < len(kinds) and kinds[end].name == "heading" and kinds[end].form == "numbered":
            end += 1
        if end - index >= 2:
            for position in range(index, end):
                kinds[position] = Kind(
                    "body", rule="a run of numbered lines with no text between them, so a numbered list", as_list=True
                )
        index = max(end, index + 1)


def has_answer(groups: list[Group], kinds: list[Kind], position: int) -> bool:
    """Whether the question at ``position`` is followed by text (on its next line, or after a blank)."""
    if len(groups[position].lines) > 1:
        return True
    return position + 1 < len(kinds) and kinds[position + 1].name == "body"


def mark_questions(groups: list[Group], kinds: list[Kind]) -> None:
    """Keep questions that make an FAQ: answered, and two or more in a run (or under an FAQ heading)."""
    index = 0
    while index < len(kinds):
        if kinds[index].name != "question":
            index += 1
            continue
        run: list[int] = []
        cursor = index
        while cursor < len(kinds) and kinds[cursor].name in ("question", "body"):
            if kinds[cursor].name == "question":
                run.append(cursor)
            cursor += 1
        answered = [position for position in run if has_answer(groups, kinds, position)]
        under_faq_heading = any(kinds[position].in_faq for position in run)
        keep = len(answered) >= 2 or (under_faq_heading and answered)
        for position in run:
            if keep and position in answered:
                rule = (
                    "a question under the FAQ heading"
                    if kinds[position].in_faq
                    else "a numbered question with its answer, one of a run"
                )
                kinds[position].rule = rule
            elif keep:
                kinds[position] = Kind("body", rule="a question with no answer after it")
            else:
                rule = (
                    "a question with no answer after it"
                    if position not in answered
                    else "a lone question, not a run of FAQ items (an FAQ needs two or more, or an 'FAQ' heading)"
                )
                kinds[position] = Kind("body", rule=rule)
        index = cursor


def assign_levels(groups: list[Group], kinds: list[Kind]) -> None:
    """Chapter (1) or section (2) for every heading, judged by its form, name and position."""
    chapter: Kind | None = None
    chapter_above_list = False
    child_form = ""
    for index, kind in enumerate(kinds):
        if kind.name != "heading":
            continue
        words = len(words_of(kind.title))
        previous = kinds[index - 1] if index > 0 else None
        name = kind.title.rstrip(":").strip().lower()
        reason = ""
        if chapter is not None and not FAQ_TITLE.match(kind.title) and name not in CHAPTER_NAMES:
            if previous is chapter and not FAQ_TITLE.match(chapter.title):
                reason = "comes straight after a chapter heading"
            elif name in SUBHEADING_NAMES:
                reason = f"'{kind.title}' names a part of the chapter before it"
            elif groups[index].above_list and not chapter_above_list and words <= MAX_SUBHEADING_WORDS:
                reason = "a short label above a list, inside the chapter before it"
            elif child_form == kind.form and kind.form != chapter.form and words <= MAX_SUBHEADING_WORDS:
                reason = "a short heading like the sections before it"
            elif kind.form == "setext2" and chapter.form == "setext1":
                reason = "a second-level mark ('---' underline or '##') under a first-level chapter ('===' or '#')"
        if reason:
            kind.level = 2
            kind.rule = f"{kind.rule}; a section: {reason}"
            child_form = kind.form
        else:
            kind.level = 1
            chapter = kind
            chapter_above_list = groups[index].above_list
            child_form = ""


def arrange(groups: list[Group], kinds: list[Kind]) -> list[DraftSection]:
    """Build the chapter tree from classified groups."""
    sections: list[DraftSection] = []
    chapter: DraftSection | None = None
    target: DraftSection | None = None
    faq: DraftSection | None = None
    previous = ""
    for group, kind in zip(groups, kinds):
        if kind.name == "heading":
            faq = None
            if kind.level == 2 and chapter is not None:
                # Under a FAQ heading a sub-heading is a question, even without its "?" (as in Markdown).
                target = DraftSection(
                    kind.title, ChapterRole.QUESTION if chapter.role == ChapterRole.FAQ else ChapterRole.SECTION
                )
                chapter.children.append(target)
            else:
                is_faq = bool(FAQ_TITLE.match(kind.title))
                chapter = DraftSection(
                    kind.title.rstrip(":").strip() if is_faq else kind.title,
                    ChapterRole.FAQ if is_faq else ChapterRole.CHAPTER,
                )
                sections.append(chapter)
                target = chapter
                faq = chapter if is_faq else None
        elif kind.name == "question":
            if faq is None:
                if chapter is not None and target is chapter and not chapter.blocks and not chapter.children:
                    # A heading with questions straight under it ("Your Questions") names the FAQ.
                    chapter.role = ChapterRole.FAQ
                    faq = chapter
                else:
                    faq = DraftSection(FAQ_CHAPTER_TITLE, ChapterRole.FAQ)
                    sections.append(faq)
                    chapter = faq
            target = DraftSection(kind.title, ChapterRole.QUESTION)
            faq.children.append(target)
            answer = [ANSWER_PREFIX.sub("", group.lines[1], count=1), *group.lines[2:]] if len(group.lines) > 1 else []
            if answer:
                target.blocks.extend(split_blocks(answer))
        else:
            lines = list(group.lines)
            if target is not None and target.role == ChapterRole.QUESTION and previous == "question":
                lines[0] = ANSWER_PREFIX.sub("", lines[0], count=1)
            if target is None:
                chapter = DraftSection(INTRODUCTION_TITLE, ChapterRole.INTRODUCTION)
                sections.append(chapter)
                target = chapter
            blocks = split_blocks([line for line in lines if line.strip()], as_list=kind.as_list)
            if (
                previous == "body"
                and blocks
                and target.blocks
                and blocks[0].kind in ("list", "ordered")
                and target.blocks[-1].kind == blocks[0].kind
            ):
                # A list with blank lines between its items is still one list.
                target.blocks[-1].parts.extend(blocks.pop(0).parts)
            target.blocks.extend(blocks)
        previous = kind.name
    return sections
