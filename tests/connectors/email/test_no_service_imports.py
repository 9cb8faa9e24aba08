"""Connectors are handed what they need by the composition root (`service/`), which imports them; a
connector importing `service` back makes an import circle (typing-only imports included: type checkers
follow them, and they tie the connector to one composition). Read from the source, so imports inside
functions and under TYPE_CHECKING count too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Modules that still import `service`. The list may only shrink: a module taken off it stays clean, and no
# module joins it.
NOT_YET_CLEAN = frozenset({
    "connectors/email/channel.py",  # `from_settings` is typed with the service's Settings
    "connectors/ratelimit.py",
    "connectors/rasa/actions.py",
    "connectors/rasa/channel.py",
    "connectors/rasa/guard.py",
    "connectors/slack/app.py",
    "connectors/slack/channel.py",
    "connectors/slack/desk.py",
    "connectors/slack/main.py",
})


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def importers_of_service() -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "connectors").rglob("*.py")
            if any(name == "service" or name.startswith("service.") for name in imported_modules(path))}


def test_the_email_intake_and_its_entry_points_import_nothing_of_the_service() -> None:
    email = {name for name in importers_of_service() if name.startswith("connectors/email/")}
    assert email <= {"connectors/email/channel.py"}


def test_no_other_connector_starts_importing_the_service() -> None:
    assert importers_of_service() - NOT_YET_CLEAN == set()


def test_the_check_sees_typing_only_and_function_level_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from service.container import C\n"
                      "def f():\n    import service.settings\n")
    assert {"service.container", "service.settings"} <= imported_modules(source)
