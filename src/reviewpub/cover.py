"""Cover art: the user's image, or one drawn from the title, for the EPUB and podcast apps."""

from __future__ import annotations

import functools
import hashlib
import io
from typing import TYPE_CHECKING

from reviewpub.errors import SettingsError

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from reviewpub.document import Metadata

PALETTES = [
    ((18, 32, 58), (242, 201, 76)),
    ((44, 24, 56), (255, 170, 120)),
    ((10, 48, 46), (180, 236, 214)),
    ((60, 20, 24), (250, 214, 170)),
    ((24, 26, 30), (140, 200, 255)),
]
"""Background and accent colours with a contrast ratio well above WCAG's 4.5:1 for white text."""


def load_user_cover(metadata: Metadata) -> PILImage.Image | None:
    """The user's cover as an RGB image, or None when none was given."""
    if metadata.cover is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(metadata.cover) as image:
            image.load()
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise SettingsError(f"{metadata.cover}: cannot read the cover image ({error})") from None


def wrap(text: str, font: object, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to lines no wider than ``width`` pixels."""
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > width:  # type: ignore[attr-defined]
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def draw_cover(metadata: Metadata, width: int, height: int) -> PILImage.Image:
    """A typographic cover: the title large, subtitle and author below, on a calm colour."""
    from PIL import Image, ImageDraw, ImageFont

    digest = hashlib.sha256(metadata.title.encode("utf-8")).digest()
    background, accent = PALETTES[digest[0] % len(PALETTES)]
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    margin = width // 10
    text_width = width - 2 * margin
    draw.rectangle([margin, height // 8, margin + width // 6, height // 8 + max(8, width // 100)], fill=accent)
    size = width // 9
    font = ImageFont.load_default(size=size)
    lines = wrap(metadata.title, font, text_width)
    while (len(lines) * size * 1.2 > height * 0.5 or any(font.getlength(line) > text_width for line in lines)) and size > 24:
        size = int(size * 0.9)
        font = ImageFont.load_default(size=size)
        lines = wrap(metadata.title, font, text_width)
    y = height // 8 + width // 20
    for line in lines:
        draw.text((margin, y), line, font=font, fill=(255, 255, 255))
        y += int(size * 1.2)
    small = ImageFont.load_default(size=max(20, size // 2))
    y += size // 2
    for extra, colour in ((metadata.subtitle, accent), (metadata.author, (235, 235, 235))):
        if extra:
            for line in wrap(extra, small, text_width)[:3]:
                draw.text((margin, y), line, font=small, fill=colour)
                y += int(small.size * 1.3)
    return image


def encode_jpeg(image: PILImage.Image) -> bytes:
    """JPEG bytes, without metadata, the same for the same pixels."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88, optimize=True)
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def make_cover(metadata: Metadata, *, size: tuple[int, int] = (1600, 2400)) -> bytes:
    """The EPUB cover as JPEG: the user's image (at most ``size``) or one drawn at ``size``."""
    user = load_user_cover(metadata)
    if user is None:
        return encode_jpeg(draw_cover(metadata, *size))
    user.thumbnail(size)
    return encode_jpeg(user)


@functools.lru_cache(maxsize=8)
def make_square_artwork(metadata: Metadata, size: int = 3000) -> bytes:
    """Square podcast artwork (Apple asks 1400–3000 px): the cover letterboxed, or drawn square."""
    from PIL import Image

    user = load_user_cover(metadata)
    if user is None:
        return encode_jpeg(draw_cover(metadata, size, size))
    canvas = Image.new("RGB", (size, size), user.resize((1, 1)).getpixel((0, 0)))  # type: ignore[arg-type]
    user.thumbnail((size, size))
    canvas.paste(user, ((size - user.width) // 2, (size - user.height) // 2))
    return encode_jpeg(canvas)


def cover_alt_text(metadata: Metadata) -> str:
    """Alternative text for the cover image."""
    text = f"Cover of {metadata.title}"
    if metadata.author:
        text += f" by {metadata.author}"
    return text
