"""Cover art: drawn covers are readable and stay inside their margins; user covers are cleaned up."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageOps

from reviewpub import cover
from reviewpub.cover import cover_alt_text, drawing, make_cover, make_square_artwork, user_image
from reviewpub.cover.drawing import AUTHOR_COLOUR, PALETTES, drawable, has_glyph, wrap
from reviewpub.document import Metadata
from reviewpub.errors import ExitStatus, SettingsError

SEED_METADATA = Metadata(
    title="I.S.S. Movie Review: A Tense and Gripping Thriller Set in Space",
    author="Zoë Asbæk",
    subtitle="Six astronauts & one war below",
)


def image(data: bytes) -> Image.Image:
    opened = Image.open(io.BytesIO(data))
    opened.load()
    return opened


def contrast(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """WCAG 2.1 contrast ratio."""

    def luminance(colour: tuple[int, int, int]) -> float:
        channels = [value / 255 for value in colour]
        linear = [value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4 for value in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def bright_columns(picture: Image.Image) -> list[int]:
    """x positions of columns holding text-bright pixels."""
    grey = picture.convert("L").point(lambda value: 255 if value > 200 else 0)
    return [x for x in range(grey.width) if grey.crop((x, 0, x + 1, grey.height)).getbbox()]


def test_generated_cover_is_a_1600_by_2400_jpeg_with_large_text() -> None:
    picture = image(make_cover(SEED_METADATA))
    assert (picture.format, picture.size, picture.mode) == ("JPEG", (1600, 2400), "RGB")
    grey = picture.convert("L")
    low, high = grey.getextrema()
    assert high - low > 180
    title_band = grey.crop((0, 300, 1600, 1200)).point(lambda value: 255 if value > 200 else 0)
    box = title_band.getbbox()
    assert box is not None and box[3] - box[1] > 400, "the title fills a large band"
    rows = [y for y in range(title_band.height) if title_band.crop((0, y, title_band.width, y + 1)).getbbox()]
    tallest_run = max(
        len(run) for run in "".join("x" if y in set(rows) else " " for y in range(title_band.height)).split()
    )
    assert tallest_run >= 80, "title letters are at least 80 px tall: readable as a thumbnail"


def test_palettes_pass_wcag_aaa_contrast() -> None:
    for background, accent in PALETTES:
        assert contrast(background, (255, 255, 255)) >= 7
        assert contrast(background, accent) >= 7
        assert contrast(background, AUTHOR_COLOUR) >= 7


@pytest.mark.parametrize(
    "title",
    [
        "A" * 600,
        "Supercalifragilisticexpialidocious " * 12,
        "I.S.S.",
        "Tom & Jerry <script>alert(1)</script> 🎬🍿 שלום עולם",
    ],
)
def test_text_stays_inside_the_margins(title: str) -> None:
    picture = image(make_cover(Metadata(title=title, subtitle="Sub " * 40, author="Zoë Asbæk " * 10)))
    columns = bright_columns(picture)
    assert columns, "something is written"
    assert min(columns) >= 160 - 4 and max(columns) <= 1600 - 160 + 4


def test_every_character_kept_has_a_glyph_in_the_chosen_font() -> None:
    for text in ("Zoë Asbæk", "I.S.S. — “quoted”", "🎬 Popcorn 🍿", "שלום עולם", "中文 review", "Ærø Øst ßtraße"):
        path, kept = drawable(text)
        assert kept.strip(), text
        assert all(has_glyph(path, character) for character in kept), (text, kept, path)
        assert "🎬" not in kept
    assert drawable("Zoë")[1] in ("Zoë", "Zoe")
    assert drawing.fold("Zoë Asbæk — “Ærø”") == 'Zoe Asbaek - "AEro"'


def test_wrap_cuts_words_wider_than_a_line() -> None:
    from PIL import ImageFont

    font = ImageFont.load_default(size=40)
    lines = wrap("short " + "x" * 200 + " end", font, 300)
    assert all(font.getlength(line) <= 300 for line in lines)
    assert "".join(lines).replace(" ", "") == "short" + "x" * 200 + "end"


def test_generated_covers_are_reproducible_and_differ_by_title() -> None:
    cover.cached_cover.cache_clear()
    first = make_cover(SEED_METADATA)
    cover.cached_cover.cache_clear()
    assert make_cover(SEED_METADATA) == first
    assert make_cover(SEED_METADATA.replace(title="Another film")) != first


def test_user_cover_is_shrunk_to_fit_keeping_its_shape(tmp_path: Path) -> None:
    source = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(source)
    picture = image(make_cover(Metadata(title="T", cover=source)))
    assert picture.format == "JPEG" and picture.size == (1600, 1200)
    small = tmp_path / "small.png"
    Image.new("RGB", (300, 450), (10, 120, 200)).save(small)
    assert image(make_cover(Metadata(title="T", cover=small))).size == (300, 450)


def test_user_cover_transparency_becomes_white_and_metadata_is_dropped(tmp_path: Path) -> None:
    source = tmp_path / "alpha.png"
    picture = Image.new("RGBA", (200, 300), (200, 0, 0, 255))
    ImageDraw.Draw(picture).rectangle((0, 0, 199, 99), fill=(0, 0, 0, 0))
    picture.save(source)
    result = image(make_cover(Metadata(title="T", cover=source)))
    assert result.mode == "RGB"
    assert min(result.getpixel((100, 50))) > 245, "transparent → white, not black"
    assert result.getpixel((100, 200))[0] > 180
    assert not result.getexif()


def test_user_cover_is_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    source = tmp_path / "sideways.jpg"
    picture = Image.new("RGB", (600, 400), (0, 200, 0))
    exif = picture.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "Camera maker (private)"
    picture.save(source, exif=exif)
    result = image(make_cover(Metadata(title="T", cover=source)))
    assert result.size == (400, 600)
    assert not result.getexif(), "EXIF (camera, GPS) never travels into the book"


def test_a_changed_cover_file_is_read_again(tmp_path: Path) -> None:
    source = tmp_path / "cover.png"
    metadata = Metadata(title="T", cover=source)
    Image.new("RGB", (100, 150), (255, 0, 0)).save(source)
    red = make_cover(metadata)
    Image.new("RGB", (120, 150), (0, 0, 255)).save(source)
    blue = make_cover(metadata)
    assert image(red).getpixel((50, 50))[0] > 200 and image(blue).getpixel((50, 50))[2] > 200


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n broken"])
def test_unreadable_cover_is_a_settings_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "bad cover.png"
    source.write_bytes(content)
    with pytest.raises(SettingsError, match=re.escape("bad cover.png")):
        make_cover(Metadata(title="T", cover=source))
    with pytest.raises(SettingsError, match=re.escape("bad cover.png")):
        make_square_artwork(Metadata(title="T", cover=source))


def test_missing_and_absurdly_large_covers_are_settings_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match=re.escape("missing.jpg")):
        make_cover(Metadata(title="T", cover=tmp_path / "missing.jpg"))
    huge = tmp_path / "huge.png"
    Image.new("RGB", (400, 400)).save(huge)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 400×400 is then "over twice the limit"
    with pytest.raises(SettingsError, match=re.escape("huge.png")):
        make_cover(Metadata(title="T", cover=huge))


def test_square_artwork_is_drawn_square_when_there_is_no_cover() -> None:
    picture = image(make_square_artwork(SEED_METADATA))
    assert (picture.format, picture.size) == ("JPEG", (3000, 3000))
    columns = bright_columns(picture)
    assert min(columns) >= 300 - 6 and max(columns) <= 2700 + 6
    assert image(make_square_artwork(SEED_METADATA, 1400)).size == (1400, 1400)


def test_square_artwork_shows_the_whole_user_cover_over_a_dimmed_backdrop(tmp_path: Path) -> None:
    source = tmp_path / "portrait.png"
    picture = Image.new("RGB", (1000, 1500), (230, 60, 40))
    ImageDraw.Draw(picture).rectangle((0, 0, 999, 59), fill=(255, 255, 255))  # a title band at the very top
    ImageDraw.Draw(picture).rectangle((0, 1440, 999, 1499), fill=(255, 255, 255))  # and an author band at the foot
    picture.save(source)
    square = image(make_square_artwork(Metadata(title="T", cover=source), 1500))
    assert square.size == (1500, 1500)
    assert min(square.getpixel((750, 10))) > 240 and min(square.getpixel((750, 1490))) > 240, "nothing cropped"
    assert square.getpixel((750, 750))[0] > 200
    side = square.getpixel((50, 750))
    assert side[0] < 200 and side[0] > 60, "the sides are the cover, blurred and dimmed, not black bars"


def test_alt_text_names_title_subtitle_and_author() -> None:
    assert cover_alt_text(SEED_METADATA) == (
        "Cover of I.S.S. Movie Review: A Tense and Gripping Thriller Set in Space: "
        "Six astronauts & one war below, by Zoë Asbæk"
    )
    assert cover_alt_text(Metadata(title="Only")) == "Cover of Only"


# Bounded decoding (issue 15, defect 6): a small file may declare a huge image; any cover must
# stay under 500 MB of memory, and Pillow's own warnings must never reach the user.

PEAK_MEMORY_LIMIT_MB = 500


def write_blank_png(path: Path, width: int, height: int) -> Path:
    """An all-transparent RGBA PNG written row by row with zlib: a few hundred KB on disk for any size,
    made without ever holding the pixels (Pillow would need width x height x 4 bytes to save it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + 4 * width)  # filter byte 0, then transparent black pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cover from the report: 13,000 x 13,000 RGBA (169 megapixels, 676 MB decoded) in 642 KB."""
    return write_blank_png(tmp_path_factory.mktemp("bomb") / "big.png", 13_000, 13_000)


def run_measured(arguments: list[str], folder: Path) -> tuple[int, str, str, float]:
    """Run ``python -m reviewpub`` in a child; its exit status, stdout, stderr and peak memory in MB.

    ``os.wait4`` gives this one child's own peak RSS (and its children's); RUSAGE_CHILDREN
    would report the largest of every child this pytest process ever waited for (EPUBCheck's JVM).
    """
    import subprocess
    import sys

    stdout, stderr, peak = folder / "stdout.txt", folder / "stderr.txt", folder / "peak-kb.txt"
    # A small launcher starts reviewpub and reports its peak: a process forked straight from
    # pytest would count pytest's own pages (hundreds of MB late in a run) as its peak.
    launcher = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen(sys.argv[2:])\n"
        "_, status, usage = os.wait4(child.pid, 0)\n"
        "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    with stdout.open("wb") as out, stderr.open("wb") as err:
        completed = subprocess.run(
            [sys.executable, "-c", launcher, str(peak), sys.executable, "-m", "reviewpub", *arguments],
            stdout=out,
            stderr=err,
            check=False,
        )
    return completed.returncode, stdout.read_text(), stderr.read_text(), int(peak.read_text()) / 1024  # KB


def test_an_oversized_cover_is_one_line_and_exit_1_within_bounded_memory(
    bomb_png: Path, seed: Path, tmp_path: Path
) -> None:
    assert bomb_png.stat().st_size < 1_000_000, "the point: a small file declaring a huge image"
    output = tmp_path / "output"
    status, stdout, stderr, peak_mb = run_measured(
        ["epub", str(seed), "--cover", str(bomb_png), "-o", str(output)], tmp_path
    )
    assert status == ExitStatus.ERROR, stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr  # no DecompressionBombWarning, no traceback
    assert str(bomb_png) in lines[0] and "13000x13000" in lines[0] and "50 megapixels" in lines[0]
    assert not output.exists(), "nothing written on bad input"
    assert peak_mb < PEAK_MEMORY_LIMIT_MB, f"peak {peak_mb:.0f} MB"


def test_a_cover_at_the_pixel_limit_is_used_within_bounded_memory(seed: Path, tmp_path: Path) -> None:
    import zipfile

    side = math.isqrt(user_image.COVER_MAX_PIXELS)  # 7071 x 7071 RGBA: 200 MB decoded
    source = write_blank_png(tmp_path / "limit.png", side, side)
    output = tmp_path / "output"
    status, _stdout, stderr, peak_mb = run_measured(
        ["epub", str(seed), "--cover", str(source), "-o", str(output)], tmp_path
    )
    assert status == ExitStatus.SUCCESS, stderr
    assert stderr == "", "no warning of Pillow's reaches the user"
    assert peak_mb < PEAK_MEMORY_LIMIT_MB, f"peak {peak_mb:.0f} MB"
    with zipfile.ZipFile(output / "iss-review.epub") as book:
        name = next(name for name in book.namelist() if name.endswith("cover.jpg"))
        picture = image(book.read(name))
    assert picture.size == (1600, 1600)
    assert min(picture.getpixel((800, 800))) > 245, "transparent flattened onto white"


def test_webp_covers_have_a_lower_pixel_limit(tmp_path: Path) -> None:
    source = tmp_path / "wide.webp"
    Image.new("RGB", (5000, 4001), (10, 120, 200)).save(source, quality=10, method=0)
    with pytest.raises(SettingsError, match=r"wide\.webp is 5000x4001 pixels .* 20 megapixels for a WebP cover"):
        make_cover(Metadata(title="T", cover=source))


def test_pillow_warnings_never_reach_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    source = tmp_path / "cover.png"
    Image.new("RGB", (400, 400), (10, 120, 200)).save(source)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 160,000 pixels: Pillow warns, and goes on
    data = make_cover(Metadata(title="T", cover=source))
    assert not [warning for warning in recwarn if issubclass(warning.category, Image.DecompressionBombWarning)]
    monkeypatch.undo()  # reading the result back here would warn in turn
    assert image(data).size == (400, 400)


def test_pillow_refusing_a_header_names_our_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = tmp_path / "huge.png"
    Image.new("RGB", (400, 400)).save(huge)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses over 2,000 pixels while reading the header
    with pytest.raises(SettingsError, match=r"huge\.png has over 2000 pixels, over the limit of 50 megapixels"):
        make_cover(Metadata(title="T", cover=huge))


def asymmetric_picture(size: tuple[int, int], mode: str) -> Image.Image:
    """A picture whose every transposition looks different: gradients, a corner mark, some transparency."""
    width, height = size
    picture = Image.new("RGBA", size)
    picture.putdata(
        [
            (x * 255 // width, y * 255 // height, (x * y) % 256, 255 if (x + y) % 7 else 90)
            for y in range(height)
            for x in range(width)
        ]
    )
    ImageDraw.Draw(picture).rectangle((0, 0, width // 5, height // 9), fill=(255, 255, 0, 255))
    return picture.convert(mode)


def flattened(picture: Image.Image) -> Image.Image:
    """What the cover should look like before shrinking: transparency on white, as RGB."""
    if picture.mode not in ("RGBA", "LA", "PA"):
        return picture.convert("RGB")
    rgba = picture.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["RGBA", "RGB", "LA"])
def test_cover_made_tile_by_tile_equals_the_whole_image_turned_and_flattened(
    orientation: int, mode: str, tmp_path: Path
) -> None:
    source = tmp_path / "cover.png"
    picture = asymmetric_picture((157, 101), mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.save(source, exif=exif)
    with Image.open(source) as opened:
        opened.load()
        expected = flattened(ImageOps.exif_transpose(opened))
        # Tiles of 20 x 16 leave ragged ones at the right and bottom edges.
        assert user_image.upright_flat_cover(opened, tile_size=(20, 16)).tobytes() == expected.tobytes()
        # Shrunk by 3 (157 // 50): the same as flattening, reducing and then turning the whole image.
        shrunk = user_image.upright_flat_cover(opened, working_side=50, tile_size=(7, 5))
        reduced = flattened(opened).reduce(3)
        reduced.info["exif"] = opened.info["exif"]
        assert shrunk.tobytes() == ImageOps.exif_transpose(reduced).tobytes()
        assert max(shrunk.size) == 53


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    Image.new("RGB", (6400, 6000), (10, 120, 200)).save(source)
    loaded = user_image.load_user_cover(Metadata(title="T", cover=source))
    assert loaded is not None and loaded.size == (3200, 3000), "JPEG draft at 1/2, no full decode"
