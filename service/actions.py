"""Actions as a deployment configures them: the file, the runners it needs, and who the customer is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from time import perf_counter
from typing import Any

import jwt

from bot.action_flow import ActionFlow
from bot.actions import ActionResult, ActionRunner, ActionSpec, Identity
from bot.gates import GateConfig, with_actions
from bot.observer import CONVERSATION_ID
from connectors.actions.catalog import Catalog, load_catalog
from connectors.actions.code import CodeActionRunner
from connectors.actions.dispatch import ActionDispatcher
from connectors.actions.http import HttpActionRunner
from connectors.actions.identity import WidgetIdentityVerifier
from connectors.actions.rasa import RasaActionRunner
from connectors.actions.templates import render
from connectors.ratelimit import RateLimits
from service.metrics import ACTIONS_RATE_LIMITED, record_action_call
from service.settings import Settings

log = logging.getLogger(__name__)


def load_actions(settings: Settings) -> Catalog | None:
    """The deployment's actions file, validated at start: a broken file stops the start with the line at
    fault, rather than failing one customer at a time."""
    if settings.actions_file is None:
        return None
    catalog = load_catalog(Path(settings.actions_file))
    if missing := catalog.missing_env():
        log.warning("actions file %s names environment variables that are not set: %s",
                    settings.actions_file, ", ".join(missing))
    return catalog


def gates_with_actions(gates: GateConfig, catalog: Catalog | None) -> GateConfig:
    """Each action is a category: the categorizer routes to it and its phase gates it."""
    if catalog is None:
        return gates
    return with_actions(gates, {name: (spec.description, spec.examples) for name, spec in catalog.actions.items()})


class MeasuredRunner:
    """Every call's result and time, per action, on /metrics."""

    def __init__(self, runner: ActionRunner) -> None:
        self.runner = runner

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        started = perf_counter()
        result = await self.runner.run(spec, fields, identity)
        record_action_call(spec.name, result.status, perf_counter() - started)
        return result


class RateLimitedRunner:
    """At most the `action_calls` rate limit of calls per conversation (the one whose turn, or agent's rerun,
    is running: `bot.observer.CONVERSATION_ID`). Over it the call is not made and fails, so the turn goes to
    a person with the reason: a loop of questions cannot hammer the company's API."""

    def __init__(self, runner: ActionRunner, limits: RateLimits) -> None:
        self.runner = runner
        self.limits = limits

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        conversation = CONVERSATION_ID.get()
        if conversation is not None and not await self.limits.allows("action_calls", conversation):
            ACTIONS_RATE_LIMITED.labels(action=spec.name).inc()
            return ActionResult(status="failed", error=f"rate limited: this conversation is over its limit of "
                                                       f"{self.limits.items['action_calls']} action calls")
        return await self.runner.run(spec, fields, identity)


def build_action_flow(settings: Settings, catalog: Catalog | None, redact: Callable[[str], str], *,
                      redis: Any = None) -> ActionFlow | None:
    """`redis`: the process's client, which the per-conversation rate limit counts in."""
    if catalog is None:
        return None
    runner = ActionDispatcher(
        http=HttpActionRunner(catalog.allowed_hosts),
        code=CodeActionRunner(),
        rasa=RasaActionRunner(settings.rasa_actions_url) if settings.rasa_actions_url else None,
    )
    limited = RateLimitedRunner(MeasuredRunner(runner), RateLimits.from_settings(settings, redis))
    return ActionFlow(catalog.actions, limited, render, redact)


def build_identity_verifier(settings: Settings) -> WidgetIdentityVerifier:
    """Without a secret or key every identity presented is refused, and visitors are anonymous."""
    return WidgetIdentityVerifier(jwt_secret=settings.identity_jwt_secret,
                                  jwt_public_key=settings.identity_jwt_public_key,
                                  audience=settings.identity_audience, hmac_secret=settings.identity_hmac_secret)


def demo_sign_in(settings: Settings) -> Callable[[], tuple[str, str]] | None:
    """What the company's backend does for a signed-in visitor, done for the demo's customer: a short-lived
    identity token signed with the deployment's own key."""
    customer, secret = settings.demo_customer, settings.identity_jwt_secret
    if not customer or not secret:
        return None

    def sign() -> tuple[str, str]:
        name = customer.replace("-", " ").title()
        token = jwt.encode({"sub": customer, "name": name, "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
        return name, token

    return sign
