"""HTTP actions: one request to the company's API, made safe by construction.

Requests go only to listed hosts (checked again after rendering), never follow redirects, carry secrets
read from the environment at call time, stop reading past a size cap, are retried with backoff only when
they are reads, and fail fast while a host's circuit is open. The log has method, host, path template,
status and latency, never values or headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.actions import ActionResult, ActionSpec, HttpCall, Identity, refusal
from connectors.actions import outcome, templates
from connectors.actions.breaker import CircuitBreaker
from connectors.actions.urls import host_allowed

log = logging.getLogger(__name__)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RETRYABLE = {500, 502, 503, 504}


class _TooLarge(Exception):
    pass


class HttpActionRunner:
    """The `ActionRunner` for actions with a `call`."""

    def __init__(self, allowed_hosts: Iterable[str], *, client: httpx.AsyncClient | None = None,
                 environ: Mapping[str, str] | None = None, retries: int = 2, backoff: float = 0.2,
                 breaker: CircuitBreaker | None = None, max_bytes: int = 256 * 1024) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self.environ = os.environ if environ is None else environ
        self.retries = retries
        self.backoff = backoff
        self.breaker = breaker or CircuitBreaker()
        self.max_bytes = max_bytes

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run(self, spec: ActionSpec, fields: Mapping[str, Any], identity: Identity) -> ActionResult:
        if (refused := refusal(spec, identity)) is not None:
            return refused
        call = spec.call
        if call is None:
            return ActionResult(status="failed", error=f"action '{spec.name}' has no HTTP call")
        try:
            url = templates.render_url(call.url, fields)
            body = templates.render_body(call.body, fields)
        except templates.TemplateError as error:
            return ActionResult(status="failed", error=f"template error: {error}")
        if not host_allowed(url, self.allowed_hosts):
            return ActionResult(status="refused", error="the request's host is not in allowed_hosts")
        missing = [v for value in call.headers.values() for v in _ENV_REF.findall(value) if v not in self.environ]
        if missing:
            return ActionResult(status="failed", error=f"environment variable {missing[0]} is not set")
        headers = {k: _ENV_REF.sub(lambda m: self.environ[m.group(1)], v) for k, v in call.headers.items()}
        host = urlsplit(url).netloc
        started = time.monotonic()
        result = await self._attempts(spec, call, url, headers, body, host, fields, started)
        log.info("action %s: %s %s%s -> %s in %.0f ms", spec.name, call.method, host, urlsplit(call.url).path,
                 result.http_status or result.status, result.latency_ms)
        return result

    async def _attempts(self, spec: ActionSpec, call: HttpCall, url: str, headers: dict[str, str], body: Any,
                        host: str, fields: Mapping[str, Any], started: float) -> ActionResult:
        attempts = 1 + self.retries if call.is_read else 1
        result = ActionResult(status="failed", error="not attempted")
        for attempt in range(attempts):
            if not self.breaker.allow(host):
                return ActionResult(status="failed", latency_ms=_ms(started),
                                    error=f"circuit open for {host} after repeated failures")
            result, retryable = await self._once(spec, call, url, headers, body, host, fields, started)
            if not retryable or attempt == attempts - 1 or self.breaker.is_open(host):
                return result
            await asyncio.sleep(self.backoff * 2**attempt)
        return result

    async def _once(self, spec: ActionSpec, call: HttpCall, url: str, headers: dict[str, str], body: Any,
                    host: str, fields: Mapping[str, Any], started: float) -> tuple[ActionResult, bool]:
        """One request: its result, and whether a retry could help (timeouts, connection errors, 5xx)."""
        try:
            async with asyncio.timeout(call.timeout):
                status, content = await self._send(call, url, headers, body)
        except _TooLarge:
            self.breaker.success(host)  # the host answered; the answer is what is wrong
            return ActionResult(status="failed", latency_ms=_ms(started),
                                error=f"response larger than {self.max_bytes} bytes"), False
        except (TimeoutError, httpx.TimeoutException):
            self.breaker.failure(host)
            return ActionResult(status="failed", latency_ms=_ms(started),
                                error=f"no answer within {call.timeout:g} s"), True
        except httpx.HTTPError as error:
            self.breaker.failure(host)
            return ActionResult(status="failed", latency_ms=_ms(started),
                                error=f"connection failed: {type(error).__name__}"), True
        if status in _RETRYABLE:
            self.breaker.failure(host)
        else:
            self.breaker.success(host)
        result = outcome.finish(spec, _data(content), fields, http_status=status, latency_ms=_ms(started))
        return result, status in _RETRYABLE

    async def _send(self, call: HttpCall, url: str, headers: dict[str, str], body: Any) -> tuple[int, bytes]:
        kwargs: dict[str, Any] = {"headers": headers, "timeout": call.timeout}
        if body is not None:
            kwargs["json"] = body
        async with self.client.stream(call.method, url, **kwargs) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise _TooLarge
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)


def _data(content: bytes) -> dict[str, Any]:
    """The response as a mapping for templates: an object as is, a list under `items`, text under `text`."""
    if not content.strip():
        return {}
    try:
        value = json.loads(content)
    except ValueError:
        return {"text": content[:2000].decode("utf-8", errors="replace")}
    if isinstance(value, dict):
        return value
    return {"items": value} if isinstance(value, list) else {"value": value}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
