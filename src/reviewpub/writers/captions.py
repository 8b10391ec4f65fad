"""WebVTT and SRT captions per chapter: one cue per sentence, times from the narration.

The cues quote each sentence as written (``Clip.text``), not what the engine was asked to
say, so the captions double as podcast transcripts (``podcast:transcript``); WebVTT escapes
``&``, ``<`` and ``>``, and SRT, which has no escapes, shows markup characters as look-alikes. Times come from
the PCM sample offsets of the clips, rounded to the millisecond and kept monotonic and
non-overlapping, as both formats require.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_write
from reviewpub.layout import chapter_captions_name

if TYPE_CHECKING:
    from reviewpub.narration.model import ChapterNarration, Narration

LINE_BREAKING_SPACE = re.compile(r"[ \t\n\r\f\v\x1c-\x1e\x85\u2028\u2029]+")
"""Runs of white space that is or may be read as a line end: a cue is one line, since a blank
line ends it. No-break spaces are the author's and are kept."""
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
"""C0 and C1 controls other than white space: invisible, and some players choke on them."""


@dataclass(frozen=True)
class Cue:
    """One caption: a sentence and when it is heard, in whole milliseconds."""

    start_ms: int
    end_ms: int
    text: str
    """The sentence on one line, white space runs collapsed, not yet escaped for any format."""


def chapter_cues(chapter: ChapterNarration) -> Iterator[Cue]:
    """The cues of a chapter in time order; clips with no visible text are left out.

    Each cue starts no earlier than the previous one ended and lasts at least 1 ms: WebVTT
    wants an end time greater than its start time and cues in order.
    """
    previous_end_ms = 0
    for clip in sorted(chapter.clips, key=lambda clip: (clip.start_sample, clip.end_sample)):
        text = one_line(clip.text)
        if not text:
            continue
        start_ms = max(round(chapter.seconds(clip.start_sample) * 1000), previous_end_ms)
        end_ms = max(round(chapter.seconds(clip.end_sample) * 1000), start_ms + 1)
        previous_end_ms = end_ms
        yield Cue(start_ms, end_ms, text)


def one_line(text: str) -> str:
    """``text`` on one line: controls dropped, runs of white space made one space, ends trimmed."""
    return LINE_BREAKING_SPACE.sub(" ", CONTROL_CHARACTERS.sub("", text)).strip(" ")


def timestamp(milliseconds: int, separator: str) -> str:
    """``HH:MM:SS.mmm`` (WebVTT) or ``HH:MM:SS,mmm`` (SRT)."""
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, rest = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{rest:03d}"


def escape_cue_text(text: str) -> str:
    """Cue text escaped per WebVTT: ``&``, ``<`` and ``>`` as character references.

    Escaping ``>`` also keeps a literal ``-->`` out of the payload, which a parser would
    otherwise take for a timing line.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SRT_LOOK_ALIKES = str.maketrans({"<": "\u2039", ">": "\u203a", "{": "\uff5b", "}": "\uff5d"})
"""SRT has no escapes, yet players read markup in it: ``<i>``, ``<b>``, ``<u>``, ``<font ...>``
(ffmpeg, hence mpv; VLC; most TVs) and ASS override blocks ``{\\an8}`` (ffmpeg passes SRT text to
libass, which also hides any other ``{...}``). ``&lt;`` would show as those four characters, so
the markup characters become look-alikes that nothing parses: single angle quotation marks
‹ › (in every subtitle font: they are in Windows-1252 and WGL4) and fullwidth braces ｛ ｝
(no Latin font has a brace look-alike; players fall back to a CJK font for them). Turning
``>`` also keeps ``-->``, a timing line's arrow, out of the cue text."""
ASS_ESCAPE = re.compile(r"\\(?=[Nnh])")
"""``\\N``, ``\\n`` and ``\\h`` are line breaks and a hard space for libass (ffmpeg passes them through)."""
WORD_JOINER = "\u2060"
"""Invisible and default-ignorable: after a backslash it breaks the ASS escape and shows nothing."""


def escape_srt_text(text: str) -> str:
    """Cue text that SRT players show as written: markup characters swapped for look-alikes.

    ``C:\\New`` keeps its backslash, with a word joiner after it so libass does not break the line.
    """
    return ASS_ESCAPE.sub("\\\\" + WORD_JOINER, text.translate(SRT_LOOK_ALIKES))


def render_vtt(chapter: ChapterNarration) -> str:
    """The WebVTT file of a chapter: the header, a NOTE naming the chapter, then the cues."""
    # A NOTE block may not contain "-->"; the title is escaped like cue text for that reason.
    lines = ["WEBVTT", "", f"NOTE {escape_cue_text(one_line(chapter.title))}", ""]
    for number, cue in enumerate(chapter_cues(chapter), start=1):
        lines += [
            str(number),
            f"{timestamp(cue.start_ms, '.')} --> {timestamp(cue.end_ms, '.')}",
            escape_cue_text(cue.text),
            "",
        ]
    return "\n".join(lines)


def render_srt(chapter: ChapterNarration) -> str:
    """The SRT file of a chapter: numbered cues separated by blank lines."""
    lines: list[str] = []
    for number, cue in enumerate(chapter_cues(chapter), start=1):
        lines += [
            str(number),
            f"{timestamp(cue.start_ms, ',')} --> {timestamp(cue.end_ms, ',')}",
            escape_srt_text(cue.text),
            "",
        ]
    return "\n".join(lines)


def write_captions(narration: Narration, folder: Path) -> list[Path]:
    """Write ``NN-<chapter>.vtt`` and ``NN-<chapter>.srt`` for every chapter into ``folder``.

    ``folder`` is the captions folder itself (the build passes ``output/<name>/captions``,
    which the feed links to). Files are UTF-8 without a byte-order mark.

    Returns:
        The paths written, a chapter's ``.vtt`` then its ``.srt``, in chapter order.
    """
    written: list[Path] = []
    for chapter in narration.chapters:
        for suffix, render in ((".vtt", render_vtt), (".srt", render_srt)):
            path = Path(folder) / chapter_captions_name(chapter.file_stem, suffix)
            with atomic_write(path) as handle:
                handle.write(render(chapter).encode("utf-8"))
            written.append(path)
    return written
