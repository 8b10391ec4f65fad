"""ID3v2.4 tags for the book's MP3s: the frames every file carries, a chapter's own, and the digests kept in them.

Apart from ``mp3.py`` (planning, encoding and replacing chapter files) because the chapter MP3s
and the whole-review MP3 (``audiobook.py``) carry the same book frames, and because the digests
stored here are what lets a build keep a current file, or rewrite only its tags.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.document import ListBlock, block_sentences
from reviewpub.media import INPUT_DIGEST_FRAME, digest

if TYPE_CHECKING:
    from reviewpub.document import Chapter, Document
    from reviewpub.narration.model import ChapterNarration

TAGS_DIGEST_FRAME = "reviewpub-tags"
"""``TXXX`` description of the digest of an MP3's tags."""
NARRATOR_CREDIT = "reviewpub"
"""Artist when the review names no author."""
GENRE = "Speech"
ISO_639_2 = {
    "af": "afr",
    "am": "amh",
    "ar": "ara",
    "az": "aze",
    "be": "bel",
    "bg": "bul",
    "bn": "ben",
    "bs": "bos",
    "ca": "cat",
    "cs": "ces",
    "cy": "cym",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "eo": "epo",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "fas",
    "fi": "fin",
    "fr": "fra",
    "ga": "gle",
    "gd": "gla",
    "gl": "glg",
    "gu": "guj",
    "he": "heb",
    "hi": "hin",
    "hr": "hrv",
    "hu": "hun",
    "hy": "hye",
    "id": "ind",
    "is": "isl",
    "it": "ita",
    "ja": "jpn",
    "ka": "kat",
    "kk": "kaz",
    "kn": "kan",
    "ko": "kor",
    "ku": "kur",
    "ky": "kir",
    "la": "lat",
    "lt": "lit",
    "lv": "lav",
    "mk": "mkd",
    "ml": "mal",
    "mn": "mon",
    "mr": "mar",
    "ms": "msa",
    "mt": "mlt",
    "my": "mya",
    "nb": "nob",
    "ne": "nep",
    "nl": "nld",
    "nn": "nno",
    "no": "nor",
    "pa": "pan",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "si": "sin",
    "sk": "slk",
    "sl": "slv",
    "sq": "sqi",
    "sr": "srp",
    "sv": "swe",
    "sw": "swa",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "uz": "uzb",
    "vi": "vie",
    "zh": "zho",
}
"""ID3's ``TLAN`` wants ISO 639-2 codes; documents carry BCP 47 tags."""


def language_code(language: str) -> str:
    """``en-GB`` → ``eng``; a three-letter tag is kept; ``und`` when unknown."""
    primary = language.split("-")[0].lower()
    if len(primary) == 3 and primary.isalpha():
        return primary
    return ISO_639_2.get(primary, "und")


def chapter_transcript(chapter: Chapter) -> str:
    """The chapter's text for ``USLT``: each heading and paragraph (or list item) on its own line."""
    paragraphs = []
    for section in chapter.walk():
        paragraphs.append(section.heading.text)
        for block in section.blocks:
            if isinstance(block, ListBlock):
                paragraphs += [" ".join(sentence.text for sentence in item) for item in block.items]
            else:
                paragraphs.append(" ".join(sentence.text for sentence in block_sentences(block)))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def narrator_comment(engine: str, voice: str) -> str:
    """The ``COMM`` text naming the engine and voice."""
    return f"Narrated by reviewpub with {engine} ({voice})"


def release_date(document: Document) -> str:
    """The date tags say: the document's date, else the day it was last modified."""
    return document.metadata.date or document.metadata.modified.strftime("%Y-%m-%d")


def book_frames(document: Document, title: str, engine: str, voice: str, cover_jpeg: bytes | None) -> list[Any]:
    """The ID3v2.4 frames every MP3 of a book carries: ``title``, album, artists, genre Speech,
    date, language, a comment naming the engine and voice, and the cover."""
    from mutagen.id3 import APIC, COMM, TALB, TCON, TDRC, TIT2, TLAN, TPE1, TPE2

    metadata = document.metadata
    artist = metadata.author or NARRATOR_CREDIT
    language = language_code(metadata.language)
    frames: list[Any] = [
        TIT2(encoding=3, text=title),
        TALB(encoding=3, text=metadata.title),
        TPE1(encoding=3, text=artist),
        TPE2(encoding=3, text=artist),
        TCON(encoding=3, text=GENRE),
        TDRC(encoding=3, text=release_date(document)),
        TLAN(encoding=3, text=language),
        COMM(encoding=3, lang=language, desc="", text=narrator_comment(engine, voice)),
    ]
    if cover_jpeg:
        frames.append(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover_jpeg))
    return frames


def tag_frames(
    document: Document,
    chapter: ChapterNarration,
    total: int,
    engine: str,
    voice: str,
    cover_jpeg: bytes | None,
    transcript: str,
) -> list[Any]:
    """The ID3v2.4 frames of one chapter file (the digests aside): the book's, plus the
    chapter's track number and its text as lyrics."""
    from mutagen.id3 import TRCK, USLT

    language = language_code(document.metadata.language)
    return [
        *book_frames(document, chapter.title, engine, voice, cover_jpeg),
        TRCK(encoding=3, text=f"{chapter.number}/{total}"),
        USLT(encoding=3, lang=language, desc="", text=transcript),
    ]


def frames_digest(frames: list[Any]) -> str:
    """A digest of tag frames, pictures included (by their bytes' hash)."""
    return digest(
        [
            [frame.HashKey, repr(frame) if not hasattr(frame, "data") else hashlib.sha256(frame.data).hexdigest()]
            for frame in frames
        ]
    )


def write_tags(path: Path, frames: list[Any], audio_digest: str, tags_digest: str) -> None:
    """Replace the ID3 tag of ``path`` by ``frames`` and the two digests (ID3v2.4)."""
    from mutagen.id3 import ID3, TXXX

    tags = ID3()
    for frame in frames:
        tags.add(frame)
    tags.add(TXXX(encoding=3, desc=INPUT_DIGEST_FRAME, text=audio_digest))
    tags.add(TXXX(encoding=3, desc=TAGS_DIGEST_FRAME, text=tags_digest))
    tags.save(path, v2_version=4)


def stored_digests(path: Path) -> tuple[str | None, str | None]:
    """The (audio, tags) digests recorded in an existing MP3; None for what is missing."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    if not path.is_file():
        return None, None
    try:
        tags = ID3(path)
    except (MutagenError, OSError, ValueError):
        return None, None

    def text(description: str) -> str | None:
        frame = tags.get(f"TXXX:{description}")
        return str(frame.text[0]) if frame is not None and frame.text else None

    return text(INPUT_DIGEST_FRAME), text(TAGS_DIGEST_FRAME)
