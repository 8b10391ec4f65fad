"""Piper, the default engine, for real: the bundled voice on a few short sentences.

Determinism (same samples in any order and any process), exact clip timings in the read-aloud
EPUB, two clean builds and a resumed build giving the same bytes, voices found in a voices
folder, and every bad model, config, speaker or language refused in one line before any work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from array import array
from pathlib import Path

import pytest
from lxml import etree

from reviewpub.engines import load_engine
from reviewpub.engines.piper import PiperEngine
from reviewpub.engines.piper_models import BUNDLED_VOICE, bundled_model_path
from reviewpub.errors import ExitStatus, SettingsError
from reviewpub.narration.lexicon import Lexeme, Lexicon
from reviewpub.narration.pcm import decode_pcm
from reviewpub.narration.plan import clip_key
from reviewpub.narration.spoken import spoken_text
from tests.helpers.cli import run_cli
from tests.helpers.validation import check_epubs

REVIEW = """Piper Test Review

Introduction

The film is good. It runs two hours.

Verdict: Worth It

Watch it twice.
"""
FRENCH = "---\ntitle: Critique\nlang: fr\n---\n\nLe film est bon. Il dure deux heures.\n"
NS = {"opf": "http://www.idpf.org/2007/opf", "smil": "http://www.w3.org/ns/SMIL"}
SENTENCE = "The station drifts in silence."


def digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) → its SHA-256."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def piper_build(source: Path, output: Path, cache: Path, *extra: str) -> str:
    """``reviewpub build`` with Piper; its stderr."""
    return run_cli(
        "build", str(source), "-o", str(output), "--cache-dir", str(cache), "--engine", "piper", *extra
    ).stderr


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "piper-test.txt"
    source.write_text(REVIEW, encoding="utf-8")
    return source


@pytest.fixture(scope="module")
def built(review: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Piper build of the short review (output folder; its cache is beside it)."""
    root = tmp_path_factory.mktemp("piper-build")
    piper_build(review, root / "output", root / "cache")
    return root


def test_piper_is_the_default_engine(review: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEWPUB_ENGINE")
    result = run_cli("audio", str(review), "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"))
    assert f"by piper ({BUNDLED_VOICE})" in result.stderr


def test_same_sentence_same_samples_in_any_order_and_process() -> None:
    engine = PiperEngine()
    first = engine.synthesize(SENTENCE, voice=BUNDLED_VOICE).samples
    engine.synthesize("Something else entirely, said before it.", voice=BUNDLED_VOICE)
    again = engine.synthesize(SENTENCE, voice=BUNDLED_VOICE).samples
    assert first == again and len(first) > 22050  # over half a second of speech
    script = (
        "import sys, hashlib; from reviewpub.engines.piper import PiperEngine, BUNDLED_VOICE;"
        f"e = PiperEngine(threads=2); e.synthesize('Another first sentence.', voice=BUNDLED_VOICE);"
        f"sys.stdout.write(hashlib.sha256(e.synthesize({SENTENCE!r}, voice=BUNDLED_VOICE).samples).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert other.stdout == hashlib.sha256(first).hexdigest()


def test_rate_sets_the_length_scale() -> None:
    normal = PiperEngine().synthesize(SENTENCE, voice=BUNDLED_VOICE)
    fast = PiperEngine(rate=350).synthesize(SENTENCE, voice=BUNDLED_VOICE)
    assert PiperEngine(rate=350).length_scale == 0.5
    assert 0.4 < fast.sample_count / normal.sample_count < 0.65


def test_lexicon_ipa_reaches_piper_and_changes_the_sound() -> None:
    lexicon = Lexicon((Lexeme(("Asbæk",), "Ahsbeck", "ˈæsbɛk"),))
    spoken = spoken_text("“Asbæk” is good.", lexicon=lexicon, phonemes=True)
    assert spoken == "[[ ˈæsbɛk ]] is good."
    assert spoken_text("“Asbæk” is good.", lexicon=lexicon) == "Ahsbeck is good."
    engine = PiperEngine()
    with_ipa = engine.synthesize(spoken, voice=BUNDLED_VOICE).samples
    spelled = engine.synthesize("Asbæk is good.", voice=BUNDLED_VOICE).samples
    assert with_ipa and with_ipa != spelled


def test_cache_key_follows_the_model_file_and_settings(tmp_path: Path) -> None:
    bundled = bundled_model_path()
    assert bundled is not None
    copy = tmp_path / "voice-a.onnx"
    shutil.copyfile(bundled, copy)
    shutil.copyfile(bundled.with_name(bundled.name + ".json"), tmp_path / "voice-a.onnx.json")
    same = clip_key(PiperEngine(voice_model=copy), "voice-a", "Hello.")
    assert same == clip_key(PiperEngine(voice_model=copy), "voice-a", "Hello.")
    assert same != clip_key(PiperEngine(voice_model=copy, rate=200), "voice-a", "Hello.")
    with copy.open("r+b") as handle:  # the same name, other weights: another voice
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    assert same != clip_key(PiperEngine(voice_model=copy), "voice-a", "Hello.")


def test_read_aloud_and_captions_follow_the_speech_within_50_ms(built: Path) -> None:
    folder = built / "output" / "piper-test"
    epub = folder / "piper-test.read-aloud.epub"
    assert not [message for message in check_epubs([epub])[epub] if message.is_blocking]
    with zipfile.ZipFile(epub) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
        narrator = [meta.text for meta in opf.findall(".//opf:meta[@property='media:narrator']", NS)]
        assert narrator == [f"piper ({BUNDLED_VOICE})"]
        overlays = [
            item.get("href")
            for item in opf.findall(".//opf:item", NS)
            if item.get("media-type") == "application/smil+xml"
        ]
        assert len(overlays) == 2
        for href in overlays:
            pars = etree.fromstring(archive.read("EPUB/" + href)).findall(".//smil:par", NS)
            audio = pars[0].find("smil:audio", NS).get("src")
            mp3 = built / Path(audio).name
            mp3.write_bytes(archive.read("EPUB/" + audio.removeprefix("../")))
            samples = array("h")
            samples.frombytes(decode_pcm(mp3, 44100))
            # Clips tile the audio (see writers/overlays.py): each begins where its speech begins.
            begins = [clock(par.find("smil:audio", NS).get("clipBegin")) for par in pars]
            for begin in begins[1:]:
                assert abs(first_loud_second(samples, begin - 0.2, begin + 0.5) - begin) <= 0.05, (href, begin)
            # Captions hold each sentence's speech alone: start and end within 50 ms of it.
            captions = (folder / "captions" / Path(audio).name).with_suffix(".vtt").read_text(encoding="utf-8")
            cues = [line.split(" --> ") for line in captions.splitlines() if " --> " in line]
            assert len(cues) == len(pars)
            for start, end in ((clock(start), clock(end)) for start, end in cues):
                assert abs(first_loud_second(samples, start - 0.2, end) - start) <= 0.05, (href, start)
                assert abs(last_loud_second(samples, start, end + 0.2) - end) <= 0.05, (href, end)


def clock(value: str) -> float:
    """A SMIL or WebVTT clock value (``0:00:01.250``, ``00:00:01.250``) in seconds."""
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


THRESHOLD = 300
"""A sample above this (-40 dBFS) is speech, not the silence between sentences."""


def first_loud_second(samples: array[int], begin_s: float, end_s: float) -> float:
    """When speech first sounds between two times, in seconds (decoded at 44.1 kHz)."""
    start, stop = max(0, int(begin_s * 44100)), min(int(end_s * 44100), len(samples))
    return next((index for index in range(start, stop) if abs(samples[index]) > THRESHOLD), stop) / 44100


def last_loud_second(samples: array[int], begin_s: float, end_s: float) -> float:
    """When speech last sounds between two times, in seconds."""
    start, stop = max(0, int(begin_s * 44100)), min(int(end_s * 44100), len(samples))
    return next((index for index in range(stop - 1, start, -1) if abs(samples[index]) > THRESHOLD), start) / 44100


def test_two_clean_builds_and_a_resumed_build_are_identical(built: Path, review: Path, tmp_path: Path) -> None:
    expected = digests(built / "output")
    piper_build(review, tmp_path / "clean", tmp_path / "clean-cache")
    assert digests(tmp_path / "clean") == expected
    # A build that stopped half-way left some clips and no chapter: the resumed build equals the rest.
    partial = tmp_path / "partial-cache"
    shutil.copytree(built / "cache", partial)
    clips = sorted(partial.rglob("*.pcm"))
    assert len(clips) == 5
    for path in clips[::2]:
        path.unlink()
    for folder in partial.rglob("chapters"):
        shutil.rmtree(folder)
    stderr = piper_build(review, tmp_path / "resumed", partial)
    assert f"{len(clips[::2])} of {len(clips)} sentences synthesised" in stderr
    assert digests(tmp_path / "resumed") == expected


def test_voices_lists_the_bundled_voice_and_a_voices_folder(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    make_voice(voices, "de_DE-test-low", language="de_DE", quality="low", speakers=["anna", "ben"])
    listed = run_cli("voices", "--engine", "piper", "--voices-dir", str(voices)).stdout.splitlines()
    assert f"piper\t{BUNDLED_VOICE}\ten-US\tjoe (medium)\tmedium\t22050 Hz\t1 speaker" in listed
    assert "piper\tde_DE-test-low\tde-DE\ttest (low)\tlow\t22050 Hz\t2 speakers" in listed
    german = run_cli("voices", "--engine", "piper", "--voices-dir", str(voices), "--lang", "de").stdout
    assert german.splitlines() == ["piper\tde_DE-test-low\tde-DE\ttest (low)\tlow\t22050 Hz\t2 speakers"]


def make_voice(
    folder: Path,
    name: str,
    *,
    language: str,
    quality: str = "medium",
    speakers: list[str] | None = None,
    model: bytes | None = None,
) -> Path:
    """A Piper voice in ``folder``: the bundled weights (or ``model``) under another name and config."""
    bundled = bundled_model_path()
    assert bundled is not None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    if model is None:
        path.symlink_to(bundled)
    else:
        path.write_bytes(model)
    config = json.loads(bundled.with_name(bundled.name + ".json").read_text(encoding="utf-8"))
    config["language"]["code"] = language
    config["espeak"]["voice"] = language.split("_")[0].lower()
    config["audio"]["quality"] = quality
    config["dataset"] = name.split("-")[1]
    if speakers:
        config["num_speakers"] = len(speakers)
        config["speaker_id_map"] = {speaker: index for index, speaker in enumerate(speakers)}
    path.with_name(path.name + ".json").write_text(json.dumps(config), encoding="utf-8")
    return path


def refused(*arguments: str, output: Path) -> str:
    """Run ``reviewpub audio`` expecting exit 1; its one-line error (nothing may be written to ``output``)."""
    result = run_cli("audio", *arguments, "-o", str(output), "--engine", "piper", expect=ExitStatus.ERROR)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    written = [path for path in output.rglob("*") if path.is_file() and not path.name.startswith(".")]
    assert not written, written
    return lines[0]


def test_a_french_review_is_never_read_by_an_english_voice(tmp_path: Path) -> None:
    source = tmp_path / "critique.md"
    source.write_text(FRENCH, encoding="utf-8")
    message = refused(str(source), output=tmp_path / "out")
    assert "no Piper voice speaks 'fr'" in message and "--engine espeak" in message and "--voice-model" in message
    message = refused(str(source), "--voice", BUNDLED_VOICE, output=tmp_path / "out")
    assert "speaks en-US" in message and "--engine espeak" in message


def test_a_voice_in_the_voices_folder_reads_its_language(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    make_voice(voices, "fr_FR-test-medium", language="fr_FR")
    engine = PiperEngine(voices_dir=voices)
    assert engine.choose_voice(None, "fr") == "fr_FR-test-medium"
    assert engine.choose_voice(None, "en-GB") == BUNDLED_VOICE


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("missing", "cannot read the voice model"),
        ("text", "not an ONNX model"),
        ("truncated", "Piper cannot load this model"),
        ("no-config", "is missing beside it"),
        ("bad-json", "not valid JSON"),
        ("not-a-config", "not a Piper voice config"),
        ("wrong-suffix", "a Piper voice model is an .onnx file"),
    ],
)
def test_a_bad_voice_model_is_one_line_and_nothing_written(
    review: Path, tmp_path: Path, damage: str, expected: str
) -> None:
    bundled = bundled_model_path()
    assert bundled is not None
    folder = tmp_path / "voice"
    model = make_voice(folder, "en_US-test-medium", language="en_US", model=bundled.read_bytes()[:200_000])
    config = model.with_name(model.name + ".json")
    if damage == "missing":
        model.unlink()
    elif damage == "text":
        model.write_text("<html>404 Not Found</html>" * 100, encoding="utf-8")
    elif damage == "no-config":
        config.unlink()
    elif damage == "bad-json":
        config.write_text("{not json", encoding="utf-8")
    elif damage == "not-a-config":
        config.write_text(json.dumps({"audio": {}}), encoding="utf-8")
    elif damage == "wrong-suffix":
        model = model.rename(folder / "en_US-test-medium.bin")
    message = refused(str(review), "--voice-model", str(model), output=tmp_path / "out")
    assert expected in message, message


def test_speakers_are_checked_before_any_work(review: Path, tmp_path: Path) -> None:
    model = make_voice(tmp_path / "voices", "en_US-pair-medium", language="en_US", speakers=["ann", "bob"])
    message = refused(str(review), "--voice-model", str(model), "--speaker", "carl", output=tmp_path / "out")
    assert "has no such speaker" in message and "ann, bob" in message
    message = refused(str(review), "--speaker", "ann", output=tmp_path / "out")
    assert "has a single speaker" in message
    engine = PiperEngine(voice_model=model, speaker="bob")
    assert engine.speaker_id(engine.model("en_US-pair-medium")) == 1
    with pytest.raises(SettingsError, match="80 to 350"):
        load_engine("piper", rate=400)


def test_workers_share_the_cores_unless_threads_are_given() -> None:
    cpus = os.cpu_count() or 1
    assert PiperEngine().for_workers(1).threads == cpus
    assert PiperEngine().for_workers(cpus).threads == 1
    assert PiperEngine().for_workers(4 * cpus).threads == 1
    assert PiperEngine(threads=3).for_workers(1).threads == 3


def test_an_espeak_option_is_refused_naming_pipers_own(review: Path, tmp_path: Path) -> None:
    message = refused(str(review), "--pitch", "40", output=tmp_path / "out")
    assert message == (
        "Error: --pitch: not an option of the piper engine "
        "(its options: --rate, --speaker, --voice-model, --voices-dir)"
    )
