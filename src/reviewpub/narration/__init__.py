"""Document → Narration: every sentence spoken, cached, and placed to the sample in its chapter.

``plan`` decides what is spoken and under which cache keys (with ``rules``), ``chapter``
speaks one chapter, ``workers`` runs chapters in a process pool (``ray_executor`` on a
cluster), ``encoding`` makes each chapter's MP3 as soon as it is spoken; ``narrate`` below
runs them in that order. Only ``chapter`` and the modules it uses need numpy: with worker
processes, the main process never loads it.

Each top-level chapter is read as its heading, a pause, then its sentences, with longer
pauses between paragraphs; sections and FAQ questions are read as headings (pause, heading,
pause, body). The sentence is the unit of synthesis and of the cache: a clip is made once
per engine, voice, sound options and exact spoken text, and reused by every later run. A
chapter's clips are joined on disk at the engine's rate and levelled once
(``wav.render_chapter_wav``) into a WAV that is cached too, keyed by everything that went into
it; ``Clip`` positions are samples of that WAV. Encoders resample to the output rate.

Chapters are independent jobs. Those not already in the cache run in worker processes
(libespeak-ng is a per-process singleton), at most ``jobs`` and ``engine.max_parallel`` at
once; workers send back clip positions and a WAV path, never audio, so memory stays flat
whatever the length of the book. Ctrl-C stops the workers between two sentences. Each
chapter narrated is encoded to MP3 into the cache straight away (``encoding``), while the
next chapters are spoken, so the MP3 writer only copies and tags.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.narration.cache import CachedChapter, NarrationCache
from reviewpub.narration.encoding import ChapterEncoder
from reviewpub.narration.model import ChapterNarration, Clip, Narration
from reviewpub.narration.plan import ChapterJob, plan_jobs
from reviewpub.narration.settings import AudioSettings, LoudnessProfile
from reviewpub.narration.workers import ChapterResult, run_in_pool, speak_chapter
from reviewpub.progress import NullProgress, Progress

if TYPE_CHECKING:
    from reviewpub.document import Document
    from reviewpub.engines.base import Engine
    from reviewpub.narration.lexicon import Lexicon
    from reviewpub.narration.ray_executor import RayExecutor

__all__ = ["AudioSettings", "ChapterNarration", "Clip", "LoudnessProfile", "Narration", "narrate"]

logger = logging.getLogger(__name__)


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
    while_speaking: Callable[[], None] = lambda: None,
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
        while_speaking: this process's own work (the cover), called once: as soon as the
            chapters are handed to worker processes, so it runs beside them instead of before
            the first sentence; else before narrating here. Its exception stops the narration.

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
    if executor is not None:
        while_speaking()
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
        # Longest first: the chapters still being spoken (then encoded) at the end are short ones,
        # instead of one long chapter keeping a core busy while the others idle.
        to_narrate.sort(key=lambda job: job.spoken_length, reverse=True)
        tuned = engine.for_workers(workers)
        to_narrate = [dataclasses.replace(job, engine=tuned) for job in to_narrate]
        # Each chapter is encoded as soon as it is narrated, while the next ones are spoken.
        with ChapterEncoder(cache, audio, workers) as encoder:
            if workers <= 1:
                if executor is None:
                    while_speaking()
                for job in to_narrate:
                    results[job.number] = speak_chapter(
                        job, lambda number, lines, audio_s: progress.advance(lines, titles[number], audio_s=audio_s)
                    )
                    encoder.submit(results[job.number].chapter.wav_path)
            else:
                results.update(
                    run_in_pool(
                        to_narrate,
                        workers,
                        progress,
                        lambda result: encoder.submit(result.chapter.wav_path),
                        while_waiting=while_speaking,
                    )
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
