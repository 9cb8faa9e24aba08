"""HTTP actions against the demo shop run as a real process: answers, failures, limits and the breaker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.action_form import next_step
from bot.actions import ActionSpec, Identity
from connectors.actions.breaker import CircuitBreaker
from connectors.actions.catalog import Catalog, parse_catalog
from connectors.actions.http import HttpActionRunner
from tests.actions.conftest import ROOT, Shop

DEMO = Identity(verified=True, user_id="demo-customer", source="widget-jwt")


@pytest.fixture
def catalog(shop: Shop) -> Catalog:
    """The demo's own actions.yml, pointed at this test's shop."""
    text = (ROOT / "service" / "demo" / "actions.yml").read_text()
    return parse_catalog(text.replace("127.0.0.1:8765", shop.host))


@pytest.fixture
async def runner(shop: Shop) -> AsyncIterator[HttpActionRunner]:
    built = HttpActionRunner([shop.host], environ={"SHOP_API_TOKEN": shop.token}, backoff=0.01)
    yield built
    await built.aclose()


def probe(shop: Shop, key: str, *, query: str = "", method: str = "GET", timeout: float = 5,
          path: str = "/customers/{{ customer_id }}/orders/1001") -> ActionSpec:
    """An order lookup whose request carries test hooks for the shop (counted under `key`)."""
    return ActionSpec.model_validate({
        "name": f"probe_{key.replace('-', '_')}", "writes": method != "GET", "confirm": "Sure?",
        "fields": [{"name": "customer_id", "source": "identity", "claim": "user_id"}],
        "call": {"method": method, "url": f"http://{shop.host}{path}{query}", "timeout": timeout,
                 "headers": {"Authorization": "Bearer ${SHOP_API_TOKEN}", "X-Test-Key": key}},
        "reply": {"default": "{{ item }} is {{ status }}", "not_found": "no such order"},
    })


async def ask(runner: HttpActionRunner, spec: ActionSpec, collected: dict[str, Any],
              identity: Identity = DEMO) -> Any:
    step = next_step(spec, identity, collected)
    assert step.kind == "ready", step
    return await runner.run(spec, step.values, identity)


async def test_found_order_is_answered_from_live_data(runner: HttpActionRunner, catalog: Catalog) -> None:
    result = await ask(runner, catalog.actions["order_status"], {"order_id": "1001"})
    assert result.status == "ok" and result.http_status == 200 and result.latency_ms > 0
    assert result.reply == ("Your Edge Box (order 1001) has shipped with DHL, tracking number JD014600003828. "
                            "It should arrive by 2026-12-10.")
    assert result.data["carrier"] == "DHL"


async def test_list_and_account_replies(runner: HttpActionRunner, catalog: Catalog) -> None:
    orders = await ask(runner, catalog.actions["list_orders"], {})
    assert orders.reply.startswith("Your Edge Box (order 1001) has shipped with DHL")
    account = await ask(runner, catalog.actions["account_plan"], {})
    assert account.reply == "You are on the Team plan with 5 seats; it renews on 2027-01-15."


async def test_missing_order_is_not_found(runner: HttpActionRunner, catalog: Catalog) -> None:
    result = await ask(runner, catalog.actions["order_status"], {"order_id": "9999"})
    assert result.status == "not_found" and result.http_status == 404
    assert result.reply == "I could not find an order 9999 on your account. Could you check the number?"


async def test_typing_another_customers_id_and_order_reveals_nothing(runner: HttpActionRunner,
                                                                     catalog: Catalog) -> None:
    typed = {"customer_id": "other-customer", "order_id": "1042"}
    result = await ask(runner, catalog.actions["order_status"], typed)
    assert result.status == "not_found"
    assert "Edge Router" not in result.model_dump_json()


async def test_a_value_cannot_leave_its_path_segment(runner: HttpActionRunner, catalog: Catalog) -> None:
    spec = catalog.actions["order_status"].model_copy(update={"fields": catalog.actions["order_status"].fields[:1]})
    result = await runner.run(spec, {"customer_id": "demo-customer", "order_id": "../account"}, DEMO)
    assert result.status == "not_found" and "plan" not in result.data


async def test_cancel_runs_once_and_a_shipped_order_fails(runner: HttpActionRunner, catalog: Catalog,
                                                          shop: Shop) -> None:
    cancel = catalog.actions["cancel_order"]
    done = await ask(runner, cancel, {"order_id": "1007"})
    assert done.status == "ok" and done.reply == "Done, order 1007 for Edge Box mounting kit is cancelled."
    refused = await ask(runner, cancel, {"order_id": "1001"})
    assert refused.status == "failed" and refused.http_status == 409 and refused.error == "HTTP 409"
    assert refused.data["error"] == "an order that is shipped cannot be cancelled"
    assert shop.hits("/customers/demo-customer/orders/1001/cancel") == 1


async def test_a_500_is_retried_for_reads_then_fails(runner: HttpActionRunner, shop: Shop) -> None:
    result = await runner.run(probe(shop, "get-500", query="?fail=500"), {"customer_id": "demo-customer"}, DEMO)
    assert result.status == "failed" and result.http_status == 500 and result.error == "HTTP 500"
    assert shop.hits("get-500") == 3


async def test_a_read_that_recovers_on_retry_succeeds(runner: HttpActionRunner, shop: Shop) -> None:
    spec = probe(shop, "get-flaky", query="?fail=503&fail_times=2")
    result = await runner.run(spec, {"customer_id": "demo-customer"}, DEMO)
    assert result.status == "ok" and result.reply == "Edge Box is shipped" and shop.hits("get-flaky") == 3


async def test_a_write_is_never_retried(runner: HttpActionRunner, shop: Shop) -> None:
    spec = probe(shop, "post-500", method="POST", query="?fail=500",
                 path="/customers/{{ customer_id }}/orders/1/cancel")
    result = await runner.run(spec, {"customer_id": "demo-customer"}, DEMO)
    assert result.status == "failed" and result.http_status == 500 and shop.hits("post-500") == 1


async def test_a_timeout_fails_the_call_after_one_more_try(shop: Shop) -> None:
    """The shop answers after 3 s; the action allows 0.4 s, so each try ends in the client's timeout (the error
    says so) and the read is tried once more. How fast that is belongs to bench/, not here."""
    runner = HttpActionRunner([shop.host], environ={"SHOP_API_TOKEN": shop.token}, retries=1, backoff=0.01)
    result = await runner.run(probe(shop, "slow-timeout", query="?delay=3", timeout=0.4),
                              {"customer_id": "demo-customer"}, DEMO)
    await runner.aclose()
    assert result.status == "failed" and result.error == "no answer within 0.4 s"
    assert shop.hits("slow-timeout") == 2


async def test_a_slow_answer_within_the_limit_is_used(runner: HttpActionRunner, shop: Shop) -> None:
    result = await runner.run(probe(shop, "slow-ok", query="?delay=0.6", timeout=5),
                              {"customer_id": "demo-customer"}, DEMO)
    assert result.status == "ok" and result.latency_ms >= 600


async def test_a_response_past_the_cap_fails(runner: HttpActionRunner, shop: Shop) -> None:
    big = await runner.run(probe(shop, "big", query="?pad=300000"), {"customer_id": "demo-customer"}, DEMO)
    assert big.status == "failed" and big.error == "response larger than 262144 bytes" and big.data == {}
    assert shop.hits("big") == 1
    small = await runner.run(probe(shop, "small", query="?pad=1000"), {"customer_id": "demo-customer"}, DEMO)
    assert small.status == "ok" and len(small.data["padding"]) == 1000


async def test_the_breaker_opens_after_repeated_failures(shop: Shop) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=lambda: now[0])
    runner = HttpActionRunner([shop.host], environ={"SHOP_API_TOKEN": shop.token}, retries=0, breaker=breaker)
    failing = probe(shop, "breaker-500", query="?fail=500")
    for _ in range(3):
        assert (await runner.run(failing, {"customer_id": "demo-customer"}, DEMO)).http_status == 500
    healthy = probe(shop, "breaker-ok")
    fast = await runner.run(healthy, {"customer_id": "demo-customer"}, DEMO)
    assert fast.status == "failed" and fast.error == f"circuit open for {shop.host} after repeated failures"
    assert shop.hits("breaker-ok") == 0 and shop.hits("breaker-500") == 3
    now[0] = 31.0  # after the cool-down one trial goes through, and its success closes the circuit
    assert (await runner.run(healthy, {"customer_id": "demo-customer"}, DEMO)).status == "ok"
    assert (await runner.run(healthy, {"customer_id": "demo-customer"}, DEMO)).status == "ok"
    await runner.aclose()


async def test_a_host_not_allowed_is_refused_at_call_time(shop: Shop) -> None:
    runner = HttpActionRunner(["shop.example.com"], environ={"SHOP_API_TOKEN": shop.token})
    result = await runner.run(probe(shop, "not-allowed"), {"customer_id": "demo-customer"}, DEMO)
    await runner.aclose()
    assert result.status == "refused" and shop.hits("not-allowed") == 0


async def test_unverified_customers_and_missing_secrets_get_no_call(shop: Shop, runner: HttpActionRunner) -> None:
    spec = probe(shop, "unverified")
    refused = await runner.run(spec, {"customer_id": "demo-customer"}, Identity.anonymous())
    assert refused.status == "refused"
    bare = HttpActionRunner([shop.host], environ={})
    missing = await bare.run(spec, {"customer_id": "demo-customer"}, DEMO)
    await bare.aclose()
    assert missing.status == "failed" and missing.error == "environment variable SHOP_API_TOKEN is not set"
    assert shop.hits("unverified") == 0


async def test_a_wrong_token_fails(shop: Shop) -> None:
    runner = HttpActionRunner([shop.host], environ={"SHOP_API_TOKEN": "wrong"})
    result = await runner.run(probe(shop, "wrong-token"), {"customer_id": "demo-customer"}, DEMO)
    await runner.aclose()
    assert result.status == "failed" and result.http_status == 401


async def test_the_log_has_the_call_but_no_secret_or_value(runner: HttpActionRunner, catalog: Catalog,
                                                           shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="connectors.actions"):
        await ask(runner, catalog.actions["order_status"], {"order_id": "1001"})
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("connectors.actions")]
    assert lines == [f"action order_status: GET {shop.host}/customers/{{{{ customer_id }}}}/orders/{{{{ order_id }}}}"
                     " -> 200 in " + lines[0].rsplit(" in ", 1)[1]]
    assert shop.token not in caplog.text
    assert all(shop.token not in line and "demo-customer" not in line for line in lines)

