"""The narration cache: content-addressed, checksummed, atomic entries."""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import shutil
import wave
from pathlib import Path
from typing import Any

import pytest

from reviewpub import files
from reviewpub.errors import WriterError
from reviewpub.media import digest
from reviewpub.narration.cache import (
    CHAPTER_MAGIC,
    CLIP_MAGIC,
    CachedClip,
    NarrationCache,
    copy_encoded,
    encoded_paths,
)
from reviewpub.narration.cache_entries import seal


def write_wav(path: Path, samples: bytes, sample_rate: int = 44100) -> None:
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(sample_rate)
        output.writeframes(samples)


def leftovers(folder: Path) -> list[Path]:
    """Temporary files a write left behind."""
    return [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


def test_digest_is_stable_and_ignores_mapping_order() -> None:
    assert digest("clip", {"rate": 175, "pitch": 50}, "Hello.") == digest("clip", {"pitch": 50, "rate": 175}, "Hello.")
    assert digest("clip", {"rate": 175}, "Hello.") != digest("clip", {"rate": 176}, "Hello.")
    assert digest("clip", "Hello.") != digest("clip", "Hello. ")
    assert len(digest("x")) == 64


def test_a_clip_round_trips_through_the_cache(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    key = digest("clip", "espeak", "en-us", {}, "Hello.")
    assert cache.get_clip(key) is None
    clip = CachedClip(bytes(range(256)) * 10 + b"\n\n", 22050)
    cache.put_clip(key, clip)
    assert cache.get_clip(key) == clip
    assert cache.clip_path(key).parent.name == key[:2]
    assert leftovers(tmp_path) == []


def test_an_empty_clip_is_a_valid_entry(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    cache.put_clip("ab" * 32, CachedClip(b"", 24000))
    assert cache.get_clip("ab" * 32) == CachedClip(b"", 24000)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "header", "empty"])
def test_a_damaged_clip_is_a_miss_and_is_removed(tmp_path: Path, damage: str) -> None:
    cache = NarrationCache(tmp_path)
    key = digest("clip", "damaged")
    cache.put_clip(key, CachedClip(b"\x01\x02" * 500, 22050))
    path = cache.clip_path(key)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[:-7]
    elif damage == "flipped":
        data[-100] ^= 0x10
    elif damage == "header":
        data[:5] = b"XXXXX"
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    assert cache.get_clip(key) is None
    assert not path.exists()


def put_test_chapter(cache: NarrationCache, key: str = "cd" * 32, level: int = 0x10) -> Any:
    """A one-second chapter of constant samples at 44.1 kHz, with two positions."""
    rendered = cache.scratch_file(".wav")
    write_wav(rendered, bytes([level, 0]) * 44100)
    return cache.put_chapter(key, rendered, 44100, 44100, [(10, 20), (30, 40)])


def test_a_chapter_is_moved_into_the_cache_and_checked_when_read(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path / "cache")
    stored = put_test_chapter(cache)
    assert not list((cache.root / "scratch").iterdir()), "renamed, not copied"
    assert stored.wav_path.is_file() and stored.positions == ((10, 20), (30, 40))
    assert cache.get_chapter("cd" * 32, 2) == stored
    assert cache.get_chapter("ef" * 32, 2) is None
    data = bytearray(stored.wav_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.wav_path.write_bytes(bytes(data))
    assert cache.get_chapter("cd" * 32, 2) is None, "one changed byte in the middle is noticed"
    assert not stored.wav_path.exists() and not cache.chapter_paths("cd" * 32)[1].exists(), "and removed"
    assert cache.get_chapter("cd" * 32, 2) is None


def put_test_encoding(cache: NarrationCache, chapter_wav: Path, data: bytes, encoding: str = "e1" * 8) -> None:
    scratch = cache.scratch_file(".mp3")
    scratch.write_bytes(data)
    cache.put_encoded(chapter_wav, encoding, scratch)


def test_an_encoded_chapter_is_kept_beside_its_wav_and_checked_as_it_is_copied(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path / "cache")
    stored = put_test_chapter(cache)
    put_test_encoding(cache, stored.wav_path, b"mp3 frames" * 1000)
    assert not list((cache.root / "scratch").iterdir()), "renamed, not copied"
    copied = tmp_path / "copy.mp3"
    assert copy_encoded(stored.wav_path, "e1" * 8, copied) and copied.read_bytes() == b"mp3 frames" * 1000
    assert not copy_encoded(stored.wav_path, "e2" * 8, tmp_path / "other.mp3"), "another encoding is a miss"
    assert not copy_encoded(tmp_path / "elsewhere.wav", "e1" * 8, tmp_path / "other.mp3")


@pytest.mark.parametrize("damage", ["flip", "truncate", "another-encoding-copied-over", "foreign-index"])
def test_a_damaged_encoded_chapter_is_a_miss_and_is_removed(tmp_path: Path, damage: str) -> None:
    cache = NarrationCache(tmp_path / "cache")
    stored = put_test_chapter(cache)
    put_test_encoding(cache, stored.wav_path, b"A" * 5000)
    put_test_encoding(cache, stored.wav_path, b"B" * 4000, encoding="e2" * 8)
    mp3, index = encoded_paths(stored.wav_path, "e1" * 8)
    other_mp3, other_index = encoded_paths(stored.wav_path, "e2" * 8)
    if damage == "flip":
        mp3.write_bytes(b"A" * 2500 + b"a" + b"A" * 2499)
    elif damage == "truncate":
        mp3.write_bytes(b"A" * 4999)
    elif damage == "another-encoding-copied-over":
        shutil.copyfile(other_mp3, mp3)  # a whole encoding, of another kind
    else:
        shutil.copyfile(other_index, index)
    assert not copy_encoded(stored.wav_path, "e1" * 8, tmp_path / "copy.mp3")
    assert not mp3.exists() and not index.exists(), "removed, so the next run encodes it again"
    assert copy_encoded(stored.wav_path, "e2" * 8, tmp_path / "copy.mp3"), "the other encoding is untouched"


def test_a_plan_of_another_length_is_a_miss(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    put_test_chapter(cache)
    assert cache.get_chapter("cd" * 32, 3) is None
    assert cache.get_chapter("cd" * 32, 2) is None, "an index that disagrees with its key was removed"


def test_a_failed_write_leaves_no_entry_and_no_temporary_file(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    path = cache.clip_path("12" * 32)
    with pytest.raises(RuntimeError), cache.writing(path) as stream:
        stream.write(b"half")
        raise RuntimeError("interrupted")
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_a_write_that_fails_in_the_file_system_is_one_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = NarrationCache(tmp_path)
    key = "34" * 32

    def full(source: Any, target: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(WriterError, match=r"narration cache \(disk full\); choose another --cache-dir"):
        cache.put_clip(key, CachedClip(b"\x01\x00" * 10, 22050))
    monkeypatch.undo()
    assert not cache.clip_path(key).exists()
    assert leftovers(tmp_path) == []


def test_a_temporary_name_already_taken_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file left by an interrupted writer that had this process's id is not overwritten or reused."""
    cache = NarrationCache(tmp_path)
    key = "56" * 32
    path = cache.clip_path(key)
    path.parent.mkdir(parents=True)
    taken = path.parent / f".{path.name}.{os.getpid()}.7.tmp"
    taken.write_bytes(b"someone else's")
    monkeypatch.setattr(files, "TEMPORARY_NUMBERS", itertools.count(7))
    cache.put_clip(key, CachedClip(b"\x02\x00" * 10, 22050))
    assert cache.get_clip(key) == CachedClip(b"\x02\x00" * 10, 22050)
    assert taken.read_bytes() == b"someone else's"
    assert leftovers(tmp_path) == [taken]


def test_two_writers_of_one_key_leave_one_whole_entry(tmp_path: Path) -> None:
    first, second = NarrationCache(tmp_path), NarrationCache(tmp_path)
    key = digest("clip", "shared")
    with first.writing(first.clip_path(key)) as stream_one:
        stream_one.write(b"partial")
        second.put_clip(key, CachedClip(b"\x05\x00" * 10, 22050))
        assert second.get_clip(key) == CachedClip(b"\x05\x00" * 10, 22050), "readers never see a partial entry"
        stream_one.seek(0)
        stream_one.truncate()
        stream_one.write(seal(CLIP_MAGIC, key.encode() + b" 22050\n" + b"\x06\x00" * 10))
    assert first.get_clip(key) == CachedClip(b"\x06\x00" * 10, 22050)
    assert leftovers(tmp_path) == []


def test_a_cache_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_bytes(b"not a folder")
    cache = NarrationCache(blocker)
    assert cache.get_clip("ab" * 32) is None
    assert cache.get_chapter("ab" * 32, 1) is None
    with pytest.raises(
        WriterError, match=r"cache: cannot write the narration cache \(.*\); choose another --cache-dir"
    ):
        cache.put_clip("ab" * 32, CachedClip(b"", 22050))
    with pytest.raises(WriterError, match="cannot write the narration cache"):
        cache.scratch_file(".wav")


def test_scratch_files_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    cache = NarrationCache(tmp_path / "cache")
    mine = cache.scratch_file(".raw")
    assert mine.name.startswith(f"{os.getpid()}-")
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = mine.parent / f"{finished.stdout.strip()}-abandoned.raw"  # that process has exited
    dead.write_bytes(b"\0" * 1000)
    old_style = mine.parent / "tmpold.wav"
    old_style.write_bytes(b"")
    young_style = mine.parent / "tmpyoung.wav"
    young_style.write_bytes(b"")
    day_ago = __import__("time").time() - 2 * 24 * 3600
    os.utime(old_style, (day_ago, day_ago))
    assert cache.remove_abandoned_scratch() == 2
    assert mine.exists() and young_style.exists()
    assert not dead.exists() and not old_style.exists()


# Issue 15, defect 3: an entry is used only if it proves it is the one asked for.


def test_a_clip_copied_over_another_is_a_miss(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    hello, goodbye = digest("clip", "Hello."), digest("clip", "Goodbye.")
    cache.put_clip(hello, CachedClip(b"\x01\x00" * 100, 22050))
    cache.put_clip(goodbye, CachedClip(b"\x02\x00" * 100, 22050))  # same length: a foreign clip fits
    shutil.copyfile(cache.clip_path(goodbye), cache.clip_path(hello))
    assert cache.get_clip(hello) is None
    assert not cache.clip_path(hello).exists()
    assert cache.get_clip(goodbye) == CachedClip(b"\x02\x00" * 100, 22050)


@pytest.mark.parametrize("edited_rate", [b"24000", b"22051", b"00000", b"0"])
def test_an_edited_clip_sample_rate_is_a_miss(tmp_path: Path, edited_rate: bytes) -> None:
    cache = NarrationCache(tmp_path)
    key = digest("clip", "rate")
    cache.put_clip(key, CachedClip(b"\x01\x00" * 100, 22050))
    path = cache.clip_path(key)
    path.write_bytes(path.read_bytes().replace(b" 22050\n", b" " + edited_rate + b"\n", 1))
    assert cache.get_clip(key) is None


@pytest.mark.parametrize("offset", [0, 5, 16, 17, 40, 80, 81, 150, -1])
def test_a_flip_anywhere_in_a_clip_is_a_miss(tmp_path: Path, offset: int) -> None:
    """Header bytes included: the seal line, the key, the rate and the samples."""
    cache = NarrationCache(tmp_path)
    key = digest("clip", "flip")
    cache.put_clip(key, CachedClip(b"\x01\x00" * 100, 22050))
    path = cache.clip_path(key)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    assert cache.get_clip(key) is None


def test_a_clip_sealed_with_bad_values_is_a_miss(tmp_path: Path) -> None:
    """Even a whole seal (a bug, another tool) does not make a zero rate or half a sample usable."""
    cache = NarrationCache(tmp_path)
    key = digest("clip", "values")
    for body in (
        key.encode() + b" 0\n" + b"\x01\x00",
        key.encode() + b" 22050\n" + b"\x01",
        key.encode() + b" -22050\n",
        key.encode() + b"\n",
        b"",
    ):
        cache.clip_path(key).parent.mkdir(parents=True, exist_ok=True)
        cache.clip_path(key).write_bytes(seal(CLIP_MAGIC, body))
        assert cache.get_clip(key) is None, body


def test_an_entry_of_the_previous_format_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    import hashlib

    cache = NarrationCache(tmp_path)
    key = digest("clip", "old")
    samples = b"\x01\x00" * 100
    path = cache.clip_path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"reviewpub-clip 22050 " + hashlib.sha256(samples).hexdigest().encode() + b"\n" + samples)
    assert cache.get_clip(key) is None and not path.exists()
    stored = put_test_chapter(cache)
    _, index = cache.chapter_paths("cd" * 32)
    index.write_text(
        json.dumps(
            {
                "sample_rate": 44100,
                "sample_count": 44100,
                "positions": [[10, 20], [30, 40]],
                "wav_bytes": stored.wav_path.stat().st_size,
                "wav_sha256": stored.wav_sha256,
            }
        )
    )
    assert cache.get_chapter("cd" * 32, 2) is None


def rewrite_index(cache: NarrationCache, chapter_key: str, changes: dict[str, Any]) -> None:
    """Seal an index again with some values changed (what a buggy writer could leave)."""
    _, index = cache.chapter_paths(chapter_key)
    body = index.read_bytes().partition(b"\n")[2]
    record = json.loads(body) | changes
    index.write_bytes(seal(CHAPTER_MAGIC, json.dumps(record).encode()))


@pytest.mark.parametrize(
    "changes",
    [
        {"sample_rate": 0},
        {"sample_rate": -44100},
        {"sample_rate": True},
        {"sample_rate": 44100.5},
        {"sample_rate": "44100"},
        {"sample_rate": 10**30},
        {"sample_count": -1},
        {"sample_count": None},
        {"positions": [[10, 20], [30, 44101]]},
        {"positions": [[30, 40], [10, 20]]},
        {"positions": [[20, 10], [30, 40]]},
        {"positions": [[-10, 20], [30, 40]]},
        {"positions": [[10, 20]]},
        {"positions": [[10, 20, 30], [30, 40]]},
        {"positions": "10-20"},
        {"positions": [[10, 20], [30, 10**40]]},
        {"wav_bytes": 3},
        {"wav_sha256": "0" * 64},
        {"wav_sha256": "not hex"},
        {"wav_sha256": 5},
        {"key": "ef" * 32},
        {"key": None},
    ],
    ids=lambda changes: json.dumps(changes)[:40],
)
def test_an_index_with_bad_values_is_a_miss_and_the_next_put_clears_it(tmp_path: Path, changes: dict[str, Any]) -> None:
    cache = NarrationCache(tmp_path)
    put_test_chapter(cache)
    rewrite_index(cache, "cd" * 32, changes)
    assert cache.get_chapter("cd" * 32, 2) is None
    stored = put_test_chapter(cache)
    assert cache.get_chapter("cd" * 32, 2) == stored, "made again, the error never sticks"


@pytest.mark.parametrize("body", [b"[]", b"null", b"{}", b'"x"', b"{", b"\xff\xfe", b"[" * 100_000])
def test_an_index_that_is_not_a_record_is_a_miss(tmp_path: Path, body: bytes) -> None:
    cache = NarrationCache(tmp_path)
    put_test_chapter(cache)
    cache.chapter_paths("cd" * 32)[1].write_bytes(seal(CHAPTER_MAGIC, body))
    assert cache.get_chapter("cd" * 32, 2) is None


def test_an_edited_index_or_wav_header_is_a_miss(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    stored = put_test_chapter(cache)
    wav, index = cache.chapter_paths("cd" * 32)
    index.write_bytes(index.read_bytes().replace(b'"sample_rate":44100', b'"sample_rate":0'))
    assert cache.get_chapter("cd" * 32, 2) is None, "no ZeroDivisionError later: the seal no longer matches"
    stored = put_test_chapter(cache)
    data = bytearray(stored.wav_path.read_bytes())
    data[24:28] = (48000).to_bytes(4, "little")  # the WAV header's sample rate
    wav.write_bytes(bytes(data))
    assert cache.get_chapter("cd" * 32, 2) is None


def test_swapped_chapters_are_misses(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    put_test_chapter(cache, "cd" * 32, level=0x10)
    put_test_chapter(cache, "ef" * 32, level=0x20)
    (wav_cd, index_cd), (wav_ef, index_ef) = cache.chapter_paths("cd" * 32), cache.chapter_paths("ef" * 32)
    index_cd.write_bytes(index_ef.read_bytes())
    assert cache.get_chapter("cd" * 32, 2) is None, "another chapter's index"
    put_test_chapter(cache, "cd" * 32, level=0x10)
    shutil.copyfile(wav_ef, wav_cd)
    assert cache.get_chapter("cd" * 32, 2) is None, "another chapter's WAV"
    assert cache.get_chapter("ef" * 32, 2) is not None


@pytest.mark.parametrize("which", ["clip", "wav", "index"])
@pytest.mark.parametrize("target", ["right-bytes", "dangling"])
def test_a_symlink_in_an_entrys_place_is_a_miss_and_its_target_is_kept(tmp_path: Path, which: str, target: str) -> None:
    """Even a link to the right bytes: the cache never follows links, and never deletes through one."""
    cache = NarrationCache(tmp_path / "cache")
    key = "cd" * 32
    if which == "clip":
        cache.put_clip(key, CachedClip(b"\x01\x00" * 10, 22050))
        path = cache.clip_path(key)
    else:
        put_test_chapter(cache, key)
        path = cache.chapter_paths(key)[0 if which == "wav" else 1]
    outside = tmp_path / "outside"
    if target == "right-bytes":
        shutil.copyfile(path, outside)
    path.unlink()
    path.symlink_to(outside)
    assert (cache.get_clip(key) if which == "clip" else cache.get_chapter(key, 2)) is None
    assert not path.is_symlink(), "the link is removed"
    assert outside.exists() == (target == "right-bytes"), "not what it points to"


@pytest.mark.parametrize("which", ["clip", "wav", "index"])
def test_a_folder_in_an_entrys_place_is_a_miss_and_is_replaced(tmp_path: Path, which: str) -> None:
    cache = NarrationCache(tmp_path)
    key = "cd" * 32
    clip = CachedClip(b"\x01\x00" * 10, 22050)
    path = cache.clip_path(key) if which == "clip" else cache.chapter_paths(key)[0 if which == "wav" else 1]
    if which == "clip":
        cache.put_clip(key, clip)
    else:
        put_test_chapter(cache, key)
    path.unlink()
    (path / "nested").mkdir(parents=True)
    (path / "nested" / "file").write_bytes(b"x")
    if which == "clip":
        assert cache.get_clip(key) is None
        cache.put_clip(key, clip)
        assert cache.get_clip(key) == clip
    else:
        assert cache.get_chapter(key, 2) is None
        stored = put_test_chapter(cache, key)
        assert cache.get_chapter(key, 2) == stored
    assert path.is_file()


def test_a_folder_where_a_new_entry_goes_is_replaced(tmp_path: Path) -> None:
    """A writer that finds a folder in place (nobody read it first) still stores the entry."""
    cache = NarrationCache(tmp_path)
    key = "ab" * 32
    cache.clip_path(key).mkdir(parents=True)
    wav, index = cache.chapter_paths("cd" * 32)
    wav.mkdir(parents=True)
    index.mkdir()
    cache.put_clip(key, CachedClip(b"", 22050))
    assert cache.get_clip(key) == CachedClip(b"", 22050)
    stored = put_test_chapter(cache)
    assert cache.get_chapter("cd" * 32, 2) == stored


def test_damage_is_logged_at_debug_level_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A damaged entry is the cache's business: the user sees no warning, a -v run sees why."""
    cache = NarrationCache(tmp_path)
    key = digest("clip", "logged")
    cache.put_clip(key, CachedClip(b"\x01\x00" * 10, 22050))
    cache.clip_path(key).write_bytes(b"garbage")
    put_test_chapter(cache)
    cache.chapter_paths("cd" * 32)[1].write_bytes(b"{}")
    with caplog.at_level(logging.DEBUG, logger="reviewpub.narration.cache"):
        assert cache.get_clip(key) is None
        assert cache.get_chapter("cd" * 32, 2) is None
    assert [record.levelno for record in caplog.records] == [logging.DEBUG, logging.DEBUG]
    assert "damaged" in caplog.records[0].getMessage() and "damaged" in caplog.records[1].getMessage()


def test_temporary_names_are_the_ones_abandoned_temporaries_are_found_by(tmp_path: Path) -> None:
    """A writer killed mid-write leaves ``.NAME.PID.N.tmp``: a later run recognises it by that name."""
    import subprocess
    import sys

    descriptor, live = files.new_temporary_file(tmp_path / "index.html")
    os.close(descriptor)
    assert files.TEMPORARY_NAME.match(Path(live).name)
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = tmp_path / f".index.html.{finished.stdout.strip()}.3.tmp"  # that process has exited
    dead.write_bytes(b"half")
    assert files.remove_abandoned_temporaries(tmp_path) == 1
    assert not dead.exists() and Path(live).exists(), "only the dead process's temporary is removed"
