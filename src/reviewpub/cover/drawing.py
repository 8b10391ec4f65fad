"""A typographic cover drawn from the title, for a review that brings no image of its own.

The title as large as fits, the subtitle below it and the author at the foot, in colours whose
contrast passes WCAG AA. Pillow's built-in scalable font has only basic Latin, so a system
DejaVu Sans is preferred when one is installed; characters no available font can draw (emoji,
scripts the fonts lack) are left off the art, never drawn as boxes. Kept apart from reading a
user's image (``user_image.py``): fonts and layout are a job of their own.
"""

from __future__ import annotations

import functools
import hashlib
import os
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reviewpub.errors import SettingsError

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageFont

    from reviewpub.document import Metadata


PALETTES = (
    ((18, 32, 58), (242, 201, 76)),
    ((44, 24, 56), (255, 170, 120)),
    ((10, 48, 46), (180, 236, 214)),
    ((60, 20, 24), (250, 214, 170)),
    ((24, 26, 30), (140, 200, 255)),
)
"""Background and accent colours; white and the accent both contrast above 7:1 with the background."""
TEXT_COLOUR = (255, 255, 255)
AUTHOR_COLOUR = (230, 230, 230)
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    "/usr/local/share/fonts/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
)
"""Fonts with wide coverage (Latin, Greek, Cyrillic, Hebrew, Arabic), tried before Pillow's own."""
FOLDED_LETTERS = {
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ß": "ss",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
}
"""Plain-Latin stand-ins for letters without a decomposition, for a font that has only ASCII."""


def font_paths() -> tuple[str, ...]:
    """The installed wide-coverage fonts, best first."""
    return tuple(path for path in SYSTEM_FONTS if os.path.isfile(path))


@functools.lru_cache(maxsize=64)
def load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont:
    """A font at ``size`` px: a file, or Pillow's built-in scalable font for ``None``."""
    from PIL import ImageFont

    if path is None:
        font = ImageFont.load_default(size=size)
        if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType
            raise SettingsError("Pillow has no FreeType support; reinstall Pillow from its wheels to draw covers")
        return font
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=4096)
def has_glyph(path: str | None, character: str) -> bool:
    """Whether the font draws ``character`` as itself rather than its "missing glyph" box."""
    if character.isspace():
        return True
    font = load_font(path, 48)
    missing = font.getmask("\U0010fffd")
    drawn = font.getmask(character)
    return drawn.size != missing.size or bytes(drawn) != bytes(missing)


def fold(text: str) -> str:
    """``text`` in plain Latin where possible: accents removed, æ → ae, curly quotes straightened."""
    decomposed = unicodedata.normalize("NFKD", "".join(FOLDED_LETTERS.get(character, character) for character in text))
    return unicodedata.normalize(
        "NFC", "".join(character for character in decomposed if not unicodedata.combining(character))
    )


def drawable(text: str) -> tuple[str | None, str]:
    """The font to draw ``text`` with and the text it can draw.

    The first font that has every character wins; otherwise the one missing the fewest, with
    the characters it lacks left out (Pillow's basic font gets accents folded first).
    """
    text = " ".join(text.split())
    candidates: list[tuple[str | None, str]] = [(path, text) for path in font_paths()]
    candidates.append((None, fold(text)))
    missing = {path: sum(1 for character in wanted if not has_glyph(path, character)) for path, wanted in candidates}
    path, wanted = min(candidates, key=lambda candidate: missing[candidate[0]])
    if missing[path] == 0:
        return path, wanted
    return path, " ".join("".join(character for character in wanted if has_glyph(path, character)).split())


def split_word(word: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """A word too wide for a line, cut into pieces that fit."""
    pieces: list[str] = []
    piece = ""
    for character in word:
        if piece and font.getlength(piece + character) > width:
            pieces.append(piece)
            piece = character
        else:
            piece += character
    return pieces + ([piece] if piece else [])


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to lines no wider than ``width`` pixels (long words are cut)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        pieces = split_word(word, font, width) if font.getlength(word) > width else [word]
        for piece in pieces:
            candidate = f"{line} {piece}" if line else piece
            if line and font.getlength(candidate) > width:
                lines.append(line)
                line = piece
            else:
                line = candidate
    if line:
        lines.append(line)
    return lines


def fit_text(
    text: str, path: str | None, width: int, *, largest: int, smallest: int, max_lines: int, max_height: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size (from ``largest`` down) at which ``text`` wraps into the box.

    At ``smallest`` the text is cut to ``max_lines`` lines, the last ending in an ellipsis.
    """
    size = largest
    while True:
        font = load_font(path, size)
        lines = wrap(text, font, width)
        if (len(lines) <= max_lines and len(lines) * size * 1.2 <= max_height) or size <= smallest:
            break
        size = max(smallest, int(size * 0.92))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "...") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "..."
    return font, lines


def draw_lines(
    image: PILImage.Image,
    lines: Sequence[str],
    font: ImageFont.FreeTypeFont,
    x: int,
    y: int,
    colour: tuple[int, int, int],
    line_height: float,
) -> int:
    """Draw ``lines`` from ``y`` down; return the y below the last line."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    size = int(font.size)
    for line in lines:
        draw.text((x, y), line, font=font, fill=colour)
        y += int(size * line_height)
    return y


def draw_cover(metadata: Metadata, width: int, height: int) -> PILImage.Image:
    """A typographic cover: the title large, subtitle below, author at the foot, on a calm colour."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(metadata.title.encode("utf-8", "surrogatepass")).digest()
    background, accent = PALETTES[digest[0] % len(PALETTES)]
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    margin = short // 10
    text_width = width - 2 * margin
    bar = max(6, short // 100)
    top = height // 9
    draw.rectangle((margin, top, margin + short // 6, top + bar), fill=accent)
    y = top + bar + short // 20

    author_block = 0
    author_font: ImageFont.FreeTypeFont | None = None
    author_lines: list[str] = []
    if metadata.author:
        path, author = drawable(metadata.author)
        if author:
            author_font, author_lines = fit_text(
                author, path, text_width, largest=short // 16, smallest=short // 30, max_lines=2, max_height=height // 8
            )
            author_block = int(len(author_lines) * int(author_font.size) * 1.3) + margin

    path, title = drawable(metadata.title)
    title_room = height - y - author_block - margin - height // 6
    title_font, title_lines = fit_text(
        title or "Review",
        path,
        text_width,
        largest=short // 8,
        smallest=short // 22,
        max_lines=6,
        max_height=max(title_room, short // 4),
    )
    y = draw_lines(image, title_lines, title_font, margin, y, TEXT_COLOUR, 1.2)

    if metadata.subtitle:
        path, subtitle = drawable(metadata.subtitle)
        if subtitle:
            subtitle_font, subtitle_lines = fit_text(
                subtitle,
                path,
                text_width,
                largest=max(short // 22, int(title_font.size) // 2),
                smallest=short // 32,
                max_lines=3,
                max_height=height // 6,
            )
            y = draw_lines(image, subtitle_lines, subtitle_font, margin, y + int(title_font.size) // 3, accent, 1.3)

    if author_font is not None and author_lines:
        author_y = height - margin - int(len(author_lines) * int(author_font.size) * 1.3)
        draw.rectangle(
            (margin, author_y - short // 30 - bar, margin + short // 10, author_y - short // 30), fill=accent
        )
        draw_lines(image, author_lines, author_font, margin, author_y, AUTHOR_COLOUR, 1.3)
    return image
