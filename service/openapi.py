"""The published API schema tells the whole truth: every error an operation can answer, and how 405s list methods.

FastAPI documents the success response and the 422 of each route. The other answers come from layers the routes
do not see (the body limit, rate limits, the conversation store, sign-in), so they are added here, by the rule
that produces them, rather than repeated on each route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

ERROR_SCHEMA = {"title": "Error", "type": "object", "required": ["detail"],
                "properties": {"detail": {"type": "string", "description": "what went wrong, in words"}}}

REASONS = {
    400: "the body is not valid JSON",
    401: "sign in, or send the agent token",
    403: "not allowed: wrong conversation token, missing CSRF token, or not an admin",
    404: "no such conversation, handoff, account or customer",
    409: "the conversation or handoff is in another state, another agent owns it, or the account exists",
    413: "the body or the message is too long",
    429: "too many requests; Retry-After says when to try again",
    503: "the conversation store is unavailable; retry shortly",
}
CONFLICTS = ("/claim", "/assign", "/reply", "/takeover", "/handback", "/resolve", "/approve", "/reject",
             "/feedback")


def error_statuses(path: str, method: str) -> set[int]:
    """Which errors an operation can answer, from the layers it passes through."""
    statuses = {503}
    if method in {"post", "put", "patch", "delete"}:
        statuses |= {400, 413}
    if path.startswith("/api/agent"):
        statuses |= {401, 403, 429} if path == "/api/agent/login" else {401, 403}
    elif path.startswith("/api/conversations"):
        statuses |= {429}
        if "{conversation_id}" in path:
            statuses |= {403}
    if "{" in path:
        statuses |= {404}
    if path.endswith(CONFLICTS) or (path == "/api/agent/admin/agents" and method == "post"):
        statuses |= {409}
    return statuses


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(path, method)):
                responses.setdefault(str(status), {
                    "description": REASONS[status],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    return schema


def publish_whole_schema(app: FastAPI) -> None:
    """`app.openapi()` returns the schema with the errors documented; built once, as FastAPI does."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allow_every_method_of_the_path(app: FastAPI) -> None:
    """A 405 lists the methods of every route on the path. Starlette lists only the first route that matched the
    path, so GET and POST declared as two routes on one path answered `Allow: GET` to a DELETE."""

    async def method_not_allowed(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 405:
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        allowed: set[str] = set()
        for route in app.router.routes:
            match, _ = route.matches({**request.scope, "method": "\x00"})
            if match is Match.PARTIAL:
                allowed |= set(getattr(route, "methods", None) or ())
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405,
                            headers={"Allow": ", ".join(sorted(allowed))})

    app.add_exception_handler(StarletteHTTPException, method_not_allowed)
