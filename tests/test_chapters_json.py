"""chapters.json: Podcasting 2.0 JSON chapters (1.2.0) of the whole-book audio."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest

from reviewpub.narration.model import Narration
from reviewpub.writers.chapters import chapter_spans, chapter_spans_ms, write_chapters_json
from tests.helpers.narration_factory import make_narration


@pytest.fixture(scope="module")
def narration(tmp_path_factory: pytest.TempPathFactory) -> Narration:
    return make_narration(tmp_path_factory.mktemp("cache"))


def test_follows_the_json_chapters_format(narration: Narration, tmp_path: Path) -> None:
    path = write_chapters_json(narration, tmp_path / "chapters.json")
    document = json.loads(path.read_bytes().decode("utf-8"))
    assert set(document) == {"version", "chapters"} and document["version"] == "1.2.0"
    chapters = document["chapters"]
    assert [chapter["title"] for chapter in chapters] == [chapter.title for chapter in narration.chapters]
    for chapter in chapters:
        assert set(chapter) <= {"startTime", "endTime", "title"} and {"startTime", "title"} <= set(chapter)
        assert all(isinstance(chapter[key], (int, float)) for key in ("startTime", "endTime"))


def test_chapters_start_where_the_previous_one_ended(narration: Narration, tmp_path: Path) -> None:
    chapters = json.loads(write_chapters_json(narration, tmp_path / "chapters.json").read_text("utf-8"))["chapters"]
    expected_start = 0.0
    for chapter, narrated in zip(chapters, narration.chapters):
        assert chapter["startTime"] == pytest.approx(expected_start, abs=0.001)
        assert chapter["endTime"] - chapter["startTime"] == pytest.approx(narrated.duration_s, abs=0.002)
        expected_start += narrated.duration_s
    assert chapters[0]["startTime"] == 0
    assert chapters[-1]["endTime"] == pytest.approx(narration.duration_s, abs=0.001)
    # The factory's chapters are 4.25 s, 3.35 s and 4.25 s long.
    assert [(chapter["startTime"], chapter["endTime"]) for chapter in chapters] == [
        (0, 4.25),
        (4.25, 7.6),
        (7.6, 11.85),
    ]


def test_spans_are_exact_sums_of_samples_even_for_many_chapters(narration: Narration) -> None:
    one = narration.chapters[1]
    many = dataclasses.replace(
        narration, chapters=tuple(dataclasses.replace(one, number=index) for index in range(1, 301))
    )
    spans = chapter_spans(many)
    assert spans[-1][1] == one.sample_count * 300 / one.sample_rate
    assert all(end == next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert chapter_spans_ms(many)[-1] == ((299 * 3350), 300 * 3350)


def test_output_is_deterministic_utf8(narration: Narration, tmp_path: Path) -> None:
    first = write_chapters_json(narration, tmp_path / "a.json").read_bytes()
    second = write_chapters_json(narration, tmp_path / "b.json").read_bytes()
    assert first == second and first.endswith(b"}\n")
    assert b"The Verdict: Q&A <Part 2>" in first
