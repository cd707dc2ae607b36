"""Starts the whole platform on one machine: the embedded stack, migrations, five services, the gateway.

`python -m devstack.launcher run` is what `make run` calls; tests use `Launcher` with their own ports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.embedded import StackEndpoints, start_stack, stop_stack
from devstack.provisioning import provision_database
from services.common.grpc_client import replicas_target
from services.common.settings import DEFAULT_PORTS

BACKEND_SERVICES = ("tenancy", "ingest", "search", "analysis")
SERVICES = (*BACKEND_SERVICES, "gateway")
REPO_ROOT = Path(__file__).resolve().parent.parent
# Replicas beyond the first listen this far apart above the first's port when no ports are given (`make run`).
REPLICA_PORT_STEP = 100


@dataclass
class Deployment:
    """Where a started platform answers."""

    gateway_url: str
    grpc_addresses: dict[str, str]  # per service, the one gRPC target of all its replicas (what peers dial)
    endpoints: StackEndpoints
    database_urls: dict[str, str]
    data_dir: Path
    gateway_urls: list[str] = field(default_factory=list)  # every gateway replica, the first is `gateway_url`
    replica_addresses: dict[str, list[str]] = field(default_factory=dict)  # per service, each replica's host:port


@dataclass(frozen=True)
class RestartPolicy:
    """How the launcher restarts a service that died: after `first_delay_s`, doubling with each crash of the
    same replica within `crash_loop_window_s` (at most `max_delay_s`); `crash_loop_crashes` crashes within the
    window is a crash loop, and stops the platform (restarting it again would only hide the fault)."""

    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    crash_loop_crashes: int = 5
    crash_loop_window_s: float = 120.0

    def delay_s(self, crashes_in_window: int) -> float:
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** max(0, crashes_in_window - 1)))


class CrashLoop(RuntimeError):
    """A replica died too often within the window: the platform stops rather than restart it again."""


@dataclass(frozen=True)
class Replica:
    """One process of a service: named after the service (the first replica) or `<service>-<n>`."""

    service: str
    name: str
    port: int  # the gRPC port of a backend service, the HTTP port of a gateway


@dataclass
class Launcher:
    """Starts, supervises and stops the platform's processes; the embedded stack is left to `stack_started_here`."""

    data_dir: Path
    gateway_port: int = 8000
    grpc_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    stack_base_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    # Ports of the replicas after the first, per service ("gateway" included); REPLICA_PORT_STEP apart if absent.
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    nats_cluster_size: int = 1
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Per replica, how often the supervisor started it again.
    restarts: dict[str, int] = field(default_factory=dict)
    _deployment: Deployment | None = None
    # The supervisor thread and the hand-driven restarts of tests share the processes.
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _crashes: dict[str, list[float]] = field(default_factory=dict)
    _due: dict[str, float] = field(default_factory=dict)
    _stopping: bool = False
    _supervised: bool = False

    # -- the layout --------------------------------------------------------------------------------

    def service_replicas(self, service: str) -> list[Replica]:
        first = self.gateway_port if service == "gateway" else self.grpc_ports[service]
        extra = self.replica_ports.get(service) or [first + REPLICA_PORT_STEP * k for k in range(1, self.replicas)]
        if len(extra) < self.replicas - 1:
            raise ValueError(f"{service} has ports for {len(extra) + 1} replicas, not {self.replicas}")
        ports = [first, *extra[: self.replicas - 1]]
        return [Replica(service, service if k == 0 else f"{service}-{k + 1}", port) for k, port in enumerate(ports)]

    def replica(self, name: str) -> Replica:
        for service in SERVICES:
            for replica in self.service_replicas(service):
                if replica.name == name:
                    return replica
        raise KeyError(name)

    # -- starting and stopping ---------------------------------------------------------------------

    def start(self) -> Deployment:
        """Start everything and return once every replica of every service reports healthy."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stopping = False
        endpoints = start_stack(self.data_dir, base_port=self.stack_base_port, nats_cluster_size=self.nats_cluster_size)
        database_urls = provision_database(endpoints.database_admin_url, self.data_dir / "db-credentials.json")
        replica_addresses = {
            name: [f"127.0.0.1:{replica.port}" for replica in self.service_replicas(name)] for name in BACKEND_SERVICES
        }
        addresses = {name: replicas_target(replica_addresses[name]) for name in BACKEND_SERVICES}
        gateway_urls = [f"http://127.0.0.1:{replica.port}" for replica in self.service_replicas("gateway")]
        self._deployment = Deployment(
            gateway_url=gateway_urls[0],
            grpc_addresses=addresses,
            endpoints=endpoints,
            database_urls=database_urls,
            data_dir=self.data_dir,
            gateway_urls=gateway_urls,
            replica_addresses=replica_addresses,
        )
        for name in SERVICES:
            self._run_once(name, "migrate", self._env(name, endpoints, database_urls, addresses))
        # Everyone else fetches token keys from tenancy at start-up; let it come first.
        for replica in self.service_replicas("tenancy"):
            self._spawn_replica(replica)
        for replica in self.service_replicas("tenancy"):
            self.wait_healthy(replica.name)
        for name in BACKEND_SERVICES[1:]:
            for replica in self.service_replicas(name):
                self._spawn_replica(replica)
        for name in BACKEND_SERVICES[1:]:
            for replica in self.service_replicas(name):
                self.wait_healthy(replica.name)
        for replica in self.service_replicas("gateway"):
            self._spawn_replica(replica)
        for replica in self.service_replicas("gateway"):
            self.wait_healthy(replica.name)
        return self._deployment

    @contextmanager
    def running(self) -> Iterator[Deployment]:
        """The platform, started, and stopped with its stack when the block ends: also when start-up fails
        half-way, and when the process is told to terminate. SIGTERM ends the block as Ctrl-C would (by
        default it ends Python without unwinding, which left a killed benchmark's services running)."""
        previous = signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            yield self.start()
        finally:
            try:
                self.stop(stack=True)
            finally:
                signal.signal(signal.SIGTERM, previous)

    def stop(self, *, stack: bool = False) -> None:
        """Stop the service processes (SIGTERM, then SIGKILL after a grace period), and the stack if asked."""
        with self._lock:
            self._stopping = True  # a supervisor still running restarts nothing from here on
            self._due.clear()
        try:
            self._stop_services()
        finally:
            if stack:
                stop_stack(self.data_dir)

    def _stop_services(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    # -- supervision -------------------------------------------------------------------------------

    def supervise_once(self) -> None:
        """One look at every replica: a replica that died is started again after its back-off (never waited
        for here, so the others are looked after meanwhile); raises CrashLoop when one dies too often."""
        with self._lock:
            if self._stopping or self._deployment is None:
                return
            now = time.monotonic()
            for name, process in list(self.processes.items()):
                if process.poll() is None:
                    continue
                if name not in self._due:
                    window_start = now - self.restart_policy.crash_loop_window_s
                    crashes = [t for t in self._crashes.get(name, []) if t >= window_start] + [now]
                    self._crashes[name] = crashes
                    if len(crashes) >= self.restart_policy.crash_loop_crashes:
                        self._report(
                            f"{name} exited with {process.returncode}, its {len(crashes)}th crash within "
                            f"{self.restart_policy.crash_loop_window_s:.0f} s: a crash loop, stopping everything"
                        )
                        raise CrashLoop(f"{name} crashed {len(crashes)} times within the window; see its log")
                    delay = self.restart_policy.delay_s(len(crashes))
                    self._due[name] = now + delay
                    self._report(
                        f"{name} exited with {process.returncode}; restarting in {delay:.1f} s "
                        f"(crash {len(crashes)} within {self.restart_policy.crash_loop_window_s:.0f} s; "
                        f"see {self.data_dir / 'logs' / name}.log)"
                    )
                elif now >= self._due[name]:
                    del self._due[name]
                    self._spawn_replica(self.replica(name))
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self._report(f"{name} restarted (pid {self.processes[name].pid})")

    def supervise(self, until: Callable[[], bool], every_s: float = 0.5) -> None:
        """Supervise the started platform until `until()` is true; a crash loop is raised (CrashLoop)."""
        self._supervised = True
        try:
            while not until():
                self.supervise_once()
                time.sleep(every_s)
        finally:
            self._supervised = False

    @contextmanager
    def supervising(self, every_s: float = 0.2) -> Iterator[None]:
        """Supervise the started platform from a background thread for the block (tests, benchmarks); a crash
        loop ends the supervision and is raised at the block's end."""
        done = threading.Event()
        failure: list[BaseException] = []

        def watch() -> None:
            try:
                self.supervise(done.is_set, every_s)
            except BaseException as exc:  # noqa: BLE001 - handed to the block's owner below
                failure.append(exc)

        thread = threading.Thread(target=watch, name="supervisor", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(10)
        if failure:
            raise failure[0]

    def kill(self, name: str) -> int:
        """SIGKILL one replica (fault injection); returns the pid it had. A supervisor starts it again."""
        with self._lock:
            process = self.processes[name]
            process.kill()
            pid = process.pid
        return pid

    def restart(self, name: str, deployment: Deployment | None = None) -> None:
        """Kill one replica hard and start it again (fault-injection tests)."""
        with self._lock:
            process = self.processes[name]
            process.kill()
            process.wait()
            self._due.pop(name, None)
            self._spawn_replica(self.replica(name))
        self.wait_healthy(name)

    def restart_dead(self, name: str, deployment: Deployment | None = None) -> None:
        """Start again a replica whose process has exited (unless a supervisor already did), and wait for it."""
        with self._lock:
            if self.processes[name].poll() is not None:
                self._due.pop(name, None)
                self._spawn_replica(self.replica(name))
        self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout_s: float = 60) -> None:
        """Wait until the replica `name` serves (its gRPC health, or the gateway's /healthz). Unsupervised, a
        replica that exits meanwhile fails the wait; supervised, it is waited for through its restart."""
        replica = self.replica(name)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                process = self.processes[name]
                restarting = name in self._due
            if process.poll() is not None:
                if not self._supervised:
                    raise RuntimeError(f"{name} exited with {process.returncode} during start-up; see its log")
            elif not restarting:
                if replica.service == "gateway":
                    serving = _http_ok(f"http://127.0.0.1:{replica.port}/healthz")
                else:
                    serving = _grpc_serving(f"127.0.0.1:{replica.port}")
                if serving:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not become healthy within {timeout_s} s; see its log")

    def _report(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} launcher: {message}"
        print(line, flush=True)
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "launcher.log", "a") as handle:
            handle.write(line + "\n")

    # -- processes ---------------------------------------------------------------------------------

    def _env(
        self,
        name: str,
        endpoints: StackEndpoints,
        database_urls: dict[str, str],
        addresses: dict[str, str],
        port: int | None = None,
    ) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'gen'}",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PMDI_DATA_DIR": str(self.data_dir),
            "PMDI_DATABASE_URL": database_urls[name],
            "PMDI_NATS_URL": endpoints.nats_url,
            # Every stream on every node of a cluster (3 at most: more copies buy nothing but writes).
            "PMDI_NATS_STREAM_REPLICAS": str(min(3, self.nats_cluster_size)),
            "PMDI_S3_ENDPOINT": endpoints.s3_endpoint,
            "PMDI_S3_ACCESS_KEY": endpoints.s3_access_key,
            "PMDI_S3_SECRET_KEY": endpoints.s3_secret_key,
            "PMDI_S3_SECURE": "true" if endpoints.s3_secure else "false",
            "PMDI_GATEWAY_PORT": str(port if name == "gateway" and port is not None else self.gateway_port),
            **{f"PMDI_{peer.upper()}_ADDR": address for peer, address in addresses.items()},
        }
        if name in self.grpc_ports:
            env["PMDI_GRPC_PORT"] = str(port if port is not None else self.grpc_ports[name])
        env.update(self.extra_env)
        return env

    def _run_once(self, name: str, command: str, env: dict[str, str]) -> None:
        result = subprocess.run(
            [sys.executable, "-m", f"services.{name}", command], env=env, capture_output=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{name} {command} failed:\n{result.stderr.decode(errors='replace')[-4000:]}")

    def _spawn_replica(self, replica: Replica) -> None:
        deployment = self._deployment
        assert deployment is not None, "start the platform first"
        env = self._env(
            replica.service,
            deployment.endpoints,
            deployment.database_urls,
            deployment.grpc_addresses,
            port=replica.port,
        )
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        # The child keeps its own copy of the descriptor; ours is closed at once.
        with self._lock, open(log_dir / f"{replica.name}.log", "ab") as log:
            self.processes[replica.name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{replica.service}", "serve"],
                env=env,
                stdout=log,
                stderr=log,
                cwd=REPO_ROOT,
            )


def _exit_on_signal(signum: int, _: object) -> NoReturn:
    raise SystemExit(128 + signum)


def _grpc_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode} during start-up; see its log")
        if _http_ok(url):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def run() -> None:
    """Start everything, print the URL, supervise (a service that dies is started again), and stop it all on
    Ctrl-C or a crash loop. PMDI_REPLICAS runs that many replicas of every service, PMDI_NATS_NODES a NATS
    cluster of that many servers."""
    data_dir = Path(os.environ.get("PMDI_DATA_DIR", ".pmdi"))
    launcher = Launcher(
        data_dir=data_dir,
        gateway_port=int(os.environ.get("PMDI_GATEWAY_PORT", "8000")),
        replicas=int(os.environ.get("PMDI_REPLICAS", "1")),
        nats_cluster_size=int(os.environ.get("PMDI_NATS_NODES", "1")),
    )
    stopping = False

    def on_signal(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        deployment = launcher.start()
        print(
            f"\nPM Document Intelligence is up.\n  Web console:  {deployment.gateway_url}/\n"
            f"  GraphQL:      {deployment.gateway_url}/graphql (the explorer, in a browser)\n"
            f"  Command line: pmdi --url {deployment.gateway_url} login",
            flush=True,
        )
        if len(deployment.gateway_urls) > 1:
            print(f"  Gateways:     {', '.join(deployment.gateway_urls)}", flush=True)
        print(
            f"  Logs:         {deployment.data_dir / 'logs'}\n"
            "  A service that dies is started again; Ctrl-C stops everything.\n",
            flush=True,
        )
        with contextlib.suppress(CrashLoop):  # reported by the launcher; everything stops below
            launcher.supervise(lambda: stopping)
    finally:
        print("stopping...", flush=True)
        launcher.stop(stack=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run()
    else:
        sys.exit("usage: python -m devstack.launcher run")
