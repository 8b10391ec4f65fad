"""Regressions for the adversarial review (issue 15), each through the CLI where a user meets it.

Hostile voices never reach libespeak-ng, a bad voice or lexicon leaves no trace in the output
folder, two sources with one name are refused, and a planted symlink lock is not followed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reviewpub.errors import ExitStatus
from tests.helpers.cli import run_cli
from tests.helpers.paths import SEED

SHORT = "A Short Review\n\nIntroduction\n\nThe film is good. It is long.\n"


@pytest.fixture
def review(tmp_path: Path) -> Path:
    source = tmp_path / "source" / "short.txt"
    source.parent.mkdir()
    source.write_text(SHORT, encoding="utf-8")
    return source


def one_line_error(*arguments: str) -> str:
    """Run reviewpub expecting exit 1 with one line on stderr and no traceback; that line."""
    result = run_cli(*arguments, expect=ExitStatus.ERROR)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("voice", "expected"),
    [
        ("en+" + "x" * 40, "no variant"),
        ("en+" + "x" * 5000, "no variant"),
        ("en+../../../../etc/hostname", "no variant"),
        ("en+bogus", "no variant 'bogus'"),
        ("en\x00us", "unknown voice"),
    ],
)
def test_a_hostile_espeak_voice_never_reaches_the_library(
    review: Path, tmp_path: Path, voice: str, expected: str
) -> None:
    output = tmp_path / "output"
    for command in ("audio", "build"):
        message = one_line_error(command, str(review), "-o", str(output), "--engine", "espeak", "--voice", voice)
        assert expected in message, message
    assert not output.exists(), "a bad voice must not even create the output folder"


def test_a_long_voice_name_does_not_abort_the_process(review: Path, tmp_path: Path) -> None:
    """In a real process: the library used to abort ("buffer overflow detected", exit 134)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewpub",
            "audio",
            str(review),
            "-o",
            str(tmp_path / "o"),
            "--engine",
            "espeak",
            "--voice",
            "en+" + "y" * 60,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == ExitStatus.ERROR, completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_a_valid_variant_is_still_accepted(review: Path, tmp_path: Path) -> None:
    result = run_cli("audio", str(review), "-o", str(tmp_path / "o"), "--engine", "espeak", "--voice", "en+m3")
    assert "by espeak (en+m3)" in result.stderr


def test_a_bad_lexicon_leaves_no_output_folder(review: Path, tmp_path: Path) -> None:
    lexicon = tmp_path / "names.toml"
    lexicon.write_text("not = [valid", encoding="utf-8")
    output = tmp_path / "output"
    message = one_line_error("build", str(review), "-o", str(output), "--lexicon", str(lexicon))
    assert "not valid TOML" in message
    assert not output.exists()


def test_sources_with_one_name_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    for name in ("review.txt", "review.md", "Review!.txt"):
        (folder / name).write_text(SHORT, encoding="utf-8")
    output = tmp_path / "output"
    message = one_line_error("build", str(folder), "-o", str(output))
    assert "would both be written to review/" in message and "rename one" in message
    assert not output.exists()


def test_a_symlinked_lock_is_not_followed(review: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.mkdir()
    target = tmp_path / "elsewhere" / "created-by-the-lock"
    target.parent.mkdir()
    (output / ".short.lock").symlink_to(target)
    message = one_line_error("audio", str(review), "-o", str(output))
    assert "symbolic link" in message and "remove it" in message
    assert not target.exists()
    assert os.path.islink(output / ".short.lock")


def test_the_seed_still_builds_with_a_plain_espeak_language(tmp_path: Path) -> None:
    result = run_cli("audio", str(SEED), "-o", str(tmp_path / "o"), "--voice", "en-gb")
    assert "by espeak (en-gb)" in result.stderr


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """The seed built once with eSpeak NG into ``tmp_path/output`` (its cache beside it)."""
    run_cli("build", str(SEED), "-o", str(tmp_path / "output"), "--cache-dir", str(tmp_path / "cache"))
    return tmp_path / "output"


def digests(output: Path) -> dict[str, str]:
    """Every published file (hidden ones aside) → its SHA-256."""
    return {
        str(path.relative_to(output)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(output.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def rebuild(output: Path, expect: ExitStatus = ExitStatus.SUCCESS) -> str:
    """Build the seed again into ``output`` with the same cache; stderr."""
    return run_cli(
        "build", str(SEED), "-o", str(output), "--cache-dir", str(output.parent / "cache"), expect=expect
    ).stderr


def test_damaged_outputs_are_made_again_not_kept(built: Path) -> None:
    before = digests(built)
    folder = built / "iss-review"
    for damaged in ("audio/01-introduction.mp3", "iss-review.m4b", "iss-review.mp3", "iss-review.read-aloud.epub"):
        path = folder / damaged
        with path.open("r+b") as handle:  # keep the head (tags and all), lose the rest
            handle.truncate(path.stat().st_size // 3)
    rebuild(built)
    assert digests(built) == before


def test_user_files_in_the_output_are_never_removed(built: Path) -> None:
    mine = built / "iss-review" / "audio" / "01-my-song.mp3"
    mine.write_bytes(b"my own song")
    (built / "iss-review" / "notes.txt").write_text("mine", encoding="utf-8")
    rebuild(built)
    assert mine.read_bytes() == b"my own song"
    assert (built / "iss-review" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_chapter_that_is_gone_takes_its_files_with_it(built: Path, tmp_path: Path) -> None:
    source = tmp_path / "iss-review.txt"
    text = SEED.read_text(encoding="utf-8")
    source.write_text(text[: text.index("1. Is “I.S.S.” suitable")], encoding="utf-8")
    run_cli("build", str(source), "-o", str(built), "--cache-dir", str(tmp_path / "cache"))
    audio = sorted(path.name for path in (built / "iss-review" / "audio").iterdir())
    assert len(audio) == 7 and not any(name.startswith("08-") for name in audio)
    assert not list((built / "iss-review" / "captions").glob("08-*"))


def test_a_symlinked_output_folder_is_refused_and_nothing_is_written_outside(built: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    audio = built / "iss-review" / "audio"
    shutil.rmtree(audio)
    audio.symlink_to(outside)
    message = one_line_error("build", str(SEED), "-o", str(built), "--cache-dir", str(tmp_path / "cache"))
    assert "is a symbolic link" in message
    assert list(outside.iterdir()) == []


def test_a_failed_rebuild_leaves_the_published_set_as_it_was(built: Path, seed: Path) -> None:
    before = digests(built)
    captions = built / "iss-review" / "captions"
    shutil.rmtree(captions)
    captions.write_text("in the way", encoding="utf-8")
    seed.write_text(seed.read_text(encoding="utf-8").replace("gripping", "riveting"), encoding="utf-8")
    message = one_line_error("build", str(seed), "-o", str(built), "--cache-dir", str(built.parent / "cache"))
    assert "nothing was published" in message
    after = digests(built)
    del before["iss-review/captions/01-introduction.vtt"]
    assert {name: digest for name, digest in after.items() if name != "iss-review/captions"} == {
        name: digest for name, digest in before.items() if not name.startswith("iss-review/captions/")
    }
    assert not [path for path in built.iterdir() if ".staging." in path.name]


def test_litter_of_killed_runs_is_removed_by_the_next(built: Path) -> None:
    dead = 4_000_000  # above any pid_max: no such process
    staging = built / f".iss-review.staging.{dead}"
    (staging / "iss-review" / "audio").mkdir(parents=True)
    (staging / "iss-review" / "audio" / "01-introduction.mp3").write_bytes(b"half")
    temporary = built / "iss-review" / f".iss-review.{dead}.k2j3h4.tmp.m4b"
    temporary.write_bytes(b"half an audiobook")
    alive = built / "iss-review" / f".iss-review.{os.getpid()}.abcdef.tmp.m4b"
    alive.write_bytes(b"a running build's")
    rebuild(built)
    assert not staging.exists() and not temporary.exists()
    assert alive.exists(), "a temporary of a live process is left alone"


def test_ffmpeg_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = (
        "from reviewpub.ffmpeg import run_ffmpeg\n"
        "run_ffmpeg(['-re', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '120', '-f', 'null', '-'],"
        " what='test')\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        children: list[int] = []
        for _ in range(100):
            children = [int(pid) for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()]
            if children:
                break
            time.sleep(0.1)
        assert children, "ffmpeg did not start"
        parent.kill()
        parent.wait()
        for _ in range(100):
            if not all(Path(f"/proc/{pid}").exists() and "Z" not in process_state(pid) for pid in children):
                break
            time.sleep(0.1)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists() and process_state(pid) != "Z"]
    finally:
        parent.kill()


def process_state(pid: int) -> str:
    """The state letter of a process (``Z`` for a zombie), or ``X`` when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


def test_jobs_beyond_the_cores_start_no_more_processes(
    review: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures

    started: list[int] = []
    original = concurrent.futures.ProcessPoolExecutor

    def recording(*arguments: Any, **options: Any) -> concurrent.futures.ProcessPoolExecutor:
        started.append(options["max_workers"])
        return original(*arguments, **options)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", recording)
    run_cli("audio", str(SEED), "-o", str(tmp_path / "o"), "--jobs", "256")
    assert started and max(started) <= (os.cpu_count() or 1)
