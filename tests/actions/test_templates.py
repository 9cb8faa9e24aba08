"""Templates run in Jinja2's sandbox; URL values stay inside their path segment or query value."""

from __future__ import annotations

from bot.actions import ActionSpec
from connectors.actions import outcome, templates


def test_url_values_are_encoded_whole() -> None:
    url = "https://shop.example.com/orders/{{ order_id }}?q={{ q }}"
    assert templates.render_url(url, {"order_id": "../admin", "q": "a&b=c#d"}) == (
        "https://shop.example.com/orders/..%2Fadmin?q=a%26b%3Dc%23d")
    assert templates.render_url(url, {"order_id": "..", "q": "."}) == "https://shop.example.com/orders/%2E%2E?q=%2E"


def test_conditions_over_missing_fields_are_false_and_replies_are_plain_text() -> None:
    assert templates.condition("status == 'shipped'", {"status": "shipped"})
    assert not templates.condition("status == 'shipped'", {})
    assert templates.render("{{ item }} & {{ none }}", {"item": "<Edge Box>", "none": None}) == "<Edge Box> & "


def test_a_template_reaching_for_python_internals_fails_the_call() -> None:
    spec = ActionSpec.model_validate({"name": "a", "handler": "h", "reply": {
        "default": "{{ response.__class__.__mro__[1].__subclasses__() }}"}})
    result = outcome.finish(spec, {"x": 1}, {}, http_status=200, latency_ms=1.0)
    assert result.status == "failed" and (result.error or "").startswith("template error: access to attribute")
