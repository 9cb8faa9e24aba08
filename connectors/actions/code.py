"""Actions written in Python, for what a file cannot say: functions registered under the entry point
group `supportbot.actions`, each `async def (fields: dict, identity: Identity) -> dict | ActionResult`.

A dict is judged and answered by the action's `failure` and `reply` like an HTTP response's fields;
an `ActionResult` is taken as the function's own verdict. An exception or timeout is a failed call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from bot.actions import ActionResult, ActionSpec, Identity, refusal
from connectors.actions import outcome

GROUP = "supportbot.actions"
Handler = Callable[[dict[str, Any], Identity], Awaitable["dict[str, Any] | ActionResult"]]


class CodeActionRunner:
    """The `ActionRunner` for actions with `handler: <entry point name>`; `handlers` adds or overrides
    functions directly (an application that is not an installed package)."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None, *, group: str = GROUP,
                 timeout: float = 10.0) -> None:
        self.group = group
        self.timeout = timeout
        self._handlers: dict[str, Handler] = dict(handlers or {})

    def handler(self, name: str) -> Handler | None:
        if name not in self._handlers:
            found = [ep for ep in entry_points(group=self.group) if ep.name == name]
            if not found:
                return None
            self._handlers[name] = found[0].load()
        return self._handlers[name]

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        if (refused := refusal(spec, identity)) is not None:
            return refused
        if spec.handler is None:
            return ActionResult(status="failed", error=f"action '{spec.name}' has no handler")
        started = time.monotonic()
        try:
            fn = self.handler(spec.handler)
        except Exception as error:  # a broken installed package must not take the turn down
            return ActionResult(status="failed", error=f"handler '{spec.handler}' did not load: {error!r}")
        if fn is None:
            return ActionResult(status="failed", error=f"no handler '{spec.handler}' in entry points {self.group}")
        try:
            async with asyncio.timeout(self.timeout):
                returned = await fn(dict(fields), identity)
        except TimeoutError:
            return ActionResult(status="failed", latency_ms=_ms(started), error=f"no answer within {self.timeout:g} s")
        except Exception as error:
            return ActionResult(status="failed", latency_ms=_ms(started), error=f"{type(error).__name__}: {error}")
        if isinstance(returned, ActionResult):
            return returned if returned.latency_ms else returned.model_copy(update={"latency_ms": _ms(started)})
        if not isinstance(returned, dict):
            return ActionResult(status="failed", latency_ms=_ms(started),
                                error=f"handler returned {type(returned).__name__}, not a dict or ActionResult")
        return outcome.finish(spec, returned, fields, http_status=None, latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
