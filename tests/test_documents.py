"""Golden outlines: every tests/documents/NAME.txt|.md (and the seed) against NAME.outline.json.

The outlines were checked by eye, one document per heading style and FAQ form; a change in the
heading rules shows up here as a diff of titles. Every golden document must also give a model
that keeps the Document's promises (unique slug ids, sentence ids, clean text).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reviewpub.document import Document
from reviewpub.reading import read_document
from tests.helpers.documents import DOCUMENTS, SOURCES, check_model_promises
from tests.helpers.paths import SEED

GOLDEN = [*SOURCES, SEED]
"""The seed lives in source/, its expected outline beside the others as iss-review.outline.json."""


def expected_outline(source: Path) -> dict[str, Any]:
    """The golden outline stored beside the sources."""
    return json.loads((DOCUMENTS / f"{source.stem}.outline.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def titles(document: Document) -> dict[str, Any]:
    """The outline reduced to titles and children, the shape of the golden files."""

    def tree(node: dict[str, Any], key: str) -> dict[str, Any]:
        return {"title": node["title"], key: [tree(child, "children") for child in node[key]]}

    return tree(document.outline(), "chapters")


@pytest.mark.parametrize("source", GOLDEN, ids=[path.name for path in GOLDEN])
def test_golden_outline(source: Path) -> None:
    document = read_document(source)
    assert titles(document) == expected_outline(source)
    check_model_promises(document)


def test_every_golden_source_has_an_outline_and_every_outline_a_source() -> None:
    outlines = {path.name.removesuffix(".outline.json") for path in DOCUMENTS.glob("*.outline.json")}
    assert outlines == {path.stem for path in GOLDEN}
    assert len(SOURCES) >= 15


def test_the_encoded_golden_files_keep_their_bytes() -> None:
    """Guards the golden files against an editor or a git setting that re-encodes them."""
    legacy = (DOCUMENTS / "cp1252-crlf.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        legacy.decode("utf-8")
    assert b"\r\n" in legacy and "Asbæk".encode("cp1252") in legacy
    bom = (DOCUMENTS / "bom-crlf-front-matter.md").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf---\r\n") and b"\n" not in bom.replace(b"\r\n", b"")
