"""narrate() with a fake engine: reading plan, sample-exact clips, the cache (counted), workers, failures.

``ToneEngine`` is a deterministic fake engine whose "speech" is a tone as long as the text,
padded with silence like a real engine's; it logs every call to a file so calls made in
worker processes are counted too. What only a real engine shows (speech where the clips say,
silence in the pauses, encoding, loudness, the CLI) is in ``test_narration_espeak.py``.
"""

from __future__ import annotations

import math
import multiprocessing
from array import array
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reviewpub.document import Chapter, ChapterRole, Document, ListBlock, Metadata, Paragraph, Sentence
from reviewpub.engines.base import Engine, Speech, Voice
from reviewpub.errors import EngineError
from reviewpub.media import encode_mp3, mp3_encoding
from reviewpub.narration import narrate
from reviewpub.narration.cache import copy_encoded
from reviewpub.narration.model import ChapterNarration, Narration
from reviewpub.narration.pcm import read_pcm
from reviewpub.narration.plan import reading_plan
from reviewpub.narration.settings import AudioSettings, LoudnessProfile
from reviewpub.narration.workers import Worker, short_title

ENGINE_RATE = 22050
LEAD_MS = 100
"""Silence the fake engine puts before its tone (trimmed by narration)."""
TRAIL_MS = 150
MS_PER_CHARACTER = 12


class ToneEngine(Engine):
    """A fake engine: a tone as long as the text (12 ms a character) between stretches of silence.

    Picklable and module-level, so it runs in worker processes; every call is appended to
    ``log`` (one line per call), which is how tests count synthesis across processes.
    """

    name: ClassVar[str] = "tone"
    description: ClassVar[str] = "test tones"
    default_voice: ClassVar[str] = "beep"

    def __init__(self, log: Path | None = None, fail_on: str | None = None, pitch_hz: int = 220) -> None:
        self.log = log
        self.fail_on = fail_on
        self.pitch_hz = pitch_hz

    def voices(self, language: str | None = None) -> list[Voice]:
        return [Voice("beep", "Beep", ("en",)), Voice("boop", "Boop", ("en",)), Voice("de", "Piep", ("de",))]

    def check_voice(self, voice: str) -> None:
        if voice not in {item.id for item in self.voices()}:
            raise EngineError(f"unknown voice {voice!r} for tone")

    def synthesize(self, text: str, *, voice: str) -> Speech:
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as log:
                log.write(text.replace("\n", " ") + "\n")
        if self.fail_on is not None and self.fail_on in text:
            raise EngineError("the tone generator jammed")
        return Speech(samples=tone_speech(text, self.pitch_hz * (2 if voice == "boop" else 1)), sample_rate=ENGINE_RATE)

    def sound_options(self) -> dict[str, Any]:
        return {"pitch_hz": self.pitch_hz}


def tone_samples(text: str) -> int:
    """How many samples of tone the fake engine says ``text`` with."""
    return max(4, len(text)) * MS_PER_CHARACTER * ENGINE_RATE // 1000


def tone_speech(text: str, pitch_hz: int) -> bytes:
    """Silence, a tone (with one loud burst, so limiters have work), silence."""
    length = tone_samples(text)
    burst = range(length // 2, length // 2 + 40)
    tone = array(
        "h",
        (
            round((0.97 if index in burst else 0.45) * 32767 * math.sin(2 * math.pi * pitch_hz * index / ENGINE_RATE))
            for index in range(length)
        ),
    )
    lead = array("h", bytes(2 * (LEAD_MS * ENGINE_RATE // 1000)))
    trail = array("h", bytes(2 * (TRAIL_MS * ENGINE_RATE // 1000)))
    return (lead + tone + trail).tobytes()


def calls(log: Path) -> list[str]:
    """The texts the engine was asked to speak, in order (across processes)."""
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def sentence(identifier: str, text: str) -> Sentence:
    return Sentence.plain(identifier, text)


def make_document(edit: dict[str, str] | None = None, *, author: str | None = "Ada Reviewer") -> Document:
    """A small review: an introduction, a chapter with a list and a quote, and an FAQ with two questions."""
    texts = {
        "s1": "A short review of a long film.",
        "s2": "It is about space.",
        "s3": "The second paragraph starts here.",
        "s4": "The cast is strong.",
        "s5": "Good pacing",
        "s6": "Fine music",
        "s7": "Is it long?",
        "s8": "About two hours.",
        "s9": "Should I watch it?",
        "s10": "Yes, in a cinema.",
        "s11": "Really.",
    }
    texts.update(edit or {})
    chapters = (
        Chapter(
            "introduction",
            "Introduction",
            sentence("h1", "Introduction"),
            blocks=(
                Paragraph((sentence("s1", texts["s1"]), sentence("s2", texts["s2"]))),
                Paragraph((sentence("s3", texts["s3"]),)),
            ),
            role=ChapterRole.INTRODUCTION,
        ),
        Chapter(
            "stellar-cast",
            "Stellar Cast: A Compelling Ensemble",
            sentence("h2", "Stellar Cast: A Compelling Ensemble"),
            blocks=(
                Paragraph((sentence("s4", texts["s4"]),)),
                ListBlock(((sentence("s5", texts["s5"]),), (sentence("s6", texts["s6"]),))),
            ),
        ),
        Chapter(
            "faq",
            "Frequently Asked Questions",
            sentence("h3", "Frequently Asked Questions"),
            role=ChapterRole.FAQ,
            children=(
                Chapter(
                    "is-it-long",
                    "Is it long?",
                    sentence("s7", texts["s7"]),
                    blocks=(Paragraph((sentence("s8", texts["s8"]),)),),
                    role=ChapterRole.QUESTION,
                ),
                Chapter(
                    "should-i-watch-it",
                    "Should I watch it?",
                    sentence("s9", texts["s9"]),
                    blocks=(Paragraph((sentence("s10", texts["s10"]), sentence("s11", texts["s11"]))),),
                    role=ChapterRole.QUESTION,
                ),
            ),
        ),
    )
    return Document(
        Metadata(title="Tones: A Review", author=author, language="en", date="2024-01-19"), chapters, name="tones"
    )


def speakable_count(document: Document) -> int:
    return sum(1 for _ in document.sentences())


class RecordingProgress:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.details: set[str] = set()
        self.audio_s = 0.0
        self.finished = False

    def start(self, total: int, label: str) -> None:
        self.total = total

    def advance(self, steps: int = 1, detail: str = "", audio_s: float = 0.0) -> None:
        self.done += steps
        self.details.add(detail)
        self.audio_s += audio_s

    def finish(self) -> None:
        self.finished = True


class InterruptingProgress(RecordingProgress):
    """Raises KeyboardInterrupt (as Ctrl-C would) at the first progress report."""

    def advance(self, steps: int = 1, detail: str = "", audio_s: float = 0.0) -> None:
        raise KeyboardInterrupt


def wav_samples(chapter: ChapterNarration) -> array[int]:
    pcm = read_pcm(chapter.wav_path)
    samples = array("h")
    samples.frombytes(pcm.samples)
    return samples


def test_reading_plan_reads_headings_then_paragraphs_with_their_pauses() -> None:
    settings = AudioSettings()
    document = make_document()
    plan = [(line.sentence.id, line.pause_ms, line.is_heading) for line in reading_plan(document.chapters[0], settings)]
    assert plan == [("h1", 0, True), ("s1", 700, False), ("s2", 300, False), ("s3", 650, False)]
    plan = [(line.sentence.id, line.pause_ms) for line in reading_plan(document.chapters[1], settings)]
    assert plan == [("h2", 0), ("s4", 700), ("s5", 650), ("s6", 650)]
    faq = [(line.sentence.id, line.pause_ms, line.is_heading) for line in reading_plan(document.chapters[2], settings)]
    assert faq == [
        ("h3", 0, True),
        ("s7", 900, True),
        ("s8", 700, False),
        ("s9", 900, True),
        ("s10", 700, False),
        ("s11", 300, False),
    ]


def test_clips_are_ordered_sample_exact_and_cover_the_speech(tmp_path: Path) -> None:
    document = make_document()
    settings = AudioSettings()
    narration = narrate(document, ToneEngine(), audio=settings, cache_dir=tmp_path / "cache", jobs=1)
    assert (narration.engine, narration.voice) == ("tone", "beep")
    assert [chapter.chapter_id for chapter in narration.chapters] == ["introduction", "stellar-cast", "faq"]
    for chapter, source in zip(narration.chapters, document.chapters):
        assert chapter.sample_rate == ENGINE_RATE, "chapters stay at the engine's rate; encoders resample"
        assert [clip.sentence_id for clip in chapter.clips] == [item.id for item in source.all_sentences()]
        samples = wav_samples(chapter)
        assert len(samples) == chapter.sample_count
        plan = reading_plan(source, settings)
        previous_end = 0
        for clip, line in zip(chapter.clips, plan):
            assert previous_end <= clip.start_sample < clip.end_sample <= chapter.sample_count
            # The pause before each clip is exactly the plan's (head silence before the first).
            gap_ms = (clip.start_sample - previous_end) * 1000 / ENGINE_RATE
            assert gap_ms == pytest.approx(line.pause_ms if previous_end else settings.head_ms, abs=0.05)
            previous_end = clip.end_sample
            # The tone starts about 25 ms (the trim margin) after the clip starts, and ends as long before its end.
            loud = [index for index in range(clip.start_sample, clip.end_sample) if abs(samples[index]) > 300]
            assert 20 <= (loud[0] - clip.start_sample) * 1000 / ENGINE_RATE <= 32
            assert 20 <= (clip.end_sample - 1 - loud[-1]) * 1000 / ENGINE_RATE <= 32
            tone_ms = (loud[-1] - loud[0]) * 1000 / ENGINE_RATE
            assert tone_ms == pytest.approx(max(4, len(clip.spoken)) * MS_PER_CHARACTER, abs=1.0)
            assert clip.is_heading == line.is_heading
        # Nothing is heard outside the clips, and the audio ends half a second after the last one.
        assert max(abs(value) for value in samples[: chapter.clips[0].start_sample]) == 0
        assert max(abs(value) for value in samples[chapter.clips[-1].end_sample :]) == 0
        assert chapter.sample_count - chapter.clips[-1].end_sample == ENGINE_RATE // 2


def test_another_output_sample_rate_reuses_the_chapter_audio(tmp_path: Path) -> None:
    # The MP3's rate is the encoder's business: the chapter PCM and its times do not change.
    cache = tmp_path / "cache"
    first = narrate(make_document(), ToneEngine(), cache_dir=cache, jobs=1)
    again = narrate(make_document(), ToneEngine(), audio=AudioSettings(sample_rate=48000), cache_dir=cache, jobs=1)
    assert again.chapters == first.chapters


def test_second_run_synthesises_nothing_and_reuses_the_chapter_audio(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    document = make_document()
    progress = RecordingProgress()
    first = narrate(document, ToneEngine(log), cache_dir=tmp_path / "cache", jobs=2, progress=progress)
    assert len(calls(log)) == speakable_count(document) == first.synthesized
    assert first.cached == 0
    assert progress.done == progress.total == speakable_count(document) and progress.finished
    assert "Stellar Cast: A Compelling Ensemble" in progress.details
    # Minutes of audio made, for the progress bar: everything but each chapter's head and tail.
    edges_s = len(first.chapters) * (AudioSettings().head_ms + AudioSettings().tail_ms) / 1000
    assert abs(progress.audio_s + edges_s - first.duration_s) < 0.01
    log.unlink()
    rerun = RecordingProgress()
    second = narrate(document, ToneEngine(log), cache_dir=tmp_path / "cache", jobs=2, progress=rerun)
    assert abs(rerun.audio_s - first.duration_s) < 0.01
    assert calls(log) == []
    assert (second.synthesized, second.cached) == (0, speakable_count(document))
    assert second == Narration(first.engine, first.voice, first.chapters, 0, speakable_count(document))


def test_one_edited_sentence_is_synthesised_alone_and_only_its_chapter_changes(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    first = narrate(make_document(), ToneEngine(log), cache_dir=tmp_path / "cache", jobs=2)
    log.unlink()
    edited = narrate(
        make_document({"s4": "The cast is very strong."}), ToneEngine(log), cache_dir=tmp_path / "cache", jobs=2
    )
    assert calls(log) == ["The cast is very strong."]
    assert edited.synthesized == 1
    changed = [new.chapter_id for old, new in zip(first.chapters, edited.chapters) if old.wav_path != new.wav_path]
    assert changed == ["stellar-cast"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_each_narrated_chapter_is_encoded_into_the_cache_as_the_writer_would_encode_it(
    tmp_path: Path, jobs: int
) -> None:
    settings = AudioSettings()
    narration = narrate(make_document(), ToneEngine(), audio=settings, cache_dir=tmp_path / "cache", jobs=jobs)
    assert not list((tmp_path / "cache" / "narration-v2" / "scratch").iterdir())
    for chapter in narration.chapters:
        cached, own = tmp_path / f"{chapter.number}-cached.mp3", tmp_path / f"{chapter.number}-own.mp3"
        assert copy_encoded(chapter.wav_path, mp3_encoding(settings), cached), "encoded while narrating"
        encode_mp3(chapter.wav_path, own, settings)
        assert cached.read_bytes() == own.read_bytes(), "the same bytes, whoever encodes"
    # Other MP3 settings are another encoding: the writer encodes those itself.
    assert not copy_encoded(
        narration.chapters[0].wav_path, mp3_encoding(AudioSettings(bitrate_kbps=128)), tmp_path / "other.mp3"
    )


def test_a_sentence_said_twice_is_synthesised_once(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    narration = narrate(
        make_document({"s2": "Really.", "s3": "Really."}), ToneEngine(log), cache_dir=tmp_path / "c", jobs=1
    )
    assert calls(log).count("Really.") == 1
    assert narration.synthesized + narration.cached == speakable_count(make_document())


def test_voice_pitch_and_output_settings_key_the_cache_as_they_should(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    cache = tmp_path / "cache"
    narrate(make_document(), ToneEngine(log), cache_dir=cache, jobs=1)
    count = speakable_count(make_document())
    assert len(calls(log)) == count
    narrate(make_document(), ToneEngine(log), voice="boop", cache_dir=cache, jobs=1)
    assert len(calls(log)) == 2 * count, "another voice is another sound"
    narrate(make_document(), ToneEngine(log, pitch_hz=330), cache_dir=cache, jobs=1)
    assert len(calls(log)) == 3 * count, "another sound option is another sound"
    stereo = narrate(
        make_document(),
        ToneEngine(log),
        cache_dir=cache,
        jobs=1,
        audio=AudioSettings(sample_rate=48000, channels=2, loudness=LoudnessProfile.OFF, bitrate_kbps=256),
    )
    assert len(calls(log)) == 3 * count, "output settings reuse the clips"
    assert stereo.cached == count and stereo.chapters[0].sample_rate == ENGINE_RATE


def test_corrupt_cache_entries_are_detected_and_made_again(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    cache = tmp_path / "cache"
    narrate(make_document(), ToneEngine(log), cache_dir=cache, jobs=1)
    clips = sorted(cache.rglob("*.pcm"))
    clips[0].write_bytes(clips[0].read_bytes()[:-10])  # truncated
    data = bytearray(clips[1].read_bytes())
    data[-1] ^= 0xFF  # one flipped bit pattern
    clips[1].write_bytes(bytes(data))
    for wav in cache.rglob("*.wav"):  # and every chapter WAV damaged, so chapters are assembled again
        wav.write_bytes(wav.read_bytes()[:-2] + b"\x01\x02")
    log.unlink()
    narration = narrate(make_document(), ToneEngine(log), cache_dir=cache, jobs=1)
    assert len(calls(log)) == 2
    assert narration.synthesized == 2
    for chapter in narration.chapters:
        assert len(wav_samples(chapter)) == chapter.sample_count


def test_engine_failure_names_chapter_and_sentence_and_the_next_run_resumes(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    cache = tmp_path / "cache"
    with pytest.raises(EngineError) as raised:
        narrate(make_document(), ToneEngine(log, fail_on="The cast is strong"), cache_dir=cache, jobs=1)
    assert str(raised.value) == "chapter 2 'Stellar Cast: A Compelling Ensemble', sentence 2: the tone generator jammed"
    assert not list((cache / "narration-v2" / "scratch").iterdir())
    spoken_before = calls(log)
    log.unlink()
    narrate(make_document(), ToneEngine(log), cache_dir=cache, jobs=1)
    # Resumed: what was spoken before the failure is not spoken again.
    assert set(calls(log)).isdisjoint(set(spoken_before) - {"The cast is strong."})
    assert "The cast is strong." in calls(log)


def test_a_worker_sends_progress_a_few_times_a_second_and_the_rest_at_a_chapter_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[int, int, float]] = []
    now = [100.0]

    class Queue:
        def put(self, item: tuple[int, int, float]) -> None:
            sent.append(item)

    monkeypatch.setattr(Worker, "progress", Queue())
    monkeypatch.setattr(Worker, "unsent", (0, 0, 0.0))
    monkeypatch.setattr(Worker, "last_sent", 0.0)
    monkeypatch.setattr("reviewpub.narration.workers.time.monotonic", lambda: now[0])
    for clock, chapter, seconds in [
        (100.0, 1, 2.0),
        (100.1, 1, 2.0),
        (100.2, 1, 2.0),
        (100.3, 1, 2.0),
        (100.4, 2, 1.0),
    ]:
        now[0] = clock
        Worker.report(chapter, 1, seconds)
    # 100.0: the first line at once; 100.1 and 100.2 gathered; 100.25 passed at 100.3: three sent;
    # 100.4: another chapter, gathered apart until its end.
    assert sent == [(1, 1, 2.0), (1, 3, 6.0)]
    Worker.send()
    Worker.send()  # nothing left
    assert sent == [(1, 1, 2.0), (1, 3, 6.0), (2, 1, 1.0)]


def test_engine_failure_in_a_worker_process_is_reported_the_same_way(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"^chapter 3 'Frequently Asked Questions', sentence 5: the tone generator"):
        narrate(make_document(), ToneEngine(fail_on="Yes, in a cinema"), cache_dir=tmp_path / "cache", jobs=3)
    assert multiprocessing.active_children() == []


def test_ctrl_c_stops_the_workers_cleanly_and_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        narrate(make_document(), ToneEngine(log), cache_dir=cache, jobs=3, progress=InterruptingProgress())
    assert multiprocessing.active_children() == []
    assert not list((cache / "narration-v2" / "scratch").iterdir())
    assert not [path for path in cache.rglob("*") if path.name.endswith(".tmp")]
    interrupted = calls(log)
    narration = narrate(make_document(), ToneEngine(log), cache_dir=cache, jobs=3)
    assert narration.synthesized == speakable_count(make_document()) - len(interrupted)
    assert sorted(calls(log)) == sorted(sentence.text for sentence in make_document().sentences())


def test_unspeakable_sentences_get_a_short_silent_clip(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    narration = narrate(make_document({"s2": "?!", "s3": "🚀"}), ToneEngine(log), cache_dir=tmp_path / "c", jobs=1)
    clips = {clip.sentence_id: clip for clip in narration.chapters[0].clips}
    for identifier in ("s2", "s3"):
        assert abs(clips[identifier].end_sample - clips[identifier].start_sample - ENGINE_RATE // 4) <= 2
    assert "?!" not in calls(log) and "🚀" not in calls(log)


def test_spoken_text_is_kept_apart_from_the_written_text(tmp_path: Path) -> None:
    document = make_document({"s2": "It costs $5 & more."})
    narration = narrate(document, ToneEngine(), cache_dir=tmp_path / "c", jobs=1)
    clip = narration.chapters[0].clips[2]
    assert clip.text == "It costs $5 & more."
    assert "dollars" in clip.spoken and "and" in clip.spoken and "$" not in clip.spoken


def test_voice_follows_the_document_language_and_an_explicit_voice_is_checked(tmp_path: Path) -> None:
    document = make_document()
    german = Document(document.metadata.replace(language="de"), document.chapters, name="tones")
    assert narrate(german, ToneEngine(), cache_dir=tmp_path / "c", jobs=1).voice == "de"
    assert narrate(document, ToneEngine(), cache_dir=tmp_path / "c", jobs=1).voice == "beep"
    with pytest.raises(EngineError, match="unknown voice 'nope'"):
        narrate(document, ToneEngine(), voice="nope", cache_dir=tmp_path / "c", jobs=1)


def test_an_unwritable_cache_is_one_clear_error(tmp_path: Path) -> None:
    from reviewpub.errors import WriterError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(WriterError, match="cannot write the narration cache"):
        narrate(make_document(), ToneEngine(), cache_dir=blocker, jobs=1)


def test_an_empty_document_gives_an_empty_narration(tmp_path: Path) -> None:
    empty = Document(Metadata(title="Nothing"), (), name="nothing")
    narration = narrate(empty, ToneEngine(), cache_dir=tmp_path / "c")
    assert narration == Narration("tone", "beep", ())


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Stellar Cast: A Compelling Ensemble", "Stellar Cast: A Compelling Ensemble"),
        ("Production Design and Special Effects: Immersive Realism", "Production Design and Special Effects…"),
        ("A" * 60, "A" * 47 + "…"),
    ],
)
def test_errors_quote_long_chapter_titles_cut_between_words(title: str, shown: str) -> None:
    assert short_title(title) == shown


@pytest.mark.parametrize("jobs", [1, 3])
def test_the_main_process_work_runs_once_while_the_chapters_are_spoken(tmp_path: Path, jobs: int) -> None:
    log = tmp_path / "calls.txt"
    seen: list[int] = []

    def while_speaking() -> None:
        # Handed the chapters first: with workers, they are already speaking; alone, nothing is spoken yet.
        seen.append(len(calls(log)))

    narrate(make_document(), ToneEngine(log), cache_dir=tmp_path / "cache", jobs=jobs, while_speaking=while_speaking)
    assert len(seen) == 1
    if jobs == 1:
        assert seen == [0]
    # Nothing left to speak: it still runs, once.
    narrate(make_document(), ToneEngine(log), cache_dir=tmp_path / "cache", jobs=jobs, while_speaking=while_speaking)
    assert len(seen) == 2


def test_a_failure_of_the_main_process_work_stops_the_workers_and_loses_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"

    def while_speaking() -> None:
        raise EngineError("the cover could not be drawn")

    with pytest.raises(EngineError, match="the cover could not be drawn"):
        narrate(make_document(), ToneEngine(), cache_dir=cache, jobs=3, while_speaking=while_speaking)
    assert multiprocessing.active_children() == []
    assert not list((cache / "narration-v2" / "scratch").glob("*"))
    assert not [path for path in cache.rglob("*") if path.name.endswith(".tmp")]


def test_the_chapter_with_most_to_say_is_spoken_first(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    document = make_document()
    narration = narrate(document, ToneEngine(log), cache_dir=tmp_path / "cache", jobs=1)
    # The FAQ says the most (95 characters against 93 and 75): it is spoken first, the
    # chapters keep their document order in the narration.
    assert calls(log)[0] == "Frequently Asked Questions"
    assert [chapter.chapter_id for chapter in narration.chapters] == ["introduction", "stellar-cast", "faq"]
