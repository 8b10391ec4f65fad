"""A realistic Narration built by hand, with real audio files, for the writers' tests.

Three chapters whose clips have sample-exact times and hostile text (``&``, ``<``, ``-->``,
quotes, emoji), their PCM as real WAV files written by ffmpeg (sine tones, mono 44.1 kHz, a
different level per chapter so a re-normalised book would show) and their MP3s encoded by
ffmpeg (mono 96 kbps), laid out as ``reviewpub build`` lays out ``output/<name>/``. It stands
in for narration so these writers are tested without eSpeak NG or the narration stage.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from reviewpub.document import Chapter, ChapterRole, Document, Metadata, Paragraph, Sentence
from reviewpub.ffmpeg import run_ffmpeg
from reviewpub.narration.model import ChapterNarration, Clip, Narration

SAMPLE_RATE = 44100
NAME = "iss-review"
IDENTIFIER = "urn:uuid:3f1c2a4e-0000-5000-8000-0123456789ab"


@dataclass(frozen=True)
class ChapterPlan:
    """What one hand-made chapter says and how it sounds."""

    id: str
    title: str
    sentences: tuple[str, ...]
    frequency_hz: int
    volume: float
    """Linear amplitude of the chapter's tone: each chapter is at its own level."""


CHAPTERS = (
    ChapterPlan(
        "introduction",
        "Introduction",
        (
            "The ISS is a laboratory & a home <for now>.",
            'Its crew says: "Look --> up!" 🚀',
            "Nobody\u00a0expected   that.",
        ),
        440,
        0.20,
    ),
    ChapterPlan(
        "the-verdict",
        "The Verdict: Q&A <Part 2>",
        (
            "Four stars out of five.",
            "Watch it; then watch it again.",
        ),
        660,
        0.45,
    ),
    ChapterPlan(
        "frequently-asked-questions",
        "Frequently Asked Questions",
        (
            "Is it long? About ninety minutes.",
            "Is it loud? No.",
            "Where can I see it? In cinemas & online.",
        ),
        330,
        0.10,
    ),
)
HEAD_SAMPLES = 11025
"""Silence before the heading (0.25 s)."""
CLIP_SAMPLES = (30870, 26460, 35280, 22050)
"""Clip lengths, cycled: 0.70, 0.60, 0.80 and 0.50 s."""
PAUSE_SAMPLES = 13230
"""Pause between clips (0.30 s)."""
TAIL_SAMPLES = 22050
"""Silence after the last clip (0.5 s)."""


def chapter_clips(number: int, plan: ChapterPlan) -> tuple[tuple[Clip, ...], int]:
    """The heading and sentence clips of a chapter, laid end to end, and the chapter's length."""
    clips = []
    position = HEAD_SAMPLES
    texts = [(f"s{number}-heading", plan.title, True)] + [
        (f"s{number}-{index}", text, False) for index, text in enumerate(plan.sentences, start=1)
    ]
    for index, (sentence_id, text, is_heading) in enumerate(texts):
        length = CLIP_SAMPLES[(index + number) % len(CLIP_SAMPLES)]
        clips.append(
            Clip(
                sentence_id=sentence_id,
                text=text,
                spoken=" ".join(text.split()),
                start_sample=position,
                end_sample=position + length,
                is_heading=is_heading,
            )
        )
        position += length + PAUSE_SAMPLES
    return tuple(clips), position - PAUSE_SAMPLES + TAIL_SAMPLES


def write_tone_wav(path: Path, sample_count: int, frequency_hz: int, volume: float) -> None:
    """A mono 16-bit WAV of exactly ``sample_count`` samples of a sine tone, made by ffmpeg."""
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency_hz}:sample_rate={SAMPLE_RATE}",
            "-af",
            f"volume={volume},atrim=end_sample={sample_count}",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            "-fflags",
            "+bitexact",
            "-f",
            "wav",
            path,
        ],
        what=str(path),
    )


def encode_chapter_mp3(wav: Path, mp3: Path) -> None:
    """A chapter MP3 as the chapter writer makes it: mono, 96 kbps CBR, LAME."""
    mp3.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(
        [
            "-i",
            wav,
            "-map_metadata",
            "-1",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-c:a",
            "libmp3lame",
            "-b:a",
            "96k",
            "-write_xing",
            "1",
            "-id3v2_version",
            "0",
            "-f",
            "mp3",
            mp3,
        ],
        what=str(mp3),
    )


def make_narration(cache: Path) -> Narration:
    """Three narrated chapters with their chapter WAVs written into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    chapters = []
    for number, plan in enumerate(CHAPTERS, start=1):
        clips, sample_count = chapter_clips(number, plan)
        wav = cache / f"chapter-{number}-{plan.frequency_hz}.wav"
        write_tone_wav(wav, sample_count, plan.frequency_hz, plan.volume)
        chapters.append(
            ChapterNarration(
                chapter_id=plan.id,
                number=number,
                title=plan.title,
                clips=clips,
                sample_rate=SAMPLE_RATE,
                sample_count=sample_count,
                wav_path=wav,
            )
        )
    return Narration(engine="espeak", voice="en-gb", chapters=tuple(chapters), synthesized=8, cached=3)


def make_document() -> Document:
    """The Document the narration was made from: same chapter ids, titles and sentences."""
    chapters = []
    for number, plan in enumerate(CHAPTERS, start=1):
        sentences = tuple(
            Sentence.plain(f"s{number}-{index}", text) for index, text in enumerate(plan.sentences, start=1)
        )
        role = (
            ChapterRole.INTRODUCTION
            if number == 1
            else ChapterRole.FAQ
            if plan.id.startswith("frequently")
            else ChapterRole.CHAPTER
        )
        chapters.append(
            Chapter(
                id=plan.id,
                title=plan.title,
                heading=Sentence.plain(f"s{number}-heading", plan.title),
                blocks=(Paragraph(sentences),),
                role=role,
            )
        )
    metadata = Metadata(
        title="Orbit & Beyond: <The ISS> Review",
        author='Ada "Lovelace" Byron',
        language="en-GB",
        date="2024-01-19",
        description="A review of a film about the ISS & its crew.",
        publisher="Reviews & Co",
        rights="© 2024 Ada Byron",
        identifier=IDENTIFIER,
        modified=dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc),
    )
    return Document(metadata=metadata, chapters=tuple(chapters), name=NAME)


def make_cover_jpeg(size: int = 64) -> bytes:
    """A small square JPEG cover, as the square artwork writer would make."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (20, 60, 120)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def make_chapter_mp3s(narration: Narration, folder: Path) -> list[Path]:
    """``folder/audio/NN-<chapter>.mp3`` for every chapter, encoded from its WAV."""
    paths = []
    for chapter in narration.chapters:
        mp3 = folder / "audio" / f"{chapter.file_stem}.mp3"
        encode_chapter_mp3(chapter.wav_path, mp3)
        paths.append(mp3)
    return paths


@dataclass(frozen=True)
class Book:
    """A hand-made narration and the Document it reads."""

    document: Document
    narration: Narration
    cover_jpeg: bytes


def make_book(folder: Path) -> Book:
    """The Document, its Narration (WAVs under ``folder/cache``) and a cover."""
    return Book(make_document(), make_narration(folder / "cache"), make_cover_jpeg())


def publish_folder(book: Book, folder: Path, *, base_url: str | None = None) -> Path:
    """``folder`` laid out as ``reviewpub build`` leaves ``output/<name>/``, feed included.

    Chapter MP3s come from the factory; the whole-book MP3 and M4B, captions, chapters.json
    and feed.xml from the writers under test.
    """
    from reviewpub.writers.audiobook import write_book_mp3, write_m4b
    from reviewpub.writers.captions import write_captions
    from reviewpub.writers.chapters import write_chapters_json
    from reviewpub.writers.feed import write_feed

    document, narration = book.document, book.narration
    make_chapter_mp3s(narration, folder)
    write_book_mp3(document, narration, folder / f"{document.name}.mp3", cover_jpeg=book.cover_jpeg)
    write_m4b(document, narration, folder / f"{document.name}.m4b", cover_jpeg=book.cover_jpeg)
    write_captions(narration, folder / "captions")
    write_chapters_json(narration, folder / "chapters.json")
    (folder / "cover.jpg").write_bytes(book.cover_jpeg)
    write_feed(document, narration, folder, folder / "feed.xml", base_url=base_url, category=None)
    return folder
