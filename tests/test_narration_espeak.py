"""Narration with the real eSpeak NG and ffmpeg: speech where the clips say, encoding, loudness, tags, the CLI.

The behaviours any engine shares (plan, cache counts, corrupt entries, failures and resuming)
are counted with a fake engine in ``test_narration_fake_engine.py``.
"""

from __future__ import annotations

import shutil
import wave
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reviewpub.document import Chapter, ChapterRole, Document, Metadata, Paragraph, Sentence
from reviewpub.engines.base import Speech
from reviewpub.engines.espeak import EspeakEngine
from reviewpub.errors import EngineError, ExitStatus
from reviewpub.ffmpeg import run_ffmpeg
from reviewpub.media import WAV_PACKET_BYTES, encode_mp3, mp3_arguments
from reviewpub.narration import encoding as chapter_encoding
from reviewpub.narration import narrate
from reviewpub.narration.pcm import audioop, decode_pcm, read_pcm
from reviewpub.narration.settings import AudioSettings, LoudnessProfile
from reviewpub.narration.wav import measure_loudness
from reviewpub.pipeline import BuildOptions, publish_audio
from reviewpub.reading import read_document
from reviewpub.writers import mp3 as mp3_writer
from tests.helpers.cli import run_cli

SHORT_REVIEW = """Short Review: A Test

The opening lines of a short review. It has two sentences.

The Middle: Where Things Happen

The middle part says something. Then it says more, at length, so there is speech to measure.

Pros

- Quick to read
- Easy to hear

1. Is it short?
Yes. Very short.

2. Would you read it again?
Maybe, Mr. Asbæk.
"""


class CountingEspeak(EspeakEngine):
    """eSpeak NG that counts its calls (narration runs in-process with jobs=1)."""

    calls: ClassVar[list[str]] = []

    def synthesize(self, text: str, *, voice: str) -> Speech:
        CountingEspeak.calls.append(text)
        return super().synthesize(text, voice=voice)


class FailingEspeak(EspeakEngine):
    """eSpeak NG that fails on one sentence, as a flaky engine would."""

    def synthesize(self, text: str, *, voice: str) -> Speech:
        if "says more" in text:
            raise EngineError("the engine crashed")
        return super().synthesize(text, voice=voice)


@pytest.fixture
def review(tmp_path: Path) -> Path:
    path = tmp_path / "source" / "short.txt"
    path.parent.mkdir()
    path.write_text(SHORT_REVIEW, encoding="utf-8")
    return path


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record the chapter WAV of every MP3 encoder call: narration's (into the cache) and the writer's."""
    calls: list[Path] = []
    real = mp3_writer.encode_mp3

    def counting(wav: Path, mp3: Path, settings: AudioSettings) -> None:
        calls.append(wav)
        real(wav, mp3, settings)

    monkeypatch.setattr(mp3_writer, "encode_mp3", counting)
    monkeypatch.setattr(chapter_encoding, "encode_mp3", counting)
    return calls


def audio_options(tmp_path: Path, engine: str = "espeak", **audio: Any) -> BuildOptions:
    return BuildOptions(
        output=tmp_path / "output",
        engine=engine,
        cache_dir=tmp_path / "cache",
        jobs=1,
        audio=AudioSettings.from_options(**audio),
    )


def run_audio(review: Path, options: BuildOptions, engine: EspeakEngine) -> Any:
    from reviewpub import pipeline

    original = pipeline.engine_for
    pipeline.engine_for = lambda _options: engine  # type: ignore[assignment]
    try:
        return publish_audio(read_document(review), options)
    finally:
        pipeline.engine_for = original  # type: ignore[assignment]


def sentence(identifier: str, text: str) -> Sentence:
    return Sentence.plain(identifier, text)


def espeak_document() -> Document:
    return Document(
        Metadata(title="A Tiny Review", language="en"),
        (
            Chapter(
                "opening",
                "Opening",
                sentence("e-h1", "Opening"),
                blocks=(
                    Paragraph(
                        (
                            sentence("e1", "The station orbits the Earth every ninety minutes."),
                            sentence("e2", "Its crew works hard."),
                        )
                    ),
                ),
            ),
            Chapter(
                "faq",
                "Questions",
                sentence("e-h2", "Questions"),
                role=ChapterRole.FAQ,
                children=(
                    Chapter(
                        "q1",
                        "Is it good?",
                        sentence("e3", "Is it good?"),
                        blocks=(Paragraph((sentence("e4", "Yes, very."),)),),
                        role=ChapterRole.QUESTION,
                    ),
                ),
            ),
        ),
        name="tiny",
    )


def test_espeak_end_to_end_clips_hold_speech_and_pauses_hold_silence(tmp_path: Path) -> None:
    document = espeak_document()
    narration = narrate(document, EspeakEngine(), cache_dir=tmp_path / "cache", jobs=2)
    assert narration.voice == "en-us" and narration.synthesized == 6
    for chapter, source in zip(narration.chapters, document.chapters):
        assert [clip.sentence_id for clip in chapter.clips] == [item.id for item in source.all_sentences()]
        pcm = read_pcm(chapter.wav_path)
        assert (pcm.sample_rate, pcm.channels, pcm.sample_count) == (22050, 1, chapter.sample_count)
        previous_end = 0
        for clip in chapter.clips:
            assert previous_end < clip.start_sample < clip.end_sample <= chapter.sample_count
            speech = pcm.samples[clip.start_sample * 2 : clip.end_sample * 2]
            pause = pcm.samples[previous_end * 2 : clip.start_sample * 2]
            assert audioop.rms(speech, 2) > 1000, clip.text
            assert audioop.max(pause, 2) < 100, f"silence before {clip.text!r}"
            # Speech fills its clip: the first and last 60 ms hold sound, trimmed margins aside.
            assert audioop.max(speech[: 60 * 44], 2) > 300 and audioop.max(speech[-60 * 44 :], 2) > 300
            seconds = (clip.end_sample - clip.start_sample) / chapter.sample_rate
            assert 0.1 < seconds / max(1, len(clip.spoken.split())) < 0.8, clip.text
            previous_end = clip.end_sample
        assert chapter.sample_count - chapter.clips[-1].end_sample == chapter.sample_rate // 2
    headings = [clip.text for clip in narration.chapters[1].clips if clip.is_heading]
    assert headings == ["Questions", "Is it good?"]
    with wave.open(str(narration.chapters[0].wav_path), "rb") as wav:
        assert wav.getframerate() == 22050 and wav.getnchannels() == 1


def test_faq_questions_and_subheadings_are_read_as_headings(review: Path, tmp_path: Path) -> None:
    narration = narrate(read_document(review), EspeakEngine(), cache_dir=tmp_path / "cache", jobs=1)
    faq = narration.chapters[-1]
    assert [clip.text for clip in faq.clips if clip.is_heading] == [
        "Frequently Asked Questions",
        "Is it short?",
        "Would you read it again?",
    ]
    spoken = {clip.text: clip.spoken for clip in faq.clips}
    assert spoken["Maybe, Mr. Asbæk."] == "Maybe, Mr. Asbæk."


def test_second_run_synthesises_and_encodes_nothing(review: Path, tmp_path: Path, encodes: list[Path]) -> None:
    CountingEspeak.calls = []
    options = audio_options(tmp_path)
    first = run_audio(review, options, CountingEspeak())
    sentences = sum(1 for _ in read_document(review).sentences())
    assert len(CountingEspeak.calls) == sentences == first.narration.synthesized
    assert len(encodes) == len(first.narration.chapters)
    before = {path: path.stat().st_mtime_ns for path in first.paths}
    CountingEspeak.calls, encodes[:] = [], []
    second = run_audio(review, options, CountingEspeak())
    assert CountingEspeak.calls == [] and encodes == []
    assert second.narration.cached == sentences
    assert {path: path.stat().st_mtime_ns for path in second.paths if path.suffix == ".mp3"} == {
        path: mtime for path, mtime in before.items() if path.suffix == ".mp3"
    }


def test_one_edited_sentence_is_synthesised_and_encoded_alone(
    review: Path, tmp_path: Path, encodes: list[Path]
) -> None:
    options = audio_options(tmp_path)
    run_audio(review, options, CountingEspeak())
    review.write_text(SHORT_REVIEW.replace("Then it says more", "Then it says much more"), encoding="utf-8")
    CountingEspeak.calls, encodes[:] = [], []
    result = run_audio(review, options, CountingEspeak())
    assert CountingEspeak.calls == ["Then it says much more, at length, so there is speech to measure."]
    middle = next(chapter for chapter in result.narration.chapters if chapter.number == 2)
    assert encodes == [middle.wav_path], "encoded once, while narrating; the writer copies it"
    assert result.narration.synthesized == 1


def test_engine_failure_names_chapter_and_sentence_and_writes_no_mp3(review: Path, tmp_path: Path) -> None:
    options = audio_options(tmp_path)
    with pytest.raises(EngineError) as raised:
        run_audio(review, options, FailingEspeak())
    assert str(raised.value) == "chapter 2 'The Middle: Where Things Happen', sentence 3: the engine crashed"
    assert not list((tmp_path / "output").rglob("*.mp3"))


@pytest.mark.parametrize(
    ("profile", "stereo"), [("podcast", False), ("podcast", True), ("audiobook", False)], ids=["mono", "stereo", "acx"]
)
def test_mp3s_decode_are_tagged_and_meet_loudness(review: Path, tmp_path: Path, profile: str, stereo: bool) -> None:
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3

    options = audio_options(tmp_path, loudness=profile, stereo=stereo)
    result = run_audio(review, options, EspeakEngine())
    mp3s = [path for path in result.paths if path.suffix == ".mp3"]
    assert [path.name for path in mp3s] == [
        "01-introduction.mp3",
        "02-the-middle-where-things-happen.mp3",
        "03-frequently-asked-questions.mp3",
    ]
    for number, (path, chapter) in enumerate(zip(mp3s, result.narration.chapters), start=1):
        decode_pcm(path)  # ffmpeg -v error: raises on any decoding error
        info = MP3(path).info
        assert info.sample_rate == 44100 and info.channels == (2 if stereo else 1)
        assert info.bitrate == (192000 if profile == "audiobook" else 96000)
        assert abs(info.length - chapter.duration_s) < 0.1
        words = sum(len(clip.text.split()) for clip in chapter.clips)
        assert 0.15 < (chapter.duration_s - 1) / words < 0.8, "a duration consistent with the text"
        tags = ID3(path)
        assert tags["TIT2"].text == [chapter.title]
        assert tags["TALB"].text == ["Short Review: A Test"]
        assert tags["TRCK"].text == [f"{number}/3"] and tags["TCON"].text == ["Speech"]
        assert tags["TLAN"].text == ["eng"] and tags.version == (2, 4, 0)
        assert tags.getall("APIC")[0].data[:3] == b"\xff\xd8\xff"
        assert chapter.clips[-1].text in tags.getall("USLT")[0].text
        assert "espeak (en-us)" in tags.getall("COMM")[0].text[0]
        loudness = measure_loudness(path)
        pcm = decode_pcm(path)
        if profile == "podcast":
            assert abs(loudness.integrated_lufs - (-16 if stereo else -19)) <= 1.0, loudness
            assert loudness.true_peak_dbtp <= -1.5, loudness
        else:
            rms_db = 20 * __import__("math").log10(audioop.rms(pcm, 2) / 32768)
            peak_db = 20 * __import__("math").log10(audioop.max(pcm, 2) / 32768)
            assert -23 <= rms_db <= -18 and peak_db <= -3, (rms_db, peak_db)
            head = pcm[: 44100 * 2 // 2]
            assert 0 < audioop.rms(head, 2) < 33, "ACX: room tone at the head, its noise floor below -60 dB RMS"
    playlist = (tmp_path / "output" / "short" / "short.m3u8").read_text(encoding="utf-8").splitlines()
    assert playlist[0] == "#EXTM3U"
    assert playlist[1].startswith("#EXTINF:") and playlist[1].endswith(",Introduction")
    assert playlist[2] == "audio/01-introduction.mp3"


def test_cli_audio_and_voices(review: Path, tmp_path: Path) -> None:
    output = tmp_path / "cli-output"
    result = run_cli("audio", str(review), "-o", str(output), "--cache-dir", str(tmp_path / "c"), "--voice", "en-gb")
    assert result.stdout.splitlines()[-1] == str(output / "short" / "short.m3u8")
    assert "sentences synthesised" in result.stderr
    voices = run_cli("voices", "--engine", "espeak", "--lang", "en").stdout
    assert "espeak\ten-gb\t" in voices and "espeak\ten-us\t" in voices


def test_cli_unknown_voice_and_engine_are_one_line(review: Path, tmp_path: Path) -> None:
    for arguments, message in (
        (["--voice", "xx-zz"], "unknown voice 'xx-zz' for espeak; try:"),
        (["--engine", "nope"], "unknown engine 'nope'; available: espeak, gtts, piper, auto"),
    ):
        result = run_cli("audio", str(review), "-o", str(tmp_path / "o"), *arguments, expect=ExitStatus.ERROR)
        assert result.stderr.count("\n") == 1 and message in result.stderr
        assert not (tmp_path / "o" / "short").exists()


def test_read_only_cache_still_narrates(review: Path, tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
    result = run_audio(review, audio_options(tmp_path), EspeakEngine())
    assert result.narration.synthesized > 0


@pytest.mark.parametrize(
    "settings",
    [
        AudioSettings(),
        AudioSettings(channels=2, bitrate_kbps=128),
        AudioSettings(loudness=LoudnessProfile.OFF, sample_rate=48000),
    ],
    ids=["podcast mono", "stereo 128k", "loudness off 48k"],
)
def test_bigger_wav_packets_change_nothing_in_the_mp3(settings: AudioSettings, tmp_path: Path) -> None:
    # A clip shorter than one packet, and speech of several packets with a pause between.
    speech = EspeakEngine().synthesize("The crew repaired the radio before dawn. Nobody moved.", voice="en-us")
    for name, samples in (("short", speech.samples[:6000]), ("long", speech.samples * 3)):
        wav = tmp_path / f"{name}.wav"
        with wave.open(str(wav), "wb") as output:
            output.setnchannels(1)
            output.setsampwidth(2)
            output.setframerate(speech.sample_rate)
            output.writeframes(samples)
        assert len(samples) < WAV_PACKET_BYTES if name == "short" else len(samples) > 3 * WAV_PACKET_BYTES
        encode_mp3(wav, tmp_path / f"{name}.mp3", settings)
        assert "-max_size" in mp3_arguments(wav, tmp_path / "any.mp3", settings)
        run_ffmpeg(mp3_arguments(wav, tmp_path / f"{name}-default.mp3", settings, packet_bytes=None), what=name)
        assert (tmp_path / f"{name}.mp3").read_bytes() == (tmp_path / f"{name}-default.mp3").read_bytes()
