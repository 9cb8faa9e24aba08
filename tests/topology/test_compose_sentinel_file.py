"""docker-compose.sentinel.yml over docker-compose.yml, as Compose merges them: every process of ours reads the
store (and so the broker) through the three sentinels, under the master name they monitor, and waits for them.
The failover itself runs on the engine in tests/topology/test_sentinel_topology.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from service.redis_clients import parse_redis_url
from tests.topology.compose import ROOT, load
from tests.topology.test_compose_file import REQUIRED, compose_command

SENTINELS = {"sentinel-1", "sentinel-2", "sentinel-3"}


def test_every_process_finds_the_store_through_the_sentinels(tmp_path: Path) -> None:
    merged = subprocess.run([*compose_command(), "-f", "docker-compose.yml", "-f", "docker-compose.sentinel.yml",
                             "--profile", "slack", "--profile", "email", "config"],
                            cwd=ROOT, env={"PATH": os.environ["PATH"], **REQUIRED}, capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    (tmp_path / "merged.yml").write_text(merged.stdout, encoding="utf-8")
    services = load({}, tmp_path / "merged.yml")
    assert {"redis", "redis-replica"} | SENTINELS <= set(services)
    monitored = {next(part for part in services[s].command[2].split('"') if part.startswith("sentinel monitor"))
                 for s in SENTINELS}
    assert monitored == {"sentinel monitor supportbot $primary 6379 2"}
    for service in (s for s in services.values() if s.build):
        target = parse_redis_url(service.environment["SUPPORTBOT_REDIS_URL"])
        assert target.kind == "sentinel" and target.master_name == "supportbot", service.name
        assert {host for host, _ in target.hosts} == SENTINELS, service.name
        assert {s for s, condition in service.depends_on.items() if condition == "service_healthy"} >= SENTINELS
    assert services["redis-replica"].healthcheck and all(services[s].healthcheck for s in SENTINELS)
