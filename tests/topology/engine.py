"""docker-compose.yml run by the real Compose on a Docker engine: the image built from the Dockerfile, the
containers' health checks, restart policies, replicas, named volumes and Compose's network and DNS.

No image registry is reachable from the test machines, so the stock images the file names (redis, haproxy,
chromadb/chroma) are stood in for by a test-only Compose override: Debian's redis-server (7.0) and haproxy
(2.6) in an image made from Debian's packages with mmdebstrap, and `chroma run` from our own image (it ships
the chromadb package). Our image's base is made the same way (BASE build argument); pip inside the build
trusts the CA bundle pip on this machine is configured with, passed as a file of the build context only.
The engine is started here when none runs and we are root (`dockerd --iptables=false --bridge=none`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.topology.compose import ROOT, Service, load

BASE_IMAGE = "supportbot-base:bookworm"         # Debian's python3 and venv: the Dockerfile's BASE
SERVICES_IMAGE = "supportbot-services:bookworm"  # Debian's redis-server and haproxy: the stock images' stand-in
IMAGE = "supportbot:latest"
CONTEXT = ["Dockerfile", ".dockerignore", "pyproject.toml", "README.md",
           "bot", "connectors", "knowledge", "workers", "service"]
STATE = ROOT / ".services" / "docker"


def _run(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def compose_command() -> list[str] | None:
    """`docker compose` (the plugin) or `docker-compose` (Debian's package), whichever is installed."""
    if shutil.which("docker") and _run("docker", "compose", "version", check=False).returncode == 0:
        return ["docker", "compose"]
    found = shutil.which("docker-compose")
    return [found] if found else None


def engine_running() -> bool:
    return shutil.which("docker") is not None and _run("docker", "info", check=False, timeout=30).returncode == 0


def ensure_engine() -> bool:
    """True when a Docker engine answers, starting Debian's dockerd when we are root and none runs."""
    if engine_running():
        return True
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if os.geteuid() != 0 or not Path(dockerd).exists() or shutil.which("docker") is None:
        return False
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "dockerd.log").open("ab") as log:
        subprocess.Popen([dockerd, "--iptables=false", "--bridge=none"], stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if engine_running():
            return True
        time.sleep(0.5)
    raise RuntimeError(f"dockerd did not answer within 60 s; see {STATE / 'dockerd.log'}")


def _has_image(name: str) -> bool:
    return _run("docker", "image", "inspect", name, check=False).returncode == 0


def debian_image(name: str, packages: list[str]) -> None:
    """A minimal Debian bookworm image of `packages`, made from Debian's archive (about 20 s), once."""
    if _has_image(name):
        return
    with tempfile.TemporaryDirectory() as folder:
        rootfs = Path(folder) / "rootfs.tar"
        _run("mmdebstrap", "--variant=minbase", f"--include={','.join(packages)}", "bookworm", str(rootfs),
             timeout=900)
        _run("docker", "import", str(rootfs), name, timeout=300)


def pip_ca_bundle() -> Path | None:
    """The CA bundle pip here trusts (PIP_CERT, then pip's configuration), if any."""
    configured = os.environ.get("PIP_CERT")
    if not configured:
        done = _run("python3", "-m", "pip", "config", "get", "global.cert", check=False)
        configured = done.stdout.strip() if done.returncode == 0 else ""
    return Path(configured) if configured and Path(configured).is_file() else None


def build_image() -> float:
    """`docker build` of the Dockerfile on the Debian base; seconds it took (layers cached between runs)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        context = Path(folder)
        for name in CONTEXT:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, context / name)
        bundle = pip_ca_bundle()
        if bundle is not None:
            shutil.copy(bundle, context / "pip-ca.crt")
        _run("docker", "build", "--network", "host", "--build-arg", f"BASE={BASE_IMAGE}", "-t", IMAGE,
             str(context), timeout=1800)
    # earlier runs' images, untagged by this build: each is over a gigabyte, and the layers this run just used
    # stay as the next run's cache
    _run("docker", "image", "prune", "--force", "--filter", "until=15m", timeout=300)
    return time.monotonic() - started


def image_size(name: str = IMAGE) -> int:
    return int(_run("docker", "image", "inspect", "--format", "{{.Size}}", name).stdout.strip())


def stand_in_override(path: Path, services: dict[str, Service]) -> Path:
    """The tests' override: the stock images' stand-ins, nothing else of the files changes."""
    # the official redis image's entrypoint turns protected mode off when no password is set; so does this one
    protected_mode_off = ["sh", "-c", 'exec "$$@" --protected-mode no', "redis"]
    override: dict[str, dict[str, Any]] = {
        name: {"image": SERVICES_IMAGE, "entrypoint": protected_mode_off}
        for name, service in services.items() if (service.image or "").startswith("redis:")}
    override.update({
        "proxy": {"image": SERVICES_IMAGE,
                  "command": ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]},
        "chroma": {"image": IMAGE, "entrypoint": ["chroma"]},
        # every test customer reaches the proxy from the same address (Docker's userland proxy in between),
        # where in production each has its own: the per-address limits are the only thing raised
        "api": {"environment": {"SUPPORTBOT_RATE_LIMITS": json.dumps(
            {"conversations": "6000/minute", "messages": "6000/minute", "live": "6000/minute"})}},
    })
    path.write_text(yaml.safe_dump({"services": override}), encoding="utf-8")
    return path


class ComposeTopology:
    """The same interface as tests.topology.harness.Topology, on containers: `up()`, `kill()` (the
    container's process dies by SIGKILL, as in a crash: the restart policy brings it back), `restart()`
    (`docker restart`), `down()` (containers and volumes removed)."""

    def __init__(self, shell_env: dict[str, str], workdir: Path, http_port: int,
                 variants: tuple[str, ...] = ()) -> None:
        self.compose = compose_command()
        assert self.compose is not None, "Compose is missing: bash scripts/services installs it"
        self.workdir = workdir
        self.project = f"sbtopo{os.getpid()}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}, **shell_env,
                    "HTTP_PORT": str(http_port)}
        self.http_port = http_port
        self.files = [ROOT / "docker-compose.yml", *(ROOT / variant for variant in variants)]
        resolved = workdir / "docker-compose.resolved.yml"  # the files merged, as Compose reads them
        resolved.write_text(self._compose("config").stdout, encoding="utf-8")
        self.services = load({}, resolved)
        self.override = stand_in_override(workdir / "docker-compose.test.yml", self.services)
        self.startup_seconds = 0.0
        self.replicas: dict[str, list[str]] = {}

    def _compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.compose is not None
        overrides = [self.override] if hasattr(self, "override") else []
        command = [*self.compose, "-p", self.project, *(f"--file={path}" for path in [*self.files, *overrides]),
                   *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=self.env, cwd=ROOT)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}\n{self.tail()}")
        return done

    def up(self, timeout: float = 300) -> None:
        """`up -d` returns once the dependencies' conditions held; then every service with a health check
        and a restart policy is waited for, as the process harness does."""
        started = time.monotonic()
        self._compose("up", "-d", "--no-build", timeout=timeout)
        for name in self.services:
            ids = self._compose("ps", "-q", name, check=False).stdout.split()
            self.replicas[name] = sorted(ids, key=self._number)
        for name, service in self.services.items():
            if service.healthcheck and service.restart != "no" and self.replicas.get(name):
                self.wait_healthy(name, timeout)
        self.startup_seconds = time.monotonic() - started

    def _inspect(self, container: str) -> dict:  # type: ignore[type-arg]
        return dict(json.loads(_run("docker", "inspect", container).stdout)[0])

    def _number(self, container: str) -> int:
        labels = self._inspect(container)["Config"]["Labels"]
        return int(labels.get("com.docker.compose.container-number", 1))

    def address(self, service: str, index: int = 0) -> str:
        networks = self._inspect(self.replicas[service][index])["NetworkSettings"]["Networks"]
        return str(next(iter(networks.values()))["IPAddress"])

    def url(self, service: str, index: int = 0) -> str:
        if service == "proxy":
            return f"http://127.0.0.1:{self.http_port}"
        port = self.services[service].port or 8000
        return f"http://{self.address(service, index)}:{port}"

    def healthy(self, service: str, index: int = 0) -> bool:
        state = self._inspect(self.replicas[service][index])["State"]
        return bool(state.get("Running")) and (state.get("Health") or {}).get("Status") == "healthy"

    def wait_healthy(self, service: str, timeout: float = 180.0) -> float:
        started = time.monotonic()
        for index in range(len(self.replicas[service])):
            while not self.healthy(service, index):
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{service} not healthy after {timeout} s\n{self.tail(service)}")
                time.sleep(0.5)
        return time.monotonic() - started

    def cold_start(self, service: str, index: int = 0) -> float:
        """Seconds from `docker restart` of a container until its /healthz answers (models loaded)."""
        started = time.monotonic()
        self.restart(service, index)
        url = f"{self.url(service, index)}/healthz"
        while time.monotonic() - started < 180:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{service} #{index + 1} did not answer /healthz\n{self.tail(service)}")

    def kill(self, service: str, index: int = 0, sig: int = signal.SIGKILL) -> None:
        """A crash: the container's main process dies by `sig`; Docker's restart policy acts, as it does
        not after `docker kill`, which counts as stopping the container on purpose."""
        pid = int(self._inspect(self.replicas[service][index])["State"]["Pid"])
        assert pid > 0, f"{service} #{index + 1} is not running"
        os.kill(pid, sig)

    def exec(self, service: str, *command: str, index: int = 0) -> str:
        return _run("docker", "exec", self.replicas[service][index], *command).stdout.strip()

    def stop(self, service: str, index: int = 0) -> None:
        """`docker kill`: the container dies and stays down (a stop on purpose: no restart policy acts)."""
        _run("docker", "kill", self.replicas[service][index])

    def start(self, service: str, index: int = 0) -> None:
        _run("docker", "start", self.replicas[service][index])

    def restart(self, service: str, index: int = 0) -> None:
        _run("docker", "restart", "--time", "20", self.replicas[service][index], timeout=120)

    def down(self) -> None:
        self._compose("down", "--volumes", "--timeout", "20", check=False)

    def restarts(self) -> dict[str, int]:
        return {name: sum(int(self._inspect(c)["RestartCount"]) for c in ids) for name, ids in self.replicas.items()}

    def tail(self, service: str | None = None, lines: int = 40) -> str:
        done = self._compose("logs", "--no-color", "--tail", str(lines), *([service] if service else []),
                             check=False, timeout=120)
        return done.stdout[-20000:]
