"""Document → Narration: every sentence spoken, cached, and placed to the sample in its chapter.

Each top-level chapter is read as its heading, a pause, then its sentences (longer pauses
between paragraphs; FAQ questions and sub-headings read as headings). Chapters are
independent jobs, run in worker processes because libespeak-ng is a per-process singleton.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.document import Chapter, ListBlock, Paragraph, Sentence
from reviewpub.errors import EngineError, ReviewpubError
from reviewpub.narration.audio import plan_gain, render_wav, silence, trim
from reviewpub.narration.cache import ClipCache, digest
from reviewpub.narration.model import ChapterNarration, Clip, Narration
from reviewpub.narration.settings import AudioSettings
from reviewpub.narration.spoken import spoken_text
from reviewpub.progress import NullProgress, Progress

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.engines.base import Engine
    from reviewpub.narration.lexicon import Lexicon

__all__ = ["narrate", "AudioSettings", "Narration", "ChapterNarration", "Clip"]

logger = logging.getLogger(__name__)
UNSPEAKABLE_MS = 250
"""Silence given to a sentence with nothing to say ("???"), so it still has a clip to sync."""


@dataclass(frozen=True)
class Line:
    """One thing to say in a chapter, and the pause before it."""

    sentence: Sentence
    pause_ms: int
    is_heading: bool = False


def reading_plan(chapter: Chapter, settings: AudioSettings) -> list[Line]:
    """The chapter in reading order with its pauses: heading, pause, sentences; then sections."""
    lines: list[Line] = []

    def read(section: Chapter, first: bool) -> None:
        lines.append(Line(section.heading, 0 if first else settings.section_pause_ms, is_heading=True))
        pause = settings.heading_pause_ms
        for block in section.blocks:
            groups = [block.sentences] if isinstance(block, Paragraph) else (
                list(block.items) if isinstance(block, ListBlock) else [paragraph.sentences for paragraph in block.paragraphs]
            )
            for group in groups:
                for index, sentence in enumerate(group):
                    lines.append(Line(sentence, pause if index == 0 else settings.sentence_pause_ms))
                pause = settings.paragraph_pause_ms
        for child in section.children:
            read(child, False)

    read(chapter, True)
    return lines


@dataclass(frozen=True)
class ChapterJob:
    """Everything a worker needs to narrate one chapter."""

    number: int
    chapter: Chapter
    engine: Engine
    voice: str
    settings: AudioSettings
    cache_dir: Path
    language: str
    lexicon: Lexicon | None


@dataclass(frozen=True)
class ChapterResult:
    """A narrated chapter and how much of it the engine had to speak."""

    narration: ChapterNarration
    synthesized: int
    cached: int


def clip_key(job: ChapterJob, spoken: str) -> str:
    """The cache key of one clip: engine, voice, every sound option, and the exact text."""
    return digest("clip", job.engine.name, job.voice, job.engine.sound_options(), spoken)


def is_speakable(spoken: str) -> bool:
    """Whether there is anything to say (letters or digits)."""
    return any(character.isalnum() for character in spoken)


def narrate_chapter(job: ChapterJob) -> ChapterResult:
    """Speak one chapter (clips from the cache when possible) and render its WAV."""
    cache = ClipCache(job.cache_dir)
    plan = reading_plan(job.chapter, job.settings)
    spoken = [spoken_text(line.sentence.text, language=job.language, lexicon=job.lexicon) for line in plan]
    keys = [clip_key(job, text) if is_speakable(text) else "" for text in spoken]
    chapter_key = digest("chapter", keys, [line.pause_ms for line in plan], [line.sentence.id for line in plan],
                         job.settings.key())
    cached_chapter = cache.get_chapter(chapter_key)
    if cached_chapter is not None:
        return ChapterResult(chapter_from_index(job, plan, spoken, cached_chapter, cache), 0, len(plan))
    synthesized = cached = 0
    pieces: list[bytes] = []
    sample_rate = 0
    for index, (line, text, key) in enumerate(zip(plan, spoken, keys), start=1):
        if not key:
            pieces.append(b"")
            continue
        found = cache.get(key)
        if found is None:
            try:
                speech = job.engine.synthesize(text, voice=job.voice)
            except ReviewpubError as error:
                raise EngineError(f"chapter {job.number} {job.chapter.title!r}, sentence {index}: {error}") from None
            found = (trim(speech.samples, speech.sample_rate), speech.sample_rate)
            cache.put(key, *found)
            synthesized += 1
        else:
            cached += 1
        if sample_rate and found[1] != sample_rate:
            raise EngineError(f"chapter {job.number}: the engine changed sample rate mid-chapter")
        sample_rate = found[1]
        pieces.append(found[0])
    sample_rate = sample_rate or 22050
    settings = job.settings
    pcm = bytearray(silence(settings.head_ms, sample_rate))
    clips = []
    for line, text, piece in zip(plan, spoken, pieces):
        pcm += silence(line.pause_ms, sample_rate)
        start = len(pcm) // 2
        pcm += piece or silence(UNSPEAKABLE_MS, sample_rate)
        clips.append((line.sentence.id, start, len(pcm) // 2))
    pcm += silence(settings.tail_ms, sample_rate)
    samples = bytes(pcm)
    gain, ceiling = plan_gain(samples, sample_rate, settings)
    handle, temporary = tempfile.mkstemp(suffix=".wav", dir=ensure_folder(job.cache_dir))
    os.close(handle)
    try:
        render_wav(samples, sample_rate, gain, ceiling, Path(temporary))
        wav_path, _ = cache.chapter_paths(chapter_key)
        index = {"sample_rate": sample_rate, "sample_count": len(samples) // 2, "clips": clips,
                 "key": chapter_key, "wav_path": str(wav_path)}
        cache.put_chapter(chapter_key, Path(temporary), index)
    finally:
        Path(temporary).unlink(missing_ok=True)
    cached_chapter = cache.get_chapter(chapter_key)
    if cached_chapter is None:
        raise EngineError(f"chapter {job.number}: the cache in {job.cache_dir} lost the chapter just written")
    return ChapterResult(chapter_from_index(job, plan, spoken, cached_chapter, cache), synthesized, cached)


def die_with_parent() -> None:
    """Worker initializer: on Linux, end with the main process even when it is SIGKILLed."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def ensure_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chapter_from_index(job: ChapterJob, plan: list[Line], spoken: list[str], index: dict[str, object],
                       cache: ClipCache) -> ChapterNarration:
    """A ChapterNarration from a cached chapter index."""
    positions = {sentence_id: (start, end) for sentence_id, start, end in index["clips"]}  # type: ignore[attr-defined]
    clips = tuple(
        Clip(sentence_id=line.sentence.id, text=line.sentence.text, spoken=text,
             start_sample=positions[line.sentence.id][0], end_sample=positions[line.sentence.id][1],
             is_heading=line.is_heading)
        for line, text in zip(plan, spoken)
    )
    return ChapterNarration(
        chapter_id=job.chapter.id, number=job.number, title=job.chapter.title, clips=clips,
        sample_rate=int(index["sample_rate"]), sample_count=int(index["sample_count"]),  # type: ignore[call-overload]
        wav_path=cache.chapter_paths(str(index["key"]))[0],
    )


def choose_voice(engine: Engine, voice: str | None, language: str) -> str:
    """The voice to use: the user's (checked), else one for the document's language, else the default."""
    check = getattr(engine, "check_voice", None)
    if voice:
        if check is not None:
            check(voice)
        return voice
    for candidate in (language.lower(), language.split("-")[0].lower()):
        try:
            if check is not None:
                check(candidate)
            else:
                continue
            return candidate
        except ReviewpubError:
            continue
    return engine.default_voice


def narrate(
    document: Document,
    engine: Engine,
    *,
    voice: str | None = None,
    audio: AudioSettings = AudioSettings(),
    cache_dir: Path,
    jobs: int | None = None,
    lexicon: Lexicon | None = None,
    progress: Progress = NullProgress(),
) -> Narration:
    """Narrate every top-level chapter; clips come from the cache whenever their inputs match.

    Raises:
        EngineError: the engine failed; the message names the chapter and sentence.
    """
    chosen_voice = choose_voice(engine, voice, document.metadata.language)
    jobs_wanted = jobs or os.cpu_count() or 1
    if engine.max_parallel is not None:
        jobs_wanted = min(jobs_wanted, engine.max_parallel)
    work = [
        ChapterJob(number, chapter, engine, chosen_voice, audio, Path(cache_dir), document.metadata.language, lexicon)
        for number, chapter in enumerate(document.chapters, start=1)
    ]
    sizes = {job.number: len(reading_plan(job.chapter, audio)) for job in work}
    progress.start(sum(sizes.values()), "Narrating")
    results: dict[int, ChapterResult] = {}
    try:
        if jobs_wanted <= 1 or len(work) <= 1:
            for job in work:
                results[job.number] = narrate_chapter(job)
                progress.advance(sizes[job.number])
        else:
            context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
            with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs_wanted, len(work)), mp_context=context,
                                                        initializer=die_with_parent) as pool:
                futures = {pool.submit(narrate_chapter, job): job.number for job in work}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        results[futures[future]] = future.result()
                        progress.advance(sizes[futures[future]])
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    finally:
        progress.finish()
    ordered = [results[job.number] for job in work]
    return Narration(
        engine=engine.name, voice=chosen_voice, chapters=tuple(result.narration for result in ordered),
        synthesized=sum(result.synthesized for result in ordered), cached=sum(result.cached for result in ordered),
    )
