"""The user's own cover image, read with bounded memory and turned upright on white.

A user's cover is bounded before it is decoded: above ``COVER_MAX_PIXELS`` it is refused from
its header alone, a JPEG is decoded at a reduced scale, and anything larger than the outputs
need is shrunk right after decoding, so any cover stays well under 500 MB of memory. Kept apart
from drawing a cover (``drawing.py``): this module owns what a user's file may be and how it is
decoded.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from reviewpub.errors import SettingsError

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from reviewpub.document import Metadata

logger = logging.getLogger(__name__)

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
"""What a cover may be (as ``reading.metadata_rules.cover_problem`` checks); no other Pillow decoder runs."""
WHITE = (255, 255, 255)


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
