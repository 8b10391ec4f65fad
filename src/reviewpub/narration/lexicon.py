"""Pronunciation lexicons: the user's fixes for names the engine gets wrong ("Asbæk").

Three forms are read: a TOML or YAML mapping (``Asbæk = "Ahsbeck"``) and the W3C
Pronunciation Lexicon Specification (PLS) with ``<alias>`` entries. The same lexicon is
shipped as PLS inside the read-aloud EPUB so reading systems can use it too.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reviewpub.errors import SettingsError

PLS_NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"


@dataclass(frozen=True)
class Lexicon:
    """Written form → spoken form, applied to whole words before synthesis."""

    entries: tuple[tuple[str, str], ...]

    @property
    def fingerprint(self) -> str:
        """A digest of the entries: part of every cache key the lexicon affects."""
        return hashlib.sha256(repr(sorted(self.entries)).encode("utf-8")).hexdigest()[:16]

    def pattern(self) -> re.Pattern[str] | None:
        """One regex matching any grapheme as a whole word, longest first."""
        if not self.entries:
            return None
        graphemes = sorted((grapheme for grapheme, _ in self.entries), key=len, reverse=True)
        return re.compile(r"(?<!\w)(" + "|".join(re.escape(grapheme) for grapheme in graphemes) + r")(?!\w)", re.IGNORECASE)

    def apply(self, text: str) -> str:
        """``text`` with every known word replaced by its spoken form (exact case first)."""
        pattern = self.pattern()
        if pattern is None:
            return text
        exact = dict(self.entries)
        folded = {grapheme.casefold(): alias for grapheme, alias in self.entries}
        return pattern.sub(lambda match: exact.get(match.group(1), folded.get(match.group(1).casefold(), match.group(1))), text)

    def to_pls(self, language: str) -> bytes:
        """The lexicon as a W3C PLS document (aliases), for the read-aloud EPUB."""
        lexemes = "".join(
            f"<lexeme><grapheme>{escape(grapheme)}</grapheme><alias>{escape(alias)}</alias></lexeme>\n"
            for grapheme, alias in self.entries
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<lexicon version="1.0" xmlns="{PLS_NAMESPACE}" alphabet="ipa" xml:lang="{escape(language)}">\n'
            f"{lexemes}</lexicon>\n"
        ).encode("utf-8")


def from_mapping(data: object, path: Path) -> Lexicon:
    """A lexicon from a parsed TOML/YAML mapping of strings."""
    if not isinstance(data, Mapping):
        raise SettingsError(f"{path}: a lexicon is a mapping such as 'Asbæk = \"Ahsbeck\"'")
    entries = []
    for grapheme, alias in data.items():
        if not isinstance(alias, (str, int, float)) or not str(grapheme).strip() or not str(alias).strip():
            raise SettingsError(f"{path}: entry {grapheme!r} must map a word to how it is said")
        entries.append((str(grapheme).strip(), str(alias).strip()))
    return Lexicon(tuple(entries))


def from_pls(content: bytes, path: Path) -> Lexicon:
    """A lexicon from PLS: each ``<lexeme>``'s graphemes map to its first ``<alias>``."""
    from lxml import etree

    try:
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise SettingsError(f"{path}: not a valid PLS file ({error})") from None
    entries = []
    skipped = 0
    for lexeme in root.iter(f"{{{PLS_NAMESPACE}}}lexeme"):
        alias = lexeme.findtext(f"{{{PLS_NAMESPACE}}}alias")
        graphemes = [element.text.strip() for element in lexeme.iter(f"{{{PLS_NAMESPACE}}}grapheme") if element.text]
        if alias and alias.strip():
            entries += [(grapheme, alias.strip()) for grapheme in graphemes]
        else:
            skipped += 1
    if not entries:
        raise SettingsError(f"{path}: no <lexeme> with an <alias> (phoneme-only entries can't be spoken by these engines)")
    return Lexicon(tuple(entries))


def load_lexicon(path: Path) -> Lexicon:
    """Read a lexicon from TOML (``.toml``), YAML (``.yaml``/``.yml``) or PLS (``.pls``/``.xml``)."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the lexicon ({error.strerror})") from None
    suffix = path.suffix.lower()
    if suffix in (".pls", ".xml"):
        return from_pls(content, path)
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib

        try:
            return from_mapping(tomllib.loads(content.decode("utf-8")), path)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path}: not valid TOML ({error})") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return from_mapping(yaml.safe_load(content.decode("utf-8")), path)
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path}: not valid YAML ({error})") from None
    raise SettingsError(f"{path}: a lexicon is a .toml, .yaml or .pls file")
