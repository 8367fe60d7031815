"""Reading a denylist's text strictly: JSON or YAML, nothing a person did not mean.

Plain `json`/`yaml` loading hides mistakes that widen a denylist: a key given twice keeps
its last value, and YAML 1.1 reads `0025` as 21 and `1:05` as 65. Here objects remember the
keys their text repeated and unusual integers stay as written, so that the checker
(`denylist.py`) can refuse them by name. YAML flow style, which looks like JSON, is read as
YAML. See docs/denylist.md, "Validation".
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


class DenylistError(ValueError):
    """The denylist cannot be used; `problems` names each entry and field at fault."""

    def __init__(self, problems: list[str], source: str = "denylist") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source} is invalid: " + "; ".join(problems))


def load_document(text: str | bytes, source: str = "denylist") -> Any:
    """The document as Python values. Objects are `ReadObject`s that remember the keys the
    text repeated, so that the checker can refuse them (a last-wins merge widens entries)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DenylistError([f"not UTF-8 text: {exc}"], source) from None
    if len(text) > MAX_DOCUMENT_BYTES:
        raise DenylistError([f"document is {len(text)} bytes, over {MAX_DOCUMENT_BYTES}"], source)
    if not text.strip():
        raise DenylistError(["document is empty"], source)
    try:
        return json.loads(text, object_pairs_hook=_json_object)
    except RecursionError:
        raise DenylistError(["document is nested too deeply"], source) from None
    except json.JSONDecodeError as json_error:
        if not text.lstrip().startswith(("{", "[")):
            return _load_yaml(text, source)
        # YAML flow style ({version: 1, deny: [...]}) looks like JSON but is YAML.
        return _load_yaml(text, source, not_json=f"not valid JSON: {json_error}; nor YAML")


class ReadObject(dict[Any, Any]):
    """An object (mapping) as read from the text; `repeated` names the keys given twice."""

    repeated: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class YamlNumber:
    """An integer YAML 1.1 reads from a form a person rarely means (octal 0025 = 21,
    sexagesimal 1:05 = 65, 0x19, 0b11001, 2_5): kept as written, so that no field can take
    the reading by accident; a field that wants a number refuses it by name."""

    text: str
    reading: int

    @property
    def form(self) -> str:
        body = self.text.lstrip("+-")
        if ":" in body:
            return "sexagesimal"
        if body.startswith("0x"):
            return "hexadecimal"
        if body.startswith("0b"):
            return "binary"
        if "_" in body:
            return "digit-grouped"
        return "octal"

    def __repr__(self) -> str:
        return self.text

    def problem(self, key: str) -> str:
        return (
            f"{key}: {self.text} is a YAML {self.form} number (read as {self.reading}),"
            " not a plain decimal one; write it in decimal"
        )


PLAIN_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)", re.ASCII)


def _json_object(pairs: list[tuple[str, Any]]) -> ReadObject:
    found = ReadObject(pairs)
    if len(found) < len(pairs):
        found.repeated = _repeats(key for key, _ in pairs)
    return found


def _repeats(keys: Iterable[Any]) -> tuple[Any, ...]:
    seen: set[Any] = set()
    repeated: dict[Any, None] = {}
    for key in keys:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    return tuple(repeated)


def _load_yaml(text: str, source: str, not_json: str = "neither JSON nor YAML") -> Any:
    import yaml  # only documents that are not JSON pay for the import

    class StrictLoader(yaml.SafeLoader):
        """Refuses anchors and aliases (a denylist needs none, and they make YAML bombs) and
        merge keys; remembers repeated keys; keeps non-decimal integers as written."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, "aliases are not allowed in a denylist", mark
                )
            return super().compose_node(parent, index)

    def construct_map(loader: StrictLoader, node: Any) -> ReadObject:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        found = ReadObject()
        keys: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(
                    None, None, "merge keys (<<) are not allowed in a denylist", key_node.start_mark
                )
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                )
            keys.append(key)
            found[key] = loader.construct_object(value_node, deep=True)
        if len(found) < len(keys):
            found.repeated = _repeats(keys)
        return found

    def construct_int(loader: StrictLoader, node: Any) -> int | YamlNumber:
        written = str(loader.construct_scalar(node))
        if PLAIN_DECIMAL.fullmatch(written):
            return int(written)
        return YamlNumber(written, loader.construct_yaml_int(node))

    StrictLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    StrictLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    try:
        return yaml.load(text, Loader=StrictLoader)
    except RecursionError:
        raise DenylistError(["document is nested too deeply"], source) from None
    except yaml.YAMLError as exc:
        raise DenylistError([f"{not_json}: {exc}"], source) from None
