"""Cover art: the user's image, or one drawn from the title, for the EPUB and podcast apps.

This module makes the two outputs (the EPUB cover and the square podcast artwork) from whichever
source there is: ``user_image.py`` reads the user's file with bounded memory, ``drawing.py``
draws a typographic cover when there is none. The exact title is always in the cover's
alternative text.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.cover.drawing import draw_cover
from reviewpub.cover.user_image import load_user_cover

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from reviewpub.document import Metadata

JPEG_QUALITY = 88


def cover_stamp(metadata: Metadata) -> tuple[int, int] | None:
    """What identifies the content of the user's cover file (size and mtime), for the cache key."""
    if metadata.cover is None:
        return None
    try:
        status = Path(metadata.cover).stat()
    except OSError:
        return None
    return (status.st_size, status.st_mtime_ns)


def encode_jpeg(image: PILImage.Image) -> bytes:
    """Baseline JPEG bytes without metadata (no EXIF or GPS from the user's file), the same for the same pixels."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def make_cover(metadata: Metadata, *, size: tuple[int, int] = (1600, 2400)) -> bytes:
    """The EPUB cover as JPEG: the user's image (shrunk to fit ``size``) or one drawn at ``size``.

    Raises:
        SettingsError: the user's cover cannot be read.
    """
    return cached_cover(metadata, size, cover_stamp(metadata))


@functools.lru_cache(maxsize=8)
def cached_cover(metadata: Metadata, size: tuple[int, int], stamp: tuple[int, int] | None) -> bytes:
    """``make_cover``, drawn once per metadata, size and cover file version."""
    from PIL import Image

    user = load_user_cover(metadata)
    if user is None:
        return encode_jpeg(draw_cover(metadata, *size))
    user.thumbnail(size, Image.Resampling.LANCZOS)
    return encode_jpeg(user)


def make_square_artwork(metadata: Metadata, size: int = 3000) -> bytes:
    """Square podcast artwork (Apple asks 1400–3000 px) as JPEG.

    The user's cover is shown whole, scaled to the square's height, over a blurred and dimmed
    enlargement of itself (no text is cropped away); without one, a cover is drawn square.

    Raises:
        SettingsError: the user's cover cannot be read.
    """
    return cached_square_artwork(metadata, size, cover_stamp(metadata))


@functools.lru_cache(maxsize=8)
def cached_square_artwork(metadata: Metadata, size: int, stamp: tuple[int, int] | None) -> bytes:
    """``make_square_artwork``, drawn once per metadata, size and cover file version."""
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps

    user = load_user_cover(metadata)
    if user is None:
        return encode_jpeg(draw_cover(metadata, size, size))
    backdrop = ImageOps.fit(user.resize((max(1, user.width // 8), max(1, user.height // 8))), (size // 8, size // 8))
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(radius=6)).resize((size, size), Image.Resampling.BICUBIC)
    canvas = ImageEnhance.Brightness(backdrop).enhance(0.55)
    scale = size / max(user.width, user.height)
    shown = user.resize(
        (max(1, round(user.width * scale)), max(1, round(user.height * scale))), Image.Resampling.LANCZOS
    )
    canvas.paste(shown, ((size - shown.width) // 2, (size - shown.height) // 2))
    return encode_jpeg(canvas)


def cover_alt_text(metadata: Metadata) -> str:
    """Alternative text for the cover image: the exact title, subtitle and author."""
    text = f"Cover of {metadata.title}"
    if metadata.subtitle:
        text += f": {metadata.subtitle}"
    if metadata.author:
        text += f", by {metadata.author}"
    return text
