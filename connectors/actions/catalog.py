"""actions.yml: the actions one deployment offers, loaded and checked once at start.

Every problem is reported with the file's name and the line it is on, because the person who fixes it
is editing that file, not reading a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.actions import ActionSpec
from connectors.actions import templates
from connectors.actions.lines import Lines, Loc, line_map
from connectors.actions.urls import check_url_template

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CatalogError(ValueError):
    """Problems found in an actions file, each as (line or None, message)."""

    def __init__(self, file: str, problems: list[tuple[int | None, str]]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file} line {line}: {msg}" if line else f"{file}: {msg}"
                                   for line, msg in problems))


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_hosts: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list)
    actions: list[ActionSpec] = Field(default_factory=list)


class Catalog(BaseModel):
    """The checked actions by name, the hosts calls may go to and the environment variables they read."""

    model_config = ConfigDict(frozen=True)

    allowed_hosts: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    actions: dict[str, ActionSpec] = Field(default_factory=dict)

    def get(self, name: str) -> ActionSpec | None:
        return self.actions.get(name)

    def missing_env(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Listed variables that are not set, for a warning at start (a call would fail without them)."""
        environ = os.environ if environ is None else environ
        return [name for name in self.env if name not in environ]


def load_catalog(path: Path | str) -> Catalog:
    path = Path(path)
    return parse_catalog(path.read_text(encoding="utf-8"), file=path.name)


def parse_catalog(text: str, file: str = "actions.yml") -> Catalog:
    try:
        lines = line_map(text)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = str(error.problem or error)
        if error.context and error.context_mark:
            message += f" ({error.context} on line {error.context_mark.line + 1})"
        raise CatalogError(file, [(mark.line + 1 if mark else None, message)]) from error
    except ValueError as error:  # a key given twice, from line_map
        raise CatalogError(file, [(getattr(error, "line", None), str(error))]) from error
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CatalogError(file, [(1, "the file must be a mapping with allowed_hosts, env and actions")])
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as error:
        raise CatalogError(file, [(lines.find(e["loc"]), _describe(e, raw)) for e in error.errors()]) from error
    problems = list(_check(parsed, lines))
    if problems:
        raise CatalogError(file, problems)
    return Catalog(allowed_hosts=tuple(parsed.allowed_hosts), env=tuple(parsed.env),
                   actions={a.name: a for a in parsed.actions})


def _subject(loc: Loc, raw: Any) -> tuple[str, Loc]:
    """Whom an error is about ("field 'order_id'", "action 'cancel_order'") and the rest of its path."""
    subject, rest, node = "the file", loc, raw
    for i, key in enumerate(loc):
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            break
        if isinstance(key, int) and i > 0 and loc[i - 1] in ("actions", "fields") and isinstance(node, dict):
            kind = "action" if loc[i - 1] == "actions" else "field"
            subject, rest = f"{kind} '{node.get('name', key)}'", loc[i + 1:]
    return subject, rest


def _describe(error: Any, raw: Any) -> str:
    subject, rest = _subject(tuple(error["loc"]), raw)
    key = ".".join(str(k) for k in rest) or "value"
    kind, msg = error["type"], error["msg"]
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        return f"{subject} has {key} {error['input']!r} (expected {expected})"
    if kind == "missing":
        return f"{subject} is missing {key}"
    if kind == "extra_forbidden":
        return f"{subject} has unknown key '{rest[-1] if rest else key}'"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return f"{subject} {key}: {msg}"


def _check(parsed: _File, lines: Lines) -> Iterable[tuple[int | None, str]]:
    """What a schema cannot say: names unique, calls only to listed hosts, secrets only from listed
    variables, every template and pattern compiling."""
    seen: set[str] = set()
    for i, action in enumerate(parsed.actions):
        at: Loc = ("actions", i)
        if action.name in seen:
            yield lines.find((*at, "name")), f"action '{action.name}' is declared twice"
        seen.add(action.name)
        for j, field in enumerate(action.fields):
            if field.pattern is not None:
                try:
                    re.compile(field.pattern)
                except re.error as error:
                    yield lines.find((*at, "fields", j, "pattern")), f"field '{field.name}' pattern: {error}"
        if action.call is not None:
            yield from _check_call(action, at, parsed, lines)
        yield from _check_templates(action, at, lines)


def _check_call(action: ActionSpec, at: Loc, parsed: _File, lines: Lines) -> Iterable[tuple[int | None, str]]:
    call = action.call
    assert call is not None
    if problem := check_url_template(call.url, parsed.allowed_hosts):
        yield lines.find((*at, "call", "url")), f"action '{action.name}': {problem}"
    for name, value in call.headers.items():
        where = lines.find((*at, "call", "headers", name))
        if "{{" in value or "{%" in value:
            yield where, f"action '{action.name}' header '{name}' may reference ${{ENV}} variables, not templates"
        for var in _ENV_REF.findall(value):
            if var not in parsed.env:
                yield where, f"action '{action.name}' header '{name}' uses ${{{var}}}, which is not listed in env"
    for source in _strings(call.body):
        try:
            templates.check_template(source)
        except templates.TemplateError as error:
            yield lines.find((*at, "call", "json")), f"action '{action.name}' json: {error}"


def _check_templates(action: ActionSpec, at: Loc, lines: Lines) -> Iterable[tuple[int | None, str]]:
    texts: list[tuple[Loc, str | None]] = [((*at, "confirm"), action.confirm),
                                           ((*at, "reply", "not_found"), action.reply.not_found),
                                           ((*at, "reply", "default"), action.reply.default)]
    conditions: list[tuple[Loc, str | None]] = [((*at, "failure", "when"), action.failure.when),
                                                ((*at, "failure", "not_found_when"), action.failure.not_found_when)]
    for k, case in enumerate(action.reply.cases):
        texts.append(((*at, "reply", "cases", k, "text"), case.text))
        conditions.append(((*at, "reply", "cases", k, "when"), case.when))
    for loc, source in texts:
        if source is not None:
            try:
                templates.check_template(source)
            except templates.TemplateError as error:
                yield lines.find(loc), f"action '{action.name}' {loc[-1]}: {error}"
    for loc, source in conditions:
        if source is not None:
            try:
                templates.check_condition(source)
            except templates.TemplateError as error:
                yield lines.find(loc), f"action '{action.name}' condition '{source}': {error}"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
