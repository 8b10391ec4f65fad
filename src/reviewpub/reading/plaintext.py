"""Plain-text reviews: decide, as an editor would, which lines are headings.

The first non-blank line is the title. A heading is a short line standing alone between blank
lines, with no sentence-final punctuation, followed by more text, in one of the forms
editors use: "Label: Subtitle", Title Case, ALL CAPS, numbered, or setext-underlined. A run of
numbered questions ending in "?" (or "Q:"/"A:" pairs) becomes an FAQ chapter. Every decision is
recorded so ``outline --explain`` can say which rule made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewpub.document import ChapterRole, Decision, Span
from reviewpub.reading.structure import DraftBlock, DraftSection

MAX_HEADING_WORDS = 12
MAX_SUBHEADING_WORDS = 4
SMALL_WORDS = frozenset(
    "a an and as at but by en for from if in into nor of off on onto or per so than the to up upon via vs with yet".split()
)
"""Words Title Case leaves in lower case."""
SENTENCE_END = re.compile(r"[.!?,;…][”’\"')\]]*$")
SETEXT_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
NUMBERED = re.compile(r"^\s*(?:(?:chapter|part|section)\s+)?(\d{1,3}|[IVXLC]{1,7})[.):]?\s+(\S.*)$", re.IGNORECASE)
NUMBERED_QUESTION = re.compile(r"^\s*(?:\d{1,3}[.)]|Q\d*[.:)]|Question\s+\d+[.:)]?)\s*(\S.*\?[”’\"')]*)\s*$", re.IGNORECASE)
ANSWER_PREFIX = re.compile(r"^\s*(?:A\d*[.:)]|Answer[.:)]?)\s*", re.IGNORECASE)
BULLET = re.compile(r"^\s*[-*•+–◦▪]\s+(\S.*)$")
ORDERED_ITEM = re.compile(r"^\s*\d{1,3}[.)]\s+(\S.*)$")
FAQ_TITLE = re.compile(
    r"^(?:faqs?|f\.a\.q\.?s?|frequently asked questions|common questions|questions(?: and answers)?|q\s*&\s*a)\s*:?$",
    re.IGNORECASE,
)


@dataclass
class Group:
    """Lines between blank lines, with the number of the first line."""

    line: int
    lines: list[str]

    @property
    def text(self) -> str:
        """The group's lines joined by spaces."""
        return " ".join(line.strip() for line in self.lines)


@dataclass
class Parsed:
    """What the plain-text reader found: a title, chapters, and why."""

    title: str
    sections: list[DraftSection]
    decisions: list[Decision] = field(default_factory=list)


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
    """Whether the significant words start with a capital (or are not words at all)."""
    words = [word.strip("“”\"'‘’()[]—–-:,") for word in text.split()]
    words = [word for word in words if any(character.isalpha() for character in word)]
    if not words or not words[0][0].isupper() and words[0][0].isalpha():
        return False
    significant = [word for word in words[1:] if word.lower() not in SMALL_WORDS]
    if not significant:
        return True
    capitalised = sum(1 for word in significant if not word[0].isalpha() or word[0].isupper())
    return capitalised / len(significant) >= 0.75


def is_all_caps(text: str) -> bool:
    """Whether every letter is a capital (and there are at least two letters)."""
    letters = [character for character in text if character.isalpha()]
    return len(letters) >= 2 and all(character.isupper() for character in letters)


def heading_form(line: str) -> tuple[str | None, str]:
    """The heading form of a lone line (``None`` if it is body text) and the reason."""
    stripped = line.strip()
    count = len(words_of(stripped))
    if count > MAX_HEADING_WORDS:
        return None, f"{count} words: longer than a heading ({MAX_HEADING_WORDS} at most)"
    if SENTENCE_END.search(stripped):
        return None, "ends with punctuation, so it reads as a sentence"
    if not any(character.isalpha() for character in stripped):
        return None, "has no letters"
    numbered = NUMBERED.match(stripped)
    if numbered and any(character.isalpha() for character in numbered.group(2)):
        return "numbered", "numbered heading"
    if is_all_caps(stripped):
        return "caps", "written in capitals"
    if ":" in stripped.rstrip(":"):
        label, _, rest = stripped.partition(":")
        rest = rest.strip()
        if len(words_of(label)) <= 6 and rest and rest[0].isupper() and is_title_case(rest) and is_title_case(label):
            return "label", "'Label: Subtitle' form"
        return None, "looks like a 'label: value' line, not a title (the part after ':' is not in Title Case)"
    if is_title_case(stripped.rstrip(":")):
        return "title", "Title Case"
    return None, "not a heading form: not Title Case, capitals, numbered or 'Label: Subtitle'"


def question_of(group: Group) -> str | None:
    """The question text (number or 'Q:' removed) if the group opens with a question line."""
    match = NUMBERED_QUESTION.match(group.lines[0])
    return match.group(1).strip() if match else None


def split_blocks(group: Group) -> list[DraftBlock]:
    """A group of lines as blocks: paragraphs, bulleted or numbered lists, quotes."""
    if all(line.lstrip().startswith(">") for line in group.lines):
        paragraphs: list[list[str]] = [[]]
        for line in group.lines:
            content = line.lstrip()[1:].strip()
            if content:
                paragraphs[-1].append(content)
            elif paragraphs[-1]:
                paragraphs.append([])
        return [DraftBlock("quote", [[Span(" ".join(lines))] for lines in paragraphs if lines])]
    blocks: list[DraftBlock] = []
    prose: list[str] = []
    items: list[str] = []
    list_kind = ""

    def flush_prose() -> None:
        if prose:
            blocks.append(DraftBlock("paragraph", [[Span(" ".join(prose))]]))
            prose.clear()

    def flush_items() -> None:
        if items:
            blocks.append(DraftBlock(list_kind, [[Span(item)] for item in items]))
            items.clear()

    ordered_lines = sum(1 for line in group.lines if ORDERED_ITEM.match(line))
    for line in group.lines:
        bullet = BULLET.match(line)
        ordered = ORDERED_ITEM.match(line) if ordered_lines >= 2 else None
        if bullet or ordered:
            kind = "list" if bullet else "ordered"
            if items and kind != list_kind:
                flush_items()
            flush_prose()
            list_kind = kind
            items.append((bullet or ordered).group(1).strip())  # type: ignore[union-attr]
        elif items and (line.startswith((" ", "\t")) or not prose):
            items[-1] += " " + line.strip()
        else:
            flush_items()
            prose.append(line.strip())
    flush_items()
    flush_prose()
    return blocks


def parse_plain_text(text: str, fallback_title: str) -> Parsed:
    """Read a plain-text review into a title, chapter drafts and the decisions behind them."""
    groups = split_groups(text)
    decisions: list[Decision] = []
    title = fallback_title
    if groups:
        first = groups[0]
        title = first.lines[0].strip()
        decisions.append(Decision(first.line, title, "title", "the first non-blank line is the title"))
        rest = first.lines[1:]
        if rest and SETEXT_UNDERLINE.match(rest[0]):
            rest = rest[1:]
        groups[0] = Group(first.line + 1, rest)
        if not rest:
            groups = groups[1:]
    kinds = classify(groups, decisions)
    return Parsed(title=title, sections=arrange(groups, kinds, title, decisions), decisions=decisions)


@dataclass
class Kind:
    """What a group was taken for."""

    name: str
    """``heading``, ``question`` or ``body``."""
    title: str = ""
    form: str = ""
    level: int = 1


def classify(groups: list[Group], decisions: list[Decision]) -> list[Kind]:
    """Decide for each group whether it is a heading, an FAQ question or body text."""
    kinds: list[Kind] = []
    for index, group in enumerate(groups):
        is_last = index == len(groups) - 1
        if len(group.lines) == 2 and SETEXT_UNDERLINE.match(group.lines[1]) and len(words_of(group.lines[0])) <= MAX_HEADING_WORDS:
            form = "setext1" if group.lines[1].strip().startswith("=") else "setext2"
            if is_last:
                kinds.append(Kind("body"))
                decisions.append(Decision(group.line, group.lines[0].strip(), "body", "underlined, but nothing follows it"))
            else:
                kinds.append(Kind("heading", group.lines[0].strip(), form))
                decisions.append(Decision(group.line, group.lines[0].strip(), "heading", "underlined with '=' or '-'"))
            continue
        question = question_of(group)
        if question is not None:
            kinds.append(Kind("question", question))
            continue
        if len(group.lines) == 1:
            line = group.lines[0].strip()
            if BULLET.match(line) or line.startswith(">"):
                kinds.append(Kind("body"))
                continue
            form, reason = heading_form(line)
            if form is not None and is_last and any(kind.name == "body" for kind in kinds):
                # A heading-shaped last line is text, unless the file is nothing but headings
                # (then it stays a heading, and the review is reported as having no body text).
                form, reason = None, f"{reason}, but no text follows it"
            if form is None:
                kinds.append(Kind("body"))
                if len(words_of(line)) <= MAX_HEADING_WORDS:
                    decisions.append(Decision(group.line, line, "body", reason))
            else:
                kinds.append(Kind("heading", line.rstrip(":").strip() if form == "title" else line, form))
                kinds[-1].title = kinds[-1].title or line
                decisions.append(Decision(group.line, line, "heading", reason))
            continue
        kinds.append(Kind("body"))
    mark_questions(groups, kinds, decisions)
    assign_levels(groups, kinds, decisions)
    return kinds


def mark_questions(groups: list[Group], kinds: list[Kind], decisions: list[Decision]) -> None:
    """Keep questions only in runs that make an FAQ (two or more, or after an FAQ heading)."""
    index = 0
    while index < len(kinds):
        if kinds[index].name != "question":
            index += 1
            continue
        run = [index]
        cursor = index + 1
        while cursor < len(kinds) and kinds[cursor].name in ("question", "body"):
            if kinds[cursor].name == "question":
                run.append(cursor)
            cursor += 1
        after_faq_heading = index > 0 and kinds[index - 1].name == "heading" and bool(FAQ_TITLE.match(kinds[index - 1].title))
        keep = len(run) >= 2 or after_faq_heading
        for position in run:
            group = groups[position]
            if keep:
                decisions.append(Decision(group.line, kinds[position].title, "question", "a question ending in '?' in a run of FAQ items"))
            else:
                kinds[position] = Kind("body")
                decisions.append(Decision(group.line, group.lines[0].strip(), "body", "a lone question, not a run of FAQ items"))
        index = cursor


def assign_levels(groups: list[Group], kinds: list[Kind], decisions: list[Decision]) -> None:
    """Chapter (1) or sub-heading (2) for every heading, judged by form and position."""
    chapter_forms: set[str] = set()
    child_form = ""
    previous = "body"
    for index, kind in enumerate(kinds):
        if kind.name != "heading":
            previous = kind.name
            continue
        words = len(words_of(kind.title))
        reason = ""
        if FAQ_TITLE.match(kind.title):
            kind.level, reason = 1, "names the FAQ"
        elif previous == "heading" and kinds[index - 1].level == 1 and not FAQ_TITLE.match(kinds[index - 1].title):
            kind.level, child_form, reason = 2, kind.form, "comes straight after a chapter heading"
        elif child_form and kind.form == child_form and words <= MAX_SUBHEADING_WORDS and kind.form not in chapter_forms - {child_form}:
            kind.level, reason = 2, "a short heading like the sub-headings before it"
        elif kind.form == "setext2" and "setext1" in chapter_forms:
            kind.level, reason = 2, "underlined with '-' under a '=' chapter"
        elif (
            kind.form == "title" and chapter_forms and chapter_forms <= {"label", "numbered", "caps", "setext1"}
            and words <= MAX_SUBHEADING_WORDS
        ):
            kind.level, child_form, reason = 2, "title", "a short Title Case line under chapters of another form"
        else:
            kind.level, child_form = 1, ""
            chapter_forms.add(kind.form)
        if kind.level == 2:
            for decision_index, decision in enumerate(decisions):
                if decision.line == groups[index].line and decision.verdict == "heading":
                    decisions[decision_index] = Decision(decision.line, decision.text, "subheading", f"{decision.rule}; {reason}")
        previous = "heading"


def arrange(groups: list[Group], kinds: list[Kind], title: str, decisions: list[Decision]) -> list[DraftSection]:
    """Build the chapter tree from classified groups."""
    sections: list[DraftSection] = []
    chapter: DraftSection | None = None
    target: DraftSection | None = None
    faq: DraftSection | None = None
    for group, kind in zip(groups, kinds):
        if kind.name == "heading":
            faq = None
            if kind.level == 2 and chapter is not None:
                target = DraftSection(kind.title, ChapterRole.SECTION)
                chapter.children.append(target)
            else:
                is_faq = bool(FAQ_TITLE.match(kind.title))
                chapter = DraftSection(kind.title.rstrip(":").strip() if is_faq else kind.title,
                                       ChapterRole.FAQ if is_faq else ChapterRole.CHAPTER)
                sections.append(chapter)
                target = chapter
                if is_faq:
                    faq = chapter
        elif kind.name == "question":
            if faq is None:
                faq = DraftSection("Frequently Asked Questions", ChapterRole.FAQ)
                sections.append(faq)
                chapter = faq
            target = DraftSection(kind.title, ChapterRole.QUESTION)
            faq.children.append(target)
            faq.role = ChapterRole.FAQ
            answer = group.lines[1:]
            if answer:
                answer[0] = ANSWER_PREFIX.sub("", answer[0])
                target.blocks.extend(split_blocks(Group(group.line + 1, [line for line in answer if line.strip()])))
        else:
            lines = list(group.lines)
            if faq is not None and lines:
                lines[0] = ANSWER_PREFIX.sub("", lines[0])
            if target is None:
                chapter = DraftSection("Introduction", ChapterRole.INTRODUCTION)
                sections.append(chapter)
                target = chapter
            if any(line.strip() for line in lines):
                target.blocks.extend(split_blocks(Group(group.line, lines)))
    if len(sections) == 1 and sections[0].role == ChapterRole.INTRODUCTION:
        sections[0].title = title
        sections[0].role = ChapterRole.CHAPTER
        decisions.append(Decision(1, title, "title", "no headings found: the whole review is one chapter named after it"))
    return sections
