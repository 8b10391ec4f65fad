"""Reading a user's lexicon file (TOML, YAML or W3C PLS) into a ``Lexicon``, within limits.

Kept apart from the ``Lexicon`` model in ``lexicon.py``: this module owns what a file may hold
(sizes, counts, characters) and turns every way a file is wrong into one line that names the
file and the entry, while the model only matches and applies the entries it is given.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reviewpub.errors import SettingsError
from reviewpub.narration.lexicon import DEFAULT_ALPHABET, PLS_NAMESPACE, Lexeme, Lexicon

MAPPING_EXAMPLE = "'Asbæk = \"Ahsbeck\"'"

MAX_LEXICON_BYTES = 2_000_000
"""The largest lexicon file read, checked before parsing. 10,000 names with an alias and IPA take
about 0.85 MB as TOML or YAML and 1.3 MB as PLS; 2 MB of the densest YAML still parses in under
20 s with PyYAML's pure-Python loader (TOML 4 s, PLS 0.03 s), where a 50 MB file took a minute
and 2.3 GB."""
MAX_WRITTEN_FORMS = 10_000
"""The most written forms (graphemes) a lexicon may hold: far more than any review names, and a
bound on the matcher, which applies 10,000 forms to a 100,000-word book in a fraction of a second."""
MAX_WRITTEN_CHARACTERS = 100
"""The longest written form: a name or a phrase. It also bounds how deeply the matcher's pattern nests."""
MAX_SPOKEN_CHARACTERS = 200
"""The longest alias, phoneme string or alphabet name: every occurrence of a word becomes this,
so a huge alias for "the" would multiply the book's text."""
UNWRITABLE_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
"""C0 and C1 controls that are not white space, lone surrogates and U+FFFE/U+FFFF: no word holds
one, and the EPUB's PLS (XML, UTF-8) cannot."""

logger = logging.getLogger(__name__)


def warn_unspoken(lexicon: Lexicon, path: Path) -> Lexicon:
    """Log once which entries have a phoneme but no alias (only Piper can say phonemes)."""
    unspoken = [lexeme.graphemes[0] for lexeme in lexicon.lexemes if not lexeme.alias]
    if unspoken:
        logger.warning(
            "%s: %d entr%s without an <alias> change only Piper's narration (other engines cannot "
            "say phonemes; the EPUB keeps them): %s",
            path,
            len(unspoken),
            "y" if len(unspoken) == 1 else "ies",
            ", ".join(unspoken[:8]),
        )
    return lexicon


def shown(grapheme: str) -> str:
    """A written form as an error message quotes it: repr (controls escaped), cut to 40 characters."""
    return repr(grapheme if len(grapheme) <= 40 else grapheme[:40] + "…")


def kind_of(value: object) -> str:
    """What a parsed TOML/YAML value is, in the user's words (never ``str(value)``: a huge int cannot be)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (dt.date, dt.time)):
        return "a date or time"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def checked_text(text: str, path: Path, grapheme: str, field: str, limit: int) -> str:
    """``text`` on one line (white space runs made one space), refused when empty, too long or with a control."""
    single = " ".join(text.split())
    if not single:
        raise SettingsError(f"{path}: entry {shown(grapheme)}: {field} must be a non-empty text")
    if len(single) > limit:
        raise SettingsError(
            f"{path}: entry {shown(grapheme)}: {field} has {len(single):,} characters; "
            f"the most a lexicon allows is {limit:,}"
        )
    unwritable = UNWRITABLE_CHARACTERS.search(single)
    if unwritable:
        raise SettingsError(
            f"{path}: entry {shown(grapheme)}: {field} holds U+{ord(unwritable.group()):04X}, "
            "a control or non-character no word holds; remove it"
        )
    return single


def written_form(text: str, path: Path) -> str:
    """A grapheme, checked: one line, not empty, at most ``MAX_WRITTEN_CHARACTERS``, no controls."""
    if not text.split():
        raise SettingsError(f"{path}: an entry has an empty word; write it as {MAPPING_EXAMPLE}")
    return checked_text(text, path, text.strip(), "the written form", MAX_WRITTEN_CHARACTERS)


def mapping_text(value: object, path: Path, grapheme: str, field: str) -> str | None:
    """A text field of a TOML/YAML entry, checked; None when absent.

    Only text is accepted: a TOML number, date, list or table is not a way of saying a word
    (``1e999`` would have become "inf"), and is named rather than converted.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        hint = " in quotes" if isinstance(value, (bool, int, float, dt.date, dt.time)) else ""
        raise SettingsError(
            f"{path}: entry {shown(grapheme)}: {field} must be a non-empty text{hint}, not {kind_of(value)}"
        )
    return checked_text(value, path, grapheme, field, MAX_SPOKEN_CHARACTERS)


def refuse_too_many(count: int, path: Path) -> None:
    """Stop at more than ``MAX_WRITTEN_FORMS`` written forms, naming the limit."""
    if count > MAX_WRITTEN_FORMS:
        raise SettingsError(
            f"{path}: more than {MAX_WRITTEN_FORMS:,} words; a lexicon may hold at most "
            f"{MAX_WRITTEN_FORMS:,} (keep the names your reviews use)"
        )


def from_mapping(data: object, path: Path) -> Lexicon:
    """A lexicon from a parsed TOML/YAML mapping: word → alias, or word → {alias, phoneme, alphabet}."""
    if not isinstance(data, Mapping) or not data:
        raise SettingsError(f"{path}: a lexicon is a mapping of words to how they are said, such as {MAPPING_EXAMPLE}")
    refuse_too_many(len(data), path)
    lexemes = []
    for key, value in data.items():
        if not isinstance(key, str):  # YAML's BaseLoader and TOML give text keys; anything else is no word
            raise SettingsError(f"{path}: an entry's word is {kind_of(key)}; write it as {MAPPING_EXAMPLE}")
        grapheme = written_form(key, path)
        if isinstance(value, Mapping):
            unknown = sorted(set(map(str, value)) - {"alias", "phoneme", "alphabet"})
            if unknown:
                raise SettingsError(
                    f"{path}: entry {shown(grapheme)}: unknown field {shown(unknown[0])}; use alias, phoneme, alphabet"
                )
            alias = mapping_text(value.get("alias"), path, grapheme, "alias")
            phoneme = mapping_text(value.get("phoneme"), path, grapheme, "phoneme")
            alphabet = mapping_text(value.get("alphabet"), path, grapheme, "alphabet") or DEFAULT_ALPHABET
            if alias is None and phoneme is None:
                raise SettingsError(f"{path}: entry {shown(grapheme)} needs an alias or a phoneme")
            lexemes.append(Lexeme((grapheme,), alias, phoneme, alphabet))
        else:
            alias = mapping_text(value, path, grapheme, "its spoken form")
            if alias is None:
                raise SettingsError(f"{path}: entry {shown(grapheme)} says nothing; write it as {MAPPING_EXAMPLE}")
            lexemes.append(Lexeme((grapheme,), alias))
    return warn_unspoken(Lexicon(tuple(lexemes)), path)


def local_name(tag: object) -> str:
    """An element's name without its namespace (comments and processing instructions give '')."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_texts(element: Any, name: str) -> list[tuple[str, Any]]:
    """(text, child) of each child element called ``name`` (any namespace) with non-blank text."""
    found = []
    for child in element:
        text = (child.text or "") if local_name(child.tag) == name else ""
        if text.strip():
            found.append((text, child))
    return found


def from_pls(content: bytes, path: Path) -> Lexicon:
    """A lexicon from PLS: each ``<lexeme>``'s graphemes, first ``<alias>`` and first ``<phoneme>``."""
    from lxml import etree

    # libxml2's own limits stay on (no huge_tree): nesting past 256 elements and text nodes past
    # 10 MB are syntax errors, and entities are never expanded.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as error:
        reason = (
            "elements nested more than 256 deep" if "Excessive depth" in str(error) else " ".join(str(error).split())
        )
        raise SettingsError(f"{path}: not a valid PLS file ({reason})") from None
    if local_name(root.tag) != "lexicon":
        raise SettingsError(f'{path}: a PLS file\'s root element is <lexicon xmlns="{PLS_NAMESPACE}">')
    default_alphabet = root.get("alphabet") or DEFAULT_ALPHABET
    lexemes = []
    written_forms = 0
    for element in root:
        if local_name(element.tag) != "lexeme":
            continue
        graphemes = tuple(written_form(text, path) for text, _ in child_texts(element, "grapheme"))
        written_forms += len(graphemes)
        refuse_too_many(written_forms, path)
        aliases = child_texts(element, "alias")
        phonemes = child_texts(element, "phoneme")
        if not graphemes or not (aliases or phonemes):
            continue
        alias = checked_text(aliases[0][0], path, graphemes[0], "alias", MAX_SPOKEN_CHARACTERS) if aliases else None
        phoneme = (
            checked_text(phonemes[0][0], path, graphemes[0], "phoneme", MAX_SPOKEN_CHARACTERS) if phonemes else None
        )
        alphabet = (phonemes[0][1].get("alphabet") if phonemes else None) or default_alphabet
        alphabet = checked_text(alphabet, path, graphemes[0], "alphabet", MAX_SPOKEN_CHARACTERS)
        lexemes.append(Lexeme(graphemes, alias, phoneme, alphabet))
    if not lexemes:
        raise SettingsError(f"{path}: no <lexeme> with a <grapheme> and an <alias> or <phoneme>")
    return warn_unspoken(Lexicon(tuple(lexemes)), path)


def read_limited(path: Path) -> bytes:
    """The file's bytes, refused unread past ``MAX_LEXICON_BYTES``.

    The size is checked before parsing (a 50 MB lexicon took a minute and 2.3 GB to parse), and
    the read itself stops one byte past the limit, for a file whose size its metadata does not tell.
    """
    limit = f"a lexicon may be at most {MAX_LEXICON_BYTES // 1_000_000} MB; keep the names your reviews use"
    try:
        if path.stat().st_size > MAX_LEXICON_BYTES:
            raise SettingsError(f"{path}: {path.stat().st_size:,} bytes; {limit}")
        with path.open("rb") as handle:
            content = handle.read(MAX_LEXICON_BYTES + 1)
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the lexicon ({error.strerror}); check --lexicon") from None
    if len(content) > MAX_LEXICON_BYTES:
        raise SettingsError(f"{path}: more than {MAX_LEXICON_BYTES:,} bytes; {limit}")
    return content


LONG_DIGITS = re.compile(r"\d[\d_]{64,}")
"""A run of digits no lexicon value needs, looked for when tomllib refuses a number without saying where."""


def line_of(text: str, offset: int) -> str:
    """``line N`` and, when the line starts an entry (``key = ...``), that entry's name."""
    number = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    key = text[start:offset].split("=", 1)[0].strip() if "=" in text[start:offset] else ""
    return f"line {number}, entry {shown(key.strip(chr(34) + chr(39)))}" if key else f"line {number}"


def parse_toml(text: str, path: Path) -> object:
    """``text`` parsed as TOML; every way tomllib fails becomes one line naming the file and the place."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML ({' '.join(str(error).split())})") from None
    except ValueError:
        # int() refuses more than sys.get_int_max_str_digits() (4,300) decimal digits, and tomllib
        # passes that on with no position: find the number ourselves.
        found = LONG_DIGITS.search(text)
        where = f"{line_of(text, found.start())}: " if found else ""
        raise SettingsError(
            f"{path}: {where}a number too long to read; a lexicon's words are texts in quotes, "
            f"such as {MAPPING_EXAMPLE}"
        ) from None
    except RecursionError:
        raise SettingsError(f"{path}: not valid as a lexicon (lists or tables nested too deeply)") from None


def parse_yaml(text: str, path: Path) -> object:
    """``text`` parsed as YAML, every scalar kept a string; each way PyYAML fails becomes one line."""
    import yaml

    try:
        # BaseLoader keeps every scalar a string: "No", "On" and "1e3" stay words, not booleans or numbers.
        return yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        raise SettingsError(f"{path}: not valid YAML ({reason})") from None
    except RecursionError:
        raise SettingsError(f"{path}: not valid as a lexicon (lists or mappings nested too deeply)") from None


def load_lexicon(path: Path) -> Lexicon:
    """Read a lexicon from TOML (``.toml``), YAML (``.yaml``/``.yml``) or PLS (``.pls``/``.xml``).

    A lexicon may be at most ``MAX_LEXICON_BYTES`` and hold at most ``MAX_WRITTEN_FORMS`` words.

    Raises:
        SettingsError: the file is missing, of another kind, too large, or not a lexicon; the line says which.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".pls", ".xml", ".toml", ".yaml", ".yml"):
        raise SettingsError(f"{path}: a lexicon is a .toml, .yaml or .pls file")
    content = read_limited(path)
    if suffix in (".pls", ".xml"):
        return from_pls(content, path)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: a lexicon must be UTF-8 text") from None
    data = parse_toml(text, path) if suffix == ".toml" else parse_yaml(text, path)
    return from_mapping(data, path)
