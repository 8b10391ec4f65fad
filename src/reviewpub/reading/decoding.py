"""Bytes → text: BOMs, line endings, legacy single-byte encodings, and characters XML forbids.

Reviews arrive from every kind of editor: UTF-8 with or without a BOM, Windows line endings,
and old cp1252/Latin-1 files where "Asbæk" is one byte per letter. Everything is turned into
clean text with ``\\n`` line endings before any reader sees it; anything that is not text at all
stops here with a message saying what the file looks like.
"""

from __future__ import annotations

import codecs
import stat
import unicodedata
from pathlib import Path

from reviewpub.document import NOT_IN_XML
from reviewpub.errors import SourceError

MAX_SOURCE_BYTES = 200 * 1024 * 1024
"""Far beyond any review or book; a bigger file is almost certainly not a review."""

BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF",
    b"PK\x03\x04": "a ZIP archive (an EPUB or Office file?)",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x7fELF": "a program",
    b"ID3": "an MP3",
    b"\x1f\x8b": "a gzip archive",
    b"OggS": "an Ogg audio file",
    b"fLaC": "a FLAC audio file",
}
"""Magic numbers of files people drop into a source folder by mistake."""

LEGACY_ENCODINGS = ("cp1252", "latin_1", "iso8859_15", "cp1250", "cp1251", "mac_roman")
"""Single-byte encodings tried when the bytes are not UTF-8; among equally good guesses the
earlier one wins (cp1250 and cp1252 read "Asbæk" equally well, but cp1252 is far commoner)."""

TEXT_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Checked in this order: the UTF-32 LE BOM begins with the UTF-16 LE one."""

NUL_SHARE_LIMIT = 100
"""More than one NUL byte in this many means binary (UTF-16 without a BOM counts as binary)."""
CONTROL_SHARE_LIMIT = 20
"""More than one C0 control byte (other than tab, newline, CR, form feed) in this many means binary."""
SAMPLE_BYTES = 65536


def read_source_bytes(path: Path) -> bytes:
    """The file's bytes, or a SourceError saying why they cannot be read."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file; check the path") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror})") from None
    if stat.S_ISDIR(status.st_mode):
        raise SourceError(f"{path}: is a folder; give a .txt or .md file (or use `reviewpub build {path}`)")
    if not stat.S_ISREG(status.st_mode):
        raise SourceError(f"{path}: is not a regular file; give a .txt or .md file")
    if status.st_size > MAX_SOURCE_BYTES:
        raise SourceError(f"{path}: is {status.st_size // 2**20} MB, too big for a review; split it into smaller files")
    try:
        return path.read_bytes()
    except PermissionError:
        raise SourceError(f"{path}: permission denied; check the file's permissions") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror})") from None


def binary_kind(data: bytes) -> str | None:
    """What the bytes look like if they are not text, e.g. ``"a PNG image"``; ``None`` for text."""
    for signature, kind in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            return kind
    if any(data.startswith(bom) for bom, _ in TEXT_BOMS):
        return None
    sample = data[:SAMPLE_BYTES]
    controls = sum(sample.count(byte) for byte in (*range(0, 9), 11, *range(14, 32)))
    if sample.count(0) * NUL_SHARE_LIMIT > len(sample) or controls * CONTROL_SHARE_LIMIT > len(sample):
        return "a binary file"
    return None


def decode_text(data: bytes, path: Path) -> str:
    """Decode a source file to clean text with ``\\n`` line endings.

    Raises:
        SourceError: the bytes are empty, binary, or in no encoding we can tell.
    """
    if not data.strip():
        raise SourceError(f"{path}: the file is empty; write the review in it: a title line, then paragraphs")
    kind = binary_kind(data)
    if kind is not None:
        raise SourceError(f"{path}: looks like {kind}, not text; give a .txt or .md file")
    text = normalize_line_endings(decode_bytes(data, path))
    text = clean_text(text)
    if not text.strip():
        raise SourceError(f"{path}: the file is empty; write the review in it: a title line, then paragraphs")
    return text


def decode_bytes(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16/32 with a BOM, else the likeliest legacy single-byte encoding.

    Raises:
        SourceError: the bytes are in no encoding that reads as text.
    """
    for bom, encoding in TEXT_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                name = encoding.replace("-sig", "").upper()
                raise SourceError(
                    f"{path}: broken {name} text (it starts with a {name} byte-order mark); save it as UTF-8"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    legacy = guess_legacy_encoding(data)
    if legacy is None:
        raise SourceError(
            f"{path}: cannot tell the text encoding (not UTF-8, not a known legacy encoding); save the file as UTF-8"
        )
    return data.decode(legacy)


def guess_legacy_encoding(data: bytes) -> str | None:
    """The single-byte encoding that reads ``data`` as the most plausible text, or ``None``."""
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        return None
    best = min((match.chaos, -match.coherence) for match in matches)
    # A match stands for every encoding that decodes the bytes to the same text
    # (could_be_from_charset); among all equally good ones, prefer the commonest.
    candidates = {
        encoding
        for match in matches
        if (match.chaos, -match.coherence) == best
        for encoding in match.could_be_from_charset
    }
    ranked = sorted(
        candidates, key=lambda name: LEGACY_ENCODINGS.index(name) if name in LEGACY_ENCODINGS else len(LEGACY_ENCODINGS)
    )
    return ranked[0]


def normalize_line_endings(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` (old Mac) become ``\\n``; Unicode line/paragraph separators too."""
    return (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n\n")
        .replace("\x85", "\n")
    )


def clean_text(text: str) -> str:
    """Text every writer can carry: no XML-illegal characters, tabs as spaces, accents composed (NFC).

    Keeps emoji, right-to-left text, combining marks, ``<`` and ``&`` (writers escape them);
    removes C0/C1 controls except newline, NUL, lone surrogates, U+FFFE/U+FFFF and the U+FFFD
    replacement character (a sign of damage, not of text).
    """
    text = NOT_IN_XML.sub("", text.replace("\t", " ").replace("\ufffd", ""))
    return unicodedata.normalize("NFC", text)
