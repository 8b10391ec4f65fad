"""Pronunciation lexicons: the user's fixes for names the engine gets wrong ("Asbæk").

A ``Lexicon`` holds PLS-style lexemes (written forms with an alias, IPA phonemes or both) and
applies them to whole words before synthesis: an engine that reads IPA inline (Piper) is given
an entry's IPA phonemes; the others are given its alias. Every entry is kept for the EPUB,
which ships the lexicon as PLS so reading systems can use it. Reading a user's TOML, YAML or
PLS file into a ``Lexicon`` is ``lexicon_files.py``'s job.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PLS_NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"
DEFAULT_ALPHABET = "ipa"


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
        canonical = json.dumps(
            [[list(lexeme.graphemes), lexeme.alias, lexeme.phoneme, lexeme.alphabet] for lexeme in self.lexemes],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def phoneme_entries(self) -> tuple[tuple[str, str], ...]:
        """(grapheme, IPA) for every written form with an IPA pronunciation, in file order."""
        return tuple(
            (grapheme, lexeme.phoneme)
            for lexeme in self.lexemes
            if lexeme.phoneme and lexeme.alphabet.lower() == DEFAULT_ALPHABET
            for grapheme in lexeme.graphemes
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
        # Imported here: xml.sax.saxutils brings urllib.request, http and ssl (0.01 s) into every narration.
        from xml.sax.saxutils import escape, quoteattr

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
        ).encode()


PLACEHOLDER_MARK = "zqxphon"
PLACEHOLDER = re.compile(PLACEHOLDER_MARK + r"[a-j]+q")
"""A word no rule touches (lower-case letters only, no known abbreviation) standing for an
entry's IPA while the spoken-text rules run."""


def phoneme_placeholder(index: int) -> str:
    """The placeholder word of the ``index``-th phoneme entry: ``zqxphon`` + its digits as a-j + ``q``."""
    return PLACEHOLDER_MARK + "".join(chr(ord("a") + int(digit)) for digit in str(index)) + "q"


def whole_word_matcher(
    entries: tuple[tuple[str, str], ...], phonemes: tuple[tuple[str, str], ...] = ()
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
    return re.compile(rf"(?<!\w)(?:{prefix_tree_pattern(exact)})(?!\w)", re.IGNORECASE), exact, folded


WORD_END = ""
"""The prefix tree's mark that a written form ends at a node (no character is the empty string)."""


IGNORECASE_EXTRAS = {"ı": "i", "\u1fd3": "\u0390", "\u1fe3": "\u03b0", "\ufb05": "\ufb06"}
"""Characters ``re.IGNORECASE`` treats as one that case folding keeps apart (CPython's
``Lib/re/_casefix.py``): dotless i and i, two Greek letters with dialytika and tonos, two ligatures."""


@functools.lru_cache(maxsize=4096)
def case_key(character: str) -> str:
    """One character per class of characters ``re.IGNORECASE`` treats as the same, so they share a node.

    The prefix tree must not hold two branches that match the same character, or the first
    would win even when the second leads to a longer word.
    """
    folded = character.casefold()
    key = folded if len(folded) == 1 else character.lower()[:1]  # ß → ß, ẞ → ß, İ → i
    return IGNORECASE_EXTRAS.get(key, key)


def prefix_tree_pattern(words: Iterable[str]) -> str:
    """A regular expression for any of ``words`` that prefers the longest, with shared prefixes factored out.

    One alternative per word made every position of the text try all of them: 10,000 entries
    took 20 s over a 100,000-word text. As a prefix tree a position tries only the branches its
    next character allows (0.15 s). Each word's end is an optional group whose longer branches
    come first, so the regex still backtracks to a shorter word when a longer one is not followed
    by a word boundary. Nesting is bounded by ``lexicon_files.MAX_WRITTEN_CHARACTERS``.
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for character in word:
            node = node.setdefault(case_key(character), {})
        node[WORD_END] = {}
    return branch_pattern(root)


def branch_pattern(node: dict[str, Any]) -> str:
    """The pattern of one prefix-tree node: its branches, optional where a word ends here."""
    branches = []
    for character, child in sorted(node.items()):
        if character == WORD_END:
            continue
        run = [character]
        while len(child) == 1 and WORD_END not in child:  # a run without a choice: one literal, no recursion
            ((character, child),) = child.items()
            run.append(character)
        branches.append(re.escape("".join(run)) + branch_pattern(child))
    if not branches:
        return ""
    if len(branches) == 1 and WORD_END not in node:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if WORD_END in node else group
