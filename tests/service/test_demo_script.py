"""`scripts/demo` runs `scripts/install` (pip, torch) only when what it installs from changed: a second start
is a start, not a reinstall."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def checkout(tmp_path: Path) -> Path:
    """A copy of the script beside a stand-in install (it counts its runs and makes the venv's entry point)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "demo", tmp_path / "scripts" / "demo")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "scripts" / "install").write_text(
        "set -e\nmkdir -p .venv/bin\necho run >> installs.log\n"
        "printf '#!/bin/sh\\necho \"$*\"\\n' > .venv/bin/supportbot\nchmod +x .venv/bin/supportbot\n")
    return tmp_path


def start(tree: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["bash", "scripts/demo", "--port", "8123"], cwd=tree, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "demo --port 8123"
    return result


def installs(tree: Path) -> int:
    return len((tree / "installs.log").read_text().splitlines())


def test_the_demo_installs_once_and_again_only_when_the_project_changes(tmp_path: Path) -> None:
    tree = checkout(tmp_path)
    start(tree)
    assert installs(tree) == 1
    again = start(tree)
    assert installs(tree) == 1 and "skipping the install" in again.stderr
    with (tree / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    start(tree)
    assert installs(tree) == 2
    (tree / "scripts" / "install").write_text((tree / "scripts" / "install").read_text() + "\n# changed\n")
    start(tree)
    assert installs(tree) == 3
    shutil.rmtree(tree / ".venv")  # a removed venv is installed again, whatever the stamp said
    start(tree)
    assert installs(tree) == 4
