"""Cover art: the user's image, or one drawn from the title, for the EPUB and podcast apps.

A drawn cover is typographic: the title as large as fits, the subtitle below it and the author
at the foot, in colours whose contrast passes WCAG AA. Pillow's built-in scalable font has
only basic Latin, so a system DejaVu Sans is preferred when one is installed; characters no
available font can draw (emoji, scripts the fonts lack) are left off the art, never drawn as
boxes. The exact title is always in the cover's alternative text.

A user's cover is bounded before it is decoded: above ``COVER_MAX_PIXELS`` it is refused from
its header alone, a JPEG is decoded at a reduced scale, and anything larger than the outputs
need is shrunk right after decoding, so any cover stays well under 500 MB of memory.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.errors import SettingsError

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageFont

    from reviewpub.document import Metadata

logger = logging.getLogger(__name__)

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
JPEG_QUALITY = 88
COVER_MAX_PIXELS = 50_000_000
"""The most pixels a user's cover may have (50 megapixels: 8000x6000, 7000x7000).

Decoded as RGBA that is 200 MB, which keeps a whole run under 500 MB; a larger image is
refused from its header, before a pixel is decoded."""
WEBP_MAX_PIXELS = 20_000_000
"""The limit for WebP, which Pillow decodes whole through three or four full-size buffers."""
WORKING_SIDE = 3000
"""The longest side any output needs (the square podcast artwork): a larger cover is decoded
(JPEG) or shrunk (the others) to about this, so later copies are small."""
TILE_SIZE = (256, 64)
"""Width and height of the result made per tile of the decoded image: a tile costs a few MB, even
for a long thin image, where whole rows would be a full-size copy."""
COVER_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
"""What a cover may be (as ``settings.cover_problem`` checks); no other Pillow decoder runs."""
WHITE = (255, 255, 255)


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


def cover_stamp(metadata: Metadata) -> tuple[int, int] | None:
    """What identifies the content of the user's cover file (size and mtime), for the cache key."""
    if metadata.cover is None:
        return None
    try:
        status = Path(metadata.cover).stat()
    except OSError:
        return None
    return (status.st_size, status.st_mtime_ns)


@contextlib.contextmanager
def quiet_pillow(path: Path) -> Iterator[None]:
    """Keep Pillow's warnings off stderr: they are logged at debug level instead.

    The size limit that matters is ``COVER_MAX_PIXELS``, checked by us with a clear message, so
    Pillow's own ``DecompressionBombWarning`` (and notes such as "corrupt EXIF data") would
    only be noise printed with a source line of Pillow's.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                logger.debug("%s: %s", path, warning.message)


def oversize_problem(path: Path, image_format: str | None, width: int, height: int) -> str | None:
    """Why a ``width`` x ``height`` image is too large to be a cover, or ``None``."""
    limit = WEBP_MAX_PIXELS if image_format == "WEBP" else COVER_MAX_PIXELS
    if width * height <= limit:
        return None
    kind = "a WebP cover" if image_format == "WEBP" else "a cover"
    return (
        f"cover image {path} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), over the "
        f"limit of {limit // 1_000_000} megapixels for {kind}; give a smaller image"
    )


def cover_size_problem(path: Path) -> str | None:
    """Why the image at ``path`` is too large to be a cover, or ``None``; reads only its header.

    An image Pillow cannot open is not judged here: reading it later says why.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with quiet_pillow(path), Image.open(path, formats=COVER_FORMATS) as opened:
            return oversize_problem(path, opened.format, *opened.size)
    except Image.DecompressionBombError:
        # Pillow's own guard (twice MAX_IMAGE_PIXELS) fires while reading the header, before the size is known.
        return (
            f"cover image {path} has over {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels, over the limit "
            f"of {COVER_MAX_PIXELS // 1_000_000} megapixels for a cover; give a smaller image"
        )
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def orientation_transpose(image: PILImage.Image) -> PILImage.Transpose | None:
    """The transposition that turns ``image`` upright by its EXIF orientation (as ``ImageOps.exif_transpose``)."""
    from PIL import ExifTags, Image

    return {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(image.getexif().get(ExifTags.Base.Orientation, 1))


def turned_origin(
    method: PILImage.Transpose | None, box: tuple[int, int, int, int], size: tuple[int, int]
) -> tuple[int, int]:
    """Where the tile at ``box`` (left, top, width, height) of an image of ``size`` lands once the image is turned."""
    from PIL import Image

    left, top, width, height = box
    image_width, image_height = size
    right_gap, bottom_gap = image_width - left - width, image_height - top - height
    return {
        None: (left, top),
        Image.Transpose.FLIP_LEFT_RIGHT: (right_gap, top),
        Image.Transpose.FLIP_TOP_BOTTOM: (left, bottom_gap),
        Image.Transpose.ROTATE_180: (right_gap, bottom_gap),
        Image.Transpose.ROTATE_90: (top, right_gap),
        Image.Transpose.ROTATE_270: (bottom_gap, left),
        Image.Transpose.TRANSPOSE: (top, left),
        Image.Transpose.TRANSVERSE: (bottom_gap, right_gap),
    }[method]


def upright_flat_cover(
    image: PILImage.Image, *, working_side: int = WORKING_SIDE, tile_size: tuple[int, int] = TILE_SIZE
) -> PILImage.Image:
    """``image`` as RGB: upright, flattened onto white, box-reduced by a whole factor if larger than needed.

    The factor keeps the longest side at least ``working_side``. The work runs tile by tile,
    each converted, flattened, reduced and turned alone, then pasted where it belongs: doing
    any of these to the whole image holds one more full-size copy (``reduce`` premultiplies
    RGBA into one), which is what took a large cover past 500 MB. Flattening before
    averaging gives the colours averaging before would, since compositing onto white is
    linear in premultiplied colour.
    """
    from PIL import Image

    factor = max(1, max(image.size) // working_side)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    method = orientation_transpose(image)
    width, height = image.size
    shrunk_size = (-(-width // factor), -(-height // factor))
    is_turned = method in (
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    )
    result = Image.new("RGB", shrunk_size[::-1] if is_turned else shrunk_size, WHITE)
    # Whole numbers of reduction boxes per tile, so tiles join without seams.
    step_x, step_y = factor * tile_size[0], factor * tile_size[1]
    for top in range(0, height, step_y):
        for left in range(0, width, step_x):
            tile = image.crop((left, top, min(width, left + step_x), min(height, top + step_y)))
            if has_alpha:
                rgba = tile.convert("RGBA")
                tile = Image.new("RGB", rgba.size, WHITE)
                tile.paste(rgba, mask=rgba.getchannel("A"))
            else:
                tile = tile.convert("RGB")
            if factor > 1:
                tile = tile.reduce(factor)
            origin = turned_origin(method, (left // factor, top // factor, *tile.size), shrunk_size)
            result.paste(tile if method is None else tile.transpose(method), origin)
    return result


def load_user_cover(metadata: Metadata) -> PILImage.Image | None:
    """The user's cover, upright (EXIF orientation applied) and flattened onto white, or None.

    Memory stays bounded whatever the file: at most ``COVER_MAX_PIXELS`` are decoded (a large
    JPEG at 1/2, 1/4 or 1/8 scale), and the result is made band by band at about
    ``WORKING_SIDE``, never as a second full-size copy.

    Raises:
        SettingsError: the file is missing, not an image Pillow reads, or over the pixel limit.
    """
    if metadata.cover is None:
        return None
    from PIL import Image, UnidentifiedImageError

    path = Path(metadata.cover)
    try:
        with quiet_pillow(path), Image.open(path, formats=COVER_FORMATS) as opened:
            problem = oversize_problem(path, opened.format, *opened.size)
            if problem:
                raise SettingsError(problem)
            opened.draft(opened.mode, (WORKING_SIDE, WORKING_SIDE))  # only JPEG decodes at a reduced scale
            opened.load()
            return upright_flat_cover(opened)
    except Image.DecompressionBombError:
        raise SettingsError(cover_size_problem(path) or f"cover image {path} is too large") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise SettingsError(f"{metadata.cover}: cannot read the cover image ({error}); give a JPEG or PNG") from None


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
