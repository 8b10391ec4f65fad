"""The narration cache: content-addressed, checksummed, atomic entries."""

from __future__ import annotations

import hashlib
import wave
from pathlib import Path

import pytest

from reviewpub.errors import WriterError
from reviewpub.narration.cache import CachedClip, NarrationCache, digest


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


def test_a_chapter_is_moved_into_the_cache_and_checked_when_read(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path / "cache")
    rendered = cache.scratch_file(".wav")
    write_wav(rendered, b"\x10\x00" * 44100)
    stored = cache.put_chapter("cd" * 32, rendered, 44100, 44100, [(10, 20), (30, 40)])
    assert not rendered.exists(), "renamed, not copied"
    assert stored.wav_path.is_file() and stored.positions == ((10, 20), (30, 40))
    assert cache.get_chapter("cd" * 32, 2) == stored
    assert cache.get_chapter("cd" * 32, 3) is None, "a plan of another length is another chapter"
    assert cache.get_chapter("ef" * 32, 2) is None
    data = bytearray(stored.wav_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.wav_path.write_bytes(bytes(data))
    assert cache.get_chapter("cd" * 32, 2) is None, "one changed byte in the middle is noticed"
    stored.wav_path.unlink()
    assert cache.get_chapter("cd" * 32, 2) is None


def test_a_failed_write_leaves_no_entry_and_no_temporary_file(tmp_path: Path) -> None:
    cache = NarrationCache(tmp_path)
    path = cache.clip_path("12" * 32)
    with pytest.raises(RuntimeError):
        with cache.writing(path) as stream:
            stream.write(b"half")
            raise RuntimeError("interrupted")
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_two_writers_of_one_key_leave_one_whole_entry(tmp_path: Path) -> None:
    first, second = NarrationCache(tmp_path), NarrationCache(tmp_path)
    key = digest("clip", "shared")
    with first.writing(first.clip_path(key)) as stream_one:
        stream_one.write(b"partial")
        second.put_clip(key, CachedClip(b"\x05\x00" * 10, 22050))
        assert second.get_clip(key) == CachedClip(b"\x05\x00" * 10, 22050), "readers never see a partial entry"
        stream_one.seek(0)
        stream_one.truncate()
        header = b"reviewpub-clip 22050 " + hashlib.sha256(b"\x06\x00" * 10).hexdigest().encode()
        stream_one.write(header + b"\n" + b"\x06\x00" * 10)
    assert first.get_clip(key) == CachedClip(b"\x06\x00" * 10, 22050)
    assert leftovers(tmp_path) == []


def test_a_cache_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_bytes(b"not a folder")
    cache = NarrationCache(blocker)
    assert cache.get_clip("ab" * 32) is None
    assert cache.get_chapter("ab" * 32, 1) is None
    with pytest.raises(WriterError, match=r"cache: cannot write the narration cache \(.*\); choose another --cache-dir"):
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
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
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
