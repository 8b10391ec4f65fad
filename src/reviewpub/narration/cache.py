"""A content-addressed cache of sentence clips and assembled chapters, shared by every run.

Keys are digests of everything that changes the sound (engine, voice, sound options, the
exact spoken text; for chapters, their clips, pauses and audio settings). Entries are
written to a temporary file beside their place and renamed, so concurrent runs can share
the cache.

An entry is trusted only if it proves it is the one asked for: clips and chapter indexes are
sealed (a first line with the format and a SHA-256 of every byte after it) and name their own
key, and the index holds the SHA-256 of its chapter WAV, header included. So a truncated or
flipped entry, a clip copied over another, an edited sample rate, a value no encoder could
use, a symlink or a folder in an entry's place is a miss: logged at debug level, removed and
made again, never published and never an error.

Layout under the cache folder::

    narration-v2/clips/ab/<key>.pcm       seal line, "<key> <rate>" line, mono 16-bit PCM at the engine's rate
    narration-v2/chapters/ab/<key>.wav    a chapter's final audio
    narration-v2/chapters/ab/<key>.json   seal line, then JSON: key, sample rate, length, WAV checksum, positions
    narration-v2/chapters/ab/<key>-<encoding>.mp3    the chapter encoded (no tags), made while later
    narration-v2/chapters/ab/<key>-<encoding>.json   chapters were narrated; sealed index: its size and checksum
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
from typing import IO

from reviewpub.errors import WriterError
from reviewpub.files import HASH_CHUNK_BYTES, describe_os_error, file_sha256, new_temporary_file, process_is_running
from reviewpub.narration.cache_entries import (
    HEX_DIGEST,
    DamagedEntry,
    clear_folder_in_place,
    discard,
    hash_entry_file,
    open_entry,
    parse_positions,
    publish_entry,
    read_count,
    read_entry,
    seal,
    unseal,
)

logger = logging.getLogger(__name__)
FORMAT = "narration-v2"
"""Folder name of this cache layout (where entries live); bump it when the paths change."""
CLIP_MAGIC = b"reviewpub-clip/3"
CHAPTER_MAGIC = b"reviewpub-chapter/3"
ENCODED_MAGIC = b"reviewpub-encoded/1"
"""First word of a sealed entry: its kind and format version. Bump the version when an entry's
bytes change: older entries then fail their seal and are replaced in place, so an upgrade
leaves no stale folder of audio behind (``FORMAT`` names the folder, not the bytes)."""
SAMPLE_WIDTH_BYTES = 2
"""Stored PCM is signed 16-bit."""
SAMPLE_RATE_RANGE = range(1_000, 1_000_001)
"""Rates a stored entry may state; anything else (0, negative, absurd) is damage."""


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


def encoded_paths(chapter_wav: Path, encoding: str) -> tuple[Path, Path]:
    """Where a chapter's encoded copy and its index live: beside the chapter's WAV, named by it."""
    base = chapter_wav.parent / f"{chapter_wav.stem}-{encoding}"
    return base.with_suffix(".mp3"), base.with_suffix(".json")


def copy_encoded(chapter_wav: Path, encoding: str, destination: Path) -> bool:
    """Copy a cached chapter's encoded copy to ``destination`` if the cache has a whole one; False on a miss.

    The bytes are checked against the index as they are copied (read once); a damaged entry
    is removed, and ``destination`` then holds nothing of use: the caller encodes instead.
    """
    path, index = encoded_paths(chapter_wav, encoding)
    try:
        try:
            record = json.loads(unseal(ENCODED_MAGIC, read_entry(index)).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise DamagedEntry("unreadable index") from None
        if not isinstance(record, dict) or record.get("key") != path.stem:
            raise DamagedEntry("another encoding's index")
        size, checksum = read_count(record, "bytes"), record.get("sha256")
        hasher = hashlib.sha256()
        with open_entry(path) as source, destination.open("wb") as target:
            if os.fstat(source.fileno()).st_size != size:
                raise DamagedEntry("not the indexed size")
            while chunk := source.read(HASH_CHUNK_BYTES):
                hasher.update(chunk)
                target.write(chunk)
        if hasher.hexdigest() != checksum:
            raise DamagedEntry("the checksum does not match")
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except DamagedEntry as damage:
        logger.debug("encoded chapter %s is damaged (%s); it will be encoded again", path, damage)
        discard(index)
        discard(path)
        return False


ABANDONED_AFTER_SECONDS = 24 * 3600
"""A scratch file not named by a process id is abandoned once this old."""


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
        self.clips = os.fspath(self.root / "clips")

    def clip_path(self, key: str) -> Path:
        """Where a clip lives: a fan-out folder per two hex digits keeps folders small (built as one string)."""
        return Path(f"{self.clips}/{key[:2]}/{key}.pcm")

    def chapter_paths(self, key: str) -> tuple[Path, Path]:
        """The WAV and the JSON index of an assembled chapter."""
        base = self.root / "chapters" / key[:2] / key
        return base.with_suffix(".wav"), base.with_suffix(".json")

    def get_clip(self, key: str) -> CachedClip | None:
        """The clip stored under ``key``; None when missing, or damaged (then it is removed)."""
        path = self.clip_path(key)
        try:
            body = unseal(CLIP_MAGIC, read_entry(path))
            label, _, samples = body.partition(b"\n")
            stated_key, _, rate_text = label.partition(b" ")
            if stated_key != key.encode("ascii"):
                raise DamagedEntry("another sentence's clip")
            if not rate_text.isdigit() or int(rate_text) not in SAMPLE_RATE_RANGE:
                raise DamagedEntry("no usable sample rate")
            if len(samples) % SAMPLE_WIDTH_BYTES:
                raise DamagedEntry("a partial sample")
            return CachedClip(samples, int(rate_text))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except DamagedEntry as damage:
            logger.debug("cache entry %s is damaged (%s); the sentence will be synthesised again", path, damage)
            discard(path)
            return None

    def put_clip(self, key: str, clip: CachedClip) -> None:
        """Store a clip atomically, sealed with its key and rate."""
        label = f"{key} {clip.sample_rate}".encode("ascii")
        with self.writing(self.clip_path(key)) as stream:
            stream.write(seal(CLIP_MAGIC, label + b"\n" + clip.samples))

    def get_chapter(self, key: str, lines: int) -> CachedChapter | None:
        """The chapter stored under ``key`` if its index is whole, has ``lines`` positions and its WAV checks out.

        Anything else is a miss; a damaged index or WAV is removed (both, as they are one entry).
        """
        wav, index = self.chapter_paths(key)
        try:
            try:
                record = json.loads(unseal(CHAPTER_MAGIC, read_entry(index)).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                raise DamagedEntry("unreadable index") from None
            if not isinstance(record, dict) or record.get("key") != key:
                raise DamagedEntry("another chapter's index")
            sample_rate, sample_count = read_count(record, "sample_rate"), read_count(record, "sample_count")
            wav_bytes, wav_sha256 = read_count(record, "wav_bytes"), record.get("wav_sha256")
            if sample_rate not in SAMPLE_RATE_RANGE or wav_bytes < sample_count * SAMPLE_WIDTH_BYTES:
                raise DamagedEntry("sample rate or length out of range")
            if not (isinstance(wav_sha256, str) and HEX_DIGEST.fullmatch(wav_sha256.encode("ascii", "replace"))):
                raise DamagedEntry("no WAV checksum")
            positions = parse_positions(record.get("positions"), lines, sample_count)
            if hash_entry_file(wav, wav_bytes) != wav_sha256:
                raise DamagedEntry("the WAV's checksum does not match")
            return CachedChapter(wav, sample_rate, sample_count, positions, wav_sha256)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except DamagedEntry as damage:
            logger.debug("cached chapter %s is damaged (%s); it will be assembled again", index, damage)
            discard(index)
            discard(wav)
            return None

    def put_chapter(
        self,
        key: str,
        rendered_wav: Path,
        sample_rate: int,
        sample_count: int,
        positions: list[tuple[int, int]],
        checksum: str | None = None,
    ) -> CachedChapter:
        """Move a rendered chapter WAV into the cache (renamed, never copied) and index it.

        The WAV goes first: an index is written only beside the WAV it describes, so a reader
        that finds a whole index finds its WAV (or, mid-write, one whose checksum tells).
        ``checksum``: the WAV's SHA-256 if its writer took it (else it is read back for it).
        """
        wav, index = self.chapter_paths(key)
        checksum = checksum or file_sha256(rendered_wav)
        size = rendered_wav.stat().st_size
        try:
            wav.parent.mkdir(parents=True, exist_ok=True)
            clear_folder_in_place(wav)
            os.replace(rendered_wav, wav)
        except OSError as error:
            raise WriterError(
                f"{self.folder}: cannot write the narration cache ({describe_os_error(error)}); "
                "choose another --cache-dir"
            ) from error
        record = {
            "key": key,
            "sample_rate": sample_rate,
            "sample_count": sample_count,
            "positions": positions,
            "wav_bytes": size,
            "wav_sha256": checksum,
        }
        with self.writing(index) as stream:
            stream.write(seal(CHAPTER_MAGIC, json.dumps(record, separators=(",", ":")).encode("utf-8")))
        return CachedChapter(wav, sample_rate, sample_count, tuple(positions), checksum)

    def put_encoded(self, chapter_wav: Path, encoding: str, encoded: Path) -> None:
        """Move an encoded chapter (``encoding`` names its format) into the cache beside its WAV, and index it.

        As with chapters, the file goes first and its sealed index (key, size, checksum) last.
        """
        path, index = encoded_paths(chapter_wav, encoding)
        checksum = file_sha256(encoded)
        size = encoded.stat().st_size
        try:
            clear_folder_in_place(path)
            os.replace(encoded, path)
        except OSError as error:
            raise WriterError(
                f"{self.folder}: cannot write the narration cache ({describe_os_error(error)}); "
                "choose another --cache-dir"
            ) from error
        record = {"key": path.stem, "bytes": size, "sha256": checksum}
        with self.writing(index) as stream:
            stream.write(seal(ENCODED_MAGIC, json.dumps(record, separators=(",", ":")).encode("utf-8")))

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
            raise WriterError(
                f"{self.folder}: cannot write the narration cache ({describe_os_error(error)}); "
                "choose another --cache-dir"
            ) from error
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
        and syncing every clip would cost more than synthesising it. Not ``files.atomic_write``:
        the error names the cache, and a folder in the entry's place is cleared only when the
        rename meets one (``publish_entry``), not looked for before every sentence.
        """
        try:
            descriptor, temporary = new_temporary_file(path)
        except OSError as error:
            raise self.unwritable(error) from error
        try:
            with open(descriptor, "wb") as stream:
                yield stream
            publish_entry(temporary, path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise self.unwritable(error) from error
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def unwritable(self, error: OSError) -> WriterError:
        """The one-line error for a cache that cannot be written, saying why and what to do."""
        return WriterError(
            f"{self.folder}: cannot write the narration cache ({describe_os_error(error)}); choose another --cache-dir"
        )
