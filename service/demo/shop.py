"""A stand-in for a shop's order API, run beside the demo so actions have live data to read and change.

`SHOP_API_TOKEN=... python service/demo/shop.py --port 8765` serves a few demo customers behind a bearer
token. With `--test-hooks` (tests only) a request can ask for a delay (`delay=` seconds), a status
(`fail=500`, or `fail_times=N` to fail only its first N hits), or a padded body (`pad=` bytes), by query
parameter or by `X-Test-Delay`/`X-Test-Fail`/`X-Test-Fail-Times`/`X-Test-Pad` header; `GET /_test/hits`
counts the requests per path (or per `key=`/`X-Test-Key`, to keep one test's count apart).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hmac
import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CUSTOMERS: dict[str, dict[str, Any]] = {
    "demo-customer": {
        "account": {"customer_id": "demo-customer", "name": "Dana Demo", "plan": "Team",
                    "renews_on": "2027-01-15", "seats": 5},
        "orders": {
            "1001": {"id": "1001", "item": "Edge Box", "status": "shipped", "carrier": "DHL",
                     "tracking_number": "JD014600003828", "eta": "2026-12-10", "total": "249.00 EUR"},
            "1007": {"id": "1007", "item": "Edge Box mounting kit", "status": "processing", "carrier": None,
                     "tracking_number": None, "eta": "2026-12-14", "total": "29.00 EUR"},
        },
    },
    "other-customer": {
        "account": {"customer_id": "other-customer", "name": "Olli Other", "plan": "Starter",
                    "renews_on": "2027-03-02", "seats": 1},
        "orders": {
            "1042": {"id": "1042", "item": "Edge Router", "status": "processing", "carrier": None,
                     "tracking_number": None, "eta": "2026-12-18", "total": "499.00 EUR"},
        },
    },
}

CANCELLABLE = {"processing"}


def create_app(token: str, *, test_hooks: bool = False) -> Starlette:
    """The API over a private copy of the demo data (a cancel changes only this process's copy)."""
    customers = copy.deepcopy(CUSTOMERS)
    hits: Counter[str] = Counter()

    def guarded(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            key = (_hook(request, "key") if test_hooks else None) or request.url.path
            hits[key] += 1
            if test_hooks and (hooked := await _hooks(request, hits[key])) is not None:
                return hooked
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            response = await endpoint(request)
            if test_hooks and (pad := _hook(request, "pad")):
                return _padded(response, int(pad))
            return response
        return handle

    def customer(request: Request) -> dict[str, Any] | None:
        return customers.get(request.path_params["customer_id"])

    async def orders(request: Request) -> Response:
        if (found := customer(request)) is None:
            return JSONResponse({"error": "no such customer"}, status_code=404)
        return JSONResponse({"orders": list(found["orders"].values())})

    async def order(request: Request) -> Response:
        found = customer(request)
        item = found["orders"].get(request.path_params["order_id"]) if found else None
        if item is None:  # another customer's order looks exactly like a missing one
            return JSONResponse({"error": "no such order"}, status_code=404)
        return JSONResponse(item)

    async def cancel(request: Request) -> Response:
        found = customer(request)
        item = found["orders"].get(request.path_params["order_id"]) if found else None
        if item is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        if item["status"] not in CANCELLABLE:
            return JSONResponse({**item, "error": f"an order that is {item['status']} cannot be cancelled"},
                                status_code=409)
        item["status"] = "cancelled"
        return JSONResponse(item)

    async def account(request: Request) -> Response:
        if (found := customer(request)) is None:
            return JSONResponse({"error": "no such customer"}, status_code=404)
        return JSONResponse(found["account"])

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def count(request: Request) -> Response:
        return JSONResponse(dict(hits))

    routes = [
        Route("/health", health),
        Route("/customers/{customer_id}/orders", guarded(orders)),
        Route("/customers/{customer_id}/orders/{order_id}", guarded(order)),
        Route("/customers/{customer_id}/orders/{order_id}/cancel", guarded(cancel), methods=["POST"]),
        Route("/customers/{customer_id}/account", guarded(account)),
    ]
    if test_hooks:
        routes.append(Route("/_test/hits", count))
    return Starlette(routes=routes)


def _hook(request: Request, name: str) -> str | None:
    return request.query_params.get(name) or request.headers.get(f"x-test-{name.replace('_', '-')}")


async def _hooks(request: Request, hit: int) -> Response | None:
    if delay := _hook(request, "delay"):
        await asyncio.sleep(float(delay))
    fail = _hook(request, "fail")
    times = _hook(request, "fail_times")
    if fail and (times is None or hit <= int(times)):
        return JSONResponse({"error": "test failure"}, status_code=int(fail))
    return None


def _padded(response: Response, size: int) -> Response:
    body = bytes(response.body)[:-1] + b', "padding": "' + b"x" * size + b'"}'
    return Response(body, status_code=response.status_code, media_type="application/json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--test-hooks", action="store_true", help="honour delay/fail/pad requests (tests only)")
    args = parser.parse_args(argv)
    token = os.environ.get("SHOP_API_TOKEN")
    if not token:
        sys.exit("SHOP_API_TOKEN must be set: the bearer token callers present")
    uvicorn.run(create_app(token, test_hooks=args.test_hooks), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
