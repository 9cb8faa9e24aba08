"""One `ActionRunner` for the dialogue: each action goes to the runner for how it is carried out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.actions import ActionResult, ActionRunner, ActionSpec, Identity


class ActionDispatcher:
    def __init__(self, *, http: ActionRunner | None = None, code: ActionRunner | None = None,
                 rasa: ActionRunner | None = None) -> None:
        self.runners = {"call": http, "handler": code, "rasa": rasa}

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        way = "call" if spec.call is not None else "handler" if spec.handler is not None else "rasa"
        runner = self.runners[way]
        if runner is None:
            return ActionResult(status="failed", error=f"no runner configured for action '{spec.name}' ({way})")
        return await runner.run(spec, fields, identity)
