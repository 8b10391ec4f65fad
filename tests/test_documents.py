"""Golden outlines: every tests/documents/NAME.txt|.md beside NAME.outline.json, and the seed."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from reviewpub.reading import read_document
from tests.conftest import SEED
from tests.test_cli import SEED_OUTLINE

DOCUMENTS = Path(__file__).with_name("documents")
SOURCES = sorted(path for path in DOCUMENTS.iterdir() if path.suffix in (".txt", ".md"))


def titles(path: Path) -> dict[str, Any]:
    """The outline of a source reduced to titles and children."""

    def tree(node: dict[str, Any], key: str) -> dict[str, Any]:
        return {"title": node["title"], key: [tree(child, "children") for child in node[key]]}

    return tree(read_document(path).outline(), "chapters")


@pytest.mark.parametrize("source", SOURCES, ids=[path.name for path in SOURCES])
def test_golden_outline(source: Path) -> None:
    expected = json.loads(source.with_suffix(".outline.json").read_text(encoding="utf-8"))
    assert titles(source) == expected


def test_seed_outline() -> None:
    assert titles(SEED) == SEED_OUTLINE


@pytest.mark.parametrize(
    ("encoding_name", "transform"),
    [
        ("utf-8 BOM + CRLF", lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8")),
        ("old Mac CR", lambda text: text.replace("\n", "\r").encode("utf-8")),
        ("cp1252", lambda text: text.encode("cp1252")),
        ("latin-1", lambda text: text.encode("latin-1")),
        ("utf-16 BOM", lambda text: text.encode("utf-16")),
    ],
)
def test_encodings_give_the_same_outline(tmp_path: Path, encoding_name: str, transform: Any) -> None:
    source = DOCUMENTS / "caps-and-setext.txt"
    text = source.read_text(encoding="utf-8")
    copy = tmp_path / source.name
    copy.write_bytes(transform(text))
    document = read_document(copy)
    assert titles(copy) == titles(source)
    body = " ".join(sentence.text for sentence in document.sentences())
    assert "Höss" in body and "Asbæk" in body


def test_cp1252_curly_quotes_are_detected(tmp_path: Path) -> None:
    copy = tmp_path / "review.txt"
    copy.write_bytes("Café Review\n\nIt’s “great” — really. Zoë agrees.\n".encode("cp1252"))
    document = read_document(copy)
    assert [sentence.text for sentence in document.sentences()][1:] == ["It’s “great” — really.", "Zoë agrees."]
