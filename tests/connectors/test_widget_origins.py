"""Only allowed origins may use the widget API: CORS for browsers, and a server-side refusal for everyone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.asgi import create_app
from service.container import Container
from service.settings import Settings

ALLOWED = "https://shop.example"


@pytest.fixture
def guarded(settings: Settings, container: Container) -> Iterator[TestClient]:
    settings.allowed_origins = [ALLOWED]
    with TestClient(create_app(settings, container)) as test_client:
        yield test_client


def test_allowed_own_and_absent_origins_pass_others_get_403(guarded: TestClient) -> None:
    ok = guarded.post("/api/conversations", headers={"Origin": ALLOWED})
    assert ok.status_code == 201 and ok.headers["access-control-allow-origin"] == ALLOWED
    assert guarded.post("/api/conversations").status_code == 201
    assert guarded.post("/api/conversations", headers={"Origin": "http://testserver"}).status_code == 201
    refused = guarded.post("/api/conversations", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.json()["detail"] == "origin not allowed"
    preflight = guarded.options("/api/conversations", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_websocket_from_a_disallowed_origin_is_refused(guarded: TestClient) -> None:
    body = guarded.post("/api/conversations", headers={"Origin": ALLOWED}).json()
    path = f"/api/conversations/{body['conversation_id']}/live?token={body['token']}"
    with guarded.websocket_connect(path, headers={"Origin": ALLOWED}):
        pass
    with pytest.raises(WebSocketDisconnect) as closed:
        with guarded.websocket_connect(path, headers={"Origin": "https://evil.example"}):
            pass
    assert closed.value.code == 4403
