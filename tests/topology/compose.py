"""docker-compose.yml read the way Compose reads it: variables interpolated, YAML anchors merged, each service's
command, environment, volumes, dependencies, health check, restart policy and replicas in one typed record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

# $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|"
                       r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class MissingVariable(ValueError):
    """A `${NAME:?message}` variable that is not set: Compose refuses the file with that message."""


@dataclass(frozen=True)
class Variable:
    """One `${...}` reference: its name, the default when unset (None: no default) and whether it is required."""

    name: str
    default: str | None
    required: bool


def variables(text: str) -> list[Variable]:
    """Every variable the file refers to, in order of appearance."""
    found = []
    for match in _VARIABLE.finditer(text):
        if match["escaped"]:
            continue
        name = match["plain"] or match["name"]
        op, arg = match["op"] or "", match["arg"] or ""
        found.append(Variable(name, arg if op.endswith("-") else None, op.endswith("?")))
    return found


def interpolate(text: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["plain"] or match["name"]
        op, arg = match["op"] or "", match["arg"] or ""
        value = env.get(name)
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("?") and unset:
            raise MissingVariable(f"{name}: {arg or 'required'}")
        if op.endswith("-") and unset:
            return arg
        return value or ""

    return _VARIABLE.sub(substitute, text)


@dataclass(frozen=True)
class Volume:
    source: str        # a host path (bind mount) or a named volume
    target: str        # the path inside the container
    named: bool


@dataclass(frozen=True)
class Service:
    name: str
    image: str | None
    build: bool
    command: list[str]
    environment: dict[str, str]
    volumes: list[Volume]
    depends_on: dict[str, str]         # service -> condition
    healthcheck: list[str] | None      # the test after "CMD"
    restart: str
    replicas: int
    profiles: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)

    @property
    def port(self) -> int | None:
        """The port the process listens on inside its container (`--port N` in its command)."""
        if "--port" in self.command:
            return int(self.command[self.command.index("--port") + 1])
        return None


def _strings(value: Any) -> dict[str, str]:
    if isinstance(value, list):  # ["NAME=value", ...]
        return dict(item.split("=", 1) for item in value)
    return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (value or {}).items()}


def _volume(spec: str, named: set[str]) -> Volume:
    source, target = spec.split(":")[:2]
    return Volume(source, target, source in named)


def _depends_on(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return {name: "service_started" for name in value}
    return {name: (options or {}).get("condition", "service_started") for name, options in (value or {}).items()}


def _healthcheck(value: dict[str, Any] | None) -> list[str] | None:
    if not value or value.get("disable"):
        return None
    test = value["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", test[1]]
    return list(test[1:]) if test[0] == "CMD" else None


def load(env: dict[str, str], path: Path = COMPOSE_FILE) -> dict[str, Service]:
    """The services, as `docker compose config` would resolve them with `env` as the shell's environment."""
    document = yaml.safe_load(interpolate(path.read_text(encoding="utf-8"), env))
    named = set(document.get("volumes") or {})
    services = {}
    for name, spec in document["services"].items():
        command = spec.get("command") or []
        services[name] = Service(
            name=name, image=spec.get("image"), build="build" in spec,
            command=command.split() if isinstance(command, str) else [str(part) for part in command],
            environment=_strings(spec.get("environment")),
            volumes=[_volume(v, named) for v in spec.get("volumes") or []],
            depends_on=_depends_on(spec.get("depends_on")), healthcheck=_healthcheck(spec.get("healthcheck")),
            restart=str(spec.get("restart", "no")), replicas=int((spec.get("deploy") or {}).get("replicas", 1)),
            profiles=list(spec.get("profiles") or []), ports=[str(p) for p in spec.get("ports") or []],
        )
    return services


def start_order(services: dict[str, Service]) -> list[str]:
    """Dependencies first, as Compose starts them; a cycle is an error, as it is for Compose."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ValueError(f"depends_on cycle through {name}")
        visiting.add(name)
        for dependency in services[name].depends_on:
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in services:
        visit(name)
    return order
