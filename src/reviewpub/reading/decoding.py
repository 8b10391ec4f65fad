"""Bytes → text: BOMs, line endings, legacy single-byte encodings, and characters XML forbids."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from reviewpub.errors import SourceError

BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF",
    b"PK\x03\x04": "a ZIP archive (an EPUB or Office file?)",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x7fELF": "a program",
    b"ID3": "an MP3",
}
LEGACY_ENCODINGS = ["cp1252", "latin_1", "iso8859_15", "cp1250", "cp1251", "mac_roman"]
"""Single-byte encodings tried, in this order of preference, when the bytes are not UTF-8."""

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
"""Characters XML 1.0 cannot carry (or that only mean trouble in text): removed on reading."""


def read_source_bytes(path: Path) -> bytes:
    """The file's bytes, or a SourceError saying why they cannot be read."""
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder; give a .txt or .md file (or use `reviewpub build {path}`)")
    try:
        return path.read_bytes()
    except PermissionError:
        raise SourceError(f"{path}: permission denied; check the file's permissions") from None
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror})") from None


def looks_binary(data: bytes) -> str | None:
    """What the bytes look like if they are not text (``None`` when they are text)."""
    for signature, kind in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            return kind
    sample = data[:65536]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    if sample.count(0) > len(sample) // 100 or controls > len(sample) // 20:
        return "a binary file"
    return None


def decode_text(data: bytes, path: Path) -> str:
    """Decode a source file to text with ``\\n`` line endings, removing forbidden characters.

    Raises:
        SourceError: the bytes are empty, binary, or in no encoding we can tell.
    """
    if not data.strip():
        raise SourceError(f"{path}: the file is empty")
    kind = looks_binary(data)
    if kind is not None:
        raise SourceError(f"{path}: looks like {kind}, not text; give a .txt or .md file")
    text = decode_bytes(data, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = clean_text(text)
    if not text.strip():
        raise SourceError(f"{path}: the file is empty")
    return text


def decode_bytes(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else the likeliest legacy single-byte encoding."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SourceError(f"{path}: broken UTF-16 text; save it as UTF-8") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data, cp_isolation=LEGACY_ENCODINGS))
    if matches:
        # Ties are common on short texts (cp1250 and cp1252 read "Asbæk" equally well):
        # among the equally good guesses, prefer the most widely used encoding.
        score = min((match.chaos, -match.coherence) for match in matches)
        tied = [match for match in matches if (match.chaos, -match.coherence) == score]
        tied.sort(key=lambda match: LEGACY_ENCODINGS.index(match.encoding) if match.encoding in LEGACY_ENCODINGS else 99)
        return str(tied[0])
    for encoding in LEGACY_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(f"{path}: cannot tell the text encoding; save the file as UTF-8")


def clean_text(text: str) -> str:
    """Remove characters XML cannot carry; tabs become spaces; compose accents (NFC)."""
    text = text.replace("\t", " ")
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if _has_surrogates(text) else text
    text = FORBIDDEN.sub("", text.replace("\ufffd", ""))
    return unicodedata.normalize("NFC", text)


def _has_surrogates(text: str) -> bool:
    """Whether ``text`` holds lone surrogates (which no encoder accepts)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
