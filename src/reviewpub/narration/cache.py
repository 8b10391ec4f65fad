"""A content-addressed cache of sentence clips and assembled chapters, shared by every run.

Keys are digests of everything that changes the sound (engine, voice, options, exact spoken
text). Entries are written to a temporary file and renamed, so concurrent runs can share
the cache; each carries a checksum, so a truncated or corrupted entry is detected, dropped
and made again rather than published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
HEADER_SIZE = 96


def digest(*parts: Any) -> str:
    """A stable hex digest of JSON-serialisable parts."""
    encoded = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


class ClipCache:
    """Sentence clips (mono 16-bit PCM) on disk, addressed by the digest of their inputs."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str, suffix: str = ".pcm") -> Path:
        """Where an entry lives: two levels of fan-out keep folders small."""
        return self.folder / f"v{FORMAT_VERSION}" / key[:2] / f"{key}{suffix}"

    def get(self, key: str) -> tuple[bytes, int] | None:
        """(PCM, sample rate) for ``key``, or None when missing or corrupt (then removed)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        header, payload = data[:HEADER_SIZE], data[HEADER_SIZE:]
        try:
            checksum, rate = header.decode("ascii").split()
            if hashlib.sha256(payload).hexdigest() != checksum:
                raise ValueError("checksum mismatch")
            return payload, int(rate)
        except ValueError:
            logger.warning("cache entry %s is corrupt; it will be made again", path.name)
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, samples: bytes, sample_rate: int) -> None:
        """Store a clip atomically (temporary file, then rename)."""
        header = f"{hashlib.sha256(samples).hexdigest()} {sample_rate}".encode("ascii").ljust(HEADER_SIZE)
        self.write(self.path(key), header + samples)

    def write(self, path: Path, data: bytes) -> None:
        """Atomically write ``data`` to ``path``; a failure leaves no partial entry."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        except OSError as error:
            logger.warning("cannot write the cache in %s (%s); continuing without it", self.folder, error.strerror)
            return
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def chapter_paths(self, key: str) -> tuple[Path, Path]:
        """The WAV and the clip index (JSON) of an assembled chapter."""
        return self.path(key, ".wav"), self.path(key, ".json")

    def get_chapter(self, key: str) -> dict[str, Any] | None:
        """An assembled chapter's index if both files are present and the WAV matches it."""
        wav, index = self.chapter_paths(key)
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
            if wav.stat().st_size != data["wav_bytes"]:
                raise ValueError("size mismatch")
            with wav.open("rb") as stream:
                stream.seek(max(0, data["wav_bytes"] - 65536))
                if hashlib.sha256(stream.read()).hexdigest() != data["tail_sha256"]:
                    raise ValueError("checksum mismatch")
            return dict(data)
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None

    def put_chapter(self, key: str, wav_file: Path, index: dict[str, Any]) -> Path:
        """Move a rendered chapter WAV into the cache and record its index; returns the WAV path."""
        wav, index_path = self.chapter_paths(key)
        wav.parent.mkdir(parents=True, exist_ok=True)
        os.replace(wav_file, wav)
        size = wav.stat().st_size
        with wav.open("rb") as stream:
            stream.seek(max(0, size - 65536))
            tail = hashlib.sha256(stream.read()).hexdigest()
        self.write(index_path, json.dumps({**index, "wav_bytes": size, "tail_sha256": tail}).encode("utf-8"))
        return wav
