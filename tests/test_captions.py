"""Captions: WebVTT (checked by webvtt-py in strict mode) and SRT, one cue per clip, times from the clips."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewpub.narration.model import ChapterNarration, Clip, Narration
from reviewpub.writers.captions import chapter_cues, escape_srt_text, render_srt, render_vtt, write_captions
from tests.helpers.narration_factory import make_narration

SRT_BLOCK = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n([^\n]+)")


@pytest.fixture(scope="module")
def narration(tmp_path_factory: pytest.TempPathFactory) -> Narration:
    return make_narration(tmp_path_factory.mktemp("cache"))


def seconds(timestamp: str) -> float:
    """``HH:MM:SS.mmm`` (or ``,mmm``) as seconds."""
    hours, minutes, rest = timestamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def shown_by_srt(text: str) -> str:
    """What an SRT cue's text reads as: the markup look-alikes read as the characters they replace."""
    return text.translate(str.maketrans("\u2039\u203a\uff5b\uff5d", "<>{}")).replace("\\\u2060", "\\")


def parse_srt(text: str) -> list[tuple[int, float, float, str]]:
    """A strict SRT reader: numbered blocks separated by one blank line, nothing else."""
    assert text.endswith("\n") and "\r" not in text
    blocks = text.rstrip("\n").split("\n\n")
    cues = []
    for block in blocks:
        match = SRT_BLOCK.fullmatch(block)
        assert match, f"malformed SRT block: {block!r}"
        groups = match.groups()
        start = int(groups[1]) * 3600 + int(groups[2]) * 60 + int(groups[3]) + int(groups[4]) / 1000
        end = int(groups[5]) * 3600 + int(groups[6]) * 60 + int(groups[7]) + int(groups[8]) / 1000
        cues.append((int(groups[0]), start, end, groups[9]))
    return cues


def test_writes_a_vtt_and_an_srt_per_chapter_into_the_folder(narration: Narration, tmp_path: Path) -> None:
    folder = tmp_path / "captions"
    written = write_captions(narration, folder)
    assert [path.name for path in written] == [
        "01-introduction.vtt",
        "01-introduction.srt",
        "02-the-verdict.vtt",
        "02-the-verdict.srt",
        "03-frequently-asked-questions.vtt",
        "03-frequently-asked-questions.srt",
    ]
    assert sorted(path.name for path in folder.iterdir()) == sorted(path.name for path in written)


def test_vtt_parses_strictly_with_one_cue_per_clip_at_the_clip_times(narration: Narration, tmp_path: Path) -> None:
    write_captions(narration, tmp_path)
    for chapter in narration.chapters:
        path = tmp_path / f"{chapter.file_stem}.vtt"
        raw = path.read_bytes()
        assert raw.startswith(b"WEBVTT\n\n") and not raw.startswith(b"\xef\xbb\xbf")
        captions = webvtt.read(str(path), strict=True).captions
        assert len(captions) == len(chapter.clips)
        previous_end = 0.0
        for caption, clip in zip(captions, chapter.clips):
            start, end = seconds(caption.start), seconds(caption.end)
            assert start == pytest.approx(clip.start_sample / chapter.sample_rate, abs=0.0005)
            assert end == pytest.approx(clip.end_sample / chapter.sample_rate, abs=0.0005)
            assert previous_end <= start < end
            previous_end = end
            # The cue quotes the sentence as written, escaped per WebVTT.
            assert html.unescape(caption.text) == clip.text.replace("   ", " ")


def test_vtt_escapes_ampersands_angle_brackets_and_arrows(narration: Narration, tmp_path: Path) -> None:
    write_captions(narration, tmp_path)
    text = (tmp_path / "01-introduction.vtt").read_text(encoding="utf-8")
    assert "The ISS is a laboratory &amp; a home &lt;for now&gt;." in text
    assert 'Its crew says: "Look --&gt; up!" 🚀' in text
    assert "Nobody\u00a0expected that." in text, "no-break spaces are the author's and stay"
    title = (tmp_path / "02-the-verdict.vtt").read_text(encoding="utf-8").splitlines()[2]
    assert title == "NOTE The Verdict: Q&amp;A &lt;Part 2&gt;"


def test_srt_is_well_formed_and_matches_the_vtt(narration: Narration, tmp_path: Path) -> None:
    write_captions(narration, tmp_path)
    for chapter in narration.chapters:
        srt = (tmp_path / f"{chapter.file_stem}.srt").read_text(encoding="utf-8")
        cues = parse_srt(srt)
        assert [number for number, *_ in cues] == list(range(1, len(chapter.clips) + 1))
        vtt = webvtt.read(str(tmp_path / f"{chapter.file_stem}.vtt"), strict=True).captions
        for (_, start, end, text), caption, clip in zip(cues, vtt, chapter.clips):
            assert (start, end) == (seconds(caption.start), seconds(caption.end))
            assert shown_by_srt(text) == clip.text.replace("   ", " ")
        # webvtt-py's own SRT reader accepts it too.
        assert len(webvtt.from_srt(str(tmp_path / f"{chapter.file_stem}.srt")).captions) == len(chapter.clips)


def chapter_of(clips: list[Clip], sample_rate: int = 22050) -> ChapterNarration:
    end = max((clip.end_sample for clip in clips), default=0)
    return ChapterNarration(
        chapter_id="c",
        number=1,
        title="C",
        clips=tuple(clips),
        sample_rate=sample_rate,
        sample_count=end,
        wav_path=Path("unused.wav"),
    )


def test_overlapping_and_empty_clips_still_give_ordered_valid_cues() -> None:
    clips = [
        Clip("b", "Second.", "Second.", 22050, 44100),
        Clip("a", "First & <first>.", "First.", 0, 30000),  # overlaps the next one
        Clip("z", "Zero length.", "Zero.", 50000, 50000),
        Clip("e", "  \n ", "", 60000, 61000),  # nothing to show: no cue
    ]
    cues = list(chapter_cues(chapter_of(clips)))
    assert [cue.text for cue in cues] == ["First & <first>.", "Second.", "Zero length."]
    assert [(cue.start_ms, cue.end_ms) for cue in cues] == [(0, 1361), (1361, 2000), (2268, 2269)]
    parsed = webvtt.from_string(render_vtt(chapter_of(clips)), strict=True).captions
    assert [html.unescape(caption.text) for caption in parsed] == [cue.text for cue in cues]


def test_timestamps_past_an_hour() -> None:
    rate = 44100
    clip = Clip("a", "Late.", "Late.", (3600 + 62) * rate + rate // 2, (3600 + 63) * rate)
    assert "01:01:02.500 --> 01:01:03.000" in render_vtt(chapter_of([clip], rate))
    assert "01:01:02,500 --> 01:01:03,000" in render_srt(chapter_of([clip], rate))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=40), st.integers(0, 10**6), st.integers(0, 30000)),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_and_timing_gives_a_valid_vtt_that_quotes_the_text(pieces: list[tuple[str, int, int]]) -> None:
    clips = [Clip(f"s{index}", text, text, start, start + length) for index, (text, start, length) in enumerate(pieces)]
    chapter = chapter_of(clips)
    cues = list(chapter_cues(chapter))
    parsed = webvtt.from_string(render_vtt(chapter), strict=True).captions
    assert len(parsed) == len(cues)
    previous_end = 0.0
    for caption, cue in zip(parsed, cues):
        start, end = seconds(caption.start), seconds(caption.end)
        assert previous_end <= start < end
        previous_end = end
        assert html.unescape(caption.text) == cue.text
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]|^ | $", cue.text), "one clean line"
    srt = render_srt(chapter)
    if cues:
        assert len(srt.rstrip("\n").split("\n\n")) == len(cues)


HOSTILE = (
    'The film is <i>good</i>, <b>bold</b> and <font color="red">red</font>; {\\an8}up top, {\\pos(0,0)}there, '
    "{a comment} and C:\\New\\nline\\hspace. 4 < 5 --> 6 & <u>under</u>."
)


def test_srt_shows_html_tags_and_ass_overrides_literally() -> None:
    chapter = chapter_of([Clip("a", HOSTILE, "spoken", 0, 22050)])
    ((_, _, _, text),) = parse_srt(render_srt(chapter))
    assert not re.search(r"[<>{}]|\\[Nnh]", text), text
    assert text.startswith("The film is \u2039i\u203agood\u2039/i\u203a, \u2039b\u203abold")
    assert "\uff5b\\an8\uff5dup top" in text and "C:\\\u2060New\\\u2060nline\\\u2060hspace" in text
    assert "--\u203a 6" in text
    assert shown_by_srt(text) == HOSTILE


def test_ffmpeg_reads_no_markup_in_the_srt(tmp_path: Path) -> None:
    """ffmpeg's SRT decoder (mpv's, through libass) turns <i> into {\\i1} and keeps {\\an8}: not in ours."""
    from reviewpub.ffmpeg import run_ffmpeg

    srt, ass = tmp_path / "c.srt", tmp_path / "c.ass"
    srt.write_text(render_srt(chapter_of([Clip("a", HOSTILE, "spoken", 0, 22050)])), encoding="utf-8")
    run_ffmpeg(["-loglevel", "error", "-i", str(srt), str(ass)], what="ASS from SRT")
    (dialogue,) = [line for line in ass.read_text(encoding="utf-8").splitlines() if line.startswith("Dialogue:")]
    text = dialogue.split(",,", 1)[1].split(",,", 1)[1]  # after Layer, times, Style, Name, Margins, Effect
    assert "{" not in text and "\\N" not in text and "\\h" not in text, text
    assert shown_by_srt(text) == HOSTILE


def test_vtt_still_escapes_markup_and_keeps_braces() -> None:
    """WebVTT has character references and no brace markup: tags escaped, braces as written."""
    chapter = chapter_of([Clip("a", HOSTILE, "spoken", 0, 22050)])
    vtt = render_vtt(chapter)
    assert "&lt;i&gt;good&lt;/i&gt;" in vtt and "{\\an8}up top" in vtt and "--&gt; 6 &amp; " in vtt
    assert "<" not in vtt.split("\n\n", 2)[2]
    (caption,) = webvtt.from_string(vtt, strict=True).captions
    assert html.unescape(caption.text) == HOSTILE


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('<>{}\\/Nnhib ="a&-\u2039\u2060')), min_size=1, max_size=40))
def test_any_srt_cue_holds_no_markup_and_reads_as_the_sentence(text: str) -> None:
    escaped = escape_srt_text(text)
    assert not re.search(r"[<>{}]|\\[Nnh]", escaped)
    if "\u2039" not in text and "\u203a" not in text and "\\\u2060" not in text:  # no look-alike written by hand
        assert shown_by_srt(escaped) == text


def test_a_built_review_shows_its_markup_characters_literally_in_srt(tmp_path: Path) -> None:
    """Through the CLI, as a publisher meets it: a review quoting markup gets SRT no player formats."""
    from tests.helpers.cli import run_cli

    review = tmp_path / "markup.txt"
    review.write_text(
        "A Review Of Markup\n\nIntroduction\n\nThe film is <i>good</i> and {\\an8}tall.\n", encoding="utf-8"
    )
    run_cli("build", str(review), "-o", str(tmp_path / "output"))
    captions = tmp_path / "output" / "markup" / "captions"
    srt = (captions / "01-introduction.srt").read_text(encoding="utf-8")
    assert "The film is \u2039i\u203agood\u2039/i\u203a and \uff5b\\an8\uff5dtall." in srt
    assert not any(re.search(r"[<>{}]", text) for *_, text in parse_srt(srt))
    assert "The film is &lt;i&gt;good&lt;/i&gt; and {\\an8}tall." in (captions / "01-introduction.vtt").read_text(
        encoding="utf-8"
    )
