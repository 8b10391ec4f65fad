"""Bytes → text: encodings, line endings, binary and undecodable files, XML-illegal characters."""

from __future__ import annotations

import codecs
import os
import random
import re
from pathlib import Path

import pytest

from reviewpub.errors import SourceError
from reviewpub.reading import read_document
from reviewpub.reading.decoding import binary_kind, clean_text, decode_text, read_source_bytes

TEXT = "Café Review\n\nIt’s “great” — really. Zoë and Pilou Asbæk agree.\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT.encode("utf-8"), TEXT),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), TEXT),
        (codecs.BOM_UTF8 + TEXT.replace("\n", "\r\n").encode("utf-8"), TEXT),
        (TEXT.replace("\n", "\r\n").encode("utf-8"), TEXT),
        (TEXT.replace("\n", "\r").encode("utf-8"), TEXT),
        (TEXT.encode("utf-16"), TEXT),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), TEXT),
        (TEXT.encode("utf-32"), TEXT),
        (TEXT.encode("cp1252"), TEXT),
        (TEXT.replace("\n", "\r\n").encode("cp1252"), TEXT),
        (
            "Caf\xe9 Review\n\nIt was tr\xe8s bien, na\xefve.\n".encode("latin-1"),
            "Café Review\n\nIt was très bien, naïve.\n",
        ),
        ("Обзор\n\nЭто хороший фильм о космосе.\n".encode("cp1251"), "Обзор\n\nЭто хороший фильм о космосе.\n"),
        ("Title\u2028Line\u2029Para".encode("utf-8"), "Title\nLine\n\nPara"),
    ],
    ids=[
        "utf-8",
        "utf-8 BOM",
        "utf-8 BOM CRLF",
        "CRLF",
        "old Mac CR",
        "utf-16 LE BOM",
        "utf-16 BE BOM",
        "utf-32",
        "cp1252",
        "cp1252 CRLF",
        "latin-1",
        "cp1251",
        "unicode separators",
    ],
)
def test_decode_text(data: bytes, expected: str) -> None:
    assert decode_text(data, Path("x.txt")) == expected


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "a PNG image"),
        (b"%PDF-1.7\n...", "a PDF"),
        (b"PK\x03\x04rest of an epub", "a ZIP archive (an EPUB or Office file?)"),
        (b"\xff\xd8\xff\xe0JFIF", "a JPEG image"),
        (b"text\0with\0many\0nul\0bytes\0" * 50, "a binary file"),
        (bytes(range(256)) * 64, "a binary file"),
        (bytes([1, 2, 3, 65, 66, 4, 5]) * 100, "a binary file"),
        ("UTF-16 without a byte-order mark".encode("utf-16-le"), "a binary file"),
    ],
    ids=["png", "pdf", "zip", "jpeg", "nul-heavy", "all bytes", "control-heavy", "utf-16 no BOM"],
)
def test_binary_files_are_named(data: bytes, kind: str) -> None:
    assert binary_kind(data) == kind
    with pytest.raises(SourceError, match="^x.txt: looks like " + re.escape(kind) + ", not text"):
        decode_text(data, Path("x.txt"))


@pytest.mark.parametrize(
    "data",
    [TEXT.encode("utf-8"), TEXT.encode("cp1252"), TEXT.encode("utf-16"), b"a\tb\x0cc\n", "שלום 🎬".encode()],
)
def test_text_is_not_taken_for_binary(data: bytes) -> None:
    assert binary_kind(data) is None


def test_undecodable_bytes_are_reported() -> None:
    generator = random.Random(3)
    soup = bytes(generator.randrange(128, 256) for _ in range(4000))
    with pytest.raises(SourceError, match=r"^x.txt: cannot tell the text encoding .*save the file as UTF-8$"):
        decode_text(b"Title\n\n" + soup, Path("x.txt"))


def test_broken_utf16_is_reported() -> None:
    with pytest.raises(SourceError, match="broken UTF-16 text"):
        decode_text(codecs.BOM_UTF16_LE + b"a\x00\x00\xd8", Path("x.txt"))


@pytest.mark.parametrize("data", [b"", b"   \n\n \t\r\n", codecs.BOM_UTF8 + b"\n\n", b"\x0c\n  \n\x0c"])
def test_empty_files_are_reported(data: bytes) -> None:
    with pytest.raises(
        SourceError, match=r"^x\.txt: the file is empty; write the review in it: a title line, then paragraphs$"
    ):
        decode_text(data, Path("x.txt"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b", "ab"),
        ("a\x07\x1bb", "ab"),
        ("a\x85\x9fb", "ab"),
        ("a\ud800b\udfffc", "abc"),
        ("a\ufffe\uffffb", "ab"),
        ("a\ufffdb", "ab"),
        ("a\tb", "a b"),
        ("line\nline", "line\nline"),
        ("e\u0301", "\u00e9"),
        ("q\u0323\u0307", "q\u0323\u0307"),
        ("🎬🍿 שלום مرحبا", "🎬🍿 שלום مرحبا"),
        ("<b>&amp;</b> ]]>", "<b>&amp;</b> ]]>"),
        ("“quotes” — dashes – ‘too’…", "“quotes” — dashes – ‘too’…"),
    ],
    ids=[
        "NUL",
        "C0",
        "C1",
        "lone surrogates",
        "non-characters",
        "replacement",
        "tab",
        "newline",
        "composed accent",
        "combining marks",
        "emoji and RTL",
        "markup as text",
        "typography",
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r": no such file; check the path$"):
        read_source_bytes(tmp_path / "nope.txt")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r": is a folder; give a .txt or .md file"):
        read_source_bytes(tmp_path)


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r": is not a regular file"):
        read_source_bytes(fifo)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "locked.txt"
    source.write_text("Title\n\nBody.\n")
    source.chmod(0)
    if os.access(source, os.R_OK):
        # Running as root: permissions do not stop reads, so refuse the read the way the OS would.
        real = Path.read_bytes

        def refuse(self: Path) -> bytes:
            if self == source:
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(SourceError, match=r"locked.txt: permission denied; check the file's permissions$"):
        read_document(source)


@pytest.mark.parametrize(
    ("transform", "name"),
    [
        (lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"), "utf-8 BOM + CRLF"),
        (lambda text: text.replace("\n", "\r").encode("utf-8"), "old Mac CR"),
        (lambda text: text.encode("cp1252"), "cp1252"),
        (lambda text: text.replace("\n", "\r\n").encode("latin-1"), "latin-1 CRLF"),
        (lambda text: text.encode("utf-16"), "utf-16 BOM"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_encodings_give_the_same_document(tmp_path: Path, transform: object, name: str) -> None:
    source = Path(__file__).with_name("documents") / "caps-and-setext.txt"
    copy = tmp_path / source.name
    copy.write_bytes(transform(source.read_text(encoding="utf-8")))  # type: ignore[operator]
    original, converted = read_document(source), read_document(copy)
    assert converted.chapters == original.chapters
    assert converted.metadata.title == original.metadata.title
    text = " ".join(sentence.text for sentence in converted.sentences())
    assert "Höss" in text and "Asbæk" in text


def test_cp1252_curly_quotes_and_names(tmp_path: Path) -> None:
    copy = tmp_path / "review.txt"
    copy.write_bytes("Café Review\r\n\r\nIt’s “great” — really. Zoë agrees.\r\n".encode("cp1252"))
    document = read_document(copy)
    assert [sentence.text for sentence in document.sentences()] == [
        "Café Review",
        "It’s “great” — really.",
        "Zoë agrees.",
    ]
