"""Line numbers of a YAML document's keys and items, read from PyYAML's node marks, so a problem found
after parsing can still be shown on its line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[str | int, ...]


class DuplicateKey(ValueError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"key '{key}' is given twice")
        self.line = line


@dataclass
class Lines:
    """1-based line of each path (keys and list indexes from the document's root)."""

    at: dict[Loc, int] = field(default_factory=dict)

    def find(self, loc: Sequence[Any]) -> int | None:
        """The line of `loc`, or of its nearest ancestor the document has (a missing key is reported on
        the line of the mapping that lacks it)."""
        path: Loc = tuple(loc)
        while path:
            if path in self.at:
                return self.at[path]
            path = path[:-1]
        return self.at.get((), None)


def line_map(text: str) -> Lines:
    lines = Lines()
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        lines.at[()] = root.start_mark.line + 1
        _walk(root, (), lines)
    return lines


def _walk(node: yaml.Node, path: Loc, lines: Lines) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise DuplicateKey(name, key.start_mark.line + 1)
            seen.add(name)
            lines.at[(*path, name)] = key.start_mark.line + 1
            _walk(value, (*path, name), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.at[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines)
