"""The demo shop itself: bearer token required, test hooks honoured only when asked for at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.actions.conftest import ROOT, SHOP
from tests.net import free_port, wait_healthy


def test_without_the_flag_hooks_are_ignored_and_the_token_is_required(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "shop.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(SHOP), "--port", str(port)], cwd=ROOT,
                                   env={**os.environ, "SHOP_API_TOKEN": "t0k"}, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", [process], timeout=30, log=log_path)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5) as client:
                order = "/customers/demo-customer/orders/1001"
                assert client.get(order, params={"fail": "500"}, headers={"Authorization": "Bearer t0k"}).json()[
                    "item"] == "Edge Box"
                assert client.get(order).status_code == 401
                assert client.get(order, headers={"Authorization": "Bearer nope"}).status_code == 401
                assert client.get("/_test/hits").status_code == 404
                other = client.get("/customers/demo-customer/orders/1042", headers={"Authorization": "Bearer t0k"})
                assert other.status_code == 404
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_shop_will_not_start_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHOP_API_TOKEN"}
    done = subprocess.run([sys.executable, str(SHOP), "--port", str(free_port())], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "SHOP_API_TOKEN must be set" in done.stderr
