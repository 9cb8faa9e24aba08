"""docker-compose.yml works as written: every file it mounts exists, every command is one we ship, every
SUPPORTBOT_* variable is a setting that accepts its value, health checks back every `service_healthy`, and
Compose itself (Debian's docker-compose, installed by scripts/services) accepts the file."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.cli import build_parser
from service.container import load_gates
from service.settings import Settings
from tests.topology.compose import COMPOSE_FILE, ROOT, MissingVariable, Service, load, start_order, variables

REQUIRED = {"SUPPORTBOT_AGENT_TOKEN": "token", "SUPPORTBOT_ADMIN_PASSWORD": "admin-password",
            "SUPPORTBOT_METRICS_TOKEN": "metrics-token"}
TEXT = COMPOSE_FILE.read_text(encoding="utf-8")
HEADER = "".join(line for line in TEXT.splitlines(keepends=True) if line.startswith("#"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    return load(REQUIRED)


def ours(services: dict[str, Service]) -> list[Service]:
    return [s for s in services.values() if s.build]


def container_path(service: Service, path: str) -> Path | None:
    """Where a path inside the container comes from, when a bind mount of this repository provides it."""
    for volume in sorted(service.volumes, key=lambda v: -len(v.target)):
        if not volume.named and (path == volume.target or path.startswith(volume.target + "/")):
            return ROOT / volume.source / path[len(volume.target):].lstrip("/")
    return None


def test_the_required_variables_stop_compose_with_their_name() -> None:
    for name in REQUIRED:
        with pytest.raises(MissingVariable, match=name):
            load({k: v for k, v in REQUIRED.items() if k != name})


def test_every_variable_is_documented_in_the_file_and_the_readme() -> None:
    for variable in variables(TEXT):
        short = variable.name.removeprefix("SUPPORTBOT_")
        assert variable.name in HEADER or f"_{short}" in HEADER, f"{variable.name} not described in the header"
        assert variable.name in README or f"_{short}" in README, f"{variable.name} not in the README"


def test_every_supportbot_variable_is_a_setting_that_accepts_its_value(
        services: dict[str, Service], monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {f"SUPPORTBOT_{name.upper()}" for name in Settings.model_fields}
    for variable in variables(TEXT):
        if variable.name.startswith("SUPPORTBOT_"):
            assert variable.name in fields, f"{variable.name} is no setting"
    for service in ours(services):
        for name in service.environment:
            assert name in fields, f"{service.name}: {name} is no setting"
        for name in list(os.environ):
            if name.startswith("SUPPORTBOT_"):
                monkeypatch.delenv(name)
        for name, value in service.environment.items():
            monkeypatch.setenv(name, value)
        Settings(_env_file=None)  # type: ignore[call-arg]  # every value, defaults included, validates


def test_every_mounted_file_and_referenced_path_exists(services: dict[str, Service]) -> None:
    for service in services.values():
        for volume in service.volumes:
            if not volume.named:
                assert (ROOT / volume.source).exists(), f"{service.name} mounts {volume.source}, which is missing"
        for value in [*service.environment.values(), *service.command]:
            if value.startswith("/") and (local := container_path(service, value)) is not None:
                assert local.exists(), f"{service.name}: {value} would be {local}, which is missing"


def test_the_shipped_categories_load_as_phase_gates(services: dict[str, Service]) -> None:
    api = services["api"]
    categories = container_path(api, api.environment["SUPPORTBOT_CATEGORIES_FILE"])
    gates = load_gates(Settings(categories_file=categories, _env_file=None))  # type: ignore[call-arg]
    assert gates.configured and "general" in {c.name for c in gates.categories}


def test_every_command_is_one_we_ship(services: dict[str, Service]) -> None:
    for service in ours(services):
        program, args = service.command[0], service.command[1:]
        if program == "supportbot":
            build_parser().parse_args(args)  # exits on an unknown command or option
        elif program == "celery":
            module = args[args.index("-A") + 1]
            assert importlib.util.find_spec(module) is not None, f"{service.name}: no module {module}"
        else:
            pytest.fail(f"{service.name}: unexpected program {program}")
        if service.healthcheck and service.healthcheck[0] == "python":
            compile(service.healthcheck[-1], f"{service.name} healthcheck", "exec")


def test_dependencies_wait_for_health_and_the_ingest(services: dict[str, Service]) -> None:
    start_order(services)  # no cycle, no unknown service
    for name in ("redis", "chroma", "api"):
        assert services[name].healthcheck, f"{name} has no health check"
    for service in services.values():
        for dependency, condition in service.depends_on.items():
            assert dependency in services, f"{service.name} depends on unknown {dependency}"
            if condition == "service_healthy":
                assert services[dependency].healthcheck, f"{service.name} waits for {dependency}'s health check"
            if condition == "service_completed_successfully":
                assert services[dependency].restart == "no", f"{dependency} runs once, so it is not restarted"
    assert services["api"].depends_on["ingest"] == "service_completed_successfully"
    assert any(v.target == "/documents" for v in services["ingest"].volumes)
    assert services["ingest"].command[:3] == ["supportbot", "ingest", "/documents"]


def test_long_running_services_restart_and_connectors_are_optional(services: dict[str, Service]) -> None:
    for service in services.values():
        if service.name != "ingest":
            assert service.restart in ("always", "unless-stopped"), f"{service.name} is not restarted"
    assert services["slack"].profiles == ["slack"] and services["email"].profiles == ["email"]
    assert services["api"].replicas >= 2 and services["worker"].replicas >= 2 and services["beat"].replicas == 1


def test_the_proxy_config_is_valid_haproxy(services: dict[str, Service]) -> None:
    config = next(ROOT / v.source for v in services["proxy"].volumes if v.target.endswith("haproxy.cfg"))
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"  # Debian's, installed by scripts/services
    result = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor `docker-compose` is installed: bash scripts/services")


@pytest.mark.parametrize("profiles", [[], ["--profile", "slack", "--profile", "email"]])
def test_compose_accepts_the_file(profiles: list[str]) -> None:
    env = {"PATH": os.environ["PATH"], **REQUIRED}
    result = subprocess.run([*compose_command(), "-f", str(COMPOSE_FILE), *profiles, "config", "-q"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    refused = subprocess.run([*compose_command(), "-f", str(COMPOSE_FILE), "config", "-q"], cwd=ROOT,
                             env={"PATH": env["PATH"]}, capture_output=True, text=True)
    assert refused.returncode != 0 and "SUPPORTBOT_" in refused.stderr, refused.stderr
