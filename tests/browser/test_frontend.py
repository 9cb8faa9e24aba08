"""The front end's files as shipped: the checked-in widget bundle is what web/widget/ builds, and no module
of the widget or the console writes HTML from strings."""

from __future__ import annotations

import shutil
import subprocess

from tests.browser.stack import ROOT

WEB = ROOT / "web"
CONSOLE = ROOT / "connectors" / "console" / "static"


def test_the_checked_in_widget_is_a_fresh_build_of_its_modules() -> None:
    """The server and the wheel ship connectors/webchat/static/widget.js and need no Node; this keeps it honest."""
    node = shutil.which("node")
    assert node, "Node.js is needed to check the widget bundle (Debian: apt-get install nodejs npm)"
    assert (WEB / "node_modules" / "esbuild").is_dir(), "run scripts/install (it runs npm ci in web/)"
    built = subprocess.run([node, "build.mjs", "--check"], cwd=WEB, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr + built.stdout


def test_no_front_end_module_inserts_html_from_strings() -> None:
    sources = [*(WEB / "widget").glob("*.js"), *CONSOLE.glob("*.js"),
               ROOT / "connectors" / "webchat" / "static" / "widget.js"]
    assert len(sources) > 20
    for source in sources:
        text = source.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in text, f"{source.name} uses {sink}"


def test_the_widget_says_help_centre_in_one_spelling() -> None:
    for source in [*(WEB / "widget").glob("*.js"), ROOT / "connectors" / "webchat" / "static" / "widget.js"]:
        assert "help center" not in source.read_text().lower(), source.name
