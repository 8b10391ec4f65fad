"""Where every output file goes: the one owner of the names under ``output/``.

The pipeline, the writers, the show, staging and ``serve`` all ask this module for a file's
path (to write or find it) or its relative address (to link it), the way MkDocs' ``File``
owns a page's path and URL. A name changed here changes everywhere at once.

```
output/NAME.epub                 ReviewLayout.epub
output/NAME/                     ReviewLayout.folder
    audio/NN-CHAPTER.mp3         chapter_mp3(stem)
    captions/NN-CHAPTER.vtt|srt  chapter_captions(stem, suffix)
    NAME.m3u8  NAME.m4b  NAME.mp3  NAME.read-aloud.epub
    chapters.json  cover.jpg  feed.xml  index.html  site.css  site.js
    transcript.vtt  transcript.txt
output/feed.xml  cover.jpg  index.html  site.css  .show.json     the show (OutputLayout)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

AUDIO_FOLDER = "audio"
"""A review's chapter MP3s."""
CAPTIONS_FOLDER = "captions"
"""A review's per-chapter WebVTT and SRT files."""
FEED_NAME = "feed.xml"
"""A podcast feed: a review's in its folder, the show's at the top of ``output/``."""
COVER_NAME = "cover.jpg"
"""Square artwork: a review's in its folder, the show's at the top of ``output/``."""
PAGE_NAME = "index.html"
"""A listening page: a review's in its folder, the site's index at the top of ``output/``."""
STYLESHEET_NAME = "site.css"
SCRIPT_NAME = "site.js"
CHAPTERS_NAME = "chapters.json"
"""Podcasting 2.0 chapters of the whole-review MP3."""
TRANSCRIPT_VTT_NAME = "transcript.vtt"
TRANSCRIPT_TEXT_NAME = "transcript.txt"
LEDGER_NAME = ".show.json"
"""The date each review of a show was first built."""
MP3_SUFFIX = ".mp3"
EPUB_SUFFIX = ".epub"


def chapter_mp3_name(stem: str) -> str:
    """``01-introduction.mp3``: a chapter MP3's name inside the audio folder."""
    return f"{stem}{MP3_SUFFIX}"


def in_review(name: str, relative: str) -> str:
    """``NAME/relative``: a review's file as linked from the top of ``output/`` (index page, show feed)."""
    return f"{name}/{relative}"


def from_review(relative: str) -> str:
    """``../relative``: a file at the top of ``output/`` as linked from a review's folder."""
    return f"../{relative}"


def epub_name(name: str) -> str:
    """``NAME.epub``: the text EPUB, beside the review's folder."""
    return f"{name}{EPUB_SUFFIX}"


def read_aloud_name(name: str) -> str:
    """``NAME.read-aloud.epub``: the EPUB with narration, in the review's folder."""
    return f"{name}.read-aloud{EPUB_SUFFIX}"


def book_mp3_name(name: str) -> str:
    """``NAME.mp3``: the whole review as one MP3 with chapter marks (the show's episode, the page's player)."""
    return f"{name}{MP3_SUFFIX}"


def m4b_name(name: str) -> str:
    """``NAME.m4b``: the audiobook."""
    return f"{name}.m4b"


def playlist_name(name: str) -> str:
    """``NAME.m3u8``: the chapter MP3s' playlist."""
    return f"{name}.m3u8"


def chapter_captions_name(stem: str, suffix: str) -> str:
    """``01-introduction.vtt``: a chapter's captions inside the captions folder."""
    return f"{stem}{suffix}"


@dataclass(frozen=True)
class ReviewLayout:
    """Every file of one review under ``root`` (``output/`` or the staging copy of it).

    The ``*_name`` attributes are relative to the review's folder, so they are also the
    addresses its page and feed link them by.
    """

    root: Path
    name: str

    @property
    def epub_name(self) -> str:
        """The text EPUB, beside the review's folder (relative to ``root``)."""
        return epub_name(self.name)

    @property
    def read_aloud_name(self) -> str:
        return read_aloud_name(self.name)

    @property
    def book_mp3_name(self) -> str:
        return book_mp3_name(self.name)

    @property
    def m4b_name(self) -> str:
        return m4b_name(self.name)

    @property
    def playlist_name(self) -> str:
        return playlist_name(self.name)

    @staticmethod
    def chapter_mp3_link(stem: str) -> str:
        """``audio/01-introduction.mp3``: a chapter MP3 relative to the review's folder."""
        return f"{AUDIO_FOLDER}/{chapter_mp3_name(stem)}"

    @staticmethod
    def chapter_captions_link(stem: str, suffix: str) -> str:
        """``captions/01-introduction.vtt``: a chapter's captions relative to the review's folder."""
        return f"{CAPTIONS_FOLDER}/{chapter_captions_name(stem, suffix)}"

    def in_root(self, relative: str) -> str:
        """A name relative to the review's folder, as seen from ``root`` (the show's feed and index)."""
        return in_review(self.name, relative)

    @property
    def folder(self) -> Path:
        return self.root / self.name

    @property
    def epub(self) -> Path:
        return self.root / self.epub_name

    @property
    def audio_folder(self) -> Path:
        return self.folder / AUDIO_FOLDER

    @property
    def captions_folder(self) -> Path:
        return self.folder / CAPTIONS_FOLDER

    def chapter_mp3(self, stem: str) -> Path:
        return self.audio_folder / chapter_mp3_name(stem)

    @property
    def read_aloud(self) -> Path:
        return self.folder / self.read_aloud_name

    @property
    def book_mp3(self) -> Path:
        return self.folder / self.book_mp3_name

    @property
    def m4b(self) -> Path:
        return self.folder / self.m4b_name

    @property
    def playlist(self) -> Path:
        return self.folder / self.playlist_name

    @property
    def chapters_json(self) -> Path:
        return self.folder / CHAPTERS_NAME

    @property
    def cover(self) -> Path:
        return self.folder / COVER_NAME

    @property
    def feed(self) -> Path:
        return self.folder / FEED_NAME

    def owns(self, relative: str) -> bool:
        """Whether ``relative`` (to ``root``, POSIX) is one of this review's outputs."""
        return relative == self.epub_name or relative.startswith(f"{self.name}/")

    def is_audio_output(self, relative: str) -> bool:
        """Whether ``relative`` is made by ``reviewpub audio``: a chapter MP3 or the playlist."""
        return relative.startswith(self.in_root(f"{AUDIO_FOLDER}/")) or relative == self.in_root(self.playlist_name)

    def is_read_aloud_output(self, relative: str) -> bool:
        """Whether ``relative`` is made by ``reviewpub epub --read-aloud``: the audio, then the EPUB."""
        return self.is_audio_output(relative) or relative == self.in_root(self.read_aloud_name)

    @property
    def made_folders(self) -> tuple[Path, ...]:
        """The folders reviewpub makes for a review, innermost first (removed when empty)."""
        return (self.audio_folder, self.captions_folder, self.folder)


@dataclass(frozen=True)
class OutputLayout:
    """The output folder: the show's own files, and each review's (``review(name)``)."""

    root: Path

    def review(self, name: str) -> ReviewLayout:
        return ReviewLayout(self.root, name)

    @property
    def feed(self) -> Path:
        return self.root / FEED_NAME

    @property
    def cover(self) -> Path:
        return self.root / COVER_NAME

    @property
    def page(self) -> Path:
        return self.root / PAGE_NAME

    @property
    def ledger(self) -> Path:
        return self.root / LEDGER_NAME
