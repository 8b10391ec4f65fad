"""The read-aloud EPUB, checked as a reading system would play it.

Narrations are built by hand with realistic clip times (speech proportional to words, pauses
between sentences, head and tail silence) and real MP3s of exactly the narrated length made by
the real ffmpeg; each embedded MP3 is decoded again to count its samples, and every overlay
clip is checked against that audio and against the narration it came from.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from reviewpub.document import Document
from reviewpub.errors import WriterError
from reviewpub.ffmpeg import run_ffmpeg
from reviewpub.narration.lexicon_files import load_lexicon
from reviewpub.narration.model import ChapterNarration, Clip, Narration
from reviewpub.reading import read_document
from reviewpub.writers.epub import write_epub
from reviewpub.writers.overlays import ACTIVE_CLASS, ReadAloud, clock, overlay_clips
from reviewpub.writers.xhtml import chapter_files, clean
from tests.helpers.documents import sample_document
from tests.helpers.paths import SEED
from tests.helpers.validation import assert_valid_epubs

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "smil": "http://www.w3.org/ns/SMIL",
    "x": "http://www.w3.org/1999/xhtml",
    "pls": "http://www.w3.org/2005/01/pronunciation-lexicon",
}
NARRATION_RATE = 22050
"""eSpeak NG's rate: the narration's sample positions are at this rate, the MP3s at 44.1 kHz."""
MP3_RATE = 44100
PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en">
<lexeme><grapheme>Asbæk</grapheme><alias>Ahsbeck</alias></lexeme>
<lexeme><grapheme>I.S.S.</grapheme><alias>eye ess ess</alias></lexeme>
</lexicon>
"""


def seconds(value: str) -> float:
    hours, minutes, rest = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def make_audio(sample_count: int, folder: Path, stem: str) -> tuple[Path, Path]:
    """A chapter's WAV (narration rate, exactly ``sample_count`` samples) and its MP3 (mono, 44.1 kHz, 96 kbps)."""
    wav, mp3 = folder / f"{stem}.wav", folder / f"{stem}.mp3"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:sample_rate={NARRATION_RATE}",
            "-af",
            f"atrim=end_sample={sample_count}",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            wav,
        ],
        what=str(wav),
    )
    run_ffmpeg(["-i", wav, "-ac", "1", "-ar", str(MP3_RATE), "-c:a", "libmp3lame", "-b:a", "96k", mp3], what=str(mp3))
    return wav, mp3


def narrate_by_hand(document: Document, folder: Path) -> tuple[Narration, dict[str, Path]]:
    """A narration of every chapter with realistic timing, and its chapter MP3s."""
    folder.mkdir(parents=True, exist_ok=True)
    chapters, audio = [], {}
    pause, head, tail = NARRATION_RATE * 3 // 10, NARRATION_RATE // 4, NARRATION_RATE // 2
    headings = {chapter.heading.id for chapter in document.walk()}
    for number, chapter in enumerate(document.chapters, start=1):
        clips, position = [], head
        for sentence in chapter.all_sentences():
            length = int(NARRATION_RATE * (0.4 + 0.22 * min(len(sentence.text.split()), 40)))
            clips.append(
                Clip(
                    sentence.id,
                    sentence.text,
                    sentence.text,
                    position,
                    position + length,
                    is_heading=sentence.id in headings,
                )
            )
            position += length + pause
        sample_count = position - pause + tail
        stem = f"{number:02d}-{chapter.id}"
        wav, mp3 = make_audio(sample_count, folder, stem)
        chapters.append(
            ChapterNarration(chapter.id, number, chapter.title, tuple(clips), NARRATION_RATE, sample_count, wav)
        )
        audio[chapter.id] = mp3
    return Narration(engine="handmade", voice="sine", chapters=tuple(chapters)), audio


@dataclasses.dataclass(frozen=True)
class Built:
    """A read-aloud EPUB and what it was made from."""

    path: Path
    document: Document
    narration: Narration
    text_epub: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Read-aloud EPUBs of the hand-made review (with a PLS lexicon) and the seed (without), checked in one JVM."""
    folder = tmp_path_factory.mktemp("read-aloud")
    lexicon = folder / "names.pls"
    lexicon.write_text(PLS, encoding="utf-8")
    results = {}
    loaded = load_lexicon(lexicon)
    for name, document, read_lexicon in (("sample", sample_document(), loaded), ("seed", read_document(SEED), None)):
        narration, audio = narrate_by_hand(document, folder / name)
        path = write_epub(
            document,
            folder / f"{name}.read-aloud.epub",
            read_aloud=ReadAloud(
                narration=narration, chapter_audio=audio, narrator="handmade (sine)", lexicon=read_lexicon
            ),
        )
        results[name] = Built(path, document, narration, write_epub(document, folder / f"{name}.epub"))
    checked = assert_valid_epubs([item.path for item in results.values()])
    # EPUBCheck does not count <link rel="pronunciation"> (EPUB 3.3 §6.1.4.2) as a reference to
    # the lexicon it links, so it says the lexicon is unused; every other piece of advice counts.
    advice = {
        path: [message for message in found if not (message.id == "OPF_097" and "lexicon.pls" in message.text)]
        for path, found in checked.items()
    }
    advice = {path: found for path, found in advice.items() if found}
    assert not advice, f"EPUBCheck has advice (usage/info) worth fixing: {advice}"
    return results


def opf(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as archive:
        return etree.fromstring(archive.read("EPUB/content.opf"))


def decoded_samples(archive: zipfile.ZipFile, name: str, folder: Path) -> int:
    """Samples of an embedded MP3 when decoded, at 44.1 kHz."""
    extracted = folder / Path(name).name
    extracted.write_bytes(archive.read(name))
    return len(run_ffmpeg(["-i", extracted, "-f", "s16le", "-ac", "1", "-ar", str(MP3_RATE), "-"], what=name)) // 2


def test_read_aloud_epubs_pass_epubcheck_without_advice(built: dict[str, Built]) -> None:
    assert all(item.path.stat().st_size > 0 for item in built.values())


@pytest.mark.parametrize("name", ["sample", "seed"])
def test_every_clip_plays_its_sentence_within_the_embedded_audio(
    built: dict[str, Built], name: str, tmp_path: Path
) -> None:
    item = built[name]
    package = opf(item.path)
    manifest = {entry.get("id"): entry for entry in package.findall(".//opf:item", NS)}
    narrations = {chapter.chapter_id: chapter for chapter in item.narration.chapters}
    with zipfile.ZipFile(item.path) as archive:
        for chapter_file in chapter_files(item.document):
            page_item = next(entry for entry in manifest.values() if entry.get("href") == chapter_file.file_name)
            overlay = manifest[page_item.get("media-overlay")]
            assert overlay.get("media-type") == "application/smil+xml"
            smil = etree.fromstring(archive.read("EPUB/" + overlay.get("href")))
            page = etree.fromstring(archive.read("EPUB/" + chapter_file.file_name))
            pars = smil.findall(".//smil:par", NS)
            audio_sources = {par.find("smil:audio", NS).get("src") for par in pars}
            assert len(audio_sources) == 1
            audio_name = "EPUB/" + audio_sources.pop().removeprefix("../")
            duration = decoded_samples(archive, audio_name, tmp_path) / MP3_RATE
            narration = narrations[chapter_file.chapter.id]
            assert abs(duration - narration.duration_s) < 0.002, "the MP3 is the narration, sample for sample"
            expected_ids = [sentence.id for sentence in chapter_file.chapter.all_sentences()]
            assert [par.find("smil:text", NS).get("src") for par in pars] == [
                f"../{chapter_file.file_name}#{sentence_id}" for sentence_id in expected_ids
            ]
            previous_end = 0.0
            for par, clip, sentence in zip(pars, narration.clips, chapter_file.chapter.all_sentences()):
                audio = par.find("smil:audio", NS)
                begin, end = seconds(audio.get("clipBegin")), seconds(audio.get("clipEnd"))
                assert begin == previous_end, "clips follow each other without gap or overlap"
                assert begin < end <= duration
                assert begin <= narration.seconds(clip.start_sample) < begin + 0.001 or clip is narration.clips[0]
                assert end >= narration.seconds(clip.end_sample) - 0.001, "the whole sentence is inside its clip"
                target = page.find(f".//*[@id='{sentence.id}']")
                assert str(target.xpath("string()")) == clean(sentence.text)
                previous_end = end
            assert seconds(pars[0].find("smil:audio", NS).get("clipBegin")) == 0.0
            assert duration - 0.05 <= previous_end <= duration, "the last clip ends with the audio"


def test_package_declares_durations_narrator_and_active_class(built: dict[str, Built]) -> None:
    item = built["sample"]
    package = opf(item.path)
    overlays = [
        entry for entry in package.findall(".//opf:item", NS) if entry.get("media-type") == "application/smil+xml"
    ]
    assert len(overlays) == len(item.document.chapters)
    with_overlay = [entry for entry in package.findall(".//opf:item", NS) if entry.get("media-overlay")]
    assert sorted(entry.get("media-overlay") for entry in with_overlay) == sorted(entry.get("id") for entry in overlays)
    audio = [entry for entry in package.findall(".//opf:item", NS) if entry.get("media-type") == "audio/mpeg"]
    assert len(audio) == len(item.document.chapters)
    total_ms = 0
    with zipfile.ZipFile(item.path) as archive:
        for overlay in overlays:
            refined = package.findall(f".//opf:meta[@refines='#{overlay.get('id')}']", NS)
            assert [meta.get("property") for meta in refined] == ["media:duration"]
            smil = etree.fromstring(archive.read("EPUB/" + overlay.get("href")))
            clips = sum(
                seconds(audio.get("clipEnd")) - seconds(audio.get("clipBegin"))
                for audio in smil.findall(".//smil:audio", NS)
            )
            assert abs(seconds(refined[0].text) - clips) < 0.0005
            total_ms += round(seconds(refined[0].text) * 1000)
        css = archive.read("EPUB/style.css").decode()
    properties: dict[str, list[str]] = {}
    for meta in package.findall(".//opf:meta[@property]", NS):
        if not meta.get("refines"):
            properties.setdefault(meta.get("property"), []).append(meta.text)
    assert properties["media:duration"] == [clock(total_ms)]
    assert abs(seconds(properties["media:duration"][0]) - item.narration.duration_s) < 0.01 * len(overlays)
    assert properties["media:narrator"] == ["handmade (sine)"]
    assert properties["media:active-class"] == [ACTIVE_CLASS]
    assert re.search(r"\.-epub-media-overlay-active\s*\{[^}]*background-color", css)
    assert properties["schema:accessMode"] == ["textual", "visual", "auditory"]
    assert properties["schema:accessModeSufficient"] == ["textual", "auditory"]
    assert {"synchronizedAudioText", "ttsMarkup"} <= set(properties["schema:accessibilityFeature"])
    assert "narrated" in properties["schema:accessibilitySummary"][0]


def test_lexicon_is_shipped_and_linked_from_every_chapter(built: dict[str, Built]) -> None:
    item = built["sample"]
    entry = opf(item.path).find(".//opf:item[@href='lexicon.pls']", NS)
    assert entry.get("media-type") == "application/pls+xml"
    with zipfile.ZipFile(item.path) as archive:
        lexicon = etree.fromstring(archive.read("EPUB/lexicon.pls"))
        assert [grapheme.text for grapheme in lexicon.iterfind(".//pls:grapheme", NS)] == ["Asbæk", "I.S.S."]
        for chapter_file in chapter_files(item.document):
            page = etree.fromstring(archive.read("EPUB/" + chapter_file.file_name))
            link = page.find(".//x:head/x:link[@rel='pronunciation']", NS)
            assert (link.get("href"), link.get("type"), link.get("hreflang")) == (
                "lexicon.pls",
                "application/pls+xml",
                "en",
            )
    seed = built["seed"]
    assert opf(seed.path).find(".//opf:item[@media-type='application/pls+xml']", NS) is None
    assert "ttsMarkup" not in etree.tostring(opf(seed.path)).decode()


def test_text_and_read_aloud_epubs_share_the_same_chapter_markup(built: dict[str, Built]) -> None:
    item = built["seed"]
    with zipfile.ZipFile(item.path) as read_aloud, zipfile.ZipFile(item.text_epub) as text:
        for chapter_file in chapter_files(item.document):
            name = "EPUB/" + chapter_file.file_name
            assert read_aloud.read(name) == text.read(name)
        assert "media-overlay-active" not in text.read("EPUB/style.css").decode()


def test_read_aloud_epub_is_reproducible(built: dict[str, Built], tmp_path: Path) -> None:
    item = built["seed"]
    with zipfile.ZipFile(item.path) as archive:
        audio = {}
        for chapter in item.narration.chapters:
            path = tmp_path / f"{chapter.file_stem}.mp3"
            path.write_bytes(archive.read(f"EPUB/audio/{chapter.file_stem}.mp3"))
            audio[chapter.chapter_id] = path
    again = write_epub(
        item.document,
        tmp_path / "again.epub",
        read_aloud=ReadAloud(narration=item.narration, chapter_audio=audio, narrator="handmade (sine)"),
    )
    assert again.read_bytes() == item.path.read_bytes()


def test_clock_has_millisecond_precision() -> None:
    assert clock(0) == "0:00:00.000"
    assert clock(62_345) == "0:01:02.345"
    assert clock(3_723_004) == "1:02:03.004"


def test_clips_tile_the_audio_from_start_to_end() -> None:
    clips = (Clip("h", "H", "H", 5512, 22050), Clip("a", "A", "A", 28665, 50000), Clip("b", "B", "B", 55000, 80000))
    chapter = ChapterNarration("c", 1, "C", clips, 22050, 90000, Path("c.wav"))
    tiles = overlay_clips(chapter, {"h", "a", "b"})
    assert [(tile.sentence_id, tile.begin_ms, tile.end_ms) for tile in tiles] == [
        ("h", 0, 1300),
        ("a", 1300, 2494),
        ("b", 2494, 4081),
    ]


def replace_chapter(narration: Narration, index: int, **changes: object) -> Narration:
    chapters = list(narration.chapters)
    chapters[index] = dataclasses.replace(chapters[index], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(narration, chapters=tuple(chapters))


def test_a_stale_or_broken_narration_is_refused_and_leaves_no_file(built: dict[str, Built], tmp_path: Path) -> None:
    item = built["sample"]
    narration = item.narration
    first = narration.chapters[0]
    audio = {
        chapter.chapter_id: item.path.parent / "sample" / f"{chapter.file_stem}.mp3" for chapter in narration.chapters
    }
    other_length = item.path.parent / "sample" / f"{narration.chapters[1].file_stem}.mp3"
    cases = [
        (
            replace_chapter(
                narration, 0, clips=(dataclasses.replace(first.clips[0], sentence_id="gone"), *first.clips[1:])
            ),
            audio,
            "sentences the text does not have",
        ),
        (
            replace_chapter(narration, 0, clips=(first.clips[1], first.clips[0], *first.clips[2:])),
            audio,
            "out of order",
        ),
        (replace_chapter(narration, 0, sample_count=first.clips[-1].end_sample - 1), audio, "ends after the audio"),
        (replace_chapter(narration, 0, chapter_id="not-in-the-text"), audio, "not-in-the-text"),
        (narration, {**audio, first.chapter_id: other_length}, "lasts"),
        (narration, {**audio, first.chapter_id: tmp_path / "missing.mp3"}, "missing.mp3"),
        (narration, {key: value for key, value in audio.items() if key != first.chapter_id}, "no MP3"),
    ]
    for broken, chapter_audio, message in cases:
        target = tmp_path / "book.read-aloud.epub"
        with pytest.raises(WriterError, match=message):
            write_epub(
                item.document, target, read_aloud=ReadAloud(narration=broken, chapter_audio=chapter_audio, narrator="x")
            )
        assert not target.exists()
    assert [path.name for path in tmp_path.iterdir()] == []
