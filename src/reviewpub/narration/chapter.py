"""One chapter spoken: its clips from the cache or the engine, assembled and levelled into the cached WAV.

A worker process runs it for each chapter (the main process too, with one worker). Clips are
joined on disk at the engine's rate and levelled once (``wav.render_chapter_wav``) into a WAV
that is cached too. This is where narration needs numpy, so it is imported by the workers
(``workers.speak_chapter``), not by the main process.
"""

from __future__ import annotations

from collections.abc import Callable

from reviewpub.errors import ReviewpubError
from reviewpub.narration.cache import CachedClip, NarrationCache
from reviewpub.narration.loudness import LoudnessMeter
from reviewpub.narration.pcm import PcmFile, convert_rate, silence, trim_silence
from reviewpub.narration.plan import UNSPEAKABLE_MS, ChapterJob, SpokenLine
from reviewpub.narration.settings import LoudnessProfile
from reviewpub.narration.wav import render_chapter_wav
from reviewpub.narration.workers import ChapterResult, NarrationCancelled, Worker, engine_failure


def synthesize_clip(job: ChapterJob, index: int, line: SpokenLine) -> CachedClip:
    """Ask the engine for one line and trim its silence; engine errors say which line failed."""
    try:
        speech = job.engine.synthesize(line.spoken, voice=job.voice)
    except ReviewpubError as error:
        raise engine_failure(job, index, error) from None
    return CachedClip(trim_silence(speech.samples, speech.sample_rate), speech.sample_rate)


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
    meter = LoudnessMeter(rate) if job.settings.loudness is LoudnessProfile.PODCAST else None
    try:
        pcm = PcmFile(raw, rate, meter)
        positions: list[tuple[int, int]] = []
        try:
            pcm.append(silence(job.settings.head_ms, rate))
            for index, line in enumerate(job.lines):
                clip = (
                    first_clip if index == first_index else fetch(index, line, line.clip_key) if line.clip_key else None
                )
                samples = convert_rate(clip.samples, clip.sample_rate, rate) if clip else b""
                before = pcm.sample_count
                pcm.append(silence(line.pause_ms, rate))
                start = pcm.sample_count
                pcm.append(samples or silence(UNSPEAKABLE_MS, rate))
                positions.append((start, pcm.sample_count))
                report(job.number, 1, (pcm.sample_count - before) / rate)
            pcm.append(silence(job.settings.tail_ms, rate))
        finally:
            pcm.close()
        rendered = render_chapter_wav(
            raw, rate, wav, job.settings, levels=pcm.levels(), loudness=meter.loudness() if meter is not None else None
        )
        stored = cache.put_chapter(
            job.chapter_key, wav, rendered.sample_rate, rendered.sample_count, positions, rendered.sha256
        )
        return ChapterResult(job.number, stored, counts["synthesized"], counts["cached"])
    finally:
        raw.unlink(missing_ok=True)
        wav.unlink(missing_ok=True)
