"""From what a call returned to an `ActionResult`: its status by the action's rules, and the reply.

Shared by every runner, so an HTTP call, a Python handler and a Rasa action are judged and answered alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.actions import ActionResult, ActionSpec, ResultStatus
from connectors.actions import templates


def context(data: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """What templates see: the response's top-level fields by name, `response` for the whole of it and
    `fields` for the values the action was called with."""
    return {**data, "response": dict(data), "fields": dict(fields)}


def classify(spec: ActionSpec, http_status: int | None, data: Mapping[str, Any],
             fields: Mapping[str, Any]) -> ResultStatus:
    rules = spec.failure
    if http_status is not None:
        if http_status in rules.not_found_statuses:
            return "not_found"
        if http_status in rules.statuses or http_status >= 400:
            return "failed"
    ctx = context(data, fields)
    if rules.when and templates.condition(rules.when, ctx):
        return "failed"
    if rules.not_found_when and templates.condition(rules.not_found_when, ctx):
        return "not_found"
    return "ok"


def reply(spec: ActionSpec, status: ResultStatus, data: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """The customer's reply: the first case that holds (else `default`) when ok, `not_found` when not
    found; none on failure, which the dialogue turns into a handoff."""
    ctx = context(data, fields)
    if status == "not_found":
        return templates.render(spec.reply.not_found, ctx) if spec.reply.not_found else None
    if status != "ok":
        return None
    for case in spec.reply.cases:
        if templates.condition(case.when, ctx):
            return templates.render(case.text, ctx)
    return templates.render(spec.reply.default, ctx) if spec.reply.default else None


def finish(spec: ActionSpec, data: Mapping[str, Any], fields: Mapping[str, Any], *, http_status: int | None,
           latency_ms: float) -> ActionResult:
    """The result of a call that answered; a template that fails at run time makes it `failed`."""
    try:
        status = classify(spec, http_status, data, fields)
        text = reply(spec, status, data, fields)
    except templates.TemplateError as error:
        return ActionResult(status="failed", http_status=http_status, latency_ms=latency_ms, data=dict(data),
                            error=f"template error: {error}")
    failure = f"HTTP {http_status}" if status == "failed" and http_status is not None else None
    return ActionResult(status=status, http_status=http_status, latency_ms=latency_ms, data=dict(data),
                        reply=text, error=failure)
