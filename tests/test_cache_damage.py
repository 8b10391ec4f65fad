"""Any single damage to any narration cache file: the build's outputs are the clean build's, byte for byte.

Issue 15, defect 3: a clip copied over another, a foreign clip of the same length, an edited
sample rate or a chapter index saying ``sample_rate: 0`` reached the published audio or raised
a traceback. Each case below damages one file of a warm cache (a clip, a chapter WAV, a
chapter index, or a chapter's cached MP3 encoding or its index) in one way, builds again
through the CLI into a fresh output folder, and
compares every output file with a build from an empty cache.

Every damage here is to an entry the cache can drop and make again, so the only acceptable
outcome is the clean build's bytes and exit 0. That is stricter than the issue's property
("identical outputs or one clean line"), which follows from it; ``assert_not_a_crash`` checks
the issue's form first, so a traceback is reported as one rather than as an exit status.
SOURCE_DATE_EPOCH is fixed by conftest, so two builds of one source are byte-identical.
"""

from __future__ import annotations

import re
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewpub.cli import cli
from reviewpub.errors import ExitStatus
from reviewpub.narration.cache import FORMAT

REVIEW = """Damage Report: A Short Review

The opening lines of a short review. It has two sentences.

The Middle: Where Things Happen

The middle part says something. Then it says more, at length, so there is speech to measure.

1. Is it short?
Yes. Very short.

2. Would you read it again?
Maybe, Mr. Asbæk.
"""
"""Three chapters (introduction, middle, FAQ) of short sentences: a build takes about a second."""

FILE_KINDS = ("clip", "chapter-wav", "chapter-index", "encoded-mp3", "encoded-index")
PATTERNS = {
    "clip": "clips/*/*.pcm",
    "chapter-wav": "chapters/*/*.wav",
    "chapter-index": f"chapters/*/{'[0-9a-f]' * 64}.json",
    "encoded-mp3": "chapters/*/*-*.mp3",
    "encoded-index": "chapters/*/*-*.json",
}
"""Encoded chapters (the MP3 narration makes beside each chapter WAV, and its index) are named
``<chapter key>-<encoding>``; chapter indexes are the bare key."""
ENCODED_KINDS = ("encoded-mp3", "encoded-index")


def build(source: Path, output: Path, cache: Path) -> Result:
    """``reviewpub build`` in-process, eSpeak NG, one worker: exceptions are kept, not raised."""
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(
        cli,
        ["build", str(source), "-o", str(output), "--cache-dir", str(cache), "--engine", "espeak", "--jobs", "1", "-q"],
        catch_exceptions=True,
    )


def output_bytes(output: Path) -> dict[str, bytes]:
    """Every file a build left in ``output`` (the lock file is not an output), by relative path."""
    return {
        str(path.relative_to(output)): path.read_bytes()
        for path in sorted(output.rglob("*"))
        if path.is_file() and not path.name.endswith(".lock")
    }


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, bytes]]:
    """The review, the warm cache its clean build left, and that build's outputs."""
    folder = tmp_path_factory.mktemp("clean")
    source = folder / "damage-report.txt"
    source.write_text(REVIEW, encoding="utf-8")
    result = build(source, folder / "output", folder / "cache")
    assert result.exit_code == ExitStatus.SUCCESS, (result.stderr, result.exception)
    outputs = output_bytes(folder / "output")
    assert any(name.endswith(".m4b") for name in outputs) and any(name.endswith(".vtt") for name in outputs)
    return source, folder / "cache", outputs


def entries(cache: Path, kind: str) -> list[Path]:
    """The cache's files of one kind, in a stable order."""
    return sorted((cache / FORMAT).glob(PATTERNS[kind]))


def flip(offset: Callable[[int], int]) -> Callable[[Path, Path], None]:
    """Invert every bit of one byte, at ``offset(size)``."""

    def damage(path: Path, other: Path) -> None:
        data = bytearray(path.read_bytes())
        data[offset(len(data))] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage


def truncate(keep: Callable[[int], int]) -> Callable[[Path, Path], None]:
    """Keep the first ``keep(size)`` bytes."""

    def damage(path: Path, other: Path) -> None:
        path.write_bytes(path.read_bytes()[: keep(path.stat().st_size)])

    return damage


def swap(path: Path, other: Path) -> None:
    """Exchange the two entries' bytes (both are now another key's)."""
    mine, theirs = path.read_bytes(), other.read_bytes()
    path.write_bytes(theirs)
    other.write_bytes(mine)


def copy_over(path: Path, other: Path) -> None:
    """Another entry copied over this one: a whole, valid entry of the wrong key."""
    shutil.copyfile(other, path)


def edit_sample_rate(path: Path, other: Path) -> None:
    """Change the stated sample rate (in a WAV's header, or the first rate written as digits)."""
    data = bytearray(path.read_bytes())
    if data[:4] == b"RIFF":
        rate = struct.unpack_from("<I", data, 24)[0]
        struct.pack_into("<I", data, 24, rate + rate // 50)  # 2% fast: 4:02 would play as 3:58
        struct.pack_into("<I", data, 28, (rate + rate // 50) * 2)
    else:
        edited, count = re.subn(rb"(?<![0-9a-f])22050(?![0-9a-f])", b"22491", bytes(data), count=1)
        assert count == 1, f"no sample rate found in {path.name}"
        data = bytearray(edited)
    path.write_bytes(bytes(data))


def zero_sample_rate(path: Path, other: Path) -> None:
    """The index says ``sample_rate: 0`` (a ZeroDivisionError once)."""
    edited, count = re.subn(rb'"sample_rate": ?\d+', b'"sample_rate":0', path.read_bytes())
    assert count == 1
    path.write_bytes(edited)


def bad_positions(path: Path, other: Path) -> None:
    """A clip position past the chapter's end (an error that never cleared)."""
    edited, count = re.subn(rb'"positions": ?\[\[\d+', b'"positions":[[999999999', path.read_bytes())
    assert count == 1
    path.write_bytes(edited)


def symlink_to_other(path: Path, other: Path) -> None:
    path.unlink()
    path.symlink_to(other)


def folder(path: Path, other: Path) -> None:
    """A folder, with a file in it, where the entry was."""
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")


DAMAGES: dict[str, Callable[[Path, Path], None]] = {
    "flip-header-byte": flip(lambda size: min(30, size - 1)),
    "flip-middle-byte": flip(lambda size: size // 2),
    "truncate-to-empty": truncate(lambda size: 0),
    "truncate-last-byte": truncate(lambda size: size - 1),
    "swap-with-another": swap,
    "copy-another-over": copy_over,
    "edit-sample-rate": edit_sample_rate,
    "symlink-to-another": symlink_to_other,
    "folder": folder,
}
"""One of each kind of damage the issue names (flip, truncate, swap, symlink, folder) and the
wrong-audio cases it found; dangling links, links to a right copy and more offsets are in
test_cache.py, at the cost of a function call rather than a build."""
INDEX_ONLY_DAMAGES: dict[str, Callable[[Path, Path], None]] = {
    "zero-sample-rate": zero_sample_rate,
    "position-past-the-end": bad_positions,
}
CASES = [
    (kind, name)
    for kind in FILE_KINDS
    for name in DAMAGES
    if not (kind in ENCODED_KINDS and name == "edit-sample-rate")
] + [("chapter-index", name) for name in INDEX_ONLY_DAMAGES]
"""An encoded MP3 and its index state no sample rate to edit: their header and checksum are flipped instead."""


def assert_not_a_crash(result: Result) -> None:
    """The issue's property: success, or exit 1 with exactly one line on stderr; never a traceback."""
    if result.exit_code == ExitStatus.SUCCESS:
        return
    assert isinstance(result.exception, SystemExit), f"a traceback: {result.exception!r}"
    assert result.exit_code == ExitStatus.ERROR, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(("kind", "damage_name"), CASES, ids=[f"{kind}-{name}" for kind, name in CASES])
def test_one_damaged_cache_file_never_changes_the_outputs(
    clean: tuple[Path, Path, dict[str, bytes]], tmp_path: Path, kind: str, damage_name: str
) -> None:
    source, warm_cache, expected = clean
    cache = tmp_path / "cache"
    shutil.copytree(warm_cache, cache, symlinks=True)
    if kind == "clip":
        # Chapters assembled earlier never read their clips: drop them (a plain miss, not a
        # damage) so every clip is read and checked on the way to the outputs.
        shutil.rmtree(cache / FORMAT / "chapters")
    targets = entries(cache, kind)
    assert len(targets) >= 3
    # Entries sort by key, so this is any chapter's (or sentence's); "other" is another of its kind.
    target, other = targets[len(targets) // 2], targets[len(targets) // 2 - 1]
    (DAMAGES | INDEX_ONLY_DAMAGES)[damage_name](target, other)

    result = build(source, tmp_path / "output", cache)

    assert_not_a_crash(result)
    assert result.exit_code == ExitStatus.SUCCESS, f"a damaged cache entry is remade, not an error: {result.stderr}"
    assert output_bytes(tmp_path / "output") == expected, "the damaged entry reached the outputs"
    for path in (target, other):  # the damage is repaired, not left for the next run to trip on
        assert not path.is_symlink() and (path.is_file() or not path.exists()), f"{path.name} is still damaged"
