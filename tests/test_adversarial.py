"""Regressions for the adversarial review (issue 15), each through the CLI where a user meets it.

Hostile voices never reach libespeak-ng, a bad voice or lexicon leaves no trace in the output
folder, two sources with one name are refused, and a planted symlink lock is not followed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewpub.errors import ExitStatus
from tests.conftest import SEED, run_cli

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


@pytest.mark.parametrize(("voice", "expected"), [
    ("en+" + "x" * 40, "no variant"),
    ("en+" + "x" * 5000, "no variant"),
    ("en+../../../../etc/hostname", "no variant"),
    ("en+bogus", "no variant 'bogus'"),
    ("en\x00us", "unknown voice"),
])
def test_a_hostile_espeak_voice_never_reaches_the_library(review: Path, tmp_path: Path, voice: str,
                                                         expected: str) -> None:
    output = tmp_path / "output"
    for command in ("audio", "build"):
        message = one_line_error(command, str(review), "-o", str(output), "--engine", "espeak", "--voice", voice)
        assert expected in message, message
    assert not output.exists(), "a bad voice must not even create the output folder"


def test_a_long_voice_name_does_not_abort_the_process(review: Path, tmp_path: Path) -> None:
    """In a real process: the library used to abort ("buffer overflow detected", exit 134)."""
    completed = subprocess.run(
        [sys.executable, "-m", "reviewpub", "audio", str(review), "-o", str(tmp_path / "o"), "--engine", "espeak",
         "--voice", "en+" + "y" * 60],
        capture_output=True, text=True, timeout=120, check=False)
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
