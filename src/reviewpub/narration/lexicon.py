"""Pronunciation lexicons: the user's fixes for names the engine gets wrong ("Asbæk").

Three forms are read: a TOML or YAML mapping (``"Asbæk" = "Ahsbeck"``, or a table with
``alias``, ``phoneme`` and ``alphabet``) and the W3C Pronunciation Lexicon Specification
(PLS 1.0) with ``<alias>`` and ``<phoneme>`` entries. An engine that reads IPA inline (Piper)
is given an entry's IPA phonemes; the others are given its alias, and skip phoneme-only
entries with a warning. Every entry is kept for the EPUB, which ships the lexicon as PLS so
reading systems can use it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from reviewpub.errors import SettingsError

PLS_NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"
DEFAULT_ALPHABET = "ipa"
MAPPING_EXAMPLE = "'Asbæk = \"Ahsbeck\"'"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lexeme:
    """One PLS ``<lexeme>``: written forms and how they are said."""

    graphemes: tuple[str, ...]
    """The written forms, matched as whole words (exact case first, then any case)."""
    alias: str | None = None
    """Words that sound right when read as plain text ("Ahsbeck"); what the engine is given."""
    phoneme: str | None = None
    """A pronunciation in ``alphabet``; spoken by engines that read IPA (Piper), kept for the EPUB."""
    alphabet: str = DEFAULT_ALPHABET


@dataclass(frozen=True)
class Lexicon:
    """Written form → spoken form, applied to whole words before synthesis."""

    lexemes: tuple[Lexeme, ...]

    @classmethod
    def from_aliases(cls, aliases: Mapping[str, str]) -> Lexicon:
        """A lexicon of aliases only: ``{"Asbæk": "Ahsbeck"}``."""
        return cls(tuple(Lexeme((grapheme,), alias) for grapheme, alias in aliases.items()))

    @property
    def entries(self) -> tuple[tuple[str, str], ...]:
        """(grapheme, alias) for every written form that has an alias, in file order."""
        return tuple(
            (grapheme, lexeme.alias) for lexeme in self.lexemes if lexeme.alias for grapheme in lexeme.graphemes
        )

    @property
    def fingerprint(self) -> str:
        """A digest of every lexeme, the same whichever file format held them (for cache keys)."""
        canonical = json.dumps([[list(lexeme.graphemes), lexeme.alias, lexeme.phoneme, lexeme.alphabet]
                                for lexeme in self.lexemes], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def phoneme_entries(self) -> tuple[tuple[str, str], ...]:
        """(grapheme, IPA) for every written form with an IPA pronunciation, in file order."""
        return tuple(
            (grapheme, lexeme.phoneme) for lexeme in self.lexemes
            if lexeme.phoneme and lexeme.alphabet.lower() == DEFAULT_ALPHABET for grapheme in lexeme.graphemes
        )

    @functools.cached_property
    def matcher(self) -> tuple[re.Pattern[str], dict[str, str], dict[str, str]] | None:
        """(whole-word pattern of every grapheme, longest first; exact map; case-folded map)."""
        return whole_word_matcher(self.entries)

    @functools.cached_property
    def phoneme_matcher(self) -> tuple[re.Pattern[str], dict[str, str], dict[str, str]] | None:
        """``matcher`` for engines that read IPA: an entry's phonemes win over its alias."""
        return whole_word_matcher(self.entries, self.phoneme_entries)

    def apply(self, text: str, *, phonemes: bool = False) -> str:
        """``text`` with every known word replaced by its alias (exact case first, then any case).

        With ``phonemes``, words that have IPA are replaced by a placeholder word instead (see
        ``phoneme_placeholder``): the spoken-text rules run on the text afterwards and would take
        IPA apart, so ``insert_phonemes`` puts it in once they are done.
        """
        found = self.phoneme_matcher if phonemes else self.matcher
        if found is None:
            return text
        pattern, exact, folded = found

        def alias(match: re.Match[str]) -> str:
            written = match.group(0)
            return exact.get(written) or folded.get(written.casefold(), written)

        return pattern.sub(alias, text)

    def insert_phonemes(self, text: str) -> str:
        """Placeholders left by ``apply(phonemes=True)`` become Piper's inline IPA, ``[[ ... ]]``."""
        if PLACEHOLDER_MARK not in text:
            return text
        phonemes = self.ipa_by_placeholder
        return PLACEHOLDER.sub(lambda match: f" [[ {phonemes.get(match.group(0), '')} ]] ", text)

    @functools.cached_property
    def ipa_by_placeholder(self) -> dict[str, str]:
        """Placeholder word → the IPA it stands for."""
        return {phoneme_placeholder(index): ipa for index, (_, ipa) in enumerate(self.phoneme_entries)}

    def to_pls(self, language: str) -> bytes:
        """The lexicon as a W3C PLS 1.0 document (aliases and phonemes), for the read-aloud EPUB."""
        lexemes = []
        for lexeme in self.lexemes:
            parts = [f"<grapheme>{escape(grapheme)}</grapheme>" for grapheme in lexeme.graphemes]
            if lexeme.phoneme:
                alphabet = "" if lexeme.alphabet == DEFAULT_ALPHABET else f" alphabet={quoteattr(lexeme.alphabet)}"
                parts.append(f"<phoneme{alphabet}>{escape(lexeme.phoneme)}</phoneme>")
            if lexeme.alias:
                parts.append(f"<alias>{escape(lexeme.alias)}</alias>")
            lexemes.append(f"  <lexeme>{''.join(parts)}</lexeme>\n")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<lexicon version="1.0" xmlns="{PLS_NAMESPACE}" alphabet="{DEFAULT_ALPHABET}" '
            f"xml:lang={quoteattr(language)}>\n{''.join(lexemes)}</lexicon>\n"
        ).encode("utf-8")


PLACEHOLDER_MARK = "zqxphon"
PLACEHOLDER = re.compile(PLACEHOLDER_MARK + r"[a-j]+q")
"""A word no rule touches (lower-case letters only, no known abbreviation) standing for an
entry's IPA while the spoken-text rules run."""


def phoneme_placeholder(index: int) -> str:
    """The placeholder word of the ``index``-th phoneme entry: ``zqxphon`` + its digits as a-j + ``q``."""
    return PLACEHOLDER_MARK + "".join(chr(ord("a") + int(digit)) for digit in str(index)) + "q"


def whole_word_matcher(entries: tuple[tuple[str, str], ...], phonemes: tuple[tuple[str, str], ...] = ()
                       ) -> tuple[re.Pattern[str], dict[str, str], dict[str, str]] | None:
    """(whole-word pattern of every grapheme, longest first; exact map; case-folded map).

    Graphemes with IPA in ``phonemes`` map to their placeholder word, before any alias.
    """
    replacements = [(grapheme, phoneme_placeholder(index)) for index, (grapheme, _) in enumerate(phonemes)]
    replacements += list(entries)
    if not replacements:
        return None
    exact: dict[str, str] = {}
    folded: dict[str, str] = {}
    for grapheme, replacement in replacements:
        exact.setdefault(grapheme, replacement)
        folded.setdefault(grapheme.casefold(), replacement)
    alternatives = "|".join(re.escape(grapheme) for grapheme in sorted(exact, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), exact, folded


def warn_unspoken(lexicon: Lexicon, path: Path) -> Lexicon:
    """Log once which entries have a phoneme but no alias (only Piper can say phonemes)."""
    unspoken = [lexeme.graphemes[0] for lexeme in lexicon.lexemes if not lexeme.alias]
    if unspoken:
        logger.warning("%s: %d entr%s without an <alias> change only Piper's narration (other engines cannot "
                       "say phonemes; the EPUB keeps them): %s",
                       path, len(unspoken), "y" if len(unspoken) == 1 else "ies", ", ".join(unspoken[:8]))
    return lexicon


def mapping_text(value: object, path: Path, grapheme: str, field: str) -> str | None:
    """A string field of a TOML/YAML entry, stripped; None when absent."""
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
        raise SettingsError(f"{path}: entry {grapheme!r}: {field} must be a non-empty text")
    return str(value).strip()


def from_mapping(data: object, path: Path) -> Lexicon:
    """A lexicon from a parsed TOML/YAML mapping: word → alias, or word → {alias, phoneme, alphabet}."""
    if not isinstance(data, Mapping) or not data:
        raise SettingsError(f"{path}: a lexicon is a mapping of words to how they are said, such as {MAPPING_EXAMPLE}")
    lexemes = []
    for key, value in data.items():
        grapheme = str(key).strip()
        if not grapheme:
            raise SettingsError(f"{path}: an entry has an empty word; write it as {MAPPING_EXAMPLE}")
        if isinstance(value, Mapping):
            unknown = sorted(set(map(str, value)) - {"alias", "phoneme", "alphabet"})
            if unknown:
                raise SettingsError(
                    f"{path}: entry {grapheme!r}: unknown field {unknown[0]!r}; use alias, phoneme, alphabet")
            alias = mapping_text(value.get("alias"), path, grapheme, "alias")
            phoneme = mapping_text(value.get("phoneme"), path, grapheme, "phoneme")
            alphabet = mapping_text(value.get("alphabet"), path, grapheme, "alphabet") or DEFAULT_ALPHABET
            if alias is None and phoneme is None:
                raise SettingsError(f"{path}: entry {grapheme!r} needs an alias or a phoneme")
            lexemes.append(Lexeme((grapheme,), alias, phoneme, alphabet))
        else:
            alias = mapping_text(value, path, grapheme, "its spoken form")
            if alias is None:
                raise SettingsError(f"{path}: entry {grapheme!r} says nothing; write it as {MAPPING_EXAMPLE}")
            lexemes.append(Lexeme((grapheme,), alias))
    return warn_unspoken(Lexicon(tuple(lexemes)), path)


def local_name(tag: object) -> str:
    """An element's name without its namespace (comments and processing instructions give '')."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_texts(element: Any, name: str) -> list[tuple[str, Any]]:
    """(stripped text, child) of each non-empty child element called ``name`` (any namespace)."""
    found = []
    for child in element:
        text = (child.text or "").strip() if local_name(child.tag) == name else ""
        if text:
            found.append((text, child))
    return found


def from_pls(content: bytes, path: Path) -> Lexicon:
    """A lexicon from PLS: each ``<lexeme>``'s graphemes, first ``<alias>`` and first ``<phoneme>``."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as error:
        raise SettingsError(f"{path}: not a valid PLS file ({error})") from None
    if local_name(root.tag) != "lexicon":
        raise SettingsError(f"{path}: a PLS file's root element is <lexicon xmlns=\"{PLS_NAMESPACE}\">")
    default_alphabet = root.get("alphabet") or DEFAULT_ALPHABET
    lexemes = []
    for element in root:
        if local_name(element.tag) != "lexeme":
            continue
        graphemes = tuple(text for text, _ in child_texts(element, "grapheme"))
        aliases = [text for text, _ in child_texts(element, "alias")]
        phonemes = child_texts(element, "phoneme")
        if not graphemes or not (aliases or phonemes):
            continue
        phoneme = phonemes[0][0] if phonemes else None
        alphabet = (phonemes[0][1].get("alphabet") if phonemes else None) or default_alphabet
        lexemes.append(Lexeme(graphemes, aliases[0] if aliases else None, phoneme, alphabet))
    if not lexemes:
        raise SettingsError(f"{path}: no <lexeme> with a <grapheme> and an <alias> or <phoneme>")
    return warn_unspoken(Lexicon(tuple(lexemes)), path)


def load_lexicon(path: Path) -> Lexicon:
    """Read a lexicon from TOML (``.toml``), YAML (``.yaml``/``.yml``) or PLS (``.pls``/``.xml``).

    Raises:
        SettingsError: the file is missing, of another kind, or not a lexicon; the line says which.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".pls", ".xml", ".toml", ".yaml", ".yml"):
        raise SettingsError(f"{path}: a lexicon is a .toml, .yaml or .pls file")
    try:
        content = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the lexicon ({error.strerror}); check --lexicon") from None
    if suffix in (".pls", ".xml"):
        return from_pls(content, path)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: a lexicon must be UTF-8 text") from None
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib

        try:
            return from_mapping(tomllib.loads(text), path)
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{path}: not valid TOML ({error})") from None
    import yaml

    try:
        # BaseLoader keeps every scalar a string: "No", "On" and "1e3" stay words, not booleans or numbers.
        return from_mapping(yaml.load(text, Loader=yaml.BaseLoader), path)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        raise SettingsError(f"{path}: not valid YAML ({reason})") from None
