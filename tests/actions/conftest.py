"""The demo shop run as a real process on a free port, with its test hooks on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.net import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "service" / "demo" / "shop.py"


@dataclass
class Shop:
    url: str
    token: str
    host: str

    def hits(self, key: str) -> int:
        return int(httpx.get(f"{self.url}/_test/hits", timeout=5, trust_env=False).json().get(key, 0))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    port = free_port()
    token = "shop-secret-7f3a"
    log_path = tmp_path_factory.mktemp("shop") / "shop.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(SHOP), "--port", str(port), "--test-hooks"], cwd=ROOT,
                                   env={**os.environ, "SHOP_API_TOKEN": token}, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", [process], timeout=30, log=log_path)
            yield Shop(url=f"http://127.0.0.1:{port}", token=token, host=f"127.0.0.1:{port}")
        finally:
            process.terminate()
            process.wait(timeout=10)
