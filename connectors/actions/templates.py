"""Templates in actions.yml: replies, JSON bodies, URLs and conditions, all in Jinja2's sandbox.

The sandbox keeps a template from reaching Python internals; values are written as plain text (no HTML
escaping: replies go to channels that escape for themselves). In URLs every value is percent-encoded whole,
so a customer's words can fill one path segment or query value and never add a segment, a query or a host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["TemplateError", "check_condition", "check_template", "condition", "render", "render_body", "render_url"]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _url_part(value: Any) -> str:
    text = quote(_text(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


_TEXT = SandboxedEnvironment(autoescape=False, finalize=_text)
_URL = SandboxedEnvironment(autoescape=False, finalize=_url_part)


def check_template(source: str) -> None:
    """Raises `TemplateError` when `source` does not compile, so the file is rejected at start."""
    _TEXT.parse(source)


def check_condition(source: str) -> None:
    _TEXT.compile_expression(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    return _TEXT.from_string(source).render(context)


def render_url(source: str, context: Mapping[str, Any]) -> str:
    return _URL.from_string(source).render(context)


def condition(source: str, context: Mapping[str, Any]) -> bool:
    """A `when:` expression such as `status == 'shipped'`; a missing field makes it false, not an error."""
    return bool(_TEXT.compile_expression(source, undefined_to_none=True)(**context))


def render_body(body: Any, context: Mapping[str, Any]) -> Any:
    """A JSON body template with every string rendered; numbers, booleans and structure kept."""
    if isinstance(body, str):
        return render(body, context)
    if isinstance(body, dict):
        return {k: render_body(v, context) for k, v in body.items()}
    if isinstance(body, list):
        return [render_body(v, context) for v in body]
    return body
