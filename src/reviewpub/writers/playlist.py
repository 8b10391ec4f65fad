"""The extended M3U playlist of the chapter MP3s: ``output/<name>/<name>.m3u8``.

UTF-8 (the ``.m3u8`` suffix says so), ``#EXTM3U`` then, per chapter, ``#EXTINF:<seconds>,<title>``
and the MP3's path relative to the playlist, so the folder can be moved or served as is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.files import atomic_write
from reviewpub.layout import chapter_mp3_name

if TYPE_CHECKING:
    from reviewpub.narration.model import Narration


def playlist_text(narration: Narration, relative_folder: str) -> str:
    """The playlist's text, each chapter's path under ``relative_folder`` (POSIX, may be ``.``)."""
    lines = ["#EXTM3U"]
    for chapter in narration.chapters:
        title = " ".join(chapter.title.split())  # one line, whatever the heading held
        lines.append(f"#EXTINF:{round(chapter.duration_s)},{title}")
        file_name = chapter_mp3_name(chapter.file_stem)
        lines.append(file_name if relative_folder == "." else f"{relative_folder}/{file_name}")
    return "\n".join(lines) + "\n"


def write_playlist(narration: Narration, path: Path, *, audio_folder: Path) -> Path:
    """Write the chapters' playlist at ``path``, pointing into ``audio_folder`` by relative paths."""
    path = Path(path)
    relative = Path(os.path.relpath(Path(audio_folder).resolve(), path.parent.resolve())).as_posix()
    with atomic_write(path) as handle:
        handle.write(playlist_text(narration, relative).encode("utf-8"))
    return path
