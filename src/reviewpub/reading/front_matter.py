"""YAML front matter → plain values, read as text and never as Python objects.

Every metadata field is text, so a scalar is kept as the author wrote it (``title: 1984``
stays ``1984``, ``title: 1e3`` stays ``1e3``) instead of going through YAML's int, float
or date constructors, whose failures on values like ``2024-02-30`` or a 5,000-digit number
were tracebacks. Only dates are converted, so ``2024-01-19 10:00`` reads as ISO 8601; one
that is not a real date stays text and the date check names it. The document is only
composed into nodes (no object is ever built from a tag), so ``!!python`` tags and alias
bombs cost nothing; tags outside YAML's core schema are still refused, naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewpub.errors import SourceError

if TYPE_CHECKING:
    import yaml

MAX_FRONT_MATTER_BYTES = 64 * 1024
"""Front matter is a handful of metadata lines; more than 64 KB is a mistake (or an attack)."""
MAX_FRONT_MATTER_DEPTH = 32
"""Deepest nesting of lists and mappings allowed; PyYAML composes recursively, so bound it first."""
FIRST_CONTENT_LINE = 2
"""Line of the source where the front matter's YAML starts (after the opening ``---``)."""
SHOWN_CHARACTERS = 40
"""How much of a bad value an error message quotes."""

YAML_TAG = "tag:yaml.org,2002:"
NULL_TAG = YAML_TAG + "null"
TIMESTAMP_TAG = YAML_TAG + "timestamp"
BINARY_TAG = YAML_TAG + "binary"
SCALAR_TAGS = frozenset(YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "binary"))
SEQUENCE_TAGS = frozenset(YAML_TAG + name for name in ("seq", "omap", "pairs"))
MAPPING_TAGS = frozenset(YAML_TAG + name for name in ("map", "set"))
RESOLVED_TAGS = frozenset(YAML_TAG + name for name in ("int", "float", "bool", "null", "timestamp"))
"""Tags a plain scalar gets from its form; an explicit one must fit the value (``!!int abc`` does not)."""
MERGE_KEY_TAG = YAML_TAG + "merge"

FrontValue = str | None | list[str] | dict[str, str | None]
"""A front-matter value: text, nothing, a list of texts or a mapping of texts (one level)."""


def load_front_matter(content: str, path: str) -> dict[str, FrontValue]:
    """Front matter as a mapping of lowercase keys to text values.

    Raises:
        SourceError: one line naming the file (and the field, where there is one): the front
            matter is too big, too deeply nested, not YAML, not a mapping, or uses a tag that
            does not fit its value.
    """
    import yaml

    size = len(content.encode("utf-8", "replace"))
    if size > MAX_FRONT_MATTER_BYTES:
        raise SourceError(
            f"{path}: the front matter is {size // 1024} KB, more than the {MAX_FRONT_MATTER_BYTES // 1024} KB "
            "allowed; keep it to the review's metadata"
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, where PyYAML has it: ten times faster
    try:
        check_nesting(content, path, loader)
        root = yaml.compose(content, Loader=loader)
    except yaml.YAMLError as error:
        raise SourceError(f"{path}: the front matter is not valid YAML{where(error, content)}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise SourceError(f"{path}: the front matter must be 'key: value' lines")
    reader = NodeReader(path)
    front: dict[str, FrontValue] = {}
    for key, value in merged_pairs(root):
        reader.check_tags(value, key)
        front[key.lower()] = reader.value(value)
    return front


def check_nesting(content: str, path: str, loader: type[yaml.SafeLoader]) -> None:
    """Refuse front matter nested deeper than MAX_FRONT_MATTER_DEPTH before anything recurses.

    PyYAML's parsers (Python and libyaml) are loops over events, so counting them is safe at any
    depth; its composers recurse once per level, and ``[[[[...`` in 64 KB would exhaust the stack.
    """
    import yaml

    depth = 0
    for event in yaml.parse(content, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_FRONT_MATTER_DEPTH:
                line = f" (line {event.start_mark.line + FIRST_CONTENT_LINE})" if event.start_mark else ""
                raise SourceError(
                    f"{path}: the front matter nests lists or mappings more than {MAX_FRONT_MATTER_DEPTH} deep"
                    f"{line}; write each field as `key: value`"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def where(error: yaml.YAMLError, content: str) -> str:
    """`` (line 3, field 'date': found undefined alias)``: as much of the place as is known."""
    mark = getattr(error, "problem_mark", None)
    problem = " ".join(str(getattr(error, "problem", "") or "").split())
    details: list[str] = []
    if mark is not None:
        details.append(f"line {mark.line + FIRST_CONTENT_LINE}")
        field = field_on_line(content, mark.line)
        if field:
            details.append(f"field {field!r}")
    text = ", ".join(details)
    if problem:
        text = f"{text}: {problem}" if text else problem
    return f" ({text})" if text else ""


def field_on_line(content: str, line: int) -> str | None:
    """The top-level key whose value spans ``line`` (0-based), from the lines at or above it."""
    for text in reversed(content.split("\n")[: line + 1]):
        if text[:1].isalnum() and ":" in text:
            return shown(text.split(":", 1)[0].strip())
    return None


def shown(text: str) -> str:
    """``text`` short enough to quote in a one-line message."""
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def shown_tag(tag: str) -> str:
    """A tag as the author wrote it: ``!!int`` rather than ``tag:yaml.org,2002:int``."""
    return shown("!!" + tag[len(YAML_TAG) :] if tag.startswith(YAML_TAG) else tag)


def merged_pairs(root: yaml.MappingNode) -> list[tuple[str, yaml.Node]]:
    """The root's (key, value) pairs with scalar keys; ``<<: *defaults`` merged one level, explicit keys winning."""
    import yaml

    own: list[tuple[str, yaml.Node]] = []
    merged: list[tuple[str, yaml.Node]] = []
    for key_node, value_node in root.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.tag == MERGE_KEY_TAG:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged += [(key.value, value) for key, value in source.value if isinstance(key, yaml.ScalarNode)]
        else:
            own.append((key_node.value, value_node))
    names = {key.lower() for key, _ in own}
    return [(key, value) for key, value in merged if key.lower() not in names] + own


class NodeReader:
    """Turns composed YAML nodes into text, checking their tags, for one source file."""

    def __init__(self, path: str) -> None:
        import yaml

        self.path = path
        self.loader = yaml.SafeLoader("")
        """Used only for its resolver (what tag a plain value implies) and its date and binary rules."""
        self.checked: set[int] = set()
        """Ids of nodes already checked: shared by every key, so 3,000 aliases of one list cost one walk."""
        self.values: dict[int, FrontValue] = {}
        """Each node's value by id (the composed graph keeps every node alive, so ids stay unique)."""

    def fail(self, key: str, problem: str) -> SourceError:
        """The one-line error for a bad value of ``key``."""
        return SourceError(f"{self.path}: {shown(key)} in the front matter: {problem}")

    def check_tags(self, top: yaml.Node, key: str) -> None:
        """Refuse, naming ``key``, any node under ``top`` whose tag is unknown or does not fit it.

        Visits each node of the composed graph once (aliases share nodes, and may form cycles).
        """
        import yaml

        pending = [top]
        while pending:
            node = pending.pop()
            if id(node) in self.checked:
                continue
            self.checked.add(id(node))
            tag = node.tag
            if isinstance(node, yaml.ScalarNode):
                self.check_scalar(node, key)
                continue
            expected = SEQUENCE_TAGS if isinstance(node, yaml.SequenceNode) else MAPPING_TAGS
            if tag not in expected:
                raise self.fail(key, f"the YAML tag {shown_tag(tag)} cannot be used here; remove it")
            if isinstance(node, yaml.SequenceNode):
                pending.extend(node.value)
            else:
                for pair in node.value:
                    pending.extend(pair)

    def check_scalar(self, node: yaml.ScalarNode, key: str) -> None:
        """An explicit tag must fit its value: ``!!int abc`` or ``!!bool maybe`` are refused."""
        import yaml

        tag = node.tag
        if tag not in SCALAR_TAGS:
            raise self.fail(key, f"the YAML tag {shown_tag(tag)} cannot be used here; remove it")
        if tag in RESOLVED_TAGS:
            implied = self.loader.resolve(yaml.ScalarNode, node.value, (True, False))
            fits = implied == tag or (tag == YAML_TAG + "float" and implied == YAML_TAG + "int")
            if not fits:
                kind = tag[len(YAML_TAG) :]
                raise self.fail(key, f"{shown(node.value)!r} is not a YAML {kind}; remove the {shown_tag(tag)} tag")
        elif tag == BINARY_TAG:
            try:
                self.loader.construct_yaml_binary(node)
            except yaml.YAMLError:
                raise self.fail(key, "the !!binary value is not base64") from None

    def value(self, node: yaml.Node) -> FrontValue:
        """Text for a scalar, a list of texts for a list, texts by key for a mapping (one level only).

        Going one level only means a nested alias bomb is never expanded; remembering each
        node's value means 3,000 keys aliasing one long list read it once.
        """
        import yaml

        if id(node) in self.values:
            return self.values[id(node)]
        value: FrontValue
        if isinstance(node, yaml.ScalarNode):
            value = self.text(node)
        elif isinstance(node, yaml.SequenceNode):
            items = (self.text(item) for item in node.value if isinstance(item, yaml.ScalarNode))
            value = [item for item in items if item is not None]
        else:
            value = {
                pair_key.value: self.text(pair_value) if isinstance(pair_value, yaml.ScalarNode) else None
                for pair_key, pair_value in node.value
                if isinstance(pair_key, yaml.ScalarNode)
            }
        self.values[id(node)] = value
        return value

    def text(self, node: yaml.ScalarNode) -> str | None:
        """A scalar as the author wrote it; ``None`` for null; dates as ISO 8601 when they exist."""
        if node.tag == NULL_TAG:
            return None
        if node.tag == TIMESTAMP_TAG:
            try:
                return str(self.loader.construct_yaml_timestamp(node).isoformat())
            except ValueError:
                # Not a real date (2024-02-30, hour 25): kept as written, so the date check can name it.
                return str(node.value)
        return str(node.value)
