"""The extended M3U playlist of the chapter MP3s (relative paths, UTF-8)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_write

if TYPE_CHECKING:
    from reviewpub.narration.model import Narration


def write_playlist(narration: Narration, path: Path, *, audio_folder: Path) -> Path:
    """Write ``#EXTM3U`` with an ``#EXTINF:<seconds>,<title>`` line before each chapter file."""
    relative = Path(os.path.relpath(audio_folder, Path(path).parent))
    lines = ["#EXTM3U"]
    for chapter in narration.chapters:
        title = " ".join(chapter.title.split())
        lines.append(f"#EXTINF:{round(chapter.duration_s)},{title}")
        lines.append((relative / f"{chapter.file_stem}.mp3").as_posix())
    with atomic_write(Path(path)) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    return Path(path)
