"""docker-compose.yml's services as local processes: the same commands and environment, with the service names
rewritten to 127.0.0.1 and free ports, named volumes in a temporary folder, health checks run as Compose runs
them, `depends_on` conditions waited for, replicas started and restart policies applied by a supervisor."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.net import free_port
from tests.topology.compose import ROOT, Service, load, start_order

BIN = Path(sys.executable).parent
# the programs our image (`build: .`) and the stock images run, as installed here
PROGRAMS = {"supportbot": str(BIN / "supportbot"), "celery": str(BIN / "celery"), "python": sys.executable}
IMAGE_ENTRYPOINTS = {"chromadb/chroma": [str(BIN / "chroma")], "redis": [], "haproxy": []}


@dataclass
class Replica:
    service: str
    index: int
    port: int | None
    process: subprocess.Popen[bytes] | None = None
    stopping: bool = False
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


class Topology:
    """Start with `up()`, inject faults with `kill()` and `restart()`, end with `down()`."""

    def __init__(self, shell_env: dict[str, str], workdir: Path, profiles: frozenset[str] = frozenset()) -> None:
        self.services = {name: s for name, s in load(shell_env).items()
                         if not s.profiles or set(s.profiles) & profiles}
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.replicas: dict[str, list[Replica]] = {}
        for name, service in self.services.items():
            container_port = self._container_port(service)
            self.replicas[name] = [Replica(name, i, free_port() if container_port else None)
                                   for i in range(service.replicas)]
        self.startup_seconds = 0.0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    # ---- the rewriting: container names, ports and paths become local ones

    @staticmethod
    def _container_port(service: Service) -> int | None:
        if service.port is not None:
            return service.port
        return int(service.ports[0].rsplit(":", 1)[1]) if service.ports else None

    def port(self, service: str, index: int = 0) -> int:
        port = self.replicas[service][index].port
        assert port is not None, f"{service} listens on no port"
        return port

    def url(self, service: str, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.port(service, index)}"

    def _paths(self, service: Service) -> list[tuple[str, Path]]:
        mounts = []
        for volume in service.volumes:
            host = self.workdir / "volumes" / volume.source if volume.named else (ROOT / volume.source).resolve()
            if volume.named:
                host.mkdir(parents=True, exist_ok=True)
            mounts.append((volume.target, host))
        return sorted(mounts, key=lambda m: -len(m[0]))  # the deepest mount point wins

    def _local(self, value: str, service: Service, replica: Replica) -> str:
        for other in self.services.values():  # redis://redis:6379 -> redis://127.0.0.1:<its port>
            port = self._container_port(other)
            if port and self.replicas[other.name][0].port:
                value = value.replace(f"//{other.name}:{port}", f"//127.0.0.1:{self.port(other.name)}")
        for target, host in self._paths(service):
            if value == target or value.startswith(target + "/"):
                return str(host) + value[len(target):]
        return value

    def _command(self, service: Service, replica: Replica) -> list[str]:
        args = [self._local(a, service, replica) for a in service.command]
        for i, arg in enumerate(args[:-1]):
            if arg == "--port" and replica.port:
                args[i + 1] = str(replica.port)
            if arg == "--host":
                args[i + 1] = "127.0.0.1"
        if service.build:
            return [PROGRAMS.get(args[0], args[0])] + args[1:]
        image = (service.image or "").split(":")[0]
        if image == "redis":
            args += ["--bind", "127.0.0.1"]
        return IMAGE_ENTRYPOINTS[image] + args

    def _environment(self, service: Service, replica: Replica) -> dict[str, str]:
        # only what the compose file sets reaches the process's settings, as in a container
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
        env.update({k: self._local(v, service, replica) for k, v in service.environment.items()})
        return env

    def _healthcheck(self, service: Service, replica: Replica) -> list[str]:
        assert service.healthcheck is not None
        container_port = str(self._container_port(service))
        args = [re.sub(rf"\b{container_port}\b", str(replica.port), a) for a in service.healthcheck]
        return [PROGRAMS.get(args[0], args[0])] + args[1:]

    def _proxy_config(self, service: Service, replica: Replica) -> Path:
        """The shipped HAProxy file with Docker's DNS replaced by the replicas started here."""
        source = next(host for target, host in self._paths(service) if target.endswith(".cfg"))
        servers = {name: [r.port for r in replicas] for name, replicas in self.replicas.items()}
        path = self.workdir / f"{service.name}.cfg"
        path.write_text(local_proxy_config(source.read_text(encoding="utf-8"), replica.port, servers),
                        encoding="utf-8")
        return path

    # ---- processes

    def _spawn(self, replica: Replica) -> None:
        service = self.services[replica.service]
        if (service.image or "").startswith("haproxy"):
            command = [haproxy(), "-db", "-f", str(self._proxy_config(service, replica))]
        else:
            command = self._command(service, replica)
        log = (self.logs / f"{service.name}-{replica.index + 1}.log").open("ab")
        log.write(f"\n=== {' '.join(command)} at {time.time():.1f}\n".encode())
        log.flush()
        replica.process = subprocess.Popen(command, cwd=self.workdir, env=self._environment(service, replica),
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        replica.stopping = False

    def healthy(self, service: str, index: int = 0) -> bool:
        spec, replica = self.services[service], self.replicas[service][index]
        if replica.process is None or replica.process.poll() is not None:
            return False
        try:
            return subprocess.run(self._healthcheck(spec, replica), capture_output=True, timeout=10,
                                  env=self._environment(spec, replica)).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def wait_healthy(self, service: str, timeout: float = 180.0) -> float:
        """Seconds until every replica passes the service's own health check."""
        started = time.monotonic()
        for replica in self.replicas[service]:
            while not self.healthy(service, replica.index):
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{service} not healthy after {timeout} s\n{self.tail(service)}")
                time.sleep(0.3)
        return time.monotonic() - started

    def up(self, timeout: float = 180.0) -> None:
        """Start in dependency order, waiting for each condition as Compose does."""
        started = time.monotonic()
        for name in start_order(self.services):
            for dependency, condition in self.services[name].depends_on.items():
                if condition == "service_healthy":
                    self.wait_healthy(dependency, timeout)
                elif condition == "service_completed_successfully":
                    for replica in self.replicas[dependency]:
                        assert replica.process is not None
                        code = replica.process.wait(timeout=timeout)
                        assert code == 0, f"{dependency} exited with {code}\n{self.tail(dependency)}"
            for replica in self.replicas[name]:
                self._spawn(replica)
        self._supervisor.start()
        for name, service in self.services.items():
            if service.healthcheck and service.restart != "no":
                self.wait_healthy(name, timeout)
        self.startup_seconds = time.monotonic() - started

    def _supervise(self) -> None:
        """The restart policies: a process that exits on its own is started again, as Docker would."""
        while not self._closing.wait(0.2):
            with self._lock:
                for name, replicas in self.replicas.items():
                    policy = self.services[name].restart
                    for replica in replicas:
                        process = replica.process
                        if process is None or replica.stopping or process.poll() is None:
                            continue
                        if policy in ("always", "unless-stopped") or (policy == "on-failure" and process.returncode):
                            replica.exits.append(process.returncode)
                            replica.restarts += 1
                            self._spawn(replica)

    def kill(self, service: str, index: int = 0, sig: int = signal.SIGKILL) -> None:
        """What a crash does: the supervisor notices the exit and applies the restart policy."""
        process = self.replicas[service][index].process
        assert process is not None and process.poll() is None, f"{service} #{index + 1} is not running"
        os.killpg(process.pid, sig)

    def restart(self, service: str, index: int = 0) -> None:
        """`docker compose restart`: SIGTERM, wait for the exit, start again."""
        replica = self.replicas[service][index]
        with self._lock:
            replica.stopping = True
        self._stop(replica)
        with self._lock:
            self._spawn(replica)

    @staticmethod
    def _stop(replica: Replica, grace: float = 20.0) -> None:
        process = replica.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            process.wait()

    def down(self) -> None:
        self._closing.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        for name in reversed(start_order(self.services)):
            for replica in self.replicas[name]:
                replica.stopping = True
                self._stop(replica)

    def restarts(self) -> dict[str, int]:
        return {name: sum(r.restarts for r in replicas) for name, replicas in self.replicas.items()}

    def tail(self, service: str | None = None, lines: int = 40) -> str:
        out = []
        for path in sorted(self.logs.glob(f"{service or ''}*.log")):
            text = path.read_text(errors="replace").splitlines()
            out.append(f"----- {path.name} -----\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


def local_proxy_config(text: str, port: int, servers: dict[str, list[int]]) -> str:
    """An HAProxy file for local processes: it listens on 127.0.0.1:`port`, and each `server-template` becomes
    one server per local port its service has in `servers` (none: an empty backend); Docker's DNS is gone."""
    lines, skipping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("resolvers "):
            skipping = True
            continue
        if skipping and (not stripped or line[0].isspace()):
            continue
        skipping = False
        if stripped.startswith("bind "):
            line = f"    bind 127.0.0.1:{port}"
        elif stripped.startswith("server-template "):
            _, name, _, address, *options = stripped.split()
            kept = " ".join(_without_dns(options))
            for index, server_port in enumerate(servers.get(address.split(":")[0], [])):
                lines.append(f"    server {name}{index + 1} 127.0.0.1:{server_port} {kept}")
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def _without_dns(options: list[str]) -> list[str]:
    """A server line's options less those about Docker's DNS (each of them takes one value)."""
    kept, skip = [], False
    for option in options:
        if not skip and option in ("resolvers", "init-addr", "resolve-prefer", "resolve-opts"):
            skip = True
            continue
        if not skip:
            kept.append(option)
        skip = False
    return kept


def haproxy() -> str:
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        raise RuntimeError("haproxy is missing: bash scripts/services installs it")
    return found
