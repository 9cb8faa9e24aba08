"""Screenshots the browser tests take go to a git-ignored folder; only docs/make_screenshots.py writes docs/."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.browser.helpers import save_screenshot
from tests.browser.stack import ROOT


class FakePage:
    """Stands in for a Playwright page: writes a file where it is told to."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def screenshot(self, path: str, **_: Any) -> None:
        self.paths.append(Path(path))
        Path(path).write_bytes(b"\x89PNG test")


def test_a_test_screenshot_lands_in_an_ignored_folder_and_leaves_docs_alone() -> None:
    docs = {p.name: p.read_bytes() for p in (ROOT / "docs").glob("*.png")}
    page = FakePage()
    save_screenshot(page, "widget.png")  # type: ignore[arg-type]
    assert {p.name: p.read_bytes() for p in (ROOT / "docs").glob("*.png")} == docs
    [written] = page.paths
    assert written.exists() and ROOT / "docs" not in written.parents
    ignored = subprocess.run(["git", "check-ignore", "-q", str(written)], cwd=ROOT)
    assert ignored.returncode == 0, f"{written} is not git-ignored"
