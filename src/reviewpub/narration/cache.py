"""A content-addressed cache of sentence clips and assembled chapters, shared by every run.

Keys are digests of everything that changes the sound (engine, voice, sound options, the
exact spoken text; for chapters, their clips, pauses and audio settings). Entries are
written to a temporary file beside their place and renamed, so concurrent runs can share
the cache; each carries a checksum, so a truncated or corrupted entry is detected, dropped
and made again instead of being used.

Layout under the cache folder::

    narration-v2/clips/ab/<key>.pcm       header line + mono 16-bit PCM at the engine's rate
    narration-v2/chapters/ab/<key>.wav    a chapter's final audio
    narration-v2/chapters/ab/<key>.json   its sample rate, length, checksum and clip positions
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from reviewpub.errors import WriterError
from reviewpub.files import atomic_write, describe_os_error

logger = logging.getLogger(__name__)
FORMAT = "narration-v2"
"""Folder name of this cache layout; bump it when the stored format or the audio rules change."""
CLIP_MAGIC = b"reviewpub-clip"
HASH_CHUNK_BYTES = 1 << 20


def digest(*parts: Any) -> str:
    """A stable hex digest of JSON-serialisable parts (dict keys sorted, so order never matters)."""
    encoded = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (chapter WAVs can be large)."""
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


@dataclass(frozen=True)
class CachedClip:
    """A sentence's trimmed speech as stored: mono signed 16-bit PCM."""

    samples: bytes
    sample_rate: int


@dataclass(frozen=True)
class CachedChapter:
    """An assembled chapter: its final WAV and where each spoken line sits in it."""

    wav_path: Path
    sample_rate: int
    sample_count: int
    positions: tuple[tuple[int, int], ...]
    """(start, end) sample of every line of the chapter's reading plan, in order."""
    wav_sha256: str = ""
    """The WAV's checksum, verified when the chapter was read from the cache."""


ABANDONED_AFTER_SECONDS = 24 * 3600
"""A scratch file not named by a process id is abandoned once this old."""


def process_is_running(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie (another user's counts as running).

    Workers of a build killed with SIGKILL can stay zombies where nothing reaps them (PID 1 of
    a container); they run no more.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def is_older_than(path: Path, seconds: float) -> bool:
    """Whether ``path`` was last modified more than ``seconds`` ago (False if it cannot be read)."""
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


class NarrationCache:
    """Clips and chapters on disk, addressed by the digest of their inputs."""

    def __init__(self, folder: Path) -> None:
        """Use (and create on first write) ``folder``; nothing is read or written yet."""
        self.folder = Path(folder)
        self.root = self.folder / FORMAT

    def clip_path(self, key: str) -> Path:
        """Where a clip lives: a fan-out folder per two hex digits keeps folders small."""
        return self.root / "clips" / key[:2] / f"{key}.pcm"

    def chapter_paths(self, key: str) -> tuple[Path, Path]:
        """The WAV and the JSON index of an assembled chapter."""
        base = self.root / "chapters" / key[:2] / key
        return base.with_suffix(".wav"), base.with_suffix(".json")

    def get_clip(self, key: str) -> CachedClip | None:
        """The clip stored under ``key``; None when missing, or corrupt (then it is removed)."""
        path = self.clip_path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        header, _, payload = data.partition(b"\n")
        try:
            magic, rate, checksum = header.split(b" ")
            if magic != CLIP_MAGIC or hashlib.sha256(payload).hexdigest().encode("ascii") != checksum:
                raise ValueError("checksum mismatch")
            return CachedClip(payload, int(rate))
        except ValueError:
            logger.warning("cache entry %s is corrupt; the sentence will be synthesised again", path)
            path.unlink(missing_ok=True)
            return None

    def put_clip(self, key: str, clip: CachedClip) -> None:
        """Store a clip atomically, with the checksum of its PCM."""
        checksum = hashlib.sha256(clip.samples).hexdigest()
        header = b" ".join([CLIP_MAGIC, str(clip.sample_rate).encode("ascii"), checksum.encode("ascii")])
        with self.writing(self.clip_path(key)) as stream:
            stream.write(header + b"\n")
            stream.write(clip.samples)

    def get_chapter(self, key: str, lines: int) -> CachedChapter | None:
        """The chapter stored under ``key`` if its index has ``lines`` positions and its WAV checks out."""
        wav, index = self.chapter_paths(key)
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
            positions = tuple((int(start), int(end)) for start, end in data["positions"])
            if len(positions) != lines or wav.stat().st_size != data["wav_bytes"]:
                raise ValueError("index does not match")
            if file_sha256(wav) != data["wav_sha256"]:
                raise ValueError("checksum mismatch")
            return CachedChapter(wav, int(data["sample_rate"]), int(data["sample_count"]), positions,
                                 data["wav_sha256"])
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
            logger.warning("cached chapter %s is damaged; it will be assembled again", wav)
            return None

    def put_chapter(self, key: str, rendered_wav: Path, sample_rate: int, sample_count: int,
                    positions: list[tuple[int, int]]) -> CachedChapter:
        """Move a rendered chapter WAV into the cache (renamed, never copied) and index it."""
        wav, index = self.chapter_paths(key)
        checksum = file_sha256(rendered_wav)
        size = rendered_wav.stat().st_size
        try:
            wav.parent.mkdir(parents=True, exist_ok=True)
            os.replace(rendered_wav, wav)
        except OSError as error:
            raise WriterError(f"{self.folder}: cannot write the narration cache ({describe_os_error(error)}); "
                              "choose another --cache-dir") from error
        record = {"sample_rate": sample_rate, "sample_count": sample_count, "positions": positions,
                  "wav_bytes": size, "wav_sha256": checksum}
        with self.writing(index) as stream:
            stream.write(json.dumps(record, separators=(",", ":")).encode("utf-8"))
        return CachedChapter(wav, sample_rate, sample_count, tuple(positions), checksum)

    def scratch_file(self, suffix: str) -> Path:
        """A new empty temporary file inside the cache (same file system: renames are atomic).

        Its name starts with this process's id, so a later run can tell a file abandoned by a
        killed build from one a running build (sharing the cache) is still writing.
        """
        folder = self.root / "scratch"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f"{os.getpid()}-", suffix=suffix, dir=folder)
        except OSError as error:
            raise WriterError(f"{self.folder}: cannot write the narration cache ({describe_os_error(error)}); "
                              "choose another --cache-dir") from error
        os.close(handle)
        return Path(name)

    def remove_abandoned_scratch(self) -> int:
        """Delete scratch files whose process is gone (a build killed with SIGKILL); return how many.

        A chapter being assembled keeps a raw and a WAV file of its whole length there, so
        without this every killed build would leave tens of megabytes behind for good.
        """
        removed = 0
        try:
            entries = list((self.root / "scratch").iterdir())
        except OSError:
            return 0
        for entry in entries:
            owner = entry.name.split("-", 1)[0]
            if owner.isdigit() and process_is_running(int(owner)):
                continue
            if not owner.isdigit() and not is_older_than(entry, ABANDONED_AFTER_SECONDS):
                continue  # not named by a process id: only removed once clearly stale
            try:
                entry.unlink()
                removed += 1
            except OSError:
                continue
        return removed

    @contextmanager
    def writing(self, path: Path) -> Iterator[IO[bytes]]:
        """Write ``path`` through a temporary file renamed into place; a failure leaves nothing.

        No fsync: a cache entry lost in a crash is detected by its checksum and made again,
        and syncing every clip would cost more than synthesising it.
        """
        try:
            with atomic_write(path, durable=False, permissions=0o600) as stream:
                yield stream
        except WriterError as error:
            reason = describe_os_error(error.__cause__) if isinstance(error.__cause__, OSError) else str(error)
            raise WriterError(f"{self.folder}: cannot write the narration cache ({reason}); "
                              "choose another --cache-dir") from error
