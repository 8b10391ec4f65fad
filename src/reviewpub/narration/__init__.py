"""Document → Narration: every sentence spoken, cached, and placed to the sample in its chapter.

Each top-level chapter is read as its heading, a pause, then its sentences, with longer
pauses between paragraphs; sections and FAQ questions are read as headings (pause, heading,
pause, body). The sentence is the unit of synthesis and of the cache: a clip is made once
per engine, voice, sound options and exact spoken text, and reused by every later run. A
chapter's clips are joined on disk at the engine's rate and levelled once
(``audio.render_chapter``) into a WAV that is cached too, keyed by everything that went into
it; ``Clip`` positions are samples of that WAV. Encoders resample to the output rate.

Chapters are independent jobs. Those not already in the cache run in worker processes
(libespeak-ng is a per-process singleton), at most ``jobs`` and ``engine.max_parallel`` at
once; workers send back clip positions and a WAV path, never audio, so memory stays flat
whatever the length of the book. Ctrl-C stops the workers between two sentences. Each
chapter narrated is encoded to MP3 into the cache straight away (``encoding``), while the
next chapters are spoken, so the MP3 writer only copies and tags.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewpub.document import Chapter, ListBlock, Paragraph, Sentence
from reviewpub.errors import EngineError, EngineUnavailable, ReviewpubError, SettingsError
from reviewpub.media import digest
from reviewpub.narration import audio as chapter_audio
from reviewpub.narration.cache import CachedChapter, CachedClip, NarrationCache
from reviewpub.narration.encoding import ChapterEncoder
from reviewpub.narration.model import ChapterNarration, Clip, Narration
from reviewpub.narration.settings import AudioSettings, LoudnessProfile
from reviewpub.progress import NullProgress, Progress

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.engines.base import Engine
    from reviewpub.narration.lexicon import Lexicon
    from reviewpub.narration.ray_executor import RayExecutor

__all__ = ["AudioSettings", "ChapterNarration", "Clip", "LoudnessProfile", "Narration", "narrate"]

logger = logging.getLogger(__name__)
UNSPEAKABLE_MS = 250
"""Silence standing in for a sentence with nothing to say ("???", an emoji), so it still has a clip."""
TITLE_IN_ERRORS = 48
"""Characters of a chapter title quoted in an error message before it is cut with "…"."""
POLL_SECONDS = 0.1
AUDIO_RULES = (
    chapter_audio.MONO_TARGET_LUFS,
    chapter_audio.PODCAST_CEILING_DBFS,
    chapter_audio.AUDIOBOOK_RMS_DBFS,
    chapter_audio.AUDIOBOOK_CEILING_DBFS,
    chapter_audio.ROOM_TONE_RMS_DBFS,
    chapter_audio.LIMITER_WINDOW_MS,
    chapter_audio.LIMITER_STEP_DB,
    UNSPEAKABLE_MS,
    chapter_audio.LEVELLING_VERSION,
)
"""The rules that shape a chapter's PCM beyond its settings: part of its cache key."""
TRIM_RULES = (
    chapter_audio.TRIM_WINDOW_MS,
    chapter_audio.TRIM_FLOOR,
    chapter_audio.TRIM_RELATIVE,
    chapter_audio.TRIM_MARGIN_MS,
)
"""How stored clips are trimmed: part of every clip's cache key."""


@dataclass(frozen=True)
class Line:
    """One thing said in a chapter, and the pause before it."""

    sentence: Sentence
    pause_ms: int
    is_heading: bool = False


def block_groups(block: Paragraph | ListBlock | Any) -> list[tuple[Sentence, ...]]:
    """A block's sentences in the groups read without a paragraph pause (a paragraph, a list item)."""
    if isinstance(block, Paragraph):
        return [block.sentences]
    if isinstance(block, ListBlock):
        return list(block.items)
    return [paragraph.sentences for paragraph in block.paragraphs]


def reading_plan(chapter: Chapter, settings: AudioSettings) -> list[Line]:
    """The chapter in reading order with its pauses: heading, pause, body; then each section alike."""
    lines: list[Line] = []

    def read(section: Chapter, is_first: bool) -> None:
        lines.append(Line(section.heading, 0 if is_first else settings.section_pause_ms, is_heading=True))
        pause = settings.heading_pause_ms
        for block in section.blocks:
            for group in block_groups(block):
                for index, sentence in enumerate(group):
                    lines.append(Line(sentence, pause if index == 0 else settings.sentence_pause_ms))
                if group:
                    pause = settings.paragraph_pause_ms
        for child in section.children:
            read(child, False)

    read(chapter, True)
    return lines


@dataclass(frozen=True)
class SpokenLine:
    """A line of the plan with what the engine is asked to say and its clip's cache key."""

    sentence_id: str
    text: str
    spoken: str
    pause_ms: int
    is_heading: bool
    clip_key: str | None
    """None when there is nothing to say (no letter or digit): silence stands in."""


@dataclass(frozen=True)
class ChapterJob:
    """Everything a worker needs to narrate one chapter (small and picklable: no audio)."""

    number: int
    chapter_id: str
    title: str
    lines: tuple[SpokenLine, ...]
    chapter_key: str
    engine: Engine
    voice: str
    settings: AudioSettings
    cache_dir: Path


@dataclass(frozen=True)
class ChapterResult:
    """A narrated chapter as stored in the cache, and how many clips the engine had to make."""

    number: int
    chapter: CachedChapter
    synthesized: int
    cached: int


class NarrationCancelled(Exception):
    """A worker stopped because the main process was interrupted."""


def is_speakable(spoken: str) -> bool:
    """Whether there is anything to say (a letter or a digit)."""
    return any(character.isalnum() for character in spoken)


def clip_key(engine: Engine, voice: str, spoken: str) -> str:
    """A clip's cache key: engine, voice, every sound option, the trimming rules and the exact text.

    Clips are stored as the engine made them (its rate, mono), so output settings are not part
    of the key: changing the MP3 sample rate or channels reuses every clip.
    """
    identity = engine.voice_fingerprint(voice)
    # Engines without a voice file add nothing, so their keys (and caches) stay as they were.
    return digest(
        "clip", engine.name, voice, *([identity] if identity else []), engine.sound_options(), TRIM_RULES, spoken
    )


def chapter_key(lines: tuple[SpokenLine, ...], settings: AudioSettings) -> str:
    """A chapter WAV's cache key: its clips, pauses, audio settings and levelling rules."""
    return digest("chapter", [(line.clip_key, line.pause_ms) for line in lines], settings.pcm_key(), AUDIO_RULES)


def short_title(title: str) -> str:
    """A chapter title short enough for a one-line error message, cut between words."""
    if len(title) <= TITLE_IN_ERRORS:
        return title
    cut = title[: TITLE_IN_ERRORS - 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut.rstrip(" :;,.-–—") + "…"


def engine_failure(job: ChapterJob, index: int, error: ReviewpubError) -> ReviewpubError:
    """The engine's error, saying where it happened: ``chapter 3 'Stellar Cast…', sentence 2: …``."""
    message = f"chapter {job.number} '{short_title(job.title)}', sentence {index}: {error}"
    for kind in (EngineUnavailable, SettingsError):
        if isinstance(error, kind):
            return kind(message)
    return EngineError(message)


def synthesize_clip(job: ChapterJob, index: int, line: SpokenLine) -> CachedClip:
    """Ask the engine for one line and trim its silence; engine errors say which line failed."""
    try:
        speech = job.engine.synthesize(line.spoken, voice=job.voice)
    except ReviewpubError as error:
        raise engine_failure(job, index, error) from None
    return CachedClip(chapter_audio.trim_silence(speech.samples, speech.sample_rate), speech.sample_rate)


class Worker:
    """What a narration process knows besides its job: where to report, and whether to stop."""

    progress: Any = None
    """A SimpleQueue receiving (chapter number, lines done, seconds of audio), in worker processes."""
    stop: Any = None
    """An Event the main process sets on Ctrl-C or when a chapter failed."""

    @classmethod
    def start(cls, progress: Any, stop: Any) -> None:
        """Pool initializer: Ctrl-C is the main process's to handle; die with it if it is killed."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cls.progress, cls.stop = progress, stop
        if sys.platform.startswith("linux"):
            import ctypes

            set_parent_death_signal = 1  # PR_SET_PDEATHSIG
            ctypes.CDLL(None).prctl(set_parent_death_signal, signal.SIGKILL)

    @classmethod
    def should_stop(cls) -> bool:
        """True once the main process asked the workers to stop."""
        return cls.stop is not None and bool(cls.stop.is_set())

    @classmethod
    def report(cls, number: int, lines: int, audio_s: float) -> None:
        """Tell the main process that ``lines`` more lines of chapter ``number`` (``audio_s`` seconds) are done."""
        if cls.progress is not None:
            cls.progress.put((number, lines, audio_s))


def narrate_chapter(job: ChapterJob, report: Callable[[int, int, float], None] = Worker.report) -> ChapterResult:
    """Speak one chapter (clips from the cache when there), assemble, level and cache its WAV.

    The chapter is assembled in a raw PCM file at the engine's rate, clip after clip, then
    rendered once into the cached WAV: only one clip is in memory at a time.

    Raises:
        EngineError: the engine failed; the message names the chapter and the line.
        NarrationCancelled: the main process asked the workers to stop.
    """
    cache = NarrationCache(job.cache_dir)
    counts = {"synthesized": 0, "cached": 0}

    def fetch(index: int, line: SpokenLine, key: str) -> CachedClip:
        if Worker.should_stop():
            raise NarrationCancelled(job.chapter_id)
        clip = cache.get_clip(key)
        if clip is None:
            clip = synthesize_clip(job, index + 1, line)
            cache.put_clip(key, clip)
            counts["synthesized"] += 1
        else:
            counts["cached"] += 1
        return clip

    # The first clip decides the rate the chapter is assembled at (the engine's own).
    first_index, first_clip = next(
        ((index, fetch(index, line, line.clip_key)) for index, line in enumerate(job.lines) if line.clip_key),
        (-1, None),
    )
    rate = first_clip.sample_rate if first_clip is not None else job.engine.sample_rate or job.settings.sample_rate
    raw = cache.scratch_file(".raw")
    wav = cache.scratch_file(".wav")
    meter = chapter_audio.LoudnessMeter(rate) if job.settings.loudness is LoudnessProfile.PODCAST else None
    try:
        pcm = chapter_audio.PcmFile(raw, rate, meter)
        positions: list[tuple[int, int]] = []
        try:
            pcm.append(chapter_audio.silence(job.settings.head_ms, rate))
            for index, line in enumerate(job.lines):
                clip = (
                    first_clip if index == first_index else fetch(index, line, line.clip_key) if line.clip_key else None
                )
                samples = chapter_audio.convert_rate(clip.samples, clip.sample_rate, rate) if clip else b""
                before = pcm.sample_count
                pcm.append(chapter_audio.silence(line.pause_ms, rate))
                start = pcm.sample_count
                pcm.append(samples or chapter_audio.silence(UNSPEAKABLE_MS, rate))
                positions.append((start, pcm.sample_count))
                report(job.number, 1, (pcm.sample_count - before) / rate)
            pcm.append(chapter_audio.silence(job.settings.tail_ms, rate))
        finally:
            pcm.close()
        rendered = chapter_audio.render_chapter(
            raw, rate, wav, job.settings, levels=pcm.levels(), loudness=meter.loudness() if meter is not None else None
        )
        stored = cache.put_chapter(job.chapter_key, wav, rendered.sample_rate, rendered.sample_count, positions)
        return ChapterResult(job.number, stored, counts["synthesized"], counts["cached"])
    finally:
        raw.unlink(missing_ok=True)
        wav.unlink(missing_ok=True)


def plan_jobs(
    document: Document, engine: Engine, voice: str, settings: AudioSettings, cache_dir: Path, lexicon: Lexicon | None
) -> list[ChapterJob]:
    """One job per top-level chapter: its lines, their spoken text and every cache key."""
    from reviewpub.narration.spoken import spoken_text

    language = document.metadata.language
    jobs = []
    for number, chapter in enumerate(document.chapters, start=1):
        lines = []
        for line in reading_plan(chapter, settings):
            spoken = spoken_text(
                line.sentence.text, language=language, lexicon=lexicon, phonemes=engine.accepts_phonemes
            )
            key = clip_key(engine, voice, spoken) if is_speakable(spoken) else None
            lines.append(SpokenLine(line.sentence.id, line.sentence.text, spoken, line.pause_ms, line.is_heading, key))
        spoken_lines = tuple(lines)
        jobs.append(
            ChapterJob(
                number,
                chapter.id,
                chapter.title,
                spoken_lines,
                chapter_key(spoken_lines, settings),
                engine,
                voice,
                settings,
                Path(cache_dir),
            )
        )
    return jobs


def chapter_narration(job: ChapterJob, stored: CachedChapter) -> ChapterNarration:
    """The model of a narrated chapter: its clips at their places in the cached WAV."""
    clips = tuple(
        Clip(
            sentence_id=line.sentence_id,
            text=line.text,
            spoken=line.spoken,
            start_sample=start,
            end_sample=end,
            is_heading=line.is_heading,
        )
        for line, (start, end) in zip(job.lines, stored.positions)
    )
    return ChapterNarration(
        chapter_id=job.chapter_id,
        number=job.number,
        title=job.title,
        clips=clips,
        sample_rate=stored.sample_rate,
        sample_count=stored.sample_count,
        wav_path=stored.wav_path,
        wav_sha256=stored.wav_sha256,
    )


def run_in_pool(
    jobs: list[ChapterJob],
    workers: int,
    progress: Progress,
    narrated: Callable[[ChapterResult], None] = lambda result: None,
) -> dict[int, ChapterResult]:
    """Narrate chapters in worker processes; on a failure or Ctrl-C, stop them all and raise.

    ``narrated`` is called with each chapter as soon as it is done, on the pool's own thread
    (so without waiting for the next poll), and again from this loop: it must be thread-safe
    and take a chapter twice. Workers
    stop between two sentences; every clip made so far is in the cache, so the next run
    resumes where this one stopped. Of several failures, the earliest chapter's is raised.
    """
    titles = {job.number: job.title for job in jobs}
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = context.SimpleQueue()
    stop = context.Event()
    results: dict[int, ChapterResult] = {}
    failures: dict[int, BaseException] = {}

    def drain() -> None:
        while not queue.empty():
            number, lines, audio_s = queue.get()
            progress.advance(lines, titles[number], audio_s=audio_s)

    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=Worker.start, initargs=(queue, stop)
    ) as pool:
        futures = {pool.submit(narrate_chapter, job): job.number for job in jobs}
        for future in futures:
            future.add_done_callback(
                lambda done: narrated(done.result()) if not done.cancelled() and done.exception() is None else None
            )
        try:
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=POLL_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED
                )
                drain()
                for future in done:
                    error = None if future.cancelled() else future.exception()
                    if error is None and not future.cancelled():
                        results[futures[future]] = future.result()
                        # Usually a no-op: the callback got there first, without waiting for this poll.
                        narrated(results[futures[future]])
                    elif error is not None and not isinstance(error, NarrationCancelled):
                        failures[futures[future]] = error
                        stop.set()
                        for other in pending:
                            other.cancel()
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise
        finally:
            drain()
    if failures:
        first = min(failures)
        if isinstance(failures[first], BrokenProcessPool):
            raise EngineError(
                f"chapter {first} '{short_title(titles[first])}': a narration worker died "
                f"({failures[first]}); run again with --jobs 1 to see why"
            ) from failures[first]
        raise failures[first]
    return results


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
    executor: RayExecutor | None = None,
) -> Narration:
    """Narrate every top-level chapter; clips and chapters come from the cache when their inputs match.

    Args:
        document: the parsed review.
        engine: the text-to-speech engine (picklable: it is sent to worker processes).
        voice: the engine's voice; by default one speaking the document's language.
        audio: pauses, loudness profile and sample rate of the chapter audio.
        cache_dir: where clips and chapter WAVs are kept between runs (shared safely by runs).
        jobs: worker processes (default: the number of CPUs), capped by ``engine.max_parallel``.
        lexicon: the user's pronunciations, applied before the spoken-text rules.
        progress: told how many sentences are done.
        executor: a Ray cluster that synthesises the clips the cache lacks (``ray_executor.connect``);
            None narrates in local worker processes.

    Raises:
        EngineError: the engine failed; the message names the chapter and the sentence.
        WriterError: the cache folder cannot be written.
    """
    chosen_voice = engine.choose_voice(voice, document.metadata.language)
    work = plan_jobs(document, engine, chosen_voice, audio, Path(cache_dir), lexicon)
    cache = NarrationCache(Path(cache_dir))
    if removed := cache.remove_abandoned_scratch():
        logger.debug("removed %d scratch files left by interrupted runs in %s", removed, cache_dir)
    started_cpu_s = time.process_time()
    # The cluster fills the cache; the chapters are then assembled here from cached clips only,
    # by the same code as a local build, so the files are the same bytes.
    made_remotely = executor.fill_cache(work, progress) if executor is not None else 0
    progress.start(sum(len(job.lines) for job in work), "Narrating")
    titles = {job.number: job.title for job in work}
    results: dict[int, ChapterResult] = {}
    to_narrate: list[ChapterJob] = []
    try:
        for job in work:
            stored = cache.get_chapter(job.chapter_key, len(job.lines))
            if stored is None:
                to_narrate.append(job)
            else:
                spoken = sum(1 for line in job.lines if line.clip_key is not None)
                results[job.number] = ChapterResult(job.number, stored, 0, spoken)
                progress.advance(len(job.lines), job.title, audio_s=stored.sample_count / stored.sample_rate)
        # More processes than cores only compete for them (and each Piper worker holds ~350 MB).
        cores = os.cpu_count() or 1
        workers = min(jobs or cores, cores, engine.max_parallel or len(to_narrate), len(to_narrate))
        if executor is not None:
            workers = min(workers, 1)  # assembly only: no process needs the voice, and its CPU is the driver's
        logger.debug("%d of %d chapters to narrate, %d at a time", len(to_narrate), len(work), workers)
        tuned = engine.for_workers(workers)
        to_narrate = [dataclasses.replace(job, engine=tuned) for job in to_narrate]
        # Each chapter is encoded as soon as it is narrated, while the next ones are spoken.
        with ChapterEncoder(cache, audio, workers) as encoder:
            if workers <= 1:
                for job in to_narrate:
                    results[job.number] = narrate_chapter(
                        job, lambda number, lines, audio_s: progress.advance(lines, titles[number], audio_s=audio_s)
                    )
                    encoder.submit(results[job.number].chapter.wav_path)
            else:
                results.update(
                    run_in_pool(to_narrate, workers, progress, lambda result: encoder.submit(result.chapter.wav_path))
                )
    finally:
        progress.finish()
    ordered = [results[job.number] for job in work]
    audio_min = sum(result.chapter.sample_count / result.chapter.sample_rate for result in ordered) / 60
    # The bench reads this line: the driver's CPU per minute of audio bounds how many workers it can feed.
    logger.debug(
        "narration (%s): %.3f CPU s in this process for %.2f min of audio",
        "ray" if executor is not None else "local",
        time.process_time() - started_cpu_s,
        audio_min,
    )
    return Narration(
        engine=engine.name,
        voice=chosen_voice,
        chapters=tuple(chapter_narration(job, result.chapter) for job, result in zip(work, ordered)),
        synthesized=sum(result.synthesized for result in ordered) + made_remotely,
        cached=sum(result.cached for result in ordered) - made_remotely,
    )
