"""Actions in whole conversations through the widget's API: the real app, a real Redis, the demo shop as a
process, the demo's actions file and a categorizer trained on the demo's categories and actions."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import Phase
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.actions.conftest import Shop
from tests.connectors.test_webchat_api import AGENT_TOKEN, history, say

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "service" / "demo"
SECRET = "site-signing-secret-for-tests-0123456789"
ORDERS = "/customers/demo-customer/orders"
CANCEL = "/customers/demo-customer/orders/1007/cancel"


def signed(customer: str, *, expires_in: float = 600, secret: str = SECRET) -> str:
    return jwt.encode({"sub": customer, "exp": time.time() + expires_in}, secret, algorithm="HS256")


@pytest.fixture(scope="module")
def actions_file(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's actions, pointed at this shop's port."""
    path = tmp_path_factory.mktemp("actions") / "actions.yml"
    path.write_text((DEMO / "actions.yml").read_text().replace("127.0.0.1:8765", shop.host))
    return path


@pytest.fixture(scope="module")
def categorizer_file(actions_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from service.demo import train_categorizer

    return train_categorizer(DEMO / "categories.yml", tmp_path_factory.mktemp("model") / "categories.model",
                             actions_file)


@pytest.fixture
def client(settings: Settings, shop: Shop, actions_file: Path, categorizer_file: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SHOP_API_TOKEN", shop.token)
    settings.categories_file = DEMO / "categories.yml"
    settings.categorizer_artifact = categorizer_file
    settings.actions_file = actions_file
    settings.identity_jwt_secret = SECRET
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    with TestClient(create_app(settings, container)) as test_client:
        yield test_client


def start(client: TestClient, **proof: str) -> tuple[str, dict[str, str]]:
    response = client.post("/api/conversations", json=proof)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["conversation_id"], {"X-Conversation-Token": body["token"]}


def last_reply(client: TestClient, cid: str, headers: dict[str, str]) -> str:
    return [m for m in history(client, cid, headers) if m["role"] != "customer"][-1]["text"]


def test_a_signed_in_customer_gets_their_shipment_from_the_shop(client: TestClient, shop: Shop) -> None:
    cid, headers = start(client, identity_token=signed("demo-customer"))
    before = shop.hits(ORDERS)
    turn = say(client, cid, headers, "Where is my Edge Box?")
    assert turn["decision"] == "answered"
    reply = last_reply(client, cid, headers)
    assert "Edge Box (order 1001) has shipped with DHL" in reply and "JD014600003828" in reply
    assert shop.hits(ORDERS) == before + 1


def test_an_anonymous_visitor_is_asked_to_sign_in_and_nothing_is_called(client: TestClient, shop: Shop) -> None:
    cid, headers = start(client)
    before = shop.hits(ORDERS)
    say(client, cid, headers, "Where is my Edge Box?")
    assert "sign in" in last_reply(client, cid, headers)
    assert shop.hits(ORDERS) == before


@pytest.mark.parametrize("proof", [
    {"identity_token": signed("demo-customer", secret="a-forged-secret-that-is-long-enough!!")},
    {"identity_token": signed("demo-customer", expires_in=-3600)},
    {"identity_token": "not-a-token"},
    {"user_id": "demo-customer", "user_hash": "00" * 32},
])
def test_a_forged_or_expired_identity_is_refused(client: TestClient, proof: dict[str, str]) -> None:
    response = client.post("/api/conversations", json=proof)
    assert response.status_code == 401 and response.json()["detail"]


def test_signing_in_later_lets_the_same_conversation_look_it_up(client: TestClient) -> None:
    cid, headers = start(client)
    say(client, cid, headers, "Where is my Edge Box?")
    assert "sign in" in last_reply(client, cid, headers)
    response = client.post(f"/api/conversations/{cid}/identity", headers=headers,
                           json={"identity_token": signed("demo-customer")})
    assert response.status_code == 204, response.text
    say(client, cid, headers, "Where is my Edge Box?")
    assert "has shipped with DHL" in last_reply(client, cid, headers)


def test_a_number_asked_for_is_collected_and_another_customers_order_reveals_nothing(client: TestClient,
                                                                                     shop: Shop) -> None:
    cid, headers = start(client, identity_token=signed("demo-customer"))
    say(client, cid, headers, "Please cancel my order")
    assert "Which order should I cancel?" in last_reply(client, cid, headers)
    say(client, cid, headers, "1042")  # another customer's order
    assert "Shall I cancel order 1042?" in last_reply(client, cid, headers)
    say(client, cid, headers, "yes")
    reply = last_reply(client, cid, headers)
    assert "Edge Router" not in reply and "could not find an order 1042" in reply
    assert shop.hits("/customers/other-customer/orders/1042/cancel") == 0


def test_a_write_runs_only_after_yes(client: TestClient, shop: Shop) -> None:
    cid, headers = start(client, identity_token=signed("demo-customer"))
    say(client, cid, headers, "Please cancel order 1007")
    assert "Shall I cancel order 1007?" in last_reply(client, cid, headers)
    assert shop.hits(CANCEL) == 0
    say(client, cid, headers, "yes")
    assert "order 1007 for Edge Box mounting kit is cancelled" in last_reply(client, cid, headers)
    assert shop.hits(CANCEL) == 1


def test_in_phase_draft_an_agent_sees_the_result_before_the_customer(client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {AGENT_TOKEN}", "X-Agent": "alice"}
    moved = client.post("/api/agent/admin/phases/list_orders", json={"phase": Phase.DRAFT.value}, headers=admin)
    assert moved.status_code == 200, moved.text
    cid, headers = start(client, identity_token=signed("demo-customer"))
    turn = say(client, cid, headers, "Where is my Edge Box?")
    assert turn["decision"] == "drafted"
    assert "DHL" not in " ".join(m["text"] for m in history(client, cid, headers))
    queued = client.get("/api/agent/handoffs", headers=admin).json()
    item = next(h for h in queued if h["conversation_id"] == cid)
    assert "has shipped with DHL" in item["draft"]["text"]


def test_the_demo_pages_sign_in_gives_the_widget_an_identity_the_server_accepts(client: TestClient,
                                                                               settings: Settings) -> None:
    assert client.get("/demo/signed-in").status_code == 404  # only where a demo customer is configured
    settings.demo_customer = "demo-customer"
    with TestClient(create_app(settings, client.app.state.container)) as demo:  # type: ignore[attr-defined]
        page = demo.get("/demo/signed-in")
        assert page.status_code == 200 and "Signed in as Demo Customer" in page.text
        token = re.search(r'data-identity-token="([^"]+)"', page.text)
        assert token is not None
        cid, headers = start(demo, identity_token=token.group(1))
        say(demo, cid, headers, "Where is my Edge Box?")
        assert "has shipped with DHL" in last_reply(demo, cid, headers)


def test_a_form_begun_in_one_process_is_continued_by_another(client: TestClient, settings: Settings,
                                                              shop: Shop) -> None:
    """Each app has its own container, Redis connections and caches: only the store is shared, as between
    two API processes behind a load balancer."""
    other_container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                      answerer=FirstSentenceAnswerer())
    with TestClient(create_app(settings, other_container)) as other:
        cancel = "/customers/other-customer/orders/1042/cancel"
        before = shop.hits(cancel)
        cid, headers = start(client, identity_token=signed("other-customer"))
        say(client, cid, headers, "Please cancel my order")
        assert "Which order should I cancel?" in last_reply(client, cid, headers)
        say(other, cid, headers, "1042")
        assert "Shall I cancel order 1042?" in last_reply(other, cid, headers)
        say(client, cid, headers, "yes")
        assert "order 1042 for Edge Router is cancelled" in last_reply(client, cid, headers)
        assert shop.hits(cancel) == before + 1
